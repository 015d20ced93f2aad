"""A stateful fake of the GitHub REST subset the tool uses, in-process and on 127.0.0.1.

One `GitHubFake` holds the state (issues and pull requests sharing numbers, labels, milestones,
comments, assignable users), answers like GitHub (pagination with `Link`, ETags and 304,
rate-limit headers, primary and secondary limits) and logs every request. Faults are injected
per request: 5xx, 429 with Retry-After, 403 secondary limit, a held-back answer (timeout), a
dropped connection, each optionally *after* the request was applied (a lost answer).

Transports: `fake.install(rsps)` registers callbacks on a `responses.RequestsMock` for
https://api.github.com with and without :443; `FakeServer(fake)` serves it on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import requests

from tests.fakes.github_git import GitRepo

DOCS = "https://docs.github.com/rest"
RATE_WINDOW_S = 3600
RATE_KINDS = ("429", "secondary", "primary")
STATUS_KINDS = ("500", "502", "503")
FAULT_KINDS = (*STATUS_KINDS, *RATE_KINDS, "timeout", "drop", "reply")


class FakeClock:
    """A clock that moves only when told to (or by `tick` seconds on each reading)."""

    def __init__(self, start: dt.datetime | None = None, tick: float = 0.0) -> None:
        self.now = start or dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
        self.tick = tick

    def __call__(self) -> dt.datetime:
        current = self.now
        self.now += dt.timedelta(seconds=self.tick)
        return current

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    def time(self) -> float:
        """Epoch seconds (what the backend's `clock` wants)."""
        return self.now.timestamp()

    def sleep(self, seconds: float) -> None:
        """A sleeper that moves this clock instead of waiting."""
        self.advance(seconds)


@dataclass
class Fault:
    """One injected fault: fires on the matching request after `skip` matching ones passed."""

    kind: str  # one of FAULT_KINDS
    method: str | None = None  # None: any method
    path: str | None = None  # regular expression, full match against the path (no query)
    after: bool = False  # apply the request first (5xx, timeout, drop): a lost answer
    skip: int = 0  # fires from the (skip + 1)th matching request on (later, if another fired)
    times: int = 1
    retry_after: int = 3
    delay_s: float = 0.5  # timeout: how long the answer is held back on the loopback server
    status: int = 0  # reply: answer this status and JSON body, without applying the request
    body: Any = None
    fired: int = 0
    seen: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {FAULT_KINDS}")
        if self.after and self.kind in (*RATE_KINDS, "reply"):
            raise ValueError("a rate-limited request is never applied: after=True makes no sense")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any = None  # JSON-able, or None for no body

    def encoded(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class Outcome:
    """What the transport does: answer, answer late (`delay_s`), or drop the connection."""

    reply: Reply | None
    action: str = "reply"  # reply | stall | drop
    delay_s: float = 0.0


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    status: int | None = None  # None: no answer (dropped)
    response: Any = None
    fault: str | None = None
    applied: bool = False


class _Error(Exception):
    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


@dataclass
class _State:
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # casefolded name -> label
    milestones: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    next_number: int = 1
    next_id: int = 1000


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubFake:
    """GitHub's issues API for one repository, good enough to sync against."""

    def __init__(
        self,
        owner: str = "acme",
        name: str = "infra",
        *,
        token: str = "t0ken-secret",
        clock: Callable[[], dt.datetime] | None = None,
        assignable: Iterable[str] = ("alice", "bob", "carol"),
        labels: Iterable[str] = ("bug",),
        rate_limit: int = 5000,
        issues_enabled: bool = True,
        read_only: bool = False,
        secondary_writes_per_minute: int | None = None,
        secondary_writes_per_hour: int | None = None,
        api_base: str = "https://api.github.com",
        html_base: str = "https://github.com",
    ) -> None:
        self.owner, self.name = owner, name
        self.token = token
        self.clock: Callable[[], dt.datetime] = clock or FakeClock()
        self.assignable = {a.casefold(): a for a in assignable}
        self.rate_limit = rate_limit
        self.issues_enabled = issues_enabled
        self.read_only = read_only
        self.secondary_writes_per_minute = secondary_writes_per_minute
        self.secondary_writes_per_hour = secondary_writes_per_hour  # GitHub: 500 content writes
        self.api_base = api_base
        self.html_base = html_base
        self.state = _State()
        self.git = GitRepo(self)  # refs, commits, trees, blobs, pull requests
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.latency_s = 0.0  # the loopback server waits this long before each answer
        self.lock = threading.RLock()
        self._window_start = self.clock()
        self._used = 0
        self._recent_writes: list[dt.datetime] = []
        for label in labels:
            self.add_label(label)

    # --- set-up and inspection (what a person or a test does; not logged) --------------------

    @property
    def repo(self) -> str:
        return f"{self.owner}/{self.name}"

    def add_label(self, name: str, color: str = "ededed") -> dict[str, Any]:
        label = {
            "id": self._id(),
            "node_id": f"LA_{len(self.state.labels) + 1}",
            "url": f"{self.api_base}/repos/{self.repo}/labels/{quote(name)}",
            "name": name,
            "description": None,
            "color": color,
            "default": False,
        }
        self.state.labels[name.casefold()] = label
        return label

    def add_issue(self, title: str, body: str | None = None, **fields: Any) -> dict[str, Any]:
        """An issue made by a person: fields as in create (labels, assignees, state...)."""
        with self.lock:
            issue = self._create(
                {"title": title, "body": body, **{k: v for k, v in fields.items() if k != "state"}}
            )
            if fields.get("state") == "closed":
                self._edit(issue, {"state": "closed", "state_reason": fields.get("state_reason")})
            return issue

    def add_pull_request(self, title: str, labels: Iterable[str] = ()) -> dict[str, Any]:
        issue = self.add_issue(title, labels=list(labels))
        n = issue["number"]
        issue["pull_request"] = {
            "url": f"{self.api_base}/repos/{self.repo}/pulls/{n}",
            "html_url": f"{self.html_base}/{self.repo}/pull/{n}",
            "diff_url": None,
            "patch_url": None,
            "merged_at": None,
        }
        return issue

    def edit(self, number: int, **changes: Any) -> dict[str, Any]:
        """Change an issue the way a person would in the web UI."""
        with self.lock:
            return self._edit(self.state.issues[number], changes)

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def issues(self, *, with_prs: bool = False) -> list[dict[str, Any]]:
        return [i for i in self.state.issues.values() if with_prs or "pull_request" not in i]

    def requests(self, method: str | None = None, path: str | None = None) -> list[Logged]:
        return [
            r
            for r in self.log
            if (method is None or r.method == method)
            and (path is None or re.fullmatch(path, r.path))
        ]

    # --- the HTTP face -----------------------------------------------------------------------

    def handle(
        self, method: str, url: str, headers: dict[str, str], raw: bytes | None, base: str = ""
    ) -> Outcome:
        """Answer one request; `base` is the scheme://host[:port] links point at."""
        parts = urlsplit(url)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        hdrs = {k.lower(): v for k, v in headers.items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace") if raw else None
        entry = Logged(method, path, query, body, hdrs)
        with self.lock:
            self.log.append(entry)
            base = base or self.api_base
            fault = self._fault(method, path)
            if fault is not None:
                entry.fault = fault.kind
            if fault is not None and fault.kind == "reply":
                reply = Reply(fault.status, self._rate_headers(count=True), fault.body)
            elif fault is not None and fault.kind in RATE_KINDS:
                reply = self._rate_fault(fault)
            elif fault is not None and not fault.after:
                reply = self._fault_reply(fault) if fault.kind in STATUS_KINDS else None
                if reply is None:
                    return self._outcome(entry, None, fault)
            else:
                reply = self._route(method, path, query, hdrs, body, base, entry)
                if fault is not None:
                    if fault.kind in STATUS_KINDS:
                        reply = self._fault_reply(fault)
                    else:
                        return self._outcome(entry, reply, fault)
            return self._outcome(entry, reply, None)

    def _outcome(self, entry: Logged, reply: Reply | None, fault: Fault | None) -> Outcome:
        if fault is not None and fault.kind == "drop":
            return Outcome(None, "drop")
        if fault is not None and fault.kind == "timeout":
            if reply is None:  # held back before it was applied: answer a 504 late
                reply = self._error_reply(504, "We couldn't respond to your request in time.")
            entry.status, entry.response = reply.status, reply.body
            return Outcome(reply, "stall", fault.delay_s)
        assert reply is not None
        entry.status, entry.response = reply.status, reply.body
        return Outcome(reply)

    def _fault(self, method: str, path: str) -> Fault | None:
        """The first due fault; every fault counts the requests it matches, fired or not."""
        chosen: Fault | None = None
        for fault in self.faults:
            if fault.times <= 0:
                continue
            if fault.method and fault.method != method:
                continue
            if fault.path and not re.fullmatch(fault.path, path):
                continue
            fault.seen += 1
            if chosen is None and fault.seen > fault.skip:
                chosen = fault
        if chosen is not None:
            chosen.times -= 1
            chosen.fired += 1
        return chosen

    def _rate_headers(self, count: bool) -> dict[str, str]:
        now = self.clock()
        if (now - self._window_start).total_seconds() >= RATE_WINDOW_S:
            self._window_start, self._used = now, 0
        if count:
            self._used += 1
        reset = int(self._window_start.timestamp()) + RATE_WINDOW_S
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(self.rate_limit - self._used, 0)),
            "x-ratelimit-used": str(self._used),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        }

    def _error_reply(self, status: int, message: str, errors: Any = None) -> Reply:
        body: dict[str, Any] = {
            "message": message,
            "documentation_url": DOCS,
            "status": str(status),
        }
        if errors is not None:
            body["errors"] = errors
        headers = {"content-type": "application/json; charset=utf-8"}
        headers.update(self._rate_headers(count=True))
        return Reply(status, headers, body)

    def _fault_reply(self, fault: Fault) -> Reply:
        return self._error_reply(int(fault.kind), "Server Error" if fault.kind == "500" else "")

    def _rate_fault(self, fault: Fault) -> Reply:
        if fault.kind == "429":
            reply = self._error_reply(429, "You have exceeded a secondary rate limit.")
            reply.headers["retry-after"] = str(fault.retry_after)
            return reply
        if fault.kind == "secondary":
            return self._error_reply(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you "
                "try again.",
            )
        reply = self._error_reply(403, f"API rate limit exceeded for installation ID {self._id()}.")
        reply.headers["x-ratelimit-remaining"] = "0"
        return reply

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
        base: str,
        entry: Logged,
    ) -> Reply:
        auth = headers.get("authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return self._error_reply(401, "Bad credentials")
        if self._rate_headers(count=False)["x-ratelimit-remaining"] == "0":
            return self._rate_fault(Fault("primary"))
        if method != "GET":
            if self.read_only:
                return self._error_reply(403, "Resource not accessible by integration")
            if self._secondary_hit():
                return self._rate_fault(Fault("secondary"))
        try:
            status, data, extra = self._dispatch(method, path, query, body, base)
        except _Error as err:
            return self._error_reply(err.status, err.message, err.errors)
        entry.applied = method != "GET"
        headers_out = {"content-type": "application/json; charset=utf-8", **extra}
        if method == "GET" and status == 200:
            payload = json.dumps(data, sort_keys=True).encode()
            etag = 'W/"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
            headers_out["etag"] = etag
            if headers.get("if-none-match") == etag:
                headers_out.update(self._rate_headers(count=False))  # 304s are free
                return Reply(304, headers_out, None)
        headers_out.update(self._rate_headers(count=True))
        return Reply(status, headers_out, data)

    def _secondary_hit(self) -> bool:
        """GitHub's limits on content-creating requests, in sliding windows of the fake's clock."""
        per_minute, per_hour = self.secondary_writes_per_minute, self.secondary_writes_per_hour
        if per_minute is None and per_hour is None:
            return False
        now = self.clock()
        window = 3600 if per_hour is not None else 60
        self._recent_writes = [t for t in self._recent_writes if (now - t).total_seconds() < window]
        last_minute = sum(1 for t in self._recent_writes if (now - t).total_seconds() < 60)
        if per_minute is not None and last_minute >= per_minute:
            return True
        if per_hour is not None and len(self._recent_writes) >= per_hour:
            return True
        self._recent_writes.append(now)
        return False

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, base: str
    ) -> tuple[int, Any, dict[str, str]]:
        prefix = f"/repos/{self.repo}"
        if not path.casefold().startswith(prefix.casefold()):
            raise _Error(404, "Not Found")
        rest = path[len(prefix) :]
        q = {k: v[-1] for k, v in query.items()}
        answer = self.git.dispatch(method, rest, q, body, base, path)
        if answer is not None:
            return answer
        if rest.startswith("/issues") and not self.issues_enabled:
            raise _Error(410, "Issues are disabled for this repo")
        m = re.fullmatch(r"/issues/comments/(\d+)", rest)
        if m and method in ("GET", "PATCH", "DELETE"):
            return self._comment_by_id(method, int(m.group(1)), body)
        m = re.fullmatch(r"/issues/(\d+)", rest)
        if rest == "/issues" and method == "GET":
            return self._list(self._issue_list(q), q, base, path, lambda i: i, self._issue_json)
        if rest == "/issues" and method == "POST":
            return 201, self._issue_json(self._create(self._require(body, "title"))), {}
        if m and method == "GET":
            return 200, self._issue_json(self._get_issue(int(m.group(1)))), {}
        if m and method == "PATCH":
            issue = self._get_issue(int(m.group(1)))
            return 200, self._issue_json(self._edit(issue, self._object(body))), {}
        m = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if m:
            issue = self._get_issue(int(m.group(1)))
            if method == "POST":
                text = self._require(body, "body")["body"]
                return 201, self._comment(issue, str(text)), {}
            items = self.state.comments.get(issue["number"], [])
            return self._list(items, q, base, path, lambda c: c, lambda c: c)
        m = re.fullmatch(r"/assignees/([^/]+)", rest)
        if m and method == "GET":
            if m.group(1).casefold() in self.assignable:
                return 204, None, {}
            raise _Error(404, "Not Found")
        if rest == "/labels" and method == "GET":
            labels = list(self.state.labels.values())
            return self._list(labels, q, base, path, lambda x: x, lambda x: x)
        if rest == "/labels" and method == "POST":
            data = self._require(body, "name")
            name = str(data["name"])
            if name.casefold() in self.state.labels:
                raise _Error(
                    422,
                    "Validation Failed",
                    [{"resource": "Label", "code": "already_exists", "field": "name"}],
                )
            label = self.add_label(name, str(data.get("color") or "ededed"))
            label["description"] = data.get("description")
            return 201, label, {}
        if rest == "/milestones" and method == "GET":
            state = q.get("state", "open")
            ms = [x for x in self.state.milestones.values() if state in ("all", x["state"])]
            return self._list(ms, q, base, path, lambda x: x, self._milestone_json)
        if rest == "/milestones" and method == "POST":
            data = self._require(body, "title")
            if any(x["title"] == data["title"] for x in self.state.milestones.values()):
                raise _Error(
                    422,
                    "Validation Failed",
                    [{"resource": "Milestone", "code": "already_exists", "field": "title"}],
                )
            return 201, self._milestone_json(self._new_milestone(data)), {}
        raise _Error(404, "Not Found")

    # --- state changes -----------------------------------------------------------------------

    def _id(self) -> int:
        self.state.next_id += 1
        return self.state.next_id

    @staticmethod
    def _object(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Error(400, "Problems parsing JSON")
        return body

    def _require(self, body: Any, name: str) -> dict[str, Any]:
        data = self._object(body)
        if data.get(name) in (None, ""):
            raise _Error(
                422,
                "Validation Failed",
                [{"resource": "Issue", "code": "missing_field", "field": name}],
            )
        return data

    def _get_issue(self, number: int) -> dict[str, Any]:
        issue = self.state.issues.get(number)
        if issue is None:
            raise _Error(404, "Not Found")
        if issue.get("deleted"):
            raise _Error(410, "This issue was deleted")
        return issue

    def _user(self, login: str) -> dict[str, Any]:
        api = f"{self.api_base}/users/{login}"
        uid = int(hashlib.sha256(login.casefold().encode()).hexdigest()[:6], 16)
        return {
            "login": login,
            "id": uid,
            "node_id": f"U_{uid}",
            "avatar_url": f"{self.html_base}/{login}.png",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.html_base}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": "User",
            "site_admin": False,
        }

    def _labels_for(self, names: Any) -> list[str]:
        out: list[str] = []
        for raw in names or []:
            name = str(raw.get("name") if isinstance(raw, dict) else raw)
            label = self.state.labels.get(name.casefold()) or self.add_label(name)
            if label["name"] not in out:
                out.append(label["name"])  # GitHub creates missing labels on the fly
        return out

    def _assignees_for(self, logins: Any) -> list[str]:
        out: list[str] = []
        for login in logins or []:
            known = self.assignable.get(str(login).casefold())
            if known is None:
                raise _Error(
                    422,
                    "Validation Failed",
                    [
                        {
                            "value": login,
                            "resource": "Issue",
                            "field": "assignees",
                            "code": "invalid",
                        }
                    ],
                )
            if known not in out:
                out.append(known)
        return out

    def _milestone_for(self, number: Any) -> int | None:
        if number in (None, ""):
            return None
        if not isinstance(number, int) or number not in self.state.milestones:
            raise _Error(
                422,
                "Validation Failed",
                [{"value": number, "resource": "Issue", "field": "milestone", "code": "invalid"}],
            )
        return number

    def _create(self, data: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        number = self.state.next_number
        issue = {
            "number": number,
            "id": self._id(),
            "title": str(data["title"]),
            "body": data.get("body"),
            "state": "open",
            "state_reason": None,
            "labels": self._labels_for(data.get("labels")),
            "assignees": self._assignees_for(data.get("assignees")),
            "milestone": self._milestone_for(data.get("milestone")),
            "user": "tracker-bot",
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "locked": False,
        }
        self.state.next_number += 1
        self.state.issues[number] = issue
        return issue

    def _edit(self, issue: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        for name in ("title", "body"):
            if name in changes:
                issue[name] = changes[name]
        if "labels" in changes:
            issue["labels"] = self._labels_for(changes["labels"])
        if "assignees" in changes:
            issue["assignees"] = self._assignees_for(changes["assignees"])
        if "milestone" in changes:
            issue["milestone"] = self._milestone_for(changes["milestone"])
        state = changes.get("state")
        if state not in (None, "open", "closed"):
            raise _Error(422, "Validation Failed", [{"field": "state", "code": "invalid"}])
        now = self.clock()
        if state is not None and state != issue["state"]:
            issue["state"] = state
            if state == "closed":
                issue["closed_at"] = now
                issue["state_reason"] = changes.get("state_reason") or "completed"
            else:
                issue["closed_at"] = None
                issue["state_reason"] = "reopened"
        issue["updated_at"] = now
        return issue

    def _comment(
        self, issue: dict[str, Any], text: str, login: str = "tracker-bot"
    ) -> dict[str, Any]:
        moment = self.clock()
        now = _iso(moment)
        cid = self._id()
        n = issue["number"]
        comment = {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.api_base}/repos/{self.repo}/issues/comments/{cid}",
            "html_url": f"{self.html_base}/{self.repo}/issues/{n}#issuecomment-{cid}",
            "issue_url": f"{self.api_base}/repos/{self.repo}/issues/{n}",
            "body": text,
            "user": self._user(login),
            "created_at": now,
            "updated_at": now,
            "author_association": "MEMBER",
        }
        self.state.comments.setdefault(n, []).append(comment)
        issue["comments"] = len(self.state.comments[n])
        issue["updated_at"] = moment  # as on GitHub: a comment is activity on the issue
        return comment

    def comment_as(self, number: int, login: str, text: str) -> dict[str, Any]:
        """A comment by a person (what a test does to stand for someone acting on the issue)."""
        return self._comment(self.state.issues[number], text, login)

    def _comment_by_id(self, method: str, cid: int, body: Any) -> tuple[int, Any, dict[str, str]]:
        for n, comments in self.state.comments.items():
            for c in comments:
                if c["id"] != cid:
                    continue
                if method == "DELETE":
                    comments.remove(c)
                    self.state.issues[n]["comments"] = len(comments)
                    return 204, None, {}
                if method == "PATCH":
                    c["body"] = str(self._require(body, "body")["body"])
                    c["updated_at"] = _iso(self.clock())
                return 200, c, {}
        raise _Error(404, "Not Found")

    def _new_milestone(self, data: dict[str, Any]) -> dict[str, Any]:
        number = len(self.state.milestones) + 1
        now = self.clock()
        ms = {
            "number": number,
            "id": self._id(),
            "title": str(data["title"]),
            "description": data.get("description"),
            "due_on": data.get("due_on"),
            "state": data.get("state") or "open",
            "created_at": now,
            "updated_at": now,
        }
        self.state.milestones[number] = ms
        return ms

    # --- JSON shapes (checked against the spec by the tests) ----------------------------------

    def _label_json(self, name: str) -> dict[str, Any]:
        return dict(self.state.labels[name.casefold()])

    def _milestone_json(self, ms: dict[str, Any]) -> dict[str, Any]:
        n = ms["number"]
        due = ms.get("due_on")
        if isinstance(due, str) and due.endswith("T12:00:00Z"):
            due = due[:10] + "T07:00:00Z"  # GitHub floors due_on to Pacific midnight
        issues = [i for i in self.state.issues.values() if i.get("milestone") == n]
        return {
            "url": f"{self.api_base}/repos/{self.repo}/milestones/{n}",
            "html_url": f"{self.html_base}/{self.repo}/milestone/{n}",
            "labels_url": f"{self.api_base}/repos/{self.repo}/milestones/{n}/labels",
            "id": ms["id"],
            "node_id": f"MI_{ms['id']}",
            "number": n,
            "state": ms["state"],
            "title": ms["title"],
            "description": ms.get("description"),
            "creator": self._user("tracker-bot"),
            "open_issues": sum(1 for i in issues if i["state"] == "open"),
            "closed_issues": sum(1 for i in issues if i["state"] == "closed"),
            "created_at": _iso(ms["created_at"]),
            "updated_at": _iso(ms["updated_at"]),
            "closed_at": None,
            "due_on": due,
        }

    def _issue_json(self, issue: dict[str, Any]) -> dict[str, Any]:
        n = issue["number"]
        api = f"{self.api_base}/repos/{self.repo}/issues/{n}"
        assignees = [self._user(a) for a in issue["assignees"]]
        ms = issue.get("milestone")
        out = {
            "id": issue["id"],
            "node_id": f"I_{issue['id']}",
            "url": api,
            "repository_url": f"{self.api_base}/repos/{self.repo}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.html_base}/{self.repo}/issues/{n}",
            "number": n,
            "state": issue["state"],
            "state_reason": issue["state_reason"],
            "title": issue["title"],
            "body": issue["body"],
            "user": self._user(issue["user"]),
            "labels": [self._label_json(x) for x in issue["labels"]],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": self._milestone_json(self.state.milestones[ms]) if ms else None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(self.state.comments.get(n, [])),
            "created_at": _iso(issue["created_at"]),
            "updated_at": _iso(issue["updated_at"]),
            "closed_at": _iso(issue["closed_at"]) if issue["closed_at"] else None,
            "author_association": "MEMBER",
        }
        if "pull_request" in issue:
            out["pull_request"] = issue["pull_request"]
            out["html_url"] = issue["pull_request"]["html_url"]
        return out

    def _issue_list(self, q: dict[str, str]) -> list[dict[str, Any]]:
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise _Error(422, "Validation Failed", [{"field": "state", "code": "invalid"}])
        wanted = [x.strip().casefold() for x in q.get("labels", "").split(",") if x.strip()]
        since = q.get("since")
        out = []
        for issue in self.state.issues.values():
            if issue.get("deleted") or state not in ("all", issue["state"]):
                continue
            have = {x.casefold() for x in issue["labels"]}
            if any(w not in have for w in wanted):
                continue
            if since and _iso(issue["updated_at"]) < since:
                continue
            out.append(issue)
        key = {"updated": "updated_at", "comments": "comments"}.get(q.get("sort", ""), "number")
        out.sort(key=lambda i: (i.get(key, 0), i["number"]), reverse=q.get("direction") != "asc")
        return out

    def _list(
        self,
        items: list[Any],
        q: dict[str, str],
        base: str,
        path: str,
        pick: Callable[[Any], Any],
        render: Callable[[Any], Any],
    ) -> tuple[int, Any, dict[str, str]]:
        try:
            per_page = min(max(int(q.get("per_page", "30")), 1), 100)
            page = max(int(q.get("page", "1")), 1)
        except ValueError:
            raise _Error(
                422, "Validation Failed", [{"field": "per_page", "code": "invalid"}]
            ) from None
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(p: int) -> str:
            return f"<{base}{path}?{urlencode({**q, 'page': p})}>"

        rels = []
        if page < last:
            rels += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            rels += [f'{link(page - 1)}; rel="prev"', f'{link(1)}; rel="first"']
        extra = {"link": ", ".join(rels)} if rels else {}
        return 200, [render(pick(x)) for x in chunk], extra

    # --- transports --------------------------------------------------------------------------

    def install(self, rsps: Any) -> None:
        """Answer every GitHub API request of a `responses.RequestsMock`, with or without :443."""
        pattern = re.compile(r"https://api\.github\.com(?::443)?/.*")
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            rsps.add_callback(method, pattern, callback=self._responses_callback)

    def _responses_callback(self, request: requests.PreparedRequest) -> Any:
        raw = request.body
        data = raw.encode() if isinstance(raw, str) else raw
        parts = urlsplit(str(request.url))
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        base = f"{parts.scheme}://{parts.hostname}"
        out = self.handle(str(request.method), url, dict(request.headers), data, base)
        if out.action == "drop":
            return requests.exceptions.ConnectionError("Connection aborted: RemoteDisconnected")
        if out.action == "stall":
            return requests.exceptions.ReadTimeout("Read timed out (fake)")
        assert out.reply is not None
        return (out.reply.status, out.reply.headers, out.reply.encoded())


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else None
        host = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
        if self.server.fake.latency_s > 0:  # network time, so a killed client dies mid-run
            self.server.stalled.wait(self.server.fake.latency_s)
        out = self.server.fake.handle(self.command, self.path, dict(self.headers), raw, host)
        if out.action == "drop":
            self.close_connection = True
            return
        if out.action == "stall":
            self.server.stalled.wait(out.delay_s)
        assert out.reply is not None
        payload = out.reply.encoded()
        try:
            self.send_response(out.reply.status)
            for k, v in out.reply.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except OSError:  # the client gave up (timeout): that is the point
            pass

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any  # noqa: N815 - http.server names

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: GitHubFake) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.stalled = threading.Event()  # set on stop: held-back answers end at once


class FakeServer:
    """Serve a `GitHubFake` on 127.0.0.1 (port 0); use as a context manager."""

    def __init__(self, fake: GitHubFake) -> None:
        self.fake = fake
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self._server = _Server(self.fake)
        self.fake.api_base = self.url
        self.fake.html_base = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.stalled.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None
