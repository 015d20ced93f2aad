"""GitHub Issues backend on PyGithub's Requester, with our own waiting, retries and counting.

Requests go through `Requester.requestJson` on a connection this module owns: urllib3 retries
are off (a POST is never re-sent after its answer was lost; see API-NOTES 3.3), PyGithub's own
throttle is off (we space writes through the injectable sleeper), and the connection counts
every HTTP request it sends.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import requests
from github import Auth, Github
from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
    RequestsResponse,
)

from tracker.backends.base import Capabilities, CloseReason, Field, TicketDraft
from tracker.backends.github_body import (
    BodyContext,
    is_login,
    new_body,
    parse_body,
    replace_marker,
    rewrite_body,
)
from tracker.backends.github_rest import (
    RepoView,
    error_for,
    has_code,
    html_base,
    issue_number,
    load_json,
    merge,
    message_of,
    not_sent,
    rate_wait,
    same_set,
    ticket_from_issue,
)
from tracker.errors import (
    BackendError,
    ConfigError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
)
from tracker.model import Marker, Ticket

if TYPE_CHECKING:
    from tracker.backends.base import Backend
    from tracker.config import GitHubConfig

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "postmortem-tracker"
MAX_TITLE = 256
_REPO_RE = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_WEEK_RE = re.compile(r"\d{4}-W\d{2}")
_LINK_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_REPORT_MARKER = '<!-- postmortem-tracker-report: {{"week":"{week}"}} -->'
_LABEL_COLOR = "5319e7"


Sleeper = Callable[[float], None]
Clock = Callable[[], float]


class _CountingHTTPS(HTTPSRequestsConnectionClass):
    """PyGithub's HTTPS connection, reporting each request before it is sent."""

    on_send: Callable[[str], None] | None = None

    def getresponse(self) -> RequestsResponse:
        if self.on_send is not None:
            self.on_send(self.verb)
        return super().getresponse()


class _CountingHTTP(HTTPRequestsConnectionClass):
    """PyGithub's plain-HTTP connection (GHES without TLS, the loopback fake), counting."""

    on_send: Callable[[str], None] | None = None

    def getresponse(self) -> RequestsResponse:
        if self.on_send is not None:
            self.on_send(self.verb)
        return super().getresponse()


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    data: Any


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
        self._token = token
        self._sleeper = sleeper
        self._clock = clock
        self._view = RepoView(repo, self.api_url, token_env, self.label_templates, due_milestones)
        self._source_url = f"{html_base(self.api_url)}/{source_repo or repo}/blob/HEAD"
        self._gh: Github | None = None  # built on first use: no I/O here
        self._cnx: _CountingHTTP | _CountingHTTPS | None = None
        # Per run (per instance): what was learnt once and reused.
        self.notices: list[str] = []
        self.requests = 0
        self.writes = 0
        self.waits: list[float] = []
        self._last_write: float | None = None
        self._exhausted_until: float | None = None
        self._etags: dict[str, tuple[str, Any, str | None]] = {}
        self._repo_labels: dict[str, str] | None = None
        self._assignable: dict[str, bool] = {}
        self._milestones: dict[str, int] | None = None

    def __repr__(self) -> str:  # never the token
        return f"GitHubBackend(repo={self.repo!r}, api_url={self.api_url!r})"

    @property
    def requests_made(self) -> int | None:
        return self.requests

    # --- transport ---------------------------------------------------------------------------

    def _count(self, verb: str) -> None:
        self.requests += 1
        if verb != "GET":
            self.writes += 1

    def _requester(self) -> tuple[Requester, _CountingHTTP | _CountingHTTPS]:
        if self._gh is None or self._cnx is None:
            o = urlparse(self.api_url)
            if o.scheme not in ("http", "https") or not o.hostname:
                raise ConfigError(f"github.api_url must be an http(s) URL, got {self.api_url!r}")
            self._gh = Github(
                auth=Auth.Token(self._token),
                base_url=self.api_url,
                timeout=max(1, math.ceil(self.http_timeout_s)),
                user_agent=USER_AGENT,
                per_page=100,
                retry=None,  # never re-send: our own loop decides (API-NOTES 3.3)
                seconds_between_requests=0,
                seconds_between_writes=0,
            )
            cls = _CountingHTTPS if o.scheme == "https" else _CountingHTTP
            # retry=0: urllib3 sends each request once; the timeout may be a fraction.
            cnx = cls(o.hostname, o.port, retry=0, timeout=self.http_timeout_s)  # type: ignore[arg-type]
            cnx.on_send = self._count
            self._cnx = cnx
        return self._gh.requester, self._cnx

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.waits.append(seconds)
            self._sleeper(seconds)

    def _before(self, verb: str, what: str) -> None:
        now = self._clock()
        if self._exhausted_until is not None and self._exhausted_until > now:
            wait = self._exhausted_until - now + 1
            self._check_cap(wait, what, "the primary rate limit is used up")
            self._sleep(wait)
            self._exhausted_until = None
        if verb != "GET" and self._last_write is not None and self.write_spacing_s > 0:
            self._sleep(self._last_write + self.write_spacing_s - self._clock())

    def _check_cap(self, wait: float, what: str, why: str) -> None:
        if wait > self.max_wait_s:
            raise RateLimited(
                f"GitHub asks to wait {wait:.0f} s before we {what} in {self.repo} ({why}), "
                f"longer than github.retry.max_wait_s = {self.max_wait_s:g} s: the rest is "
                "deferred to the next run",
                retry_after_s=wait,
            )

    def _call(
        self,
        verb: str,
        url: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        subject: str | None = None,
        conditional: bool = False,
        tolerate: str | None = None,
    ) -> _Reply:
        """One logical request: waits, GET retries, and errors mapped at the boundary.

        A 422 whose errors carry the code `tolerate` (e.g. already_exists) is returned, not raised.
        """
        requester, cnx = self._requester()
        rate_waits = 0
        failures = 0
        cache_key = url + "?" + json.dumps(params, sort_keys=True)
        while True:
            self._before(verb, what)
            headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
            cached = self._etags.get(cache_key) if conditional else None
            if cached is not None:
                headers["If-None-Match"] = cached[0]
            try:
                status, rheaders, text = requester.requestJson(
                    verb, url, dict(params or {}), headers, body, cnx=cnx
                )
            except requests.RequestException as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if verb == "GET" or not_sent(exc):
                    failures += 1
                    if failures <= self.get_retries:
                        self._sleep(min(2.0 ** (failures - 1), self.max_wait_s))
                        continue
                    raise BackendError(
                        f"cannot reach GitHub at {self.api_url} to {what} in {self.repo} "
                        f"({reason}); check the network and github.api_url, then run again"
                    ) from None
                raise OutcomeUnknown(
                    f"sent a request to {what} in {self.repo} but its answer was lost ({reason}): "
                    "it may or may not have happened"
                ) from None
            finally:
                if verb != "GET":
                    self._last_write = self._clock()
            data = load_json(text)
            self._note_limits(rheaders)
            wait = rate_wait(status, rheaders, data, rate_waits, self._clock())
            if wait is not None:
                rate_waits += 1
                why = str(data.get("message", "")) if isinstance(data, dict) else ""
                why = f"{status} {why}".strip()
                if rate_waits > self.rate_limit_retries:
                    raise RateLimited(
                        f"GitHub kept rate-limiting requests to {what} in {self.repo} ({why}) "
                        f"after {self.rate_limit_retries} waits: the rest is deferred",
                        retry_after_s=wait,
                    )
                self._check_cap(wait, what, why)
                self._sleep(wait)
                self._exhausted_until = None
                continue
            if status >= 500:
                if verb == "GET":
                    failures += 1
                    if failures <= self.get_retries:
                        self._sleep(min(2.0 ** (failures - 1), self.max_wait_s))
                        continue
                    raise BackendError(
                        f"GitHub answered {status} {message_of(data)} {self.get_retries + 1} "
                        f"times to {what} in {self.repo}: GitHub may be having an outage "
                        "(githubstatus.com); run again later"
                    )
                raise OutcomeUnknown(
                    f"GitHub answered {status} to a request to {what} in {self.repo}: it may or "
                    "may not have happened"
                )
            if status == 304 and cached is not None:
                return _Reply(200, {"link": cached[2] or ""}, cached[1])
            if status == 422 and tolerate and has_code(data, tolerate):
                return _Reply(status, rheaders, data)
            if status >= 400:
                raise error_for(self._view, status, data, what, subject)
            if verb != "GET" and status != 204 and data is None:
                raise OutcomeUnknown(
                    f"GitHub answered {status} to a request to {what} in {self.repo} with a body "
                    "that is not JSON: it may or may not have happened"
                )
            etag = rheaders.get("etag")
            if conditional and etag and verb == "GET":
                self._etags[cache_key] = (etag, data, rheaders.get("link"))
            return _Reply(status, rheaders, data)

    def _note_limits(self, headers: Mapping[str, str]) -> None:
        reset = headers.get("x-ratelimit-reset")
        if headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
            self._exhausted_until = float(reset)

    # --- reading issues ----------------------------------------------------------------------

    def _pages(self, url: str, params: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        next_url: str | None = url
        first = True
        seen: set[str] = set()
        while next_url and next_url not in seen:
            seen.add(next_url)
            reply = self._call(
                "GET", next_url, what, params=params if first else None, conditional=True
            )
            if not isinstance(reply.data, list):
                raise BackendError(f"GitHub sent something other than a list to {what}")
            out.extend(d for d in reply.data if isinstance(d, dict))
            m = _LINK_NEXT_RE.search(reply.headers.get("link") or "")
            next_url = m.group(1) if m else None
            first = False
        return out

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
        body = rewrite_body(issue.get("body"), draft, self._context(allowed), fields, unassigned)
        if body != (issue.get("body") or ""):
            payload["body"] = body
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
            payload = {**payload, "body": replace_marker(issue.get("body"), marker, unassigned)}
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
    )


if TYPE_CHECKING:
    _PROTOCOL_CHECK: type[Backend] = GitHubBackend  # mypy proves the backend fits the Protocol
