"""A stateful fake of the Jira REST API (Cloud and Data Center) for tests.

One `JiraFake` holds a project with issues, workflows, create screens and users, answers the
calls the tracker makes, logs every request, and injects faults. It is served two ways:

- in-process: `fake.install(rsps)` on a `responses.RequestsMock`;
- on 127.0.0.1: `with fake.serve() as url:` (threaded http.server, port 0), where a dropped
  connection or a timeout is a real socket event, as urllib3 sees it in production.

Modes differ as Jira does: Cloud has `/rest/api/3`, `search/jql` with `nextPageToken`, and
answers 410 on the removed `/search`; Data Center has v2 only and `/search` with `startAt`.
Cloud authenticates HTTP Basic (email + API token), Data Center a Bearer PAT.
"""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import requests
import responses

Mode = Literal["cloud", "datacenter"]
FaultKind = Literal["500", "502", "503", "429", "timeout", "drop"]
CATEGORIES = {
    "new": {"id": 2, "key": "new", "name": "To Do", "colorName": "blue-gray"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "name": "In Progress",
        "colorName": "yellow",
    },
    "done": {"id": 3, "key": "done", "name": "Done", "colorName": "green"},
}
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
RESOLUTIONS = ("Done", "Won't Do", "Duplicate", "Cannot Reproduce")
EMAIL, TOKEN, PAT = "bot@example.com", "api-token-s3cret", "pat-s3cret"


@dataclass(frozen=True)
class User:
    name: str  # Data Center username
    account_id: str  # Cloud accountId
    email: str
    display: str


USERS = (
    User("alice", "5b10a2844c20165700ede21a", "alice@example.com", "Alice Adams"),
    User("bob", "5b10a2844c20165700ede21b", "bob@example.com", "Bob Brown"),
    User("carol", "5b10a2844c20165700ede21c", "carol@example.com", "Carol Chen"),
    User("zoe", "5b10a2844c20165700ede21d", "zoe@example.com", "Zoë Zimmer"),
)


@dataclass(frozen=True)
class FakeTransition:
    id: str
    name: str
    to: str
    sources: tuple[str, ...] | None = None  # None: global (from every status)
    resolution_screen: bool = False
    resolution_required: bool = False
    sets_resolution: str | None = "Done"  # post-function when entering a done status


@dataclass(frozen=True)
class Workflow:
    statuses: Mapping[str, str]  # name -> category key
    transitions: tuple[FakeTransition, ...]
    initial: str


# Cloud's default company-managed workflow: every status reachable from every other.
SIMPLE = Workflow(
    {"To Do": "new", "In Progress": "indeterminate", "Done": "done"},
    (
        FakeTransition("11", "To Do", "To Do"),
        FakeTransition("21", "In Progress", "In Progress"),
        FakeTransition("31", "Done", "Done", resolution_screen=True),
    ),
    "To Do",
)
# A classic workflow: closing from Open takes two steps, dropping is its own status.
CLASSIC = Workflow(
    {"Open": "new", "In Progress": "indeterminate", "Closed": "done", "Won't Do": "done"},
    (
        FakeTransition("4", "Start Progress", "In Progress", ("Open",)),
        FakeTransition("301", "Stop Progress", "Open", ("In Progress",)),
        FakeTransition("701", "Close Issue", "Closed", ("In Progress",)),
        FakeTransition(
            "801", "Drop", "Won't Do", ("Open", "In Progress"), sets_resolution="Won't Do"
        ),
        FakeTransition("3", "Reopen Issue", "Open", ("Closed", "Won't Do")),
    ),
    "Open",
)


@dataclass
class Fault:
    """A fault for matching requests; `after`: the request is processed (a create stored) and
    only then does the answer fail (a lost response)."""

    kind: FaultKind
    method: str | None = None
    path: str | None = None  # regular expression searched in the path
    times: int = 1
    after: bool = False
    retry_after: str | None = "1"
    skip: int = 0  # let this many matching requests through first
    fired: int = 0


@dataclass
class Logged:
    """One request the fake received, and what it did."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int | None = None
    response: Any = None
    fault: str | None = None

    @property
    def applied(self) -> bool:
        """Whether the fake processed the request (a fault may still have lost its answer)."""
        return self.fault is None or self.fault.endswith(" after")

    @property
    def version(self) -> str:
        m = re.match(r"/rest/api/([^/]+)/", self.path)
        return m.group(1) if m else ""

    @property
    def endpoint(self) -> str:
        return re.sub(r"^/rest/api/[^/]+/", "", self.path)


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["drop", "hang"] | None = None


class _Refused(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _errors(messages: list[str] | None = None, **fields: str) -> dict[str, Any]:
    return {"errorMessages": messages or [], "errors": dict(fields)}


def wiki_to_adf(text: str) -> dict[str, Any]:
    """Jira's wiki -> ADF conversion, as far as tests need: paragraphs and {noformat} blocks."""
    content: list[dict[str, Any]] = []
    parts = re.split(r"(?<!\\)\{noformat\}", text)
    for n, part in enumerate(parts):
        if n % 2 == 1:
            node: dict[str, Any] = {"type": "codeBlock", "attrs": {}}
            if part:
                node["content"] = [{"type": "text", "text": part}]
            content.append(node)
            continue
        for para in re.split(r"\n\s*\n", part):
            para = re.sub(r"\\(.)", r"\1", para.strip("\n"))
            if para.strip():
                content.append({"type": "paragraph", "content": [{"type": "text", "text": para}]})
    return {"type": "doc", "version": 1, "content": content}


def adf_text(doc: Any) -> str:
    if isinstance(doc, dict):
        if doc.get("type") == "text":
            return str(doc.get("text", ""))
        return "\n".join(adf_text(c) for c in doc.get("content") or [])
    return ""


class JiraFake:
    """A Jira project as a stateful HTTP API; see the module docstring."""

    def __init__(
        self,
        mode: Mode = "cloud",
        *,
        project: str = "OPS",
        base_url: str = "https://jira.example.test",
        workflow: Workflow = SIMPLE,
        screen_without: tuple[str, ...] = (),
        required_fields: Mapping[str, str] | None = None,
        users: tuple[User, ...] = USERS,
        search_lag: int = 0,
        page_cap: int = 100,
        hang_s: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.mode: Mode = mode
        self.project = project
        self.project_id = "10000"
        self.base_url = base_url.rstrip("/")
        self.workflow = workflow
        self.screen_without = set(screen_without)
        self.required_fields = dict(required_fields or {})  # customfield id -> name
        self.users = users
        self.search_lag = search_lag
        self.page_cap = page_cap
        self.hang_s = hang_s
        self.issue_types = {"10001": "Task", "10002": "Bug"}
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[Any]] = {}
        self.log: list[Logged] = []
        self.faults: list[Fault] = []
        self.forbid: set[str] = set()  # "create", "edit", "transition": answered 403
        self.ignore_expand = False  # a server (or proxy) that drops `expand` on GET issue/{key}
        self.reject: Callable[[Mapping[str, Any]], str | None] | None = None  # per-item 400
        self.chaos_rate = 0.0
        self.chaos_kinds: tuple[tuple[FaultKind, bool], ...] = ()
        self.chaos_methods: tuple[str, ...] = ("GET", "POST", "PUT")
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._seq = 0
        self._searches = 0
        self._tick = 0

    # --- configuration and inspection -----------------------------------------------------------

    def fail(self, kind: FaultKind, **kw: Any) -> Fault:
        f = Fault(kind, **kw)
        self.faults.append(f)
        return f

    def chaos(
        self,
        rate: float,
        kinds: tuple[tuple[FaultKind, bool], ...],
        methods: tuple[str, ...] = ("GET", "POST", "PUT"),
    ) -> None:
        """Fail each matching request with probability `rate` (seeded): (kind, after) pairs."""
        self.chaos_rate, self.chaos_kinds, self.chaos_methods = rate, kinds, methods

    def calm(self) -> None:
        self.faults.clear()
        self.chaos_rate = 0.0

    def requests(self, method: str | None = None, endpoint: str | None = None) -> list[Logged]:
        """Logged requests, optionally by method and endpoint regex (path after /rest/api/N/)."""
        return [
            r
            for r in self.log
            if (method is None or r.method == method)
            and (endpoint is None or re.fullmatch(endpoint, r.endpoint))
        ]

    def user(self, name: str) -> User:
        return next(u for u in self.users if u.name == name)

    def ident(self, u: User) -> str:
        return u.account_id if self.mode == "cloud" else u.name

    def edit(self, key: str, **changes: Any) -> None:
        """Change an issue as a person would: summary, labels, assignee (user name or None),
        status (a status name; resolution follows), priority, duedate, description."""
        with self._lock:
            f = self.issues[key]["fields"]
            for name, value in changes.items():
                if name == "assignee":
                    f["assignee"] = self._user_json(self.user(value)) if value else None
                elif name == "status":
                    done = self.workflow.statuses[value] == "done"
                    self._enter(f, value, changes.get("resolution", "Done") if done else None)
                elif name == "resolution":
                    continue
                elif name == "priority":
                    f["priority"] = self._priority(value)
                elif name == "labels":
                    f["labels"] = sorted(set(value))
                else:
                    f[name] = value
            f["updated"] = self._now()

    # --- serving ----------------------------------------------------------------------------------

    def install(self, rsps: responses.RequestsMock) -> None:
        """Answer every request to base_url through `rsps`."""
        pattern = re.compile(re.escape(self.base_url) + r"/.*")
        for method in ("GET", "POST", "PUT", "DELETE"):
            rsps.add_callback(method, pattern, callback=self._responses_callback)

    def _responses_callback(self, request: requests.PreparedRequest) -> Any:
        url = urlsplit(request.url or "")
        raw = request.body or b""
        body = raw.encode() if isinstance(raw, str) else bytes(raw)
        prefix = urlsplit(self.base_url).path  # a gateway base: /ex/jira/{cloudId}
        answer = self.handle(
            request.method or "GET",
            url.path.removeprefix(prefix) if prefix else url.path,
            parse_qs(url.query, keep_blank_values=True),
            dict(request.headers),
            body,
        )
        if answer.action == "drop":
            return requests.exceptions.ConnectionError(
                "('Connection aborted.', RemoteDisconnected('Remote end closed connection "
                "without response'))"
            )
        if answer.action == "hang":
            return requests.exceptions.ReadTimeout("Read timed out. (read timeout)")
        text = "" if answer.body is None else json.dumps(answer.body)
        return answer.status, {"Content-Type": "application/json", **answer.headers}, text

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on 127.0.0.1 (a free port); yields the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                answer = fake.handle(
                    self.command,
                    url.path,
                    parse_qs(url.query, keep_blank_values=True),
                    dict(self.headers.items()),
                    body,
                )
                if answer.action is not None:
                    if answer.action == "hang":
                        fake._release.wait(fake.hang_s)
                    self.close_connection = True
                    with suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server names

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        old = self.base_url
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._release.clear()
        try:
            yield self.base_url
        finally:
            self._release.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self.base_url = old

    # --- dispatch ---------------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        raw: bytes,
    ) -> Answer:
        """Answer one request (thread-safe); every request is logged."""
        with self._lock:
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
            entry = Logged(method, path, query, headers, body)
            self.log.append(entry)
            fault = self._fault(method, path)
            if fault is not None and not fault.after:
                entry.fault = fault.kind
                return self._faulted(entry, fault)
            try:
                status, out = self._route(method, path, query, headers, body)
            except _Refused as exc:
                status, out = exc.status, exc.body
            entry.status, entry.response = status, out
            if fault is not None:
                entry.fault = f"{fault.kind} after"
                return self._faulted(entry, fault)
            return Answer(status, out)

    def _fault(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if (
                f.times > 0
                and (f.method in (None, method))
                and (f.path is None or re.search(f.path, path))
            ):
                if f.skip > 0:
                    f.skip -= 1
                    continue
                f.times -= 1
                f.fired += 1
                return f
        chaos = self.chaos_rate and method in self.chaos_methods and "/serverInfo" not in path
        if chaos and self._rng.random() < self.chaos_rate:
            kind, after = self._rng.choice(self.chaos_kinds)
            return Fault(kind, after=after, retry_after="2")
        return None

    def _faulted(self, entry: Logged, f: Fault) -> Answer:
        if f.kind in ("timeout", "drop"):
            return Answer(action="hang" if f.kind == "timeout" else "drop")
        status = int(f.kind)
        headers: dict[str, str] = {}
        if f.kind in ("429", "503") and f.retry_after is not None:
            headers["Retry-After"] = f.retry_after
        body = _errors(["Rate limit exceeded." if f.kind == "429" else "Internal server error"])
        if not f.after:
            entry.status, entry.response = status, body
        return Answer(status, body, headers)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        m = re.fullmatch(r"/rest/api/(2|3|latest)/(.+)", path)
        if m is None or (m.group(1) == "3" and self.mode == "datacenter"):
            return 404, _errors(["Not found"])
        version, rest = m.groups()
        if rest == "serverInfo" and method == "GET" and not _auth_header(headers):
            return 200, self._server_info()
        if not self._authorized(headers):
            return 401, _errors(["Client must be authenticated to access this resource."])
        q = {k: v[-1] for k, v in query.items()}
        routes: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("GET", r"serverInfo", lambda: (200, self._server_info())),
            ("GET", r"myself", lambda: (200, self._user_json(self.users[0]))),
            ("GET", r"user/search", lambda: self._user_search(q)),
            ("GET", r"issue/createmeta/([^/]+)/issuetypes", lambda p: self._meta_types(p, q)),
            (
                "GET",
                r"issue/createmeta/([^/]+)/issuetypes/([^/]+)",
                lambda p, t: self._meta_fields(p, t, q),
            ),
            ("POST", r"issue", lambda: self._create(body, version)),
            ("POST", r"issue/bulk", lambda: self._bulk(body, version)),
            ("GET", r"issue/([^/]+)", lambda k: self._get(k, q, version)),
            ("PUT", r"issue/([^/]+)", lambda k: self._put(k, body, version)),
            ("GET", r"issue/([^/]+)/transitions", lambda k: self._transitions(k, q)),
            ("POST", r"issue/([^/]+)/transitions", lambda k: self._transition(k, body)),
            ("POST", r"issue/([^/]+)/comment", lambda k: self._comment(k, body, version)),
            ("GET", r"issue/([^/]+)/comment", lambda k: self._comments(k, q)),
            ("GET", r"search/jql", lambda: self._search_jql(query, version)),
            ("GET", r"search", lambda: self._search(q, version)),
        ]
        for verb, pattern, fn in routes:
            hit = re.fullmatch(pattern, rest)
            if hit and verb == method:
                return fn(*hit.groups())
        return 404, _errors([f"No such endpoint: {method} {rest}"])

    def _authorized(self, headers: dict[str, str]) -> bool:
        auth = _auth_header(headers)
        if self.mode == "cloud":
            want = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
            return auth == want
        return auth == f"Bearer {PAT}"

    # --- pieces -----------------------------------------------------------------------------------

    def _now(self) -> str:
        self._tick += 1
        minutes, seconds = divmod(self._tick, 60)
        hours, minutes = divmod(minutes, 60)
        return f"2026-10-01T{8 + hours % 16:02d}:{minutes:02d}:{seconds:02d}.000+0000"

    def _server_info(self) -> dict[str, Any]:
        cloud = self.mode == "cloud"
        return {
            "baseUrl": self.base_url,
            "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.2",
            "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 2],
            "deploymentType": "Cloud" if cloud else "Server",
            "buildNumber": 100290 if cloud else 9120002,
            "serverTitle": "Jira",
        }

    def _user_json(self, u: User) -> dict[str, Any]:
        if self.mode == "cloud":
            return {
                "self": f"{self.base_url}/rest/api/2/user?accountId={u.account_id}",
                "accountId": u.account_id,
                "accountType": "atlassian",
                "emailAddress": u.email,
                "displayName": u.display,
                "active": True,
            }
        return {
            "self": f"{self.base_url}/rest/api/2/user?username={u.name}",
            "name": u.name,
            "key": f"JIRAUSER{10000 + self.users.index(u)}",
            "emailAddress": u.email,
            "displayName": u.display,
            "active": True,
        }

    def _user_search(self, q: Mapping[str, str]) -> tuple[int, Any]:
        term = (q.get("query") if self.mode == "cloud" else q.get("username")) or ""
        if not term:
            return 400, _errors(["The query parameter 'query' is required."])
        t = term.casefold()
        hits = [
            u
            for u in self.users
            if t in (u.email.casefold(), u.name, u.display.casefold())
            or u.email.casefold().startswith(t)
        ]
        return 200, [self._user_json(u) for u in hits]

    def _priority(self, name: str) -> dict[str, Any]:
        pid = str(PRIORITIES.index(name) + 1)
        return {"self": f"{self.base_url}/rest/api/2/priority/{pid}", "id": pid, "name": name}

    def _screen(self) -> dict[str, dict[str, Any]]:
        def fld(fid: str, name: str, kind: str, required: bool = False, **more: Any) -> Any:
            return {
                "fieldId": fid,
                "key": fid,
                "name": name,
                "required": required,
                "schema": {"type": kind, "system": fid}
                if not fid.startswith("customfield")
                else {
                    "type": kind,
                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
                    "customId": int(fid.split("_")[1]),
                },
                "operations": ["set"],
                "hasDefaultValue": False,
                **more,
            }

        fields = {
            "summary": fld("summary", "Summary", "string", True),
            "issuetype": fld("issuetype", "Issue Type", "issuetype", True),
            "project": fld("project", "Project", "project", True),
            "description": fld("description", "Description", "string"),
            "labels": fld("labels", "Labels", "array"),
            "assignee": fld("assignee", "Assignee", "user"),
            "duedate": fld("duedate", "Due date", "date"),
            "priority": fld(
                "priority",
                "Priority",
                "priority",
                hasDefaultValue=True,
                allowedValues=[self._priority(p) for p in PRIORITIES],
            ),
            "reporter": fld("reporter", "Reporter", "user", True, hasDefaultValue=True),
        }
        for fid, name in self.required_fields.items():
            fields[fid] = fld(fid, name, "string", True)
        return {k: v for k, v in fields.items() if k not in self.screen_without}

    def _page(self, items: list[Any], q: Mapping[str, str], key: str) -> dict[str, Any]:
        start, size = int(q.get("startAt", 0)), int(q.get("maxResults", 50))
        page = items[start : start + size]
        out: dict[str, Any] = {"maxResults": size, "startAt": start, "total": len(items)}
        if self.mode == "cloud":
            out[key] = page
        else:
            out.update(values=page, isLast=start + len(page) >= len(items))
        return out

    def _meta_types(self, project: str, q: Mapping[str, str]) -> tuple[int, Any]:
        if project not in (self.project, self.project_id):
            return 404, _errors([f"No project could be found with key '{project}'."])
        if "create" in self.forbid:
            return 403, _errors(["You do not have permission to create issues in this project."])
        types = [
            {
                "self": f"{self.base_url}/rest/api/2/issuetype/{i}",
                "id": i,
                "name": n,
                "description": n,
                "subtask": False,
                "iconUrl": f"{self.base_url}/icon/{i}",
            }
            for i, n in self.issue_types.items()
        ]
        return 200, self._page(types, q, "issueTypes")

    def _meta_fields(self, project: str, type_id: str, q: Mapping[str, str]) -> tuple[int, Any]:
        if project not in (self.project, self.project_id) or type_id not in self.issue_types:
            return 404, _errors(["Issue type or project not found."])
        return 200, self._page(list(self._screen().values()), q, "fields")

    def _type_of(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return None
        if value.get("id") in self.issue_types:
            return str(value["id"])
        for i, n in self.issue_types.items():
            if n == value.get("name"):
                return i
        return None

    def _check_fields(self, f: Any, version: str, *, create: bool) -> dict[str, str]:
        """Field errors of a create or edit, as Jira words them."""
        errs: dict[str, str] = {}
        if not isinstance(f, dict):
            return {"fields": "fields must be an object"}
        screen = self._screen()
        if create:
            p = f.get("project")
            if (
                not isinstance(p, dict)
                or (p.get("key"), p.get("id")) == (None, None)
                or (
                    p.get("key") not in (None, self.project)
                    or p.get("id") not in (None, self.project_id)
                )
            ):
                errs["project"] = "valid project is required"
            if self._type_of(f.get("issuetype")) is None:
                errs["issuetype"] = "valid issue type is required"
            if not f.get("summary"):
                errs["summary"] = "You must specify a summary of the issue."
            for fid, name in self.required_fields.items():
                if not f.get(fid):
                    errs[fid] = f"{name} is required."
        for name, value in f.items():
            if name in ("project", "issuetype"):
                continue
            if name not in screen:
                errs[name] = (
                    f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                )
            elif name == "summary" and (
                not isinstance(value, str) or "\n" in value or len(value) > 255
            ):
                errs[name] = "Summary must be less than 255 characters."
            elif name == "description":
                if version == "3" and value is not None and not isinstance(value, dict):
                    errs[name] = (
                        "Operation value must be an Atlassian Document (see the "
                        "Atlassian Document Format)"
                    )
                elif version != "3" and value is not None and not isinstance(value, str):
                    errs[name] = "Operation value must be a string"
            elif name == "labels" and (
                not isinstance(value, list)
                or any(not isinstance(x, str) or " " in x for x in value)
            ):
                errs[name] = "The label must not contain spaces."
            elif (
                name == "duedate"
                and value is not None
                and not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))
            ):
                errs[name] = "Error parsing date string: " + str(value)
            elif name == "priority" and (
                not isinstance(value, dict) or value.get("name") not in PRIORITIES
            ):
                errs[name] = "Specify a valid priority name"
            elif name == "assignee" and value is not None and self._find_user(value) is None:
                who = (
                    value.get("accountId") or value.get("name")
                    if isinstance(value, dict)
                    else value
                )
                errs[name] = f"User '{who}' does not exist."
        return errs

    def _find_user(self, value: Any) -> User | None:
        if not isinstance(value, dict):
            return None
        for u in self.users:
            if self.mode == "cloud" and value.get("accountId") == u.account_id:
                return u
            if self.mode == "datacenter" and value.get("name") == u.name:
                return u
        return None

    def _store(self, f: dict[str, Any], version: str) -> dict[str, Any]:
        self._seq += 1
        key, iid = f"{self.project}-{self._seq}", str(10000 + self._seq)
        now = self._now()
        description = f.get("description")
        if version == "3" and isinstance(description, dict):
            description = adf_text(description)
        fields: dict[str, Any] = {
            "summary": f["summary"],
            "description": description,
            "issuetype": {
                "id": self._type_of(f["issuetype"]),
                "name": self.issue_types[str(self._type_of(f["issuetype"]))],
            },
            "project": {"id": self.project_id, "key": self.project, "name": "Operations"},
            "labels": sorted(set(f.get("labels") or [])),
            "duedate": f.get("duedate"),
            "priority": self._priority(f["priority"]["name"])
            if f.get("priority")
            else self._priority("Medium"),
            "assignee": self._user_json(u) if (u := self._find_user(f.get("assignee"))) else None,
            "resolution": None,
            "resolutiondate": None,
            "created": now,
            "updated": now,
        }
        for fid in self.required_fields:
            fields[fid] = f.get(fid)
        self._enter(fields, self.workflow.initial, None, quiet=True)
        self.issues[key] = {
            "id": iid,
            "key": key,
            "fields": fields,
            "visible_at": self._searches + self.search_lag,
        }
        return {"id": iid, "key": key, "self": f"{self.base_url}/rest/api/2/issue/{iid}"}

    def _enter(
        self, f: dict[str, Any], status: str, resolution: str | None, quiet: bool = False
    ) -> None:
        cat = self.workflow.statuses[status]
        f["status"] = {
            "self": f"{self.base_url}/rest/api/2/status/{abs(hash(status)) % 10000}",
            "id": str(list(self.workflow.statuses).index(status) + 1),
            "name": status,
            "description": "",
            "statusCategory": {
                "self": f"{self.base_url}/rest/api/2/statuscategory/{CATEGORIES[cat]['id']}",
                **CATEGORIES[cat],
            },
        }
        if cat == "done":
            f["resolution"] = (
                {"id": str(RESOLUTIONS.index(resolution) + 1), "name": resolution}
                if resolution
                else None
            )
            f["resolutiondate"] = self._now() if resolution else None
        else:
            f["resolution"] = None
            f["resolutiondate"] = None
        if not quiet:
            f["updated"] = self._now()

    def _create(self, body: Any, version: str) -> tuple[int, Any]:
        if "create" in self.forbid:
            return 403, _errors(["You do not have permission to create issues in this project."])
        fields = body.get("fields") if isinstance(body, dict) else None
        errs = self._check_fields(fields, version, create=True)
        if not errs and self.reject is not None and (why := self.reject(fields or {})):
            errs = {"summary": why}
        if errs:
            return 400, _errors(None, **errs)
        assert isinstance(fields, dict)
        return 201, self._store(fields, version)

    def _bulk(self, body: Any, version: str) -> tuple[int, Any]:
        if "create" in self.forbid:
            return 403, _errors(["You do not have permission to create issues in this project."])
        updates = body.get("issueUpdates") if isinstance(body, dict) else None
        if not isinstance(updates, list) or len(updates) > 50:
            return 400, _errors(["Up to 50 issues can be created in one request."])
        issues, errors = [], []
        for n, upd in enumerate(updates):
            fields = upd.get("fields") if isinstance(upd, dict) else None
            errs = self._check_fields(fields, version, create=True)
            if not errs and self.reject is not None and (why := self.reject(fields or {})):
                errs = {"summary": why}
            if errs:
                errors.append(
                    {
                        "status": 400,
                        "elementErrors": _errors(None, **errs),
                        "failedElementNumber": n,
                    }
                )
            else:
                assert isinstance(fields, dict)
                issues.append(self._store(fields, version))
        return (201 if issues else 400), {"issues": issues, "errors": errors}

    def _issue_json(
        self, issue: dict[str, Any], wanted: list[str] | None, version: str
    ) -> dict[str, Any]:
        f = issue["fields"]
        names = (
            list(f)
            if wanted is None or "*all" in wanted or "*navigable" in wanted
            else [w for w in wanted if w in f]
        )
        fields = {n: f[n] for n in names}
        if version == "3" and isinstance(fields.get("description"), str):
            fields["description"] = wiki_to_adf(fields["description"])
        out = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue["id"],
            "self": f"{self.base_url}/rest/api/{version}/issue/{issue['id']}",
            "key": issue["key"],
        }
        if wanted != ["id"]:
            out["fields"] = fields
        return out

    def _issue(self, key: str) -> dict[str, Any]:
        issue = self.issues.get(key.upper())
        if issue is None:
            raise _Refused(
                404, _errors(["Issue does not exist or you do not have permission to see it."])
            )
        return issue

    def _get(self, key: str, q: Mapping[str, str], version: str) -> tuple[int, Any]:
        wanted = q["fields"].split(",") if q.get("fields") else None
        out = self._issue_json(self._issue(key), wanted, version)
        if "transitions" in (q.get("expand") or "") and not self.ignore_expand:
            out["transitions"] = self._transitions(key, q)[1]["transitions"]
        return 200, out

    def _put(self, key: str, body: Any, version: str) -> tuple[int, Any]:
        issue = self._issue(key)
        if "edit" in self.forbid:
            return 403, _errors(["You do not have permission to edit issues in this project."])
        if not isinstance(body, dict):
            return 400, _errors(["No body"])
        fields = body.get("fields") or {}
        errs = self._check_fields(fields, version, create=False)
        update = body.get("update") or {}
        for name in update:
            if name != "labels":
                errs[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen."
        if errs:
            return 400, _errors(None, **errs)
        f = issue["fields"]
        for name, value in fields.items():
            if name == "assignee":
                f[name] = self._user_json(u) if (u := self._find_user(value)) else None
            elif name == "priority":
                f[name] = self._priority(value["name"])
            elif name == "labels":
                f[name] = sorted(set(value))
            elif name == "description" and version == "3" and isinstance(value, dict):
                f[name] = adf_text(value)
            else:
                f[name] = value
        labels = set(f["labels"])
        for op in update.get("labels", []):
            if "add" in op:
                labels.add(op["add"])
            if "remove" in op:
                labels.discard(op["remove"])
            if "set" in op:
                labels = set(op["set"])
        f["labels"] = sorted(labels)
        f["updated"] = self._now()
        return 204, None

    def _available(self, status: str) -> list[FakeTransition]:
        return [
            t
            for t in self.workflow.transitions
            if t.to != status and (t.sources is None or status in t.sources)
        ]

    def _transitions(self, key: str, q: Mapping[str, str]) -> tuple[int, Any]:
        issue = self._issue(key)
        status = issue["fields"]["status"]["name"]
        expand = "transitions.fields" in (q.get("expand") or "")
        out = []
        for t in self._available(status):
            cat = self.workflow.statuses[t.to]
            item: dict[str, Any] = {
                "id": t.id,
                "name": t.name,
                "hasScreen": t.resolution_screen,
                "isGlobal": t.sources is None,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
                "to": {
                    "self": f"{self.base_url}/rest/api/2/status/1",
                    "description": "",
                    "iconUrl": f"{self.base_url}/status.png",
                    "name": t.to,
                    "id": str(list(self.workflow.statuses).index(t.to) + 1),
                    "statusCategory": CATEGORIES[cat],
                },
            }
            if expand:
                item["fields"] = {}
                if t.resolution_screen:
                    item["fields"]["resolution"] = {
                        "required": t.resolution_required,
                        "name": "Resolution",
                        "key": "resolution",
                        "operations": ["set"],
                        "schema": {"type": "resolution", "system": "resolution"},
                        "allowedValues": [
                            {"name": r, "id": str(i + 1)} for i, r in enumerate(RESOLUTIONS)
                        ],
                    }
            out.append(item)
        return 200, {"expand": "transitions", "transitions": out}

    def _transition(self, key: str, body: Any) -> tuple[int, Any]:
        issue = self._issue(key)
        if "transition" in self.forbid:
            return 403, _errors(["You do not have permission to transition this issue."])
        f = issue["fields"]
        tid = (body or {}).get("transition", {}).get("id")
        t = next((t for t in self._available(f["status"]["name"]) if t.id == str(tid)), None)
        if t is None:
            return 400, _errors([f"Transition id '{tid}' is not valid for this issue."])
        sent = (body or {}).get("fields") or {}
        for name in sent:
            if name != "resolution" or not t.resolution_screen:
                return 400, _errors(
                    None,
                    **{
                        name: f"Field '{name}' cannot be set. It is not on the appropriate screen, "
                        "or unknown."
                    },
                )
        res = sent.get("resolution", {}).get("name") if sent else None
        if res is not None and res not in RESOLUTIONS:
            return 400, _errors(None, resolution="Invalid resolution")
        if t.resolution_required and res is None:
            return 400, _errors(None, resolution="Resolution is required.")
        self._enter(f, t.to, res or t.sets_resolution)
        return 204, None

    def _comments(self, key: str, q: Mapping[str, str]) -> tuple[int, Any]:
        """GET issue/{key}/comment: PageOfComments (startAt, maxResults, total, comments)."""
        self._issue(key)
        texts = self.comments.get(key, [])
        start, size = int(q.get("startAt", "0")), min(int(q.get("maxResults", "50")), 100)
        page = [
            {"id": str(i + 1), "body": t, "author": self._user_json(self.users[0])}
            for i, t in enumerate(texts)
        ][start : start + size]
        return 200, {"startAt": start, "maxResults": size, "total": len(texts), "comments": page}

    def _comment(self, key: str, body: Any, version: str) -> tuple[int, Any]:
        self._issue(key)
        text = (body or {}).get("body")
        if version != "3" and not isinstance(text, str):
            return 400, _errors(None, comment="Comment body can not be empty!")
        self.comments.setdefault(key, []).append(text)
        cid = str(sum(len(c) for c in self.comments.values()))
        return 201, {
            "self": f"{self.base_url}/rest/api/2/issue/{key}/comment/{cid}",
            "id": cid,
            "body": text,
            "author": self._user_json(self.users[0]),
            "created": self._now(),
            "updated": self._now(),
        }

    # --- search -----------------------------------------------------------------------------------

    def _jql(self, jql: str) -> list[dict[str, Any]]:
        parts = re.split(r"\s+ORDER\s+BY\s+", jql.strip(), maxsplit=1, flags=re.I)
        where, order = parts[0], parts[1] if len(parts) > 1 else ""
        conds = [c.strip() for c in re.split(r"\s+AND\s+", where, flags=re.I) if c.strip()]
        if not conds:
            raise _Refused(
                400,
                _errors(
                    [
                        "Unbounded JQL queries are not allowed here. Please "
                        "add a search restriction to your query."
                    ]
                ),
            )
        hits = [i for i in self.issues.values() if i["visible_at"] <= self._searches]
        for cond in conds:
            many = re.fullmatch(r"labels\s+in\s*\((.*)\)", cond, flags=re.I)
            if many is not None:
                wanted = {v.strip().strip('"') for v in many.group(1).split(",")}
                hits = [i for i in hits if wanted & set(i["fields"]["labels"])]
                continue
            m = re.fullmatch(r'(\w+)\s*=\s*"?([^"]*)"?', cond)
            if m is None:
                raise _Refused(400, _errors([f"Error in the JQL Query: '{cond}'"]))
            name, value = m.group(1).lower(), m.group(2)
            if name == "project":
                hits = [i for i in hits if value in (self.project, self.project_id)]
            elif name == "labels":
                hits = [i for i in hits if value in i["fields"]["labels"]]
            else:
                raise _Refused(400, _errors([f"Field '{name}' is not supported by the fake"]))

        def sort_key(i: dict[str, Any]) -> tuple[Any, ...]:
            keys: list[Any] = []
            for part in (p.strip() for p in order.split(",") if p.strip()):
                name = part.split()[0].lower()
                keys.append(
                    int(i["key"].split("-")[1]) if name == "key" else i["fields"].get(name) or ""
                )
            return tuple(keys)

        return sorted(hits, key=sort_key)

    def _wanted(self, query: Mapping[str, list[str]]) -> list[str] | None:
        raw = query.get("fields")
        if not raw:
            return None
        return [f for value in raw for f in value.split(",") if f]

    def _search_jql(self, query: dict[str, list[str]], version: str) -> tuple[int, Any]:
        if self.mode != "cloud":
            return 404, _errors(["Not found"])
        self._searches += 1
        q = {k: v[-1] for k, v in query.items()}
        hits = self._jql(q.get("jql", ""))
        size = min(int(q.get("maxResults", 50)), self.page_cap)
        token = q.get("nextPageToken")
        start = 0
        if token:
            m = re.fullmatch(r"page-(\d+)", token)
            if m is None:
                return 400, _errors(["Invalid nextPageToken"])
            start = int(m.group(1))
        wanted = self._wanted(query) or ["id"]
        page = hits[start : start + size]
        out: dict[str, Any] = {"issues": [self._issue_json(i, wanted, version) for i in page]}
        if start + size < len(hits):
            out["nextPageToken"] = f"page-{start + size}"
            out["isLast"] = False
        else:
            out["isLast"] = True
        return 200, out

    def _search(self, q: Mapping[str, str], version: str) -> tuple[int, Any]:
        if self.mode == "cloud":
            return 410, _errors(
                [
                    "The requested API has been removed. Please migrate to the "
                    "/rest/api/3/search/jql API. A full migration guideline is "
                    "available at https://developer.atlassian.com/changelog/"
                    "#CHANGE-2046"
                ]
            )
        self._searches += 1
        hits = self._jql(q.get("jql", ""))
        start, size = int(q.get("startAt", 0)), min(int(q.get("maxResults", 50)), self.page_cap)
        wanted = q["fields"].split(",") if q.get("fields") else None
        page = hits[start : start + size]
        return 200, {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(hits),
            "issues": [self._issue_json(i, wanted, version) for i in page],
        }


def _auth_header(headers: Mapping[str, str]) -> str:
    for k, v in headers.items():
        if k.lower() == "authorization":
            return v
    return ""
