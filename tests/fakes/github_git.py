"""The repository half of the GitHub fake: git data (refs, commits, trees, blobs), pull requests
and the repository object, for forge.py's write-back. `GitHubFake` routes to it.

Objects are content-addressed with git's own ids (sha1 of "blob N\\0..." and so on), so a blob id
the tool computes locally matches the tree entry the fake lists. Faults a test can switch on:
`protected` branches refuse ref updates (GitHub answers 422 "Protected branch update failed"),
and `actions_may_open_prs = False` refuses new pull requests with GitHub's 403.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.github_fake import GitHubFake

PR_REFUSED = "GitHub Actions is not permitted to create or approve pull requests."
TREE_MODE = "040000"


def _git_id(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


@dataclass
class GitState:
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # name -> entry
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "heads/main" -> commit sha
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> head/base/state


class GitRepo:
    """Git objects, refs and pull requests of the fake's repository."""

    def __init__(self, fake: GitHubFake, default_branch: str = "main") -> None:
        self.fake = fake
        self.default_branch = default_branch
        self.state = GitState()
        self.protected: set[str] = set()
        self.protected_status = 422
        self.actions_may_open_prs = True
        self._epoch = 1_767_225_600  # commit times: 2026-01-01, one minute apart

    # --- set-up and inspection ---------------------------------------------------------------

    def seed(self, files: dict[str, bytes], branch: str = "main", message: str = "seed") -> str:
        """Commit `files` (path -> bytes) on `branch`, on top of what it holds; the commit id."""
        head = self.state.refs.get(f"heads/{branch}")
        base = self.state.commits[head]["tree"] if head else None
        changes: dict[str, dict[str, str] | None] = {
            p: self._entry_for(self._blob(b)) for p, b in files.items()
        }
        tree = self._write_tree(base, changes)
        sha = self._commit(message, tree, [head] if head else [], "seed", "seed@example.com")
        self.state.refs[f"heads/{branch}"] = sha
        return sha

    def files(self, ref: str = "main") -> dict[str, bytes]:
        """Every file of a branch (or commit id) as path -> bytes."""
        sha = self.state.refs.get(f"heads/{ref}", ref)
        out: dict[str, bytes] = {}

        def walk(tree: str, prefix: str) -> None:
            for name, e in self.state.trees[tree].items():
                if e["type"] == "tree":
                    walk(e["sha"], f"{prefix}{name}/")
                else:
                    out[prefix + name] = self.state.blobs[e["sha"]]

        walk(self.state.commits[sha]["tree"], "")
        return out

    def head(self, branch: str) -> str | None:
        return self.state.refs.get(f"heads/{branch}")

    def commits_between(self, old: str | None, new: str) -> list[dict[str, Any]]:
        """Commits reachable from `new` but not `old`, newest first (first parents)."""
        out = []
        sha: str | None = new
        while sha and sha != old:
            c = self.state.commits[sha]
            out.append({"sha": sha, **c})
            sha = c["parents"][0] if c["parents"] else None
        return out

    def pulls(self) -> list[dict[str, Any]]:
        return [self.fake.state.issues[n] for n in sorted(self.state.pulls)]

    def merge(self, number: int) -> None:
        """Merge a pull request the way a person does (a fast-forward of its base here)."""
        pr = self.state.pulls[number]
        self.state.refs[f"heads/{pr['base']}"] = self.state.refs[f"heads/{pr['head']}"]
        pr.update(merged=True)
        self.fake.edit(number, state="closed")

    # --- objects -----------------------------------------------------------------------------

    def _blob(self, data: bytes) -> str:
        sha = _git_id("blob", data)
        self.state.blobs[sha] = data
        return sha

    @staticmethod
    def _entry_for(blob: str, mode: str = "100644") -> dict[str, str]:
        return {"mode": mode, "type": "blob", "sha": blob}

    def _store_tree(self, entries: dict[str, dict[str, str]]) -> str:
        def order(name: str) -> str:
            return name + "/" if entries[name]["type"] == "tree" else name

        raw = b"".join(
            f"{entries[n]['mode'].lstrip('0')} {n}\0".encode() + bytes.fromhex(entries[n]["sha"])
            for n in sorted(entries, key=order)
        )
        sha = _git_id("tree", raw)
        self.state.trees[sha] = {n: dict(entries[n]) for n in sorted(entries, key=order)}
        return sha

    def _write_tree(self, base: str | None, changes: dict[str, dict[str, str] | None]) -> str:
        entries = dict(self.state.trees[base]) if base else {}
        nested: dict[str, dict[str, dict[str, str] | None]] = {}
        for path, change in changes.items():
            head, _, rest = path.partition("/")
            if rest:
                nested.setdefault(head, {})[rest] = change
            elif change is None:
                entries.pop(head, None)
            else:
                entries[head] = change
        for head, sub in nested.items():
            cur = entries.get(head)
            sha = self._write_tree(cur["sha"] if cur and cur["type"] == "tree" else None, sub)
            if self.state.trees[sha]:
                entries[head] = {"mode": TREE_MODE, "type": "tree", "sha": sha}
            else:
                entries.pop(head, None)
        return self._store_tree(entries)

    def _commit(self, message: str, tree: str, parents: list[str], name: str, email: str) -> str:
        self._epoch += 60
        who = f"{name} <{email}> {self._epoch} +0000"
        raw = f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents)
        raw += f"author {who}\ncommitter {who}\n\n{message}"
        sha = _git_id("commit", raw.encode())
        when = _iso_epoch(self._epoch)
        person = {"name": name, "email": email, "date": when}
        self.state.commits[sha] = {
            "tree": tree,
            "parents": list(parents),
            "message": message,
            "author": person,
            "committer": dict(person),
        }
        return sha

    def _is_ancestor(self, old: str, new: str) -> bool:
        todo, seen = [new], set()
        while todo:
            sha = todo.pop()
            if sha == old:
                return True
            if sha in seen or sha not in self.state.commits:
                continue
            seen.add(sha)
            todo.extend(self.state.commits[sha]["parents"])
        return False

    # --- JSON shapes -------------------------------------------------------------------------

    def _api(self) -> str:
        return f"{self.fake.api_base}/repos/{self.fake.repo}"

    def _commit_json(self, sha: str) -> dict[str, Any]:
        c = self.state.commits[sha]
        html = f"{self.fake.html_base}/{self.fake.repo}/commit"
        return {
            "sha": sha,
            "node_id": f"C_{sha[:16]}",
            "url": f"{self._api()}/git/commits/{sha}",
            "html_url": f"{html}/{sha}",
            "author": dict(c["author"]),
            "committer": dict(c["committer"]),
            "message": c["message"],
            "tree": {"sha": c["tree"], "url": f"{self._api()}/git/trees/{c['tree']}"},
            "parents": [
                {"sha": p, "url": f"{self._api()}/git/commits/{p}", "html_url": f"{html}/{p}"}
                for p in c["parents"]
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def _tree_json(self, sha: str) -> dict[str, Any]:
        entries = []
        for name, e in self.state.trees[sha].items():
            kind = "trees" if e["type"] == "tree" else "blobs"
            entry: dict[str, Any] = {
                **e,
                "path": name,
                "url": f"{self._api()}/git/{kind}/{e['sha']}",
            }
            if e["type"] == "blob":
                entry["size"] = len(self.state.blobs[e["sha"]])
            entries.append(entry)
        return {
            "sha": sha,
            "url": f"{self._api()}/git/trees/{sha}",
            "truncated": False,
            "tree": entries,
        }

    def _ref_json(self, name: str) -> dict[str, Any]:
        sha = self.state.refs[name]
        return {
            "ref": f"refs/{name}",
            "node_id": f"REF_{hashlib.sha1(name.encode()).hexdigest()[:12]}",
            "url": f"{self._api()}/git/refs/{name}",
            "object": {"type": "commit", "sha": sha, "url": f"{self._api()}/git/commits/{sha}"},
        }

    def repo_json(self) -> dict[str, Any]:
        """A `full-repository` (also a valid `repository`)."""
        api, html = self._api(), f"{self.fake.html_base}/{self.fake.repo}"
        urls = {
            f"{k}_url": f"{api}/{k}"
            for k in (
                "archive assignees blobs branches collaborators comments commits compare "
                "contents contributors deployments downloads events forks git_commits git_refs "
                "git_tags hooks issue_comment issue_events issues keys labels languages merges "
                "milestones notifications pulls releases stargazers statuses subscribers "
                "subscription tags teams trees"
            ).split()
        }
        stamp = "2026-01-01T00:00:00Z"
        return {
            **urls,
            "id": 4242,
            "node_id": "R_4242",
            "name": self.fake.name,
            "full_name": self.fake.repo,
            "owner": self.fake._user(self.fake.owner),
            "private": False,
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            "clone_url": f"{html}.git",
            "git_url": f"git://{html.split('://', 1)[-1]}.git",
            "ssh_url": f"git@example.com:{self.fake.repo}.git",
            "svn_url": html,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "default_branch": self.default_branch,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "size": 1,
            "open_issues": 0,
            "open_issues_count": 0,
            "has_issues": self.fake.issues_enabled,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": False,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "license": None,
            "pushed_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
            "network_count": 0,
            "subscribers_count": 0,
        }

    def _branch_json(self, branch: str) -> dict[str, Any]:
        return {
            "label": f"{self.fake.owner}:{branch}",
            "ref": branch,
            "sha": self.state.refs.get(f"heads/{branch}", "0" * 40),
            "user": self.fake._user(self.fake.owner),
            "repo": self.repo_json(),
        }

    def pull_json(self, number: int, full: bool = True) -> dict[str, Any]:
        issue = self.fake.state.issues[number]
        pr = self.state.pulls[number]
        api = f"{self._api()}/pulls/{number}"
        html = f"{self.fake.html_base}/{self.fake.repo}/pull/{number}"
        issue_api = f"{self._api()}/issues/{number}"
        closed = issue["closed_at"]
        out: dict[str, Any] = {
            "url": api,
            "id": issue["id"],
            "node_id": f"PR_{issue['id']}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self._api()}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": f"{self._api()}/statuses/{self.head(pr['head']) or ''}",
            "number": number,
            "state": issue["state"],
            "locked": False,
            "title": issue["title"],
            "user": self.fake._user(issue["user"]),
            "body": issue["body"],
            "labels": [],
            "milestone": None,
            "created_at": _iso(issue["created_at"]),
            "updated_at": _iso(issue["updated_at"]),
            "closed_at": _iso(closed) if closed else None,
            "merged_at": _iso(closed) if closed and pr.get("merged") else None,
            "merge_commit_sha": None,
            "assignee": None,
            "head": self._branch_json(pr["head"]),
            "base": self._branch_json(pr["base"]),
            "_links": {
                k: {"href": v}
                for k, v in (
                    ("self", api),
                    ("html", html),
                    ("issue", issue_api),
                    ("comments", f"{issue_api}/comments"),
                    ("review_comments", f"{api}/comments"),
                    ("review_comment", f"{self._api()}/pulls/comments{{/number}}"),
                    ("commits", f"{api}/commits"),
                    ("statuses", f"{self._api()}/statuses/{self.head(pr['head']) or ''}"),
                )
            },
            "author_association": "MEMBER",
            "auto_merge": None,
        }
        if full:
            out.update(
                merged=bool(pr.get("merged")),
                mergeable=True,
                mergeable_state="clean",
                merged_by=None,
                comments=0,
                review_comments=0,
                maintainer_can_modify=False,
                commits=1,
                additions=1,
                deletions=1,
                changed_files=1,
            )
        return out

    # --- the HTTP face (called from GitHubFake._dispatch; raises its _Error) -----------------

    def dispatch(
        self, method: str, rest: str, q: dict[str, str], body: Any, base: str, path: str
    ) -> tuple[int, Any, dict[str, str]] | None:
        """The answer to a repository, git or pulls request; None when not one of those."""
        err = _error
        if rest == "" and method == "GET":
            return 200, self.repo_json(), {}
        if rest.startswith("/git/ref/") and method == "GET":
            name = rest[len("/git/ref/") :]
            if name not in self.state.refs:
                raise err(404, "Not Found")
            return 200, self._ref_json(name), {}
        if rest == "/git/refs" and method == "POST":
            data = self.fake._require(body, "ref")
            ref, sha = str(data["ref"]), str(data.get("sha") or "")
            if not ref.startswith("refs/") or ref.count("/") < 2:
                raise err(422, "Reference name is not valid")
            name = ref[len("refs/") :]
            if name in self.state.refs:
                raise err(422, "Reference already exists")
            if sha not in self.state.commits:
                raise err(422, "Object does not exist")
            self.state.refs[name] = sha
            return 201, self._ref_json(name), {}
        if rest.startswith("/git/refs/") and method == "PATCH":
            return self._update_ref(rest[len("/git/refs/") :], self.fake._object(body))
        if rest == "/git/blobs" and method == "POST":
            data = self.fake._require(body, "content")
            raw = str(data["content"])
            blob = base64.b64decode(raw) if data.get("encoding") == "base64" else raw.encode()
            sha = self._blob(blob)
            return 201, {"url": f"{self._api()}/git/blobs/{sha}", "sha": sha}, {}
        if rest.startswith("/git/trees/") and method == "GET":
            sha = rest[len("/git/trees/") :]
            if sha not in self.state.trees:
                raise err(404, "Not Found")
            return 200, self._tree_json(sha), {}
        if rest == "/git/trees" and method == "POST":
            return 201, self._tree_json(self._new_tree(self.fake._require(body, "tree"))), {}
        if rest.startswith("/git/commits/") and method == "GET":
            sha = rest[len("/git/commits/") :]
            if sha not in self.state.commits:
                raise err(404, "Not Found")
            return 200, self._commit_json(sha), {}
        if rest == "/git/commits" and method == "POST":
            data = self.fake._require(body, "tree")
            parents = [str(p) for p in data.get("parents") or []]
            if data["tree"] not in self.state.trees or any(
                p not in self.state.commits for p in parents
            ):
                raise err(422, "Tree SHA does not exist")
            sha = self._commit(str(data["message"]), data["tree"], parents, "bot", "bot@x.test")
            return 201, self._commit_json(sha), {}
        if rest == "/pulls" and method == "GET":
            found = [
                n
                for n, pr in sorted(self.state.pulls.items())
                if q.get("state", "open") in ("all", self.fake.state.issues[n]["state"])
                and (not q.get("head") or q["head"] == f"{self.fake.owner}:{pr['head']}")
                and (not q.get("base") or q["base"] == pr["base"])
            ]
            return self.fake._list(
                found, q, base, path, lambda n: n, lambda n: self.pull_json(n, full=False)
            )
        if rest == "/pulls" and method == "POST":
            return 201, self.pull_json(self._open(self.fake._require(body, "head"))), {}
        if rest.startswith("/pulls/") and rest[len("/pulls/") :].isdigit():
            number = int(rest[len("/pulls/") :])
            if number not in self.state.pulls:
                raise err(404, "Not Found")
            if method == "PATCH":
                self._edit_pull(number, self.fake._object(body))
            return 200, self.pull_json(number), {}
        return None

    def _update_ref(self, name: str, data: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        err = _error
        sha = str(data.get("sha") or "")
        if name not in self.state.refs:
            raise err(422, "Reference does not exist")
        if sha not in self.state.commits:
            raise err(422, "Object does not exist")
        if name.removeprefix("heads/") in self.protected:
            raise err(self.protected_status, f"Protected branch update failed for refs/{name}.")
        old = self.state.refs[name]
        if not data.get("force") and not self._is_ancestor(old, sha):
            raise err(422, "Update is not a fast forward")
        self.state.refs[name] = sha
        return 200, self._ref_json(name), {}

    def _new_tree(self, data: dict[str, Any]) -> str:
        err = _error
        base = data.get("base_tree")
        if base is not None and base not in self.state.trees:
            raise err(422, "base_tree is not a valid tree oid")
        changes: dict[str, dict[str, str] | None] = {}
        for item in data["tree"]:
            path, mode, kind = item.get("path"), item.get("mode"), item.get("type")
            if not path or mode not in ("100644", "100755", "040000", "160000", "120000"):
                raise err(422, "Invalid tree info")
            if "content" in item and "sha" in item:
                raise err(422, "Only one of content or sha may be given")
            if "content" in item:
                changes[path] = {
                    "mode": mode,
                    "type": "blob",
                    "sha": self._blob(str(item["content"]).encode("utf-8")),
                }
            elif item.get("sha") is None:
                changes[path] = None
            elif kind == "blob" and item["sha"] in self.state.blobs:
                changes[path] = {"mode": mode, "type": "blob", "sha": str(item["sha"])}
            else:
                raise err(422, "Invalid tree info: sha does not exist")
        return self._write_tree(base, changes)

    def _open(self, data: dict[str, Any]) -> int:
        err = _error
        if not self.actions_may_open_prs:
            raise err(403, PR_REFUSED)
        head, base = str(data["head"]).split(":")[-1], str(data.get("base") or "")
        if f"heads/{head}" not in self.state.refs or f"heads/{base}" not in self.state.refs:
            raise err(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
            )
        for n, pr in self.state.pulls.items():
            if pr["head"] == head and self.fake.state.issues[n]["state"] == "open":
                raise err(
                    422,
                    "Validation Failed",
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for "
                            f"{self.fake.owner}:{head}.",
                        }
                    ],
                )
        issue = self.fake._create({"title": data.get("title") or head, "body": data.get("body")})
        issue["pull_request"] = {
            "url": f"{self._api()}/pulls/{issue['number']}",
            "html_url": f"{self.fake.html_base}/{self.fake.repo}/pull/{issue['number']}",
            "diff_url": None,
            "patch_url": None,
            "merged_at": None,
        }
        self.state.pulls[issue["number"]] = {"head": head, "base": base}
        return int(issue["number"])

    def _edit_pull(self, number: int, data: dict[str, Any]) -> None:
        if "base" in data:
            if f"heads/{data['base']}" not in self.state.refs:
                raise _error(422, "Validation Failed", [{"field": "base"}])
            self.state.pulls[number]["base"] = str(data["base"])
        self.fake._edit(
            self.fake.state.issues[number],
            {k: v for k, v in data.items() if k in ("title", "body", "state")},
        )


def _error(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Exception:
    from tests.fakes.github_fake import _Error  # the fake's own error type (import cycle)

    return _Error(status, message, errors)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_epoch(epoch: int) -> str:
    return _iso(dt.datetime.fromtimestamp(epoch, dt.timezone.utc))
