"""GitHub Issues backend on the shared transport (backends/github_http.py).

The transport owns the waiting, the retries and the counting: a POST is never re-sent after its
answer was lost (API-NOTES 3.3), and writes are spaced through the injectable sleeper.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tracker.backends.base import Capabilities, CloseReason, Field, TicketDraft
from tracker.backends.github_body import (
    BodyContext,
    is_login,
    new_body,
    parse_body,
    replace_marker,
    rewrite_body,
)
from tracker.backends.github_http import (
    API_VERSION,
    DEFAULT_API_URL,
    REPO_RE,
    USER_AGENT,
    Clock,
    GitHubHTTP,
    Reply,
    Sleeper,
)
from tracker.backends.github_rest import (
    RepoView,
    html_base,
    issue_number,
    merge,
    same_set,
    ticket_from_issue,
)
from tracker.errors import BackendError, ConfigError, NotFound, OutcomeUnknown
from tracker.model import Marker, Ticket

if TYPE_CHECKING:
    from tracker.backends.base import Backend
    from tracker.config import GitHubConfig

__all__ = ["API_VERSION", "DEFAULT_API_URL", "USER_AGENT", "GitHubBackend", "from_config"]

MAX_TITLE = 256
_REPO_RE = REPO_RE
_WEEK_RE = re.compile(r"\d{4}-W\d{2}")
_REPORT_MARKER = '<!-- postmortem-tracker-report: {{"week":"{week}"}} -->'
_LABEL_COLOR = "5319e7"


class GitHubBackend:
    """Tickets as GitHub issues carrying a marker comment; constructing it does no I/O."""

    capabilities = Capabilities(
        bulk_create=False,
        native_due_date=False,
        counts_requests=True,
        in_progress_state=False,
        cheap_find=False,
    )

    def __init__(
        self,
        repo: str,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        labels: Sequence[str] = ("postmortem",),
        label_templates: Sequence[str] = (),
        due_milestones: bool = False,
        write_spacing_s: float = 1.0,
        http_timeout_s: float = 30.0,
        max_wait_s: float = 120.0,
        owners: Mapping[str, str] | None = None,
        sleeper: Sleeper = time.sleep,
        clock: Clock = time.time,
        token_env: str = "GITHUB_TOKEN",  # noqa: S107 - the variable's name, not a secret
        source_repo: str | None = None,
        report_label: str = "postmortem-report",
        get_retries: int = 3,
        rate_limit_retries: int = 5,
        source_commit: str | None = None,
        source_prefix: str = "",
    ) -> None:
        if not _REPO_RE.fullmatch(repo or ""):
            raise ConfigError(f"github.repo must look like owner/name, got {repo!r}")
        if not token:
            raise ConfigError(f"no GitHub token: set the {token_env} environment variable")
        if not labels or not labels[0].strip():
            raise ConfigError(
                "github.labels must name at least one label: the first one finds tracked issues"
            )
        self.repo = repo
        self.api_url = api_url.rstrip("/")
        self.labels = tuple(labels)
        self.label_templates = tuple(label_templates)
        self.due_milestones = due_milestones
        self.write_spacing_s = write_spacing_s
        self.http_timeout_s = http_timeout_s
        self.max_wait_s = max_wait_s
        self.owners: Mapping[str, str] = dict(owners or {})
        self.token_env = token_env
        self.report_label = report_label
        self.get_retries = get_retries
        self.rate_limit_retries = rate_limit_retries
        self._clock = clock  # stamps markers with the time of each write (human activity)
        self._view = RepoView(repo, self.api_url, token_env, self.label_templates, due_milestones)
        # A permalink: the commit the sync read, so a line number never drifts (blob/HEAD
        # moves with every commit). HEAD only when no commit is known (not a git checkout).
        base = f"{html_base(self.api_url)}/{source_repo or repo}/blob/{source_commit or 'HEAD'}"
        self._source_url = base + (
            f"/{source_prefix.strip('/')}" if source_prefix.strip("/") else ""
        )
        self._http = GitHubHTTP(  # builds its client on first use: no I/O here
            self._view,
            token,
            write_spacing_s=write_spacing_s,
            http_timeout_s=http_timeout_s,
            max_wait_s=max_wait_s,
            sleeper=sleeper,
            clock=clock,
            get_retries=get_retries,
            rate_limit_retries=rate_limit_retries,
        )
        # Per run (per instance): what was learnt once and reused.
        self.notices: list[str] = []
        self._repo_labels: dict[str, str] | None = None
        self._assignable: dict[str, bool] = {}
        self._milestones: dict[str, int] | None = None

    def __repr__(self) -> str:  # never the token
        return f"GitHubBackend(repo={self.repo!r}, api_url={self.api_url!r})"

    @property
    def requests_made(self) -> int | None:
        return self.requests

    # --- transport (backends/github_http.py) ------------------------------------------------

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (each retry counts)."""
        return self._http.requests

    @property
    def writes(self) -> int:
        """Requests other than GET sent so far."""
        return self._http.writes

    @property
    def waits(self) -> list[float]:
        """Every wait, in seconds, handed to the sleeper."""
        return self._http.waits

    def _call(self, verb: str, url: str, what: str, **kw: Any) -> Reply:
        return self._http.call(verb, url, what, **kw)

    def _pages(self, url: str, params: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
        return self._http.pages(url, params, what)

    # --- reading issues ----------------------------------------------------------------------

    def _issue(self, ticket: Ticket, what: str) -> tuple[int, dict[str, Any]]:
        number = issue_number(self._view, ticket.ref)
        if number is None:
            raise NotFound(f"{ticket.ref} is not an issue of {self.repo}")
        reply = self._call(
            "GET", f"/repos/{self.repo}/issues/{number}", what, subject=f"issue #{number}"
        )
        if not isinstance(reply.data, dict):
            raise BackendError(f"GitHub sent no issue for #{number} in {self.repo}")
        return number, reply.data

    # --- the Backend protocol ----------------------------------------------------------------

    def list_tracked(self) -> list[Ticket]:
        """Every issue with the first tracking label and our marker, pull requests skipped."""
        issues = self._pages(
            f"/repos/{self.repo}/issues",
            {
                "labels": self.labels[0],
                "state": "all",
                "per_page": 100,
                # Oldest first: issues created while we page are appended, never shift pages.
                "sort": "created",
                "direction": "asc",
            },
            "list the tracked issues",
        )
        return [t for t in (ticket_from_issue(self._view, i) for i in issues) if t is not None]

    def scan(self, keys: Collection[str]) -> list[Ticket]:
        """Every issue carrying our marker, whatever its labels (at least those of `keys`).

        The label is only the listing's fast path: people remove it, and a changed
        `github.labels` leaves every tracked issue without it. The engine calls this once,
        only in a run that would create tickets, so no item is ever created twice. It costs
        one listing of every issue of the repository (100 a page).
        """
        del keys  # one listing finds them all: an edited item's ticket can rebind too
        issues = self._pages(
            f"/repos/{self.repo}/issues",
            {"state": "all", "per_page": 100, "sort": "created", "direction": "asc"},
            "look for tracked issues whose label was removed",
        )
        return [t for t in (ticket_from_issue(self._view, i) for i in issues) if t is not None]

    def fetch(self, ref: str) -> Ticket | None:
        """The issue `ref` names (with or without our marker); None if absent or not ours."""
        number = issue_number(self._view, ref)
        if number is None:
            return None
        try:
            reply = self._call(
                "GET",
                f"/repos/{self.repo}/issues/{number}",
                f"read issue #{number}",
                subject=f"issue #{number}",
            )
        except NotFound:
            return None
        return (
            ticket_from_issue(self._view, reply.data, need_marker=False)
            if isinstance(reply.data, dict)
            else None
        )

    def find(self, key: str) -> Ticket | None:
        """The oldest tracked issue whose marker holds `key` (one listing, pages cached by ETag)."""
        found = [t for t in self.list_tracked() if t.key == key]
        return min(found, key=lambda t: int(t.extra["number"])) if found else None

    def create(self, draft: TicketDraft) -> Ticket:
        """Create an open issue carrying the marker.

        Raises:
            OutcomeUnknown: the request was sent and its answer lost; look the key up.
        """
        labels = self._ensure_labels(self._want_labels(draft.labels), draft.key)
        assignees, unassigned = self._split_assignees(draft.assignees, draft.key)
        ctx = self._context(assignees)
        draft = draft.with_marker(self._stamped(draft.marker))
        payload: dict[str, Any] = {
            "title": (draft.title or draft.key)[:MAX_TITLE],
            "body": new_body(draft, ctx, unassigned),
            "labels": labels,
            "assignees": assignees,
        }
        if self.due_milestones and draft.due:
            payload["milestone"] = self._milestone(draft.due)
        reply = self._call(
            "POST", f"/repos/{self.repo}/issues", f"create the issue for {draft.key}", body=payload
        )
        ticket = ticket_from_issue(self._view, reply.data) if isinstance(reply.data, dict) else None
        if ticket is None:
            raise OutcomeUnknown(f"GitHub's answer to creating {draft.key} holds no marked issue")
        return ticket

    def update(self, ticket: Ticket, draft: TicketDraft, fields: frozenset[Field]) -> Ticket:
        """Rewrite the named fields and the marker; labels and assignees are merged.

        Reads the issue first so text, labels and assignees people set meanwhile are kept.
        """
        what = f"update {ticket.ref} ({draft.key})"
        number, issue = self._issue(ticket, what)
        current = parse_body(issue.get("body"))
        cur_labels = [
            str(lb.get("name")) for lb in issue.get("labels") or [] if isinstance(lb, dict)
        ]
        cur_assignees = [
            str(a.get("login")) for a in issue.get("assignees") or [] if isinstance(a, dict)
        ]
        payload: dict[str, Any] = {}
        keep = {self.labels[0].casefold()}
        drop = [x for x in draft.drop_labels if x.casefold() not in keep]
        want = self._want_labels(draft.labels)
        labels = merge(cur_labels, drop, want)
        if not same_set(labels, cur_labels):
            added = [x for x in labels if x.casefold() not in {c.casefold() for c in cur_labels}]
            self._ensure_labels(added, draft.key)
            payload["labels"] = labels
        unassigned: Sequence[str] = current.unassigned
        allowed = cur_assignees
        if "owners" in fields:
            assignees, unassigned = self._split_assignees(draft.assignees, draft.key)
            merged = merge(cur_assignees, draft.drop_assignees, assignees)
            if not same_set(merged, cur_assignees):
                payload["assignees"] = merged
            allowed = assignees
        if "title" in fields and draft.title != issue.get("title"):
            payload["title"] = (draft.title or draft.key)[:MAX_TITLE]
        # Compared with the stamp the issue holds: restamping alone is no reason to write.
        held = current.marker.written_at if current.marker else None
        same = draft.with_marker(replace(draft.marker, written_at=held))
        body = rewrite_body(issue.get("body"), same, self._context(allowed), fields, unassigned)
        if body != (issue.get("body") or "") or payload:
            # Written anyway: the marker records when (so later updates read as people's).
            stamped = draft.with_marker(self._stamped(draft.marker))
            payload["body"] = rewrite_body(
                issue.get("body"), stamped, self._context(allowed), fields, unassigned
            )
        if "due" in fields and self.due_milestones:
            number_now = (issue.get("milestone") or {}).get("number")
            wanted = self._milestone(draft.due) if draft.due else None
            if wanted != number_now:
                payload["milestone"] = wanted
        if not payload:
            return ticket_from_issue(self._view, issue, need_marker=False) or ticket
        return self._patch(number, payload, what, ticket)

    def close(self, ticket: Ticket, reason: CloseReason, marker: Marker | None = None) -> Ticket:
        """Close as completed (done) or not planned / duplicate (dropped)."""
        return self._set_state(ticket, {"state": "closed", "state_reason": reason}, marker)

    def reopen(self, ticket: Ticket, marker: Marker | None = None) -> Ticket:
        """Reopen a closed issue."""
        return self._set_state(ticket, {"state": "open", "state_reason": "reopened"}, marker)

    def comment(self, ticket: Ticket, body: str) -> None:
        """Add a comment (never re-sent after a lost answer)."""
        number = issue_number(self._view, ticket.ref)
        if number is None:
            raise NotFound(f"{ticket.ref} is not an issue of {self.repo}")
        self._call(
            "POST",
            f"/repos/{self.repo}/issues/{number}/comments",
            f"comment on {ticket.ref}",
            body={"body": body},
            subject=f"issue #{number}",
        )

    def comment_bodies(self, ticket: Ticket) -> list[str]:
        """The bodies of the issue's comments, oldest first (paginated, 100 a page)."""
        number = issue_number(self._view, ticket.ref)
        if number is None:
            raise NotFound(f"{ticket.ref} is not an issue of {self.repo}")
        rows = self._pages(
            f"/repos/{self.repo}/issues/{number}/comments",
            {"per_page": 100},
            f"read the comments of {ticket.ref}",
        )
        return [str(r.get("body") or "") for r in rows]

    def post_report(self, title: str, body: str, week: str) -> str:
        """Create or update the issue holding the report of ISO `week`; return its URL."""
        if not _WEEK_RE.fullmatch(week):
            raise ValueError(f"week must look like 2026-W47, got {week!r}")
        marker = _REPORT_MARKER.format(week=week)
        room = 65_536 - len(marker) - 2
        if len(body) > room:  # cut at a line so tables stay whole
            body = body[: body.rfind("\n", 0, room)]
        full = f"{body.rstrip()}\n\n{marker}"
        what = f"post the report for {week}"
        issues = self._pages(
            f"/repos/{self.repo}/issues",
            {"labels": self.report_label, "state": "all", "per_page": 100},
            what,
        )
        for issue in issues:
            lines = str(issue.get("body") or "").split("\n")
            if "pull_request" not in issue and marker in (x.rstrip("\r") for x in lines):
                number = int(issue["number"])
                if issue.get("title") != title or issue.get("body") != full:
                    reply = self._call(
                        "PATCH",
                        f"/repos/{self.repo}/issues/{number}",
                        what,
                        body={"title": title[:MAX_TITLE], "body": full},
                        subject=f"issue #{number}",
                    )
                    issue = reply.data
                return str(issue.get("html_url", ""))
        labels = self._ensure_labels([self.report_label], week)
        reply = self._call(
            "POST",
            f"/repos/{self.repo}/issues",
            what,
            body={"title": title[:MAX_TITLE], "body": full, "labels": labels},
        )
        return str(reply.data.get("html_url", "")) if isinstance(reply.data, dict) else ""

    # --- writing helpers ---------------------------------------------------------------------

    def _context(self, assignees: Sequence[str]) -> BodyContext:
        return BodyContext(
            owners_map=self.owners,
            assignable=frozenset(a.casefold() for a in assignees),
            source_url=self._source_url,
        )

    def _stamped(self, marker: Marker) -> Marker:
        moment = dt.datetime.fromtimestamp(self._clock(), dt.timezone.utc)
        return replace(marker, written_at=moment.isoformat(timespec="seconds"))

    def _patch(self, number: int, payload: Mapping[str, Any], what: str, old: Ticket) -> Ticket:
        reply = self._call(
            "PATCH",
            f"/repos/{self.repo}/issues/{number}",
            what,
            body=dict(payload),
            subject=f"issue #{number}",
        )
        ticket = (
            ticket_from_issue(self._view, reply.data, need_marker=False)
            if isinstance(reply.data, dict)
            else None
        )
        return ticket or old

    def _set_state(self, ticket: Ticket, payload: dict[str, Any], marker: Marker | None) -> Ticket:
        verb = "close" if payload["state"] == "closed" else "reopen"
        what = f"{verb} {ticket.ref}"
        if marker is not None:
            number, issue = self._issue(ticket, what)
            unassigned = parse_body(issue.get("body")).unassigned
            body = replace_marker(issue.get("body"), self._stamped(marker), unassigned)
            payload = {**payload, "body": body}
        else:
            found = issue_number(self._view, ticket.ref)
            if found is None:
                raise NotFound(f"{ticket.ref} is not an issue of {self.repo}")
            number = found
        return self._patch(number, payload, what, ticket)

    def _want_labels(self, labels: Sequence[str]) -> list[str]:
        """The draft's labels, always with the tracking label the listing filters on."""
        return merge([], (), [self.labels[0], *labels])

    def _ensure_labels(self, names: Sequence[str], key: str) -> list[str]:
        """`names` as the repository spells them, creating the missing ones once per run."""
        if not names:
            return []
        if self._repo_labels is None:
            found = self._pages(
                f"/repos/{self.repo}/labels", {"per_page": 100}, "list the repository's labels"
            )
            self._repo_labels = {str(x["name"]).casefold(): str(x["name"]) for x in found}
        out: list[str] = []
        for name in names:
            have = self._repo_labels.get(name.casefold())
            if have is None:
                # A label someone created since the listing answers 422 already_exists: fine.
                self._call(
                    "POST",
                    f"/repos/{self.repo}/labels",
                    f"create the label {name!r} (for {key})",
                    body={
                        "name": name,
                        "color": _LABEL_COLOR,
                        "description": "Postmortem action item (postmortem-tracker)",
                    },
                    tolerate="already_exists",
                )
                have = self._repo_labels[name.casefold()] = name
            out.append(have)
        return out

    def _split_assignees(self, logins: Sequence[str], key: str) -> tuple[list[str], list[str]]:
        """(assignable, not assignable); each login is checked once per run (204 / 404)."""
        ok: list[str] = []
        bad: list[str] = []
        for login in logins:
            folded = login.casefold()
            if folded not in self._assignable:
                allowed = False
                if is_login(login):
                    try:
                        self._call(
                            "GET",
                            f"/repos/{self.repo}/assignees/{login}",
                            f"check whether {login} can be assigned",
                            subject=f"assignee {login}",
                        )
                        allowed = True
                    except NotFound:
                        allowed = False
                self._assignable[folded] = allowed
                if not allowed:
                    self.notices.append(
                        f"{key}: '{login}' cannot be assigned in {self.repo} (not a GitHub login "
                        "with access to the repository); named in the issue body instead: map "
                        "the owner to a login in `owners:` or give them access"
                    )
            (ok if self._assignable[folded] else bad).append(login)
        return ok, bad

    def _milestones_by_title(self) -> dict[str, int]:
        found = self._pages(
            f"/repos/{self.repo}/milestones",
            {"state": "all", "per_page": 100},
            "list the milestones",
        )
        return {str(m.get("title")): int(m["number"]) for m in found}

    def _milestone(self, due: dt.date) -> int:
        """The number of the milestone 'Due YYYY-MM-DD', created once if missing."""
        title = f"Due {due.isoformat()}"
        if self._milestones is None:
            self._milestones = self._milestones_by_title()
        if title not in self._milestones:
            # Noon UTC: GitHub floors due_on to Pacific midnight (API-NOTES section 1).
            reply = self._call(
                "POST",
                f"/repos/{self.repo}/milestones",
                f"create the milestone {title!r}",
                body={
                    "title": title,
                    "due_on": f"{due.isoformat()}T12:00:00Z",
                    "description": "Postmortem action items due this day (postmortem-tracker)",
                },
                tolerate="already_exists",
            )
            if reply.status == 422:  # created meanwhile (maybe closed): read its number
                self._milestones = self._milestones_by_title()
                if title not in self._milestones:
                    raise BackendError(f"GitHub says milestone {title!r} exists but lists none")
            else:
                self._milestones[title] = int(reply.data["number"])
        return self._milestones[title]


def from_config(
    cfg: GitHubConfig,
    owners: Mapping[str, str],
    token: str | None,
    env_repo: str | None,
    env_api_url: str | None,
    sleeper: Sleeper = time.sleep,
    *,
    source_commit: str | None = None,
    source_prefix: str = "",
) -> GitHubBackend:
    """The backend for `cfg`; the caller reads the environment and passes its values in.

    Raises:
        ConfigError: no repository or no token, naming what to set.
    """
    repo = cfg.repo or env_repo
    if not repo:
        raise ConfigError(
            "the github backend needs a repository: set `github.repo: owner/name` in "
            ".tracker.yml, or GITHUB_REPOSITORY in the environment"
        )
    if not token:
        raise ConfigError(
            f"the github backend needs a token for {repo}: set the {cfg.token_env} environment "
            f"variable (in a workflow: `env: {cfg.token_env}: ${{{{ secrets.GITHUB_TOKEN }}}}` "
            "with `permissions: issues: write`)"
        )
    return GitHubBackend(
        repo,
        token,
        api_url=cfg.api_url or env_api_url or DEFAULT_API_URL,
        labels=tuple(cfg.labels),
        label_templates=tuple(cfg.label_templates),
        due_milestones=cfg.due_milestones,
        write_spacing_s=cfg.write_spacing_s,
        http_timeout_s=cfg.http_timeout_s,
        max_wait_s=cfg.retry.max_wait_s,
        owners=owners,
        sleeper=sleeper,
        token_env=cfg.token_env,
        source_repo=env_repo if env_repo and _REPO_RE.fullmatch(env_repo) else None,
        source_commit=source_commit,
        source_prefix=source_prefix,
    )


if TYPE_CHECKING:
    _PROTOCOL_CHECK: type[Backend] = GitHubBackend  # mypy proves the backend fits the Protocol
