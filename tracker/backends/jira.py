"""Jira Cloud and Data Center through the `jira` library (pycontribs/jira 3.10).

The library builds the session: authentication (HTTP Basic with email + API token on Cloud,
`Bearer` personal access token on Data Center), Jira's default headers and the timeout. The
client is made with `max_retries=0` and `get_server_info=False`: its own retries sleep for real
(`time.sleep`, up to 60 s) and re-send whatever failed, bulk creates included, which is exactly
how duplicates are made; and serverInfo is asked at most once, lazily, only when the deployment
is not configured. Its high-level calls cost extra requests (a `/field` lookup before a search,
a reload after every edit, name resolution before a create or a transition), so the lean calls
are sent on its session: one request each, counted at the transport, waited out and mapped to
`tracker.errors` here. See ../shared/API-NOTES.md section 7.

How descriptions, markers and keys look is in `jira_text`; workflows and screens in `jira_flow`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import quote

import requests
from jira import JIRA, JIRAError

from tracker.backends.base import Capabilities, CloseReason, Field, TicketDraft
from tracker.backends.jira_fields import FieldMaker
from tracker.backends.jira_flow import (
    Goal,
    Workflows,
    close_goal,
    page_done,
    state_of,
)
from tracker.backends.jira_rest import (
    CountingAdapter,
    FieldsRejected,
    Reader,
    error_fields,
    error_text,
    map_error,
    not_sent,
    pushed_of,
    wait_for,
)
from tracker.backends.jira_text import (
    REPORT_LABEL,
    TRACKED_LABEL,
    Pushed,
    cut_summary,
    key_label,
    replace_marker,
    report_label,
    rewrite_description,
)
from tracker.config import JiraConfig
from tracker.errors import (
    AuthError,
    BackendError,
    ConfigError,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from tracker.model import Marker, Status, Ticket

Deployment = Literal["cloud", "datacenter"]
Sleeper = Callable[[float], None]
Clock = Callable[[], dt.datetime]

DEFAULT_PRIORITY_MAP: dict[str, str] = {
    "P0": "Highest",
    "P1": "High",
    "P2": "Medium",
    "P3": "Low",
    "P4": "Lowest",
}
DEFAULT_WONT_DO = ("Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce")
BULK_SIZE = 50  # POST /issue/bulk "creates up to 50 issues"
SCAN_KEYS = 100  # key labels per JQL query when looking for issues that lost their label
PAGE_SIZE = 100  # search page size; /search/jql caps pages at 100 when fields are asked
RATE_ATTEMPTS = 6  # rate-limit answers waited out per request before giving up
READ_RETRIES = 2  # a GET that failed on the server or the wire is sent again this often
FIND_RETRIES = 2  # searches after an unknown create (Cloud's search index lags writes)
LIST_FIELDS = (
    "summary",
    "status",
    "resolution",
    "resolutiondate",
    "assignee",
    "duedate",
    "priority",
    "labels",
    "issuetype",
    "description",
    "created",
    "updated",
)
_WEEK_RE = re.compile(r"\d{4}-W\d{2}")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class JiraBackend:
    """Issues in one Jira project (Cloud or Data Center). Constructing it does no I/O."""

    def __init__(
        self,
        url: str,
        *,
        project: str,
        deployment: Deployment | None = None,
        email: str | None = None,
        token: str | None = None,
        pat: str | None = None,
        issue_type: str = "Task",
        labels: Sequence[str] = ("postmortem",),
        owners: Mapping[str, str] | None = None,
        lookup_emails: bool = True,
        priority_map: Mapping[str, str] | None = None,
        transitions: Mapping[str, str] | None = None,
        fields: Mapping[str, Any] | None = None,
        wont_do_resolutions: Sequence[str] = DEFAULT_WONT_DO,
        http_timeout_s: float = 30.0,
        max_wait_s: float = 120.0,
        sleeper: Sleeper = time.sleep,
        clock: Clock = _utcnow,
        source_url: str | None = None,
        credential_names: Mapping[str, str] | None = None,
        site_url: str | None = None,
    ) -> None:
        if not (pat or (email and token)):
            raise ConfigError(
                "Jira needs credentials: an email and an API token (Cloud) or a personal "
                "access token (Data Center)"
            )
        unknown = set(transitions or {}) - {"done", "dropped", "reopen"}
        if unknown:
            raise ConfigError(
                f"jira.transitions: unknown keys {sorted(unknown)}; use done, dropped, reopen"
            )
        self.url = url.rstrip("/")
        # Links shown to people: the site, also when requests go through Atlassian's gateway
        # (scoped API tokens: https://api.atlassian.com/ex/jira/{cloudId}).
        self.site_url = (site_url or url).rstrip("/")
        self.project = project
        self.issue_type = issue_type
        self.labels = tuple(labels)
        self.owners = dict(owners or {})
        self.lookup_emails = lookup_emails
        self.priority_map = dict(priority_map or DEFAULT_PRIORITY_MAP)
        self.transitions = dict(transitions or {})
        self.extra_fields = dict(fields or {})
        self.wont_do = tuple(wont_do_resolutions)
        self.http_timeout_s = http_timeout_s
        self.max_wait_s = max_wait_s
        self.source_url = source_url
        self.notices: list[str] = []
        self._deployment: Deployment | None = deployment
        self._email, self._token, self._pat = email, token, pat
        self._names = {"email": "JIRA_EMAIL", "token": "JIRA_API_TOKEN", "pat": "JIRA_PAT"}
        self._names.update(credential_names or {})
        self._sleep = sleeper
        self._clock = clock
        self._requests = 0
        self._jira: Any = None  # the jira.JIRA client, built on first use
        self._unknown_keys: set[str] = set()
        self._make = FieldMaker(
            self._get,
            lambda: self._cloud,
            project=project,
            issue_type=issue_type,
            labels=self.labels,
            owners=self.owners,
            lookup_emails=lookup_emails,
            priority_map=self.priority_map,
            extra_fields=self.extra_fields,
            source_url=source_url,
            notice=self._notice,
            where=self._where,
        )
        self._prio_back = {v.casefold(): k for k, v in reversed(list(self.priority_map.items()))}
        self._flow = Workflows(
            self._read_status,
            self._post_transition,
            wont_do=self.wont_do,
            dropped_configured=bool(self.transitions.get("dropped")),
            notice=self._notice,
            where=self._where,
            read_transitions=self._read_transitions,
        )

    # --- protocol attributes -------------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            bulk_create=True,
            native_due_date=True,
            counts_requests=True,
            in_progress_state=True,
            cheap_find=True,
        )

    @property
    def requests_made(self) -> int | None:
        return self._requests

    def _count(self) -> None:
        self._requests += 1

    def _notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)

    # --- client and transport ------------------------------------------------------------------

    def _bearer(self) -> bool:
        """PAT bearer on Data Center, email + token basic on Cloud (and as a DC fallback)."""
        if self._deployment == "cloud":
            return False
        if self._deployment == "datacenter" or not (self._email and self._token):
            return bool(self._pat)
        if not self._pat:
            return False
        # Both kinds given and the deployment unknown: Atlassian's own hosts are Cloud.
        host = self.url.split("://", 1)[-1].split("/", 1)[0]
        return not host.endswith((".atlassian.net", ".jira.com"))

    def _client(self) -> Any:
        if self._jira is None:
            auth: dict[str, Any] = (
                {"token_auth": self._pat}
                if self._bearer()
                else {"basic_auth": (self._email, self._token)}
            )
            client = JIRA(
                server=self.url,
                options={"rest_api_version": "2", "check_update": False},
                get_server_info=False,
                max_retries=0,
                timeout=self.http_timeout_s,
                logging=False,
                **auth,
            )
            adapter = CountingAdapter(self._count)
            client._session.mount("https://", adapter)
            client._session.mount("http://", adapter)
            if self._deployment == "cloud":
                client.deploymentType = "Cloud"  # the library's `_is_cloud`, without serverInfo
            self._jira = client
        return self._jira

    def _where(self) -> str:
        kind = {"cloud": "Jira Cloud", "datacenter": "Jira Data Center"}.get(
            self._deployment or "", "Jira"
        )
        return f"{kind} at {self.url}"

    def _credential(self) -> str:
        n = self._names
        if self._bearer():
            return f"personal access token ({n['pat']})"
        return f"email and API token ({n['email']} / {n['token']})"

    def _error(self, resp: requests.Response, what: str) -> BackendError:
        return map_error(
            resp, what, where=self._where(), credential=self._credential(), project=self.project
        )

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        version: str = "2",
        params: Mapping[str, Any] | None = None,
        body: object = None,
        write: bool = False,
        accept: tuple[int, ...] = (),
    ) -> requests.Response:
        """One API call: rate limits waited out (bounded), writes never sent twice.

        Raises:
            RateLimited: Jira asked for a wait longer than max_wait_s.
            OutcomeUnknown: a write was sent and no answer came back (timeout, dropped
                connection, 5xx): it may have happened.
            BackendError: any other failure, mapped by status (AuthError, NotFound, ...).
        """
        session = self._client()._session
        url = f"{self.url}/rest/api/{version}/{path}"
        data = json.dumps(body) if body is not None else None
        rate_waits = 0
        read_retries = 0
        while True:
            resp: requests.Response | None = None
            try:
                resp = session.request(method, url, params=params, data=data)
            except JIRAError as exc:  # the session raises on any non-2xx answer
                resp = exc.response
                if resp is None:
                    raise BackendError(
                        f"{self._where()}: {what} failed without an answer"
                    ) from None
            except requests.exceptions.RequestException as exc:
                kind = type(exc).__name__
                if write and not not_sent(exc):
                    raise OutcomeUnknown(
                        f"{self._where()}: {what}: sent, but no answer came back ({kind}); "
                        "it may have happened, so it is not sent again"
                    ) from None
                if not write and read_retries < READ_RETRIES:
                    read_retries += 1
                    self._sleep(float(read_retries))
                    continue
                raise BackendError(
                    f"{self._where()}: {what} failed: cannot reach Jira ({kind})"
                ) from None
            assert resp is not None
            code = resp.status_code
            if resp.ok or code in accept:
                return resp
            # 429, and 503 with Retry-After, are Jira's rate limiter refusing the request
            # before doing anything: waiting and sending again is safe even for a create.
            if code == 429 or (code == 503 and resp.headers.get("Retry-After")):
                rate_waits += 1
                wait = wait_for(resp, rate_waits, self._clock())
                if wait > self.max_wait_s:
                    raise RateLimited(
                        f"{self._where()} rate-limited {what} ({code}); it asks for a wait of "
                        f"{wait:.0f} s, over the limit of {self.max_wait_s:.0f} s "
                        "(jira.retry.max_wait_s): the rest is deferred to the next run",
                        retry_after_s=wait,
                    )
                if rate_waits >= RATE_ATTEMPTS:
                    raise RateLimited(
                        f"{self._where()} rate-limited {what} ({code}) {rate_waits} times in a "
                        "row: the rest is deferred to the next run",
                        retry_after_s=wait,
                    )
                self._sleep(wait)
                continue
            if code >= 500:
                if write:
                    raise OutcomeUnknown(
                        f"{self._where()}: {what}: Jira answered {code}; it may have happened, "
                        "so it is not sent again"
                    )
                if read_retries < READ_RETRIES:
                    read_retries += 1
                    self._sleep(float(read_retries))
                    continue
            raise self._error(resp, what)

    def _json(self, resp: requests.Response, what: str) -> Any:
        if resp.status_code == 204 or not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError:
            raise BackendError(f"{self._where()}: {what}: the answer is not JSON") from None

    def _get(self, path: str, what: str, *, version: str = "2", **params: Any) -> Any:
        return self._json(self._send("GET", path, what, version=version, params=params), what)

    # --- deployment, screen, users -------------------------------------------------------------

    def deployment(self) -> Deployment:
        """Cloud or Data Center: configured, else serverInfo's deploymentType (asked once)."""
        if self._deployment is None:
            info = self._get("serverInfo", "reading serverInfo")
            kind = info.get("deploymentType") if isinstance(info, Mapping) else None
            self._deployment = "cloud" if kind == "Cloud" else "datacenter"
            if self._deployment == "cloud":
                self._client().deploymentType = "Cloud"
        return self._deployment

    @property
    def _cloud(self) -> bool:
        return self.deployment() == "cloud"

    # --- reading issues ------------------------------------------------------------------------

    def _browse(self, key: str) -> str:
        return f"{self.site_url}/browse/{key}"

    def _reader(self) -> Reader:
        return Reader(
            self.site_url,
            self._cloud,
            self.wont_do,
            self.transitions.get("dropped"),
            self._prio_back,
        )

    def _view(
        self,
        key: str,
        issue_id: str,
        fields: Mapping[str, Any],
        marker: Marker | None,
        pushed: Pushed,
    ) -> Ticket:
        ticket, cur = self._reader().ticket(key, issue_id, fields, marker, pushed)
        self._flow.known[key] = cur
        return ticket

    def _ticket(self, raw: object) -> Ticket | None:
        read = self._reader().issue(raw)
        if read is None:
            return None
        self._flow.known[read[0].ref] = read[1]
        return read[0]

    def _search(self, jql: str, what: str) -> list[Ticket]:
        """Every issue the JQL selects, paged: Cloud by nextPageToken, DC by startAt."""
        out: list[Ticket] = []
        fields = ",".join(LIST_FIELDS)
        if self._cloud:
            # /rest/api/3/search/jql: the v2 /search answers 410 on Cloud (CHANGE-2046).
            token: str | None = None
            seen: set[str] = set()
            while True:
                params: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": PAGE_SIZE}
                if token:
                    params["nextPageToken"] = token
                data = self._get("search/jql", what, version="3", **params)
                out += [t for raw in data.get("issues") or [] if (t := self._ticket(raw))]
                token = data.get("nextPageToken")
                if not token or data.get("isLast") is True:
                    break
                if token in seen:
                    raise BackendError(f"{self._where()}: {what}: the listing repeats a page")
                seen.add(token)
            return out
        start = 0
        while True:
            data = self._get(
                "search", what, jql=jql, fields=fields, startAt=start, maxResults=PAGE_SIZE
            )
            issues = data.get("issues") or []
            out += [t for raw in issues if (t := self._ticket(raw))]
            if page_done(data, len(issues), start):
                break
            start += len(issues)
        return out

    def _jql(self, label: str, order: str = "key ASC") -> str:
        return f'project = "{self.project}" AND labels = "{label}" ORDER BY {order}'

    def _key_of(self, ref: str) -> str | None:
        ref = ref.strip()
        for prefix in {f"{self.site_url}/browse/", f"{self.url}/browse/"}:
            if ref.startswith(prefix):
                ref = ref[len(prefix) :].split("?", 1)[0].split("#", 1)[0]
        m = re.fullmatch(rf"({re.escape(self.project)}-\d+)", ref, flags=re.I)
        return m.group(1).upper() if m else None

    def _write_key(self, ticket: Ticket) -> str:
        key = self._key_of(ticket.ref)
        if key is None:
            raise NotFound(f"{ticket.ref} is not an issue of Jira project {self.project}")
        return key

    def _read_issue(self, key: str, fields: str = ",".join(LIST_FIELDS)) -> Ticket:
        raw = self._get(f"issue/{quote(key)}", f"reading issue {key}", fields=fields)
        ticket = self._ticket(raw)
        if ticket is None:
            raise BackendError(f"{self._where()}: reading issue {key}: unexpected answer")
        return ticket

    # --- the Backend protocol: reads -----------------------------------------------------------

    def list_tracked(self) -> list[Ticket]:
        """Every issue with the tracking label in the project (one paginated listing)."""
        return self._search(self._jql(TRACKED_LABEL), f"listing tracked issues of {self.project}")

    def fetch(self, ref: str) -> Ticket | None:
        """One issue of the project by key or browse URL; None for other references."""
        key = self._key_of(ref)
        if key is None:
            return None
        try:
            return self._read_issue(key)
        except NotFound:
            return None

    def scan(self, keys: Collection[str]) -> list[Ticket]:
        """Issues carrying the key label of one of `keys`, whatever else people removed.

        The listing selects the tracking label; a person may remove it. The engine calls
        this once, only in a run that would create tickets: one JQL query per 100 keys (a GET
        of about 2.5 kB).
        """
        ordered = sorted(set(keys))
        out: list[Ticket] = []
        for n in range(0, len(ordered), SCAN_KEYS):
            labels = ", ".join(f'"{key_label(k)}"' for k in ordered[n : n + SCAN_KEYS])
            jql = f'project = "{self.project}" AND labels in ({labels}) ORDER BY key ASC'
            out += self._search(jql, "looking for tracked issues whose label was removed")
        return out

    def find(self, key: str) -> Ticket | None:
        """The oldest issue whose marker holds `key` (one JQL query on its key label)."""
        what = f"looking up the issue of {key}"
        for attempt in range(FIND_RETRIES + 1):
            hits = [
                t
                for t in self._search(self._jql(key_label(key), "created ASC, key ASC"), what)
                if t.key == key
            ]
            if hits or key not in self._unknown_keys or attempt == FIND_RETRIES:
                return hits[0] if hits else None
            # A create whose answer was lost may not be searchable yet (Cloud's index lags
            # writes); wait a little before calling it absent, or the engine creates it twice.
            self._sleep(2.0 * (attempt + 1))
        return None

    # --- the Backend protocol: creates ---------------------------------------------------------

    def _created(
        self, key: str, issue_id: str, fields: Mapping[str, Any], pushed: Pushed, marker: Marker
    ) -> Ticket:
        """The Ticket a create made, from what was sent (no read-back: one request a create).

        Jira answers a create with id and key only, so timestamps are unknown (None) here.
        """
        initial = self._flow.initial.get(self.issue_type.casefold())
        status = (
            {"name": initial.status, "statusCategory": {"key": initial.category}}
            if initial
            else {"name": "", "statusCategory": {"key": "new"}}
        )
        view = {
            **fields,
            "status": status,
            "issuetype": {"name": self.issue_type},
            "assignee": fields.get("assignee"),
            "priority": fields.get("priority"),
        }
        ticket = self._view(key, issue_id, view, marker, pushed)
        self._flow.fresh.add(key)
        if initial is None:
            self._flow.known.pop(key, None)  # status unknown until read: refreshed on a move
        return ticket

    def create(self, draft: TicketDraft) -> Ticket:
        """Create one issue (one POST).

        Raises:
            OutcomeUnknown: the answer was lost; look the key up with `find` before retrying.
        """
        fields, pushed = self._make.create_fields(draft)
        what = f"creating the issue for {draft.key}"
        try:
            try:
                resp = self._send("POST", "issue", what, body={"fields": fields}, write=True)
            except FieldsRejected as exc:
                if exc.fields != {"assignee"}:
                    raise
                # A mapped owner Jira does not know (deactivated, mistyped): a 400 created
                # nothing, so the issue is sent again unassigned rather than not at all.
                fields, pushed = self._make.unassigned(fields, pushed, draft, str(exc))
                resp = self._send("POST", "issue", what, body={"fields": fields}, write=True)
        except OutcomeUnknown:
            self._unknown_keys.add(draft.key)
            raise
        data = self._json(resp, what)
        if not isinstance(data, Mapping) or not isinstance(data.get("key"), str):
            self._unknown_keys.add(draft.key)
            raise OutcomeUnknown(f"{self._where()}: {what}: the answer names no issue key")
        made = self._created(
            str(data["key"]), str(data.get("id", "")), fields, pushed, draft.marker
        )
        return self._started(made, draft)

    def _started(self, ticket: Ticket, draft: TicketDraft) -> Ticket:
        """A new issue of an item already in progress, moved there (best effort: the issue
        exists either way, so a failure here is a notice, never a failed create)."""
        if draft.status != "in_progress":
            return ticket
        initial = self._flow.initial.get(self.issue_type.casefold())
        if initial is not None:  # learnt from an earlier issue of this run
            self._flow.known.setdefault(ticket.ref, initial)
        try:
            return self._set_progress(ticket.ref, ticket, "in_progress")
        except BackendError as exc:
            self._notice(f"{ticket.ref} was created open, not in progress: {exc}")
            return ticket

    def create_many(self, drafts: Sequence[TicketDraft]) -> list[Ticket | BackendError]:
        """Create issues 50 per request; one result per draft, in order.

        Per-item refusals come back as ValidationFailed for their items, the rest succeed. A
        chunk whose answer was lost gives OutcomeUnknown for each of its items (never re-sent).
        After a rate limit, or an error that every later chunk would meet too (credentials,
        permissions, project), the remaining items carry that error unsent.
        """
        results: list[Ticket | BackendError] = []
        halted: BackendError | None = None
        if drafts:
            try:
                self._make.screen()
            except BackendError as exc:
                return [exc] * len(drafts)
        for start in range(0, len(drafts), BULK_SIZE):
            chunk = list(drafts[start : start + BULK_SIZE])
            if halted is not None:
                results += [halted] * len(chunk)
                continue
            try:
                made = self._create_chunk(chunk)
                results += [
                    self._started(r, d) if isinstance(r, Ticket) else r
                    for r, d in zip(made, chunk, strict=True)
                ]
            except (RateLimited, AuthError, PermissionDenied, NotFound) as exc:
                halted = exc
                results += [exc] * len(chunk)
            except BackendError as exc:
                results += [exc] * len(chunk)
        return results

    def _create_chunk(
        self,
        chunk: list[TicketDraft],
        prepared: list[tuple[dict[str, Any], Pushed]] | None = None,
        again: bool = True,
    ) -> list[Ticket | BackendError]:
        if prepared is None:
            prepared = [self._make.create_fields(d) for d in chunk]
        what = f"creating {len(chunk)} issues ({chunk[0].key} …)"
        body = {"issueUpdates": [{"fields": f} for f, _ in prepared]}
        try:
            resp = self._send("POST", "issue/bulk", what, body=body, write=True, accept=(400,))
        except OutcomeUnknown as exc:
            self._unknown_keys.update(d.key for d in chunk)
            return [OutcomeUnknown(f"{d.key}: {exc}") for d in chunk]
        data = self._json(resp, what)
        if resp.status_code == 400 and not isinstance(data.get("errors"), list):
            raise self._error(resp, what)
        failed: dict[int, str] = {}
        retry: list[int] = []
        for err in data.get("errors") or []:
            if isinstance(err, Mapping) and isinstance(err.get("failedElementNumber"), int):
                n = int(err["failedElementNumber"])
                failed[n] = error_text(err.get("elementErrors"))
                if again and error_fields(err.get("elementErrors")) == {"assignee"}:
                    retry.append(n)
        made = [i for i in data.get("issues") or [] if isinstance(i, Mapping) and "key" in i]
        ok = [n for n in range(len(chunk)) if n not in failed]
        out: list[Ticket | BackendError] = []
        if len(made) != len(ok):
            # Created issues come back in the order sent, failures left out; if the counts
            # disagree nobody can tell which is which: let the engine look the keys up.
            self._unknown_keys.update(chunk[n].key for n in ok)
        it = iter(made)
        for n, draft in enumerate(chunk):
            if n in failed:
                out.append(
                    FieldsRejected(
                        f"{self._where()} rejected the issue for {draft.key}: {failed[n] or '?'}"
                    )
                )
            elif len(made) != len(ok):
                out.append(
                    OutcomeUnknown(
                        f"{draft.key}: {what}: the answer lists "
                        f"{len(made)} issues for {len(ok)} accepted"
                    )
                )
            else:
                issue = next(it)
                fields, pushed = prepared[n]
                out.append(
                    self._created(
                        str(issue["key"]), str(issue.get("id", "")), fields, pushed, draft.marker
                    )
                )
        if retry:  # refused for the assignee alone (nothing was created): once, unassigned
            redo = [self._make.unassigned(*prepared[n], chunk[n], failed[n]) for n in retry]
            for n, r in zip(
                retry, self._create_chunk([chunk[n] for n in retry], redo, False), strict=True
            ):
                out[n] = r
        return out

    # --- the Backend protocol: updates ---------------------------------------------------------

    def _description_of(self, key: str, ticket: Ticket) -> str:
        """The wiki description to splice into (listed on DC; read through v2 on Cloud)."""
        if "description" in ticket.extra:
            return ticket.extra["description"]
        raw = self._get(f"issue/{quote(key)}", f"reading issue {key}", fields="description")
        fields = raw.get("fields") if isinstance(raw, Mapping) else None
        value = fields.get("description") if isinstance(fields, Mapping) else None
        return value if isinstance(value, str) else ""

    def update(self, ticket: Ticket, draft: TicketDraft, fields: frozenset[Field]) -> Ticket:
        """Write the named fields and the marker in one PUT, and only what differs.

        Raises:
            NotFound: the issue does not exist.
        """
        key = self._write_key(ticket)
        old = pushed_of(ticket)
        pushed = old if "pushed" in ticket.extra else Pushed(assignees=tuple(draft.assignees))
        send: dict[str, Any] = {}
        if "title" in fields and ticket.title != cut_summary(draft.title):
            send["summary"] = cut_summary(draft.title)
        parts = frozenset(f for f in fields if f in ("owners", "due", "priority"))
        if parts:
            made = self._make.draft_fields(draft, parts)
            new = made.pushed
            if "owners" in parts:
                pushed = replace(pushed, assignees=new.assignees, assignee=new.assignee)
                current = ticket.extra.get("assignee") or None
                if new.assignee is not None and new.assignee != current:
                    send["assignee"] = made.fields["assignee"]
                elif new.assignee is None and current is not None:
                    # The file names nobody Jira knows: unassign only whom the tool assigned.
                    drop = {d.casefold() for d in draft.drop_assignees}
                    if current == old.assignee or current.casefold() in drop:
                        send["assignee"] = None
            if "due" in parts:
                pushed = replace(pushed, due_native=new.due_native)
                if "duedate" in made.fields and (made.fields["duedate"] or "") != (
                    ticket.extra.get("duedate", "?")
                ):
                    send["duedate"] = made.fields["duedate"]
            if "priority" in parts:
                pushed = replace(
                    pushed, priority_name=new.priority_name, priority_native=new.priority_native
                )
                prio = made.fields.get("priority")
                if prio and prio["name"].casefold() != ticket.extra.get("priority", "?").casefold():
                    send["priority"] = prio
        have = set(ticket.labels)
        wanted = self._make.labels_for(draft)
        add = [x for x in wanted if x not in have]
        remove = [x for x in draft.drop_labels if x in have and x not in wanted]
        ops: dict[str, Any] = {}
        if add or remove:
            ops["labels"] = [{"add": x} for x in add] + [{"remove": x} for x in remove]
        if send or ops or ticket.marker != draft.marker or pushed != old:
            current_text = self._description_of(key, ticket)
            text = rewrite_description(current_text, draft, pushed, self.source_url)
            if text != current_text:
                send["description"] = text
        result = ticket
        if send or ops:
            body: dict[str, Any] = {"fields": send}
            if ops:
                body["update"] = ops
            self._send("PUT", f"issue/{quote(key)}", f"updating issue {key}", body=body, write=True)
            result = self._after_edit(key, ticket, send, add, remove, draft.marker, pushed)
        if "status" in fields and not self._closed(result):
            result = self._set_progress(key, result, draft.status)
        return result

    def _closed(self, ticket: Ticket) -> bool:
        return ticket.state in ("done", "dropped")

    def _after_edit(
        self,
        key: str,
        ticket: Ticket,
        sent: Mapping[str, Any],
        add: Iterable[str],
        remove: Iterable[str],
        marker: Marker | None,
        pushed: Pushed,
    ) -> Ticket:
        """The ticket as the PUT left it (no read-back; `updated` is unknown until listed)."""
        ex = ticket.extra
        cur = self._flow.known.get(key)
        fields: dict[str, Any] = {
            "summary": sent.get("summary", ticket.title),
            "status": {
                "name": cur.status if cur else ex.get("status", ""),
                "statusCategory": {
                    "key": cur.category
                    if cur
                    else {"open": "new", "in_progress": "indeterminate"}.get(ticket.state, "done")
                },
            },
            "issuetype": {"name": cur.issue_type if cur else ex.get("issuetype", "")},
            "resolution": {"name": cur.resolution} if cur and cur.resolution else None,
            "assignee": sent["assignee"]
            if "assignee" in sent
            else (self._make.user_field(ex["assignee"]) if ex.get("assignee") else None),
            "priority": sent["priority"]
            if "priority" in sent
            else ({"name": ex["priority"]} if ex.get("priority") else None),
            "duedate": sent.get("duedate", ex.get("duedate") or None),
            "labels": sorted((set(ticket.labels) | set(add)) - set(remove)),
        }
        if "description" in sent:
            fields["description"] = sent["description"]
        elif "description" in ex:
            fields["description"] = ex["description"]
        known = cur is not None
        view = self._view(key, ex.get("id", ""), fields, marker, pushed)
        if not known:
            self._flow.known.pop(key, None)
        if ticket.state == "dropped" and view.state == "done":
            view = replace(view, state="dropped")  # resolution unknown here: keep what we had
        return replace(
            view,
            created_at=ticket.created_at,
            updated_at=None,
            closed_at=ticket.closed_at if view.state == ticket.state else None,
        )

    # --- the Backend protocol: transitions -----------------------------------------------------

    def _read_status(self, key: str) -> object:
        return self._get(
            f"issue/{quote(key)}",
            f"reading the status of issue {key}",
            fields="status,issuetype,resolution",
            expand="transitions.fields",
        )

    def _read_transitions(self, key: str) -> object:
        return self._get(
            f"issue/{quote(key)}/transitions",
            f"reading the transitions of issue {key}",
            expand="transitions.fields",
        )

    def _post_transition(self, key: str, body: dict[str, Any], to: str) -> None:
        self._send(
            "POST",
            f"issue/{quote(key)}/transitions",
            f"moving issue {key} to '{to}'",
            body=body,
            write=True,
        )

    def _set_progress(self, key: str, ticket: Ticket, status: Status) -> Ticket:
        """Move between open and in progress when the file says so (best effort)."""
        cur = self._flow.where_now(key)
        want = "indeterminate" if status == "in_progress" else "new"
        if cur.category == want:
            return ticket
        goal = Goal(self.transitions.get("reopen") if want == "new" else None, want)
        try:
            new = self._flow.move(key, goal, None)
        except ValidationFailed as exc:
            self._notice(f"could not set {key} {status.replace('_', ' ')}: {exc}")
            return ticket
        state: Status = "in_progress" if new.category == "indeterminate" else "open"
        return replace(
            ticket, state=state, updated_at=None, extra={**ticket.extra, "status": new.status}
        )

    def _record_marker(self, key: str, ticket: Ticket, marker: Marker) -> Ticket:
        if marker == ticket.marker:
            return ticket
        text = self._description_of(key, ticket)
        pushed = pushed_of(replace(ticket, extra={**ticket.extra, "description": text}))
        new = replace_marker(text, marker, pushed)
        self._send(
            "PUT",
            f"issue/{quote(key)}",
            f"recording the marker on {key}",
            body={"fields": {"description": new}},
            write=True,
        )
        return replace(
            ticket, marker=marker, updated_at=None, extra={**ticket.extra, "description": new}
        )

    def close(self, ticket: Ticket, reason: CloseReason, marker: Marker | None = None) -> Ticket:
        """Transition to the configured done (or dropped) status, then record the marker.

        The transition goes first: if the marker write then fails, the next plan sees a
        ticket closed as the file wants, never a marker claiming a close that did not happen.

        Raises:
            NotFound: the issue does not exist.
            ValidationFailed: the workflow offers no path to the target status.
        """
        key = self._write_key(ticket)
        cur = self._flow.where_now(key)
        state: Status
        if cur.category == "done":
            fields = {
                "status": {"name": cur.status, "statusCategory": {"key": "done"}},
                "resolution": {"name": cur.resolution} if cur.resolution else None,
            }
            state = state_of(fields, self.wont_do, self.transitions.get("dropped"))
            closed_at = ticket.closed_at
        else:
            goal = close_goal(reason, self.transitions.get("done"), self.transitions.get("dropped"))
            new = self._flow.move(key, goal, reason)
            fields = {
                "status": {"name": new.status, "statusCategory": {"key": new.category}},
                "resolution": {"name": new.resolution} if new.resolution else None,
            }
            state = state_of(fields, self.wont_do, self.transitions.get("dropped"))
            closed_at = None
        result = replace(
            ticket,
            state=state,
            closed_at=closed_at,
            updated_at=None,
            extra={**ticket.extra, "status": self._flow.known[key].status},
        )
        if marker is not None:
            result = self._record_marker(key, result, marker)
        return result

    def reopen(self, ticket: Ticket, marker: Marker | None = None) -> Ticket:
        """Transition back to the configured reopen status (else any status in To Do).

        Raises:
            NotFound: the issue does not exist.
            ValidationFailed: the workflow offers no path back.
        """
        key = self._write_key(ticket)
        cur = self._flow.where_now(key)
        state: Status = "in_progress" if cur.category == "indeterminate" else "open"
        if cur.category == "done":
            new = self._flow.move(key, Goal(self.transitions.get("reopen"), "new"), None)
            state = "in_progress" if new.category == "indeterminate" else "open"
        result = replace(
            ticket,
            state=state,
            closed_at=None,
            updated_at=None,
            extra={**ticket.extra, "status": self._flow.known[key].status},
        )
        if marker is not None:
            result = self._record_marker(key, result, marker)
        return result

    # --- comments and reports ------------------------------------------------------------------

    def comment(self, ticket: Ticket, body: str) -> None:
        """Add a comment (wiki markup).

        Raises:
            NotFound: the issue does not exist.
        """
        key = self._write_key(ticket)
        self._send(
            "POST",
            f"issue/{quote(key)}/comment",
            f"commenting on {key}",
            body={"body": body},
            write=True,
        )

    def comment_bodies(self, ticket: Ticket) -> list[str]:
        """The comments of the issue (wiki markup, REST v2), oldest first.

        Raises:
            NotFound: the issue does not exist.
        """
        key = self._write_key(ticket)
        out: list[str] = []
        start = 0
        while True:
            page = self._get(
                f"issue/{quote(key)}/comment",
                f"reading the comments of {key}",
                startAt=start,
                maxResults=100,
            )
            rows = page.get("comments") if isinstance(page, Mapping) else None
            if not isinstance(rows, list) or not rows:
                return out
            out += [str(c.get("body") or "") for c in rows if isinstance(c, Mapping)]
            start += len(rows)
            total = page.get("total")
            if not isinstance(total, int) or start >= total:
                return out

    def mention(self, ident: str) -> str:
        """Wiki markup that mentions a user: accountId on Cloud, username on Data Center."""
        return f"[~accountid:{ident}]" if self._cloud else f"[~{ident}]"

    def post_report(self, title: str, body: str, week: str) -> str:
        """Create or update this week's report issue (labelled by week); return its URL."""
        if not _WEEK_RE.fullmatch(week):
            raise ValueError(f"week must look like 2026-W47, got {week!r}")
        text = "{noformat}\n" + body.replace("{noformat}", "{ noformat}") + "\n{noformat}"
        label = report_label(week)
        what = f"finding the report of {week}"
        jql = f'project = "{self.project}" AND labels = "{label}" ORDER BY created ASC'
        found = self._search(jql, what)
        if found:
            key = found[0].ref
            self._send(
                "PUT",
                f"issue/{quote(key)}",
                f"updating the report {key}",
                body={"fields": {"summary": cut_summary(title), "description": text}},
                write=True,
            )
            return self._browse(key)
        screen = self._make.screen()
        issuetype = (
            {"id": screen.issue_type_id} if screen.issue_type_id else {"name": self.issue_type}
        )
        fields = {
            **self.extra_fields,
            "project": {"key": self.project},
            "issuetype": issuetype,
            "summary": cut_summary(title),
            "description": text,
            "labels": [REPORT_LABEL, label],
        }
        resp = self._send(
            "POST", "issue", f"creating the report of {week}", body={"fields": fields}, write=True
        )
        data = self._json(resp, "creating the report")
        return self._browse(str(data.get("key")))


GATEWAY = re.compile(r"https://api\.atlassian\.com/ex/jira/[0-9a-fA-F-]{8,}/?")


def is_gateway(url: str) -> bool:
    """`url` is the Atlassian API gateway of one site, which scoped API tokens need."""
    return GATEWAY.fullmatch(url.strip()) is not None


def from_config(
    cfg: JiraConfig,
    owners: Mapping[str, str],
    *,
    email: str | None,
    token: str | None,
    pat: str | None,
    sleeper: Sleeper = time.sleep,
    clock: Clock = _utcnow,
    source_url: str | None = None,
) -> JiraBackend:
    """The backend `.tracker.yml` describes; credentials come resolved from the env vars.

    Raises:
        ConfigError: the URL, the project or the credentials are missing.
    """
    missing = [name for name in ("url", "project") if not getattr(cfg, name)]
    if missing:
        raise ConfigError(
            f".tracker.yml: jira.{' and jira.'.join(missing)} must be set for backend: jira"
        )
    basic, bearer = bool(email and token), bool(pat)
    need_basic = f"{cfg.email_env} and {cfg.token_env} (the account's email and API token)"
    need_pat = f"{cfg.pat_env} (a personal access token)"
    if cfg.deployment == "cloud" and not basic:
        unset = [n for n, v in ((cfg.email_env, email), (cfg.token_env, token)) if not v]
        raise ConfigError(
            f"Jira Cloud at {cfg.url} needs {need_basic}: {' and '.join(unset)} not set"
        )
    if cfg.deployment == "datacenter" and not bearer and not basic:
        raise ConfigError(f"Jira Data Center at {cfg.url} needs {need_pat}: not set")
    if not (basic or bearer):
        raise ConfigError(
            f"Jira needs credentials: set {need_basic} for Jira Cloud, or {need_pat} for "
            "Jira Data Center"
        )
    assert cfg.url is not None and cfg.project is not None
    gateway = is_gateway(cfg.url)
    if gateway and not cfg.site_url:
        raise ConfigError(
            f".tracker.yml: jira.url {cfg.url} is Atlassian's API gateway (scoped API tokens): "
            "set jira.site_url to the site people open, e.g. https://acme.atlassian.net, so "
            "the links in tickets and reports work"
        )
    return JiraBackend(
        cfg.url,
        project=cfg.project,
        deployment="cloud" if gateway else cfg.deployment,
        site_url=cfg.site_url,
        email=email,
        token=token,
        pat=pat,
        issue_type=cfg.issue_type,
        labels=cfg.labels,
        owners=owners,
        priority_map=cfg.priority_map or None,
        transitions=cfg.transitions,
        fields=cfg.fields,
        wont_do_resolutions=cfg.wont_do_resolutions,
        http_timeout_s=cfg.http_timeout_s,
        max_wait_s=cfg.retry.max_wait_s,
        sleeper=sleeper,
        clock=clock,
        source_url=source_url,
        credential_names={"email": cfg.email_env, "token": cfg.token_env, "pat": cfg.pat_env},
    )
