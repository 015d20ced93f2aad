"""One GitHub repository's REST transport on PyGithub's Requester: waits, retries, counting.

Shared by the Issues backend (backends/github.py) and the repository itself (forge.py).
Requests go through `Requester.requestJson` on a connection this module owns: urllib3 retries
are off (a POST is never re-sent after its answer was lost; see API-NOTES 3.3), PyGithub's own
throttle is off (writes are spaced through the injectable sleeper), and the connection counts
every HTTP request it sends.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests
from github import Auth, Github
from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
    RequestsResponse,
)

from tracker.backends.github_rest import (
    RepoView,
    error_for,
    has_code,
    load_json,
    message_of,
    not_sent,
    rate_wait,
)
from tracker.errors import BackendError, ConfigError, OutcomeUnknown, RateLimited

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "postmortem-tracker"
REPO_RE = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_LINK_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

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
class Reply:
    """One answer: status, headers (lower-case names) and the JSON body (None if none)."""

    status: int
    headers: Mapping[str, str]
    data: Any


class GitHubHTTP:
    """Requests to one repository; constructing it does no I/O (the client is built lazily)."""

    def __init__(
        self,
        view: RepoView,
        token: str,
        *,
        write_spacing_s: float = 1.0,
        http_timeout_s: float = 30.0,
        max_wait_s: float = 120.0,
        sleeper: Sleeper = time.sleep,
        clock: Clock = time.time,
        get_retries: int = 3,
        rate_limit_retries: int = 5,
    ) -> None:
        self.view = view
        self.repo = view.repo
        self.api_url = view.api_url
        self.write_spacing_s = write_spacing_s
        self.http_timeout_s = http_timeout_s
        self.max_wait_s = max_wait_s
        self.get_retries = get_retries
        self.rate_limit_retries = rate_limit_retries
        self._token = token
        self._sleeper = sleeper
        self._clock = clock
        self._gh: Github | None = None
        self._cnx: _CountingHTTP | _CountingHTTPS | None = None
        self.requests = 0
        self.writes = 0
        self.waits: list[float] = []
        self._last_write: float | None = None
        self._exhausted_until: float | None = None
        self._etags: dict[str, tuple[str, Any, str | None]] = {}

    def __repr__(self) -> str:  # never the token
        return f"GitHubHTTP(repo={self.repo!r}, api_url={self.api_url!r})"

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

    def call(
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
        passthrough: Collection[int] = (),
        needs: str = "issues: write",
    ) -> Reply:
        """One logical request: waits, GET retries, and errors mapped at the boundary.

        A 422 whose errors carry the code `tolerate` (e.g. already_exists), and any status in
        `passthrough`, is returned, not raised. `needs` names the permission a 403 asks for.
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
                return Reply(200, {"link": cached[2] or ""}, cached[1])
            if status == 422 and tolerate and has_code(data, tolerate):
                return Reply(status, rheaders, data)
            if status in passthrough:
                return Reply(status, rheaders, data)
            if status >= 400:
                raise error_for(self.view, status, data, what, subject, needs=needs)
            if verb != "GET" and status != 204 and data is None:
                raise OutcomeUnknown(
                    f"GitHub answered {status} to a request to {what} in {self.repo} with a body "
                    "that is not JSON: it may or may not have happened"
                )
            etag = rheaders.get("etag")
            if conditional and etag and verb == "GET":
                self._etags[cache_key] = (etag, data, rheaders.get("link"))
            return Reply(status, rheaders, data)

    def _note_limits(self, headers: Mapping[str, str]) -> None:
        reset = headers.get("x-ratelimit-reset")
        if headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
            self._exhausted_until = float(reset)

    def pages(
        self, url: str, params: Mapping[str, Any], what: str, *, needs: str = "issues: write"
    ) -> list[dict[str, Any]]:
        """Every object of a paginated listing, following `Link: rel="next"` (ETag-cached)."""
        out: list[dict[str, Any]] = []
        next_url: str | None = url
        first = True
        seen: set[str] = set()
        while next_url and next_url not in seen:
            seen.add(next_url)
            reply = self.call(
                "GET",
                next_url,
                what,
                params=params if first else None,
                conditional=True,
                needs=needs,
            )
            if not isinstance(reply.data, list):
                raise BackendError(f"GitHub sent something other than a list to {what}")
            out.extend(d for d in reply.data if isinstance(d, dict))
            m = _LINK_NEXT_RE.search(reply.headers.get("link") or "")
            next_url = m.group(1) if m else None
            first = False
        return out
