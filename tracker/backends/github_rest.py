"""Pure helpers for GitHub REST answers: rate-limit waits, errors, issues read as tickets.

No PyGithub import here (DESIGN: `github` is imported only by backends/github.py and forge.py).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from tracker.backends.github_body import parse_body
from tracker.errors import AuthError, BackendError, NotFound, PermissionDenied, ValidationFailed
from tracker.model import Status, Ticket

SECONDARY_WAIT_S = 60.0  # GitHub: "wait at least one minute", then back off exponentially
MILESTONE_RE = re.compile(r"Due (\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class RepoView:
    """What reading answers needs to know about the backend's settings."""

    repo: str
    api_url: str
    token_env: str = "GITHUB_TOKEN"
    label_templates: tuple[str, ...] = ()
    due_milestones: bool = False


def html_base(api_url: str) -> str:
    o = urlparse(api_url)
    if o.netloc == "api.github.com":
        return f"{o.scheme}://github.com"
    return f"{o.scheme}://{o.netloc}"  # GHES serves the API under /api/v3 on the web host


def parse_ts(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def merge(current: Sequence[str], drop: Sequence[str], add: Sequence[str]) -> list[str]:
    """People's entries stay; the tool removes only what it put there and adds what it wants."""
    dropped = {d.casefold() for d in drop} - {a.casefold() for a in add}
    out = [c for c in current if c.casefold() not in dropped]
    have = {c.casefold() for c in out}
    for a in add:
        if a.casefold() not in have:
            out.append(a)
            have.add(a.casefold())
    return out


def same_set(a: Sequence[str], b: Sequence[str]) -> bool:
    return {x.casefold() for x in a} == {x.casefold() for x in b}


def not_sent(exc: requests.RequestException) -> bool:
    """The connection failed before the request left: safe to send again, even a POST."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def field_errors(data: Any) -> str:
    errors = data.get("errors") if isinstance(data, dict) else None
    out: list[str] = []
    for err in errors if isinstance(errors, list) else []:
        if isinstance(err, str):
            out.append(err)
        elif isinstance(err, dict):
            where = err.get("field") or err.get("resource") or "?"
            text = f"{where}: {err.get('code', 'invalid')}"
            if err.get("message"):
                text += f" ({err['message']})"
            if err.get("value") is not None:
                text += f" (value {err['value']!r})"
            out.append(text)
    return "; ".join(out)


def has_code(data: Any, code: str) -> bool:
    errors = data.get("errors") if isinstance(data, dict) else None
    return isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("code") == code for e in errors
    )


def load_json(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def message_of(data: Any) -> str:
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def rate_wait(
    status: int, headers: Mapping[str, str], data: Any, n: int, now: float
) -> float | None:
    """Seconds to wait before sending again, or None when this is no rate limit."""
    if status not in (403, 429):
        return None
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    low = message.casefold()
    retry_after = headers.get("retry-after")
    remaining = headers.get("x-ratelimit-remaining")
    secondary = "secondary rate limit" in low or "abuse" in low
    primary = remaining == "0" or "api rate limit exceeded" in low
    if not (retry_after or secondary or primary or status == 429):
        return None  # a plain 403: permissions
    # GitHub's rule: Retry-After, else the reset time when nothing remains, else >= 60 s
    # with exponential backoff (docs: rate-limits-for-the-rest-api, secondary limits).
    if retry_after:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            pass
        try:  # an HTTP date instead of seconds
            when = email.utils.parsedate_to_datetime(retry_after)
            return max(when.timestamp() - now, 0.0)
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-ratelimit-reset")
    if remaining == "0" and reset and reset.isdigit():
        return max(int(reset) - now, 0.0) + 1
    return SECONDARY_WAIT_S * (2.0**n)


def error_for(
    view: RepoView,
    status: int,
    data: Any,
    what: str,
    subject: str | None,
    *,
    needs: str = "issues: write",
) -> BackendError:
    """GitHub's refusal as our exception, saying what failed, where, and what to do.

    `needs` names the permission a 403 asks for (in a workflow's `permissions:` spelling).
    """
    msg = message_of(data) or "no message"
    where = f"{subject} in {view.repo}" if subject else view.repo
    if status == 401:
        return AuthError(
            f"GitHub rejected the token for {view.repo} (401 {msg}): check that "
            f"{view.token_env} holds a valid, unexpired token with access to {view.repo}"
        )
    if status == 403:
        return PermissionDenied(
            f"GitHub refused to {what} in {view.repo} (403 {msg}): the token needs the "
            f"'{needs}' permission (in a workflow: `permissions: {needs}`); on a "
            "pull request from a fork GITHUB_TOKEN is read-only, so sync on push instead"
        )
    if status == 404:
        if subject:
            return NotFound(f"{where} not found (404) while trying to {what}")
        return NotFound(
            f"GitHub found no repository {view.repo} at {view.api_url} (404) while trying to "
            f"{what}: check github.repo, and that the token in {view.token_env} can see it "
            "(private repositories answer 404 to tokens without access)"
        )
    if status == 410:
        if subject and "delet" in msg.casefold():
            return NotFound(f"{where} was deleted (410 {msg})")
        return NotFound(
            f"GitHub answered 410 Gone to {what} in {view.repo} ({msg}): issues are "
            "disabled there; enable Issues in the repository settings (General > Features) "
            "or point github.repo at a repository that has them"
        )
    if status == 422:
        details = field_errors(data)
        return ValidationFailed(
            f"GitHub refused to {what} in {view.repo} (422 {msg})"
            + (f": {details}" if details else "")
            + "; fix the value in the postmortem or in .tracker.yml"
        )
    return BackendError(f"GitHub answered {status} {msg} to {what} in {where}")


def priority_from_labels(labels: Sequence[str], templates: Sequence[str]) -> str | None:
    """The priority a label template such as 'priority:{priority}' finds on the labels."""
    for tpl in templates:
        if "{priority}" not in tpl:
            continue
        head, _, tail = tpl.partition("{priority}")
        found = [
            x[len(head) : len(x) - len(tail)]
            for x in labels
            if x.startswith(head) and x.endswith(tail) and len(x) > len(head) + len(tail)
        ]
        if len(found) == 1:
            return found[0]
    return None


def ticket_from_issue(
    view: RepoView, issue: Mapping[str, Any], need_marker: bool = True
) -> Ticket | None:
    """The ticket an issue is; None for pull requests, and unmarked issues if `need_marker`."""
    if "pull_request" in issue or not isinstance(issue.get("number"), int):
        return None
    parsed = parse_body(issue.get("body") if isinstance(issue.get("body"), str) else None)
    marker = parsed.marker
    if marker is None and need_marker:
        return None
    state: Status = "open"
    reason = issue.get("state_reason")
    if issue.get("state") == "closed":
        state = "dropped" if reason in ("not_planned", "duplicate") else "done"
    assignees = [
        str(a["login"])
        for a in issue.get("assignees") or []
        if isinstance(a, dict) and a.get("login")
    ]
    have = {a.casefold() for a in assignees}
    owners = assignees + [u for u in parsed.unassigned if u.casefold() not in have]
    labels = [
        str(lb["name"]) if isinstance(lb, dict) else str(lb) for lb in issue.get("labels") or []
    ]
    due = parsed.due or parse_date(marker.due if marker else None)
    milestone = issue.get("milestone")
    if view.due_milestones and isinstance(milestone, dict):
        m = MILESTONE_RE.fullmatch(str(milestone.get("title", "")))
        due = parse_date(m.group(1)) if m else due
    priority = priority_from_labels(labels, view.label_templates) or parsed.priority
    number = int(issue["number"])
    return Ticket(
        ref=f"#{number}",
        url=str(issue.get("html_url") or f"{html_base(view.api_url)}/{view.repo}/issues/{number}"),
        title=str(issue.get("title") or ""),
        state=state,
        owners=tuple(owners),
        due=due,
        priority=priority or (marker.priority if marker else None),
        labels=tuple(labels),
        marker=marker,
        created_at=parse_ts(issue.get("created_at")),
        updated_at=parse_ts(issue.get("updated_at")),
        closed_at=parse_ts(issue.get("closed_at")),
        # "assignees": who may be @mentioned (reminders); the other owners could not be assigned
        extra={
            "number": str(number),
            "state_reason": str(reason or ""),
            "assignees": ",".join(assignees),
        },
    )


def issue_number(view: RepoView, ref: str) -> int | None:
    """The issue number of `ref` ('#12', 'owner/repo#12', an issue URL) in our repository."""
    ref = ref.strip()
    m = re.fullmatch(r"#(\d+)", ref)
    if m:
        return int(m.group(1))
    m = re.fullmatch(r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(\d+)", ref)
    if m and m.group(1).casefold() == view.repo.casefold():
        return int(m.group(2))
    m = re.fullmatch(r"(https?://[^/]+)/([^/]+/[^/]+)/issues/(\d+)/?(?:#.*)?", ref)
    if (
        m
        and m.group(1).casefold() == html_base(view.api_url).casefold()
        and m.group(2).casefold() == view.repo.casefold()
    ):
        return int(m.group(3))
    return None
