"""The GitHub repository itself, whatever the tracker backend: the weekly report issue, and
write-back of ticket links as one commit per run (a pull request, or a commit on the branch).

Requests go through the GitHub backend's transport (backends/github_http.py): the same waits,
retries, rate-limit handling and request counting, and a write whose answer was lost is never
re-sent blind. Git objects are the exception: a blob, tree or commit nothing points at yet is
inert, so creating one again after a lost answer is safe.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from tracker.backends.github_http import (
    DEFAULT_API_URL,
    REPO_RE,
    Clock,
    GitHubHTTP,
    Reply,
    Sleeper,
)
from tracker.backends.github_rest import RepoView, message_of
from tracker.errors import (
    BackendError,
    ConfigError,
    OutcomeUnknown,
    PermissionDenied,
    WriteBackError,
)
from tracker.forge_report import REPORT_LABEL, ReportIssues
from tracker.writeback import FileEdit

Mode = Literal["pull-request", "commit"]
MODES: tuple[Mode, ...] = ("pull-request", "commit")
LINKS_BRANCH = "postmortem-tracker/links"
_PR_REFUSED = "not permitted to create or approve pull requests"
_FILE_MODES = ("100644", "100755")

PR_TITLE = "Postmortem tracker: ticket links for action items"


def commit_message(edits: Sequence[FileEdit]) -> str:
    """The write-back commit's message: what it changes, and why syncing it changes nothing."""
    n = len(edits)
    return (
        f"Add ticket links to {n} postmortem{'s' if n != 1 else ''}\n\n"
        "Written by postmortem-tracker. This commit only adds ticket links to action items (and "
        "marks items done whose tickets were closed in the tracker). Syncing it changes nothing: "
        "the links parse as the same items.\n"
    )


def pull_request_body(edits: Sequence[FileEdit], base: str) -> str:
    files = "\n".join(f"- `{e.path}`" for e in sorted(edits, key=lambda e: e.path))
    return (
        "postmortem-tracker synced the action items of these postmortems to tickets; this pull "
        "request writes the ticket links back:\n\n"
        f"{files}\n\n"
        "The commit only adds ticket links to action items (and marks items done whose tickets "
        "were closed in the tracker); nothing else in the files changes. Merging it starts no "
        "loop: the next sync finds every item already linked and writes nothing (a `paths:` "
        "filter on the workflow keeps other pushes from running it at all).\n\n"
        f"Each sync rebuilds the branch `{LINKS_BRANCH}` on the current `{base}` and updates "
        "this pull request in place.\n\n"
        "> [!NOTE]\n"
        "> Required status checks do not run on a pull request opened with the workflow's "
        "`GITHUB_TOKEN` (GitHub starts no workflows for its events): close and reopen the pull "
        "request to run them, or give the action a GitHub App token (`github-token`).\n"
    )


@dataclass(frozen=True)
class _Entry:
    mode: str
    type: str
    sha: str


class Forge:
    """One GitHub repository: report issues and write-back commits; constructing does no I/O."""

    def __init__(
        self,
        repo: str,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        token_env: str = "GITHUB_TOKEN",  # noqa: S107 - the variable's name, not a secret
        write_spacing_s: float = 1.0,
        http_timeout_s: float = 30.0,
        max_wait_s: float = 120.0,
        sleeper: Sleeper = time.sleep,
        clock: Clock = time.time,
        report_label: str = REPORT_LABEL,
        branch: str = LINKS_BRANCH,
    ) -> None:
        if not REPO_RE.fullmatch(repo or ""):
            raise ConfigError(f"github.repo must look like owner/name, got {repo!r}")
        if not token:
            raise ConfigError(f"no GitHub token: set the {token_env} environment variable")
        self.repo = repo
        self.branch = branch
        view = RepoView(repo, api_url.rstrip("/"), token_env)
        self._http = GitHubHTTP(
            view,
            token,
            write_spacing_s=write_spacing_s,
            http_timeout_s=http_timeout_s,
            max_wait_s=max_wait_s,
            sleeper=sleeper,
            clock=clock,
        )
        self._reports = ReportIssues(self._http, repo, report_label)

    def __repr__(self) -> str:  # never the token
        return f"Forge(repo={self.repo!r}, api_url={self._http.api_url!r})"

    @property
    def requests(self) -> int:
        """HTTP requests sent so far."""
        return self._http.requests

    @property
    def writes(self) -> int:
        """Requests other than GET sent so far."""
        return self._http.writes

    def _call(self, verb: str, path: str, what: str, *, inert: bool = False, **kw: Any) -> Reply:
        """One request to the repository; `inert` ones (a git object nothing points at yet, a
        ref set to a sha) are sent once more when the first answer was lost."""
        try:
            return self._http.call(verb, f"/repos/{self.repo}{path}", what, **kw)
        except OutcomeUnknown:
            if not inert:
                raise
            return self._http.call(verb, f"/repos/{self.repo}{path}", what, **kw)

    # --- the weekly report issue (forge_report.py) -------------------------------------------

    def post_report(self, title: str, markdown: str, week: str, *, close_previous: bool) -> str:
        """Create or update the issue holding the report of ISO `week`; return its URL.

        A report longer than GitHub's body limit is cut between rows: the first part is the
        body, the others are comments the tool keeps in step on every update. With
        `close_previous`, open report issues of earlier weeks are closed as completed.
        """
        return self._reports.post(title, markdown, week, close_previous=close_previous)

    # --- write-back through the repository ---------------------------------------------------

    def commit_files(
        self,
        edits: Sequence[FileEdit],
        message: str | None = None,
        *,
        mode: Mode,
        base_branch: str | None = None,
    ) -> str:
        """Commit `edits` (paths relative to the repository root) on top of `base_branch` as one
        commit; open or update the pull request (mode pull-request) or fast-forward the base
        branch (mode commit). Returns the pull request's or the commit's URL.

        Raises:
            WriteBackError: a file on the base branch is not what the run read (nothing is
                written then), or the base branch moved while committing.
            PermissionDenied: GitHub refused the pull request or the branch update; the message
                names the setting to change.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not edits:
            raise ValueError("no edits to commit")
        base = base_branch or self._default_branch()
        base_sha = self._ref(base)
        if base_sha is None:
            raise WriteBackError(
                f"the branch {base!r} does not exist in {self.repo}, so the ticket links were not "
                "written: point write-back at the branch the postmortems live on"
            )
        base_tree = self._commit(base_sha)["tree"]["sha"]
        entries = self._entries(base_tree, [e.path for e in edits])
        self._check_unchanged(edits, entries, base)
        items: list[dict[str, Any]] = []
        for e in sorted(edits, key=lambda e: e.path):
            entry = entries[e.path]
            assert entry is not None  # checked above
            item: dict[str, Any] = {"path": e.path, "mode": entry.mode, "type": "blob"}
            try:
                item["content"] = e.content.decode("utf-8")
            except UnicodeDecodeError:  # bytes the file had (kept by write-back): send exactly
                item["sha"] = self._blob(e.content)
            items.append(item)
        tree = str(
            self._call(
                "POST",
                "/git/trees",
                "create the tree of the write-back commit",
                body={"base_tree": base_tree, "tree": items},
                needs="contents: write",
                inert=True,
            ).data["sha"]
        )
        text = message or commit_message(edits)
        if mode == "commit":
            sha, url = self._new_commit(text, tree, base_sha)
            self._advance(base, sha)
            return url
        return self._pull_request(edits, text, tree, base, base_sha)

    def _default_branch(self) -> str:
        what = "read the repository's default branch"
        data = self._call("GET", "", what, needs="contents: read").data
        return str(data["default_branch"])

    def _ref(self, branch: str) -> str | None:
        reply = self._call(
            "GET",
            f"/git/ref/heads/{quote(branch, safe='/')}",
            f"read the branch {branch!r}",
            subject=f"branch {branch!r}",
            passthrough=(404,),
            needs="contents: read",
        )
        return None if reply.status == 404 else str(reply.data["object"]["sha"])

    def _commit(self, sha: str) -> dict[str, Any]:
        data: dict[str, Any] = self._call(
            "GET", f"/git/commits/{sha}", f"read the commit {sha[:12]}", needs="contents: read"
        ).data
        return data

    def _entries(self, root: str, paths: Sequence[str]) -> dict[str, _Entry | None]:
        """Each path's tree entry on the base branch (one request per folder on the way)."""
        trees: dict[str, list[dict[str, Any]]] = {}

        def listing(sha: str) -> list[dict[str, Any]]:
            if sha not in trees:
                data = self._call(
                    "GET",
                    f"/git/trees/{sha}",
                    "read a folder of the base branch",
                    needs="contents: read",
                ).data
                trees[sha] = [x for x in data.get("tree") or [] if isinstance(x, dict)]
            return trees[sha]

        out: dict[str, _Entry | None] = {}
        for path in paths:
            sha, entry = root, None
            names = path.split("/")
            for depth, name in enumerate(names):
                found = next((x for x in listing(sha) if x.get("path") == name), None)
                if found is None:
                    entry = None
                    break
                entry = _Entry(str(found["mode"]), str(found["type"]), str(found["sha"]))
                if depth < len(names) - 1:
                    if entry.type != "tree":
                        entry = None
                        break
                    sha = entry.sha
            out[path] = entry
        return out

    def _check_unchanged(
        self, edits: Sequence[FileEdit], entries: Mapping[str, _Entry | None], base: str
    ) -> None:
        problems: list[str] = []
        for e in edits:
            entry = entries.get(e.path)
            if entry is None:
                problems.append(f"{e.path} is not on {base}")
            elif entry.type != "blob" or entry.mode not in _FILE_MODES:
                problems.append(f"{e.path} is not a regular file on {base} (mode {entry.mode})")
            elif entry.sha != e.base_blob:
                problems.append(f"{e.path} on {base} is not the version this run read")
        if problems:
            raise WriteBackError(
                "; ".join(problems)
                + f": nothing was committed, so no change on {base} is overwritten. Run sync "
                f"again on a checkout of the current {base} (the tickets exist; the next run "
                "writes their links)"
            )

    def _blob(self, content: bytes) -> str:
        reply = self._call(
            "POST",
            "/git/blobs",
            "store a postmortem for the write-back commit",
            body={"content": base64.b64encode(content).decode(), "encoding": "base64"},
            needs="contents: write",
            inert=True,
        )
        return str(reply.data["sha"])

    def _new_commit(self, message: str, tree: str, parent: str) -> tuple[str, str]:
        data = self._call(
            "POST",
            "/git/commits",
            "create the write-back commit",
            body={"message": message, "tree": tree, "parents": [parent]},
            needs="contents: write",
            inert=True,
        ).data
        return str(data["sha"]), str(data.get("html_url", ""))

    def _advance(self, base: str, sha: str) -> None:
        """Fast-forward `base` to `sha` (never forced)."""
        what = f"move the branch {base!r} to the write-back commit"
        reply = self._call(
            "PATCH",
            f"/git/refs/heads/{quote(base, safe='/')}",
            what,
            body={"sha": sha, "force": False},
            passthrough=(403, 422),
            needs="contents: write",
            inert=True,
        )
        if reply.status < 400:
            return
        msg = message_of(reply.data) or "no message"
        if reply.status == 422 and "fast forward" in msg.casefold():
            raise WriteBackError(
                f"{base} moved while the links were being committed (422 {msg}); nothing was "
                "overwritten: run sync again"
            )
        hint = ""
        if reply.status == 403:
            hint = " or the token lacks `contents: write` (`permissions: contents: write`)"
        raise PermissionDenied(
            f"GitHub refused to commit the ticket links to {base} in {self.repo} "
            f"({reply.status} {msg}): the branch is protected{hint}. Use `write-back: "
            "pull-request` (the action input, `sync.write_back: pull-request` in .tracker.yml, "
            "or `tracker sync --write-back pull-request`) to get a pull request instead"
        )

    def _pull_request(
        self, edits: Sequence[FileEdit], message: str, tree: str, base: str, base_sha: str
    ) -> str:
        ref = f"heads/{quote(self.branch, safe='/')}"
        head = self._ref(self.branch)
        if head is not None:
            current = self._commit(head)
            parents = [str(p.get("sha")) for p in current.get("parents") or []]
            if current["tree"]["sha"] == tree and parents == [base_sha]:
                head_sha = head  # the branch already holds exactly this: no new commit
            else:
                head_sha = self._new_commit(message, tree, base_sha)[0]
                self._force(ref, head_sha)
        else:
            head_sha = self._new_commit(message, tree, base_sha)[0]
            reply = self._call(
                "POST",
                "/git/refs",
                f"create the branch {self.branch!r}",
                body={"ref": f"refs/heads/{self.branch}", "sha": head_sha},
                passthrough=(422,),
                needs="contents: write",
            )
            if reply.status == 422:  # made meanwhile (or our lost answer): point it here
                self._force(ref, head_sha)
        return self._open_pull(edits, base)

    def _force(self, ref: str, sha: str) -> Reply:
        return self._call(
            "PATCH",
            f"/git/refs/{ref}",
            f"move the branch {self.branch!r} to the write-back commit",
            body={"sha": sha, "force": True},
            needs="contents: write",
            inert=True,
        )

    def _open_pulls(self) -> list[dict[str, Any]]:
        owner = self.repo.split("/", 1)[0]
        return self._http.pages(
            f"/repos/{self.repo}/pulls",
            {"head": f"{owner}:{self.branch}", "state": "open", "per_page": 100},
            "find the write-back pull request",
            needs="pull-requests: read",
        )

    def _open_pull(self, edits: Sequence[FileEdit], base: str) -> str:
        body = pull_request_body(edits, base)
        found = self._open_pulls()
        if found:
            pr = found[0]
            change: dict[str, Any] = {}
            if pr.get("title") != PR_TITLE:
                change["title"] = PR_TITLE
            if pr.get("body") != body:
                change["body"] = body
            if (pr.get("base") or {}).get("ref") != base:
                change["base"] = base
            if change:
                pr = self._call(
                    "PATCH",
                    f"/pulls/{pr['number']}",
                    f"update the write-back pull request #{pr['number']}",
                    body=change,
                    subject=f"pull request #{pr['number']}",
                    needs="pull-requests: write",
                ).data
            return str(pr.get("html_url", ""))
        what = "open the write-back pull request"
        try:
            reply = self._call(
                "POST",
                "/pulls",
                what,
                body={"title": PR_TITLE, "head": self.branch, "base": base, "body": body},
                passthrough=(403,),
                needs="pull-requests: write",
            )
        except OutcomeUnknown:
            found = self._open_pulls()  # did it happen? a second one would be refused anyway
            if not found:
                raise
            return str(found[0].get("html_url", ""))
        if reply.status == 403:
            raise self._pull_refused(message_of(reply.data) or "no message")
        return str(reply.data.get("html_url", ""))

    def _pull_refused(self, msg: str) -> BackendError:
        if _PR_REFUSED in msg.casefold():
            return PermissionDenied(
                f"GitHub refused to open the write-back pull request in {self.repo} (403 {msg}): "
                "enable 'Allow GitHub Actions to create and approve pull requests' in the "
                "repository's Settings > Actions > General (or the organization's), or give the "
                "action a personal access token or GitHub App token through its `github-token` "
                f"input. The links are on the branch {self.branch!r} meanwhile"
            )
        return PermissionDenied(
            f"GitHub refused to open the write-back pull request in {self.repo} (403 {msg}): "
            "the token needs `pull-requests: write` (in a workflow: `permissions: "
            "pull-requests: write`)"
        )


def from_config(
    repo: str | None,
    token: str | None,
    *,
    token_env: str,
    api_url: str | None,
    purpose: str,
    write_spacing_s: float = 1.0,
    http_timeout_s: float = 30.0,
    max_wait_s: float = 120.0,
) -> Forge:
    """The forge for `purpose` (e.g. "write-back: pull-request"), values already resolved.

    Raises:
        ConfigError: no repository or no token, naming what to set.
    """
    if not repo:
        raise ConfigError(
            f"{purpose} needs a GitHub repository: set `github.repo: owner/name` in .tracker.yml "
            "(a `github:` section works with any backend), or GITHUB_REPOSITORY in the "
            "environment"
        )
    if not token:
        raise ConfigError(
            f"{purpose} needs a token for {repo}: set the {token_env} environment variable "
            f"(in a workflow: `env: {token_env}: ${{{{ secrets.GITHUB_TOKEN }}}}`, or the "
            "action's `github-token` input)"
        )
    return Forge(
        repo,
        token,
        api_url=api_url or DEFAULT_API_URL,
        token_env=token_env,
        write_spacing_s=write_spacing_s,
        http_timeout_s=http_timeout_s,
        max_wait_s=max_wait_s,
    )
