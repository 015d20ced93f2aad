"""Pure helpers for Jira REST answers: errors, rate-limit waits, issues read as tickets.

No `jira` import here (DESIGN: the library is imported only by backends/jira.py).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from tracker.backends.jira_flow import Current, current_of, state_of
from tracker.backends.jira_text import Pushed, parse_day, parse_time, read_marker
from tracker.errors import (
    AuthError,
    BackendError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tracker.model import Marker, Ticket


class CountingAdapter(HTTPAdapter):
    """Counts every request put on the wire (answered or not); urllib3 never re-sends."""

    def __init__(self, count: Callable[[], None]) -> None:
        super().__init__(max_retries=0)
        self._count = count

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self._count()
        return super().send(request, *args, **kwargs)


def not_sent(exc: BaseException) -> bool:
    """Whether a transport error happened before the request could reach Jira."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    for arg in exc.args:
        reason = getattr(arg, "reason", None)
        # NewConnectionError and NameResolutionError are ConnectTimeoutErrors in urllib3 2.
        if isinstance(arg, urllib3.exceptions.ConnectTimeoutError) or isinstance(
            reason, urllib3.exceptions.ConnectTimeoutError
        ):
            return True
    return False


class FieldsRejected(ValidationFailed):
    """Jira refused named fields (400); `fields` says which."""

    def __init__(self, message: str, fields: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.fields = frozenset(fields)


def error_text(data: object) -> str:
    """Jira's errorMessages and field errors, as one line."""
    if not isinstance(data, Mapping):
        return ""
    parts = [str(m) for m in data.get("errorMessages") or [] if m]
    errors = data.get("errors")
    if isinstance(errors, Mapping):
        parts += [f"{k}: {v}" for k, v in errors.items()]
    for key in ("message", "errorMessage"):
        if isinstance(data.get(key), str):
            parts.append(str(data[key]))
    return "; ".join(parts)


def error_fields(data: object) -> frozenset[str]:
    errors = data.get("errors") if isinstance(data, Mapping) else None
    return frozenset(errors) if isinstance(errors, Mapping) else frozenset()


def _body(resp: requests.Response) -> object:
    try:
        return resp.json()
    except ValueError:
        return None


# Jira project permissions by what the tool was doing (Jira: Project settings > Permissions).
_PERMISSIONS = (
    ("creating", "Create Issues"),
    ("create screen", "Create Issues"),
    ("moving", "Transition Issues, and Resolve Issues for a done status"),
    ("comment", "Add Comments"),
    ("updating", "Edit Issues"),
    ("recording", "Edit Issues"),
)


def needed_permission(what: str, resp: requests.Response) -> str:
    """The project permission a 403 to `what` most likely lacks, named as Jira names it."""
    sent = resp.request.body if resp.request is not None else None
    text = sent.decode("utf-8", "replace") if isinstance(sent, bytes) else str(sent or "")
    names = [name for verb, name in _PERMISSIONS if verb in what.casefold()]
    if '"duedate"' in text:  # a due date needs its own permission
        names.append("Schedule Issues for due dates")
    if '"assignee"' in text:
        names.append("Assign Issues")
    found = ", ".join(dict.fromkeys(names)) or "Browse Projects and Edit Issues"
    return f"grant the account {found}"


def map_error(
    resp: requests.Response, what: str, *, where: str, credential: str, project: str
) -> BackendError:
    """The tracker error for a refused request; never quotes a credential, only its name."""
    code = resp.status_code
    data = _body(resp)
    said = error_text(data) if data is not None else (resp.text or "").strip()[:300]
    tail = f": Jira said: {said}" if said else ""
    if code == 401:
        return AuthError(
            f"{where} rejected the {credential} (401) while {what}: check that it is set, "
            "current and belongs to an account with access"
        )
    if code == 403:
        return PermissionDenied(
            f"{where} refused {what} (403): the account lacks a permission in project "
            f"{project} ({needed_permission(what, resp)}){tail}"
        )
    if code == 404:
        return NotFound(f"{where}: {what}: not found (404){tail}")
    if code in (400, 422):
        return FieldsRejected(f"{where} rejected {what} ({code}){tail}", error_fields(data))
    if code == 409:
        return Conflict(f"{where}: {what}: conflict (409){tail}")
    if code == 410:
        return BackendError(
            f"{where}: {what}: this API was removed (410){tail}; on Jira Cloud set "
            "jira.deployment: cloud"
        )
    return BackendError(f"{where}: {what} failed ({code}){tail}")


def wait_for(resp: requests.Response, attempt: int, now: dt.datetime) -> float:
    """Seconds Jira asks us to wait: Retry-After (seconds or a date), else X-RateLimit-Reset,
    else exponential backoff from 5 s."""
    value = resp.headers.get("Retry-After", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, (when - now).total_seconds())
    reset = parse_time(resp.headers.get("X-RateLimit-Reset"))
    if reset is not None:
        return max(0.0, (reset - now).total_seconds())
    return float(min(60, 5 * 2 ** (attempt - 1)))


def user_id(user: object, cloud: bool) -> str | None:
    """accountId on Cloud, username on Data Center."""
    if not isinstance(user, Mapping):
        return None
    value = user.get("accountId") if cloud else (user.get("name") or user.get("key"))
    return value if isinstance(value, str) and value else None


def user_field(ident: str, cloud: bool) -> dict[str, str]:
    return {"accountId": ident} if cloud else {"name": ident}


def _name(value: object) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        return str(value["name"])
    return None


def pushed_of(ticket: Ticket) -> Pushed:
    """What the last push recorded, kept in `ticket.extra` by `Reader.ticket`."""
    raw = ticket.extra.get("pushed")
    if raw is None:
        return Pushed()
    try:
        return Pushed.from_json(json.loads(raw))
    except ValueError:
        return Pushed()


@dataclass(frozen=True)
class Reader:
    """Turns Jira issue JSON into Tickets, in the file's vocabulary where Jira still shows what
    the tool pushed (owners as the engine resolved them, "P1"), Jira's own values otherwise."""

    url: str
    cloud: bool
    wont_do: Sequence[str]
    dropped_status: str | None
    priority_back: Mapping[str, str]  # casefolded Jira priority name -> file priority

    def ticket(
        self,
        key: str,
        issue_id: str,
        fields: Mapping[str, Any],
        marker: Marker | None,
        pushed: Pushed,
    ) -> tuple[Ticket, Current]:
        assignee = user_id(fields.get("assignee"), self.cloud)
        if (
            marker is not None
            and pushed.assignees
            and (pushed.assignee is None or assignee == pushed.assignee)
        ):
            # Jira still shows our assignee (or one we never set: the project's default
            # assignee): report the identities the engine resolved, all of them (Jira has one).
            owners: tuple[str, ...] = pushed.assignees
        else:
            owners = (assignee,) if assignee else ()
        prio = _name(fields.get("priority"))
        if marker is not None and (
            pushed.priority_name is None
            or (prio or "").casefold() == pushed.priority_name.casefold()
        ):
            priority = marker.priority
        else:
            priority = self.priority_back.get((prio or "").casefold(), prio)
        due = parse_day(fields.get("duedate"))
        if due is None and marker is not None and not pushed.due_native:
            due = parse_day(marker.due)  # the screen has no due date: it is in the text
        state = state_of(fields, self.wont_do, self.dropped_status)
        closed_at = None
        if state in ("done", "dropped"):
            closed_at = (
                parse_time(fields.get("resolutiondate"))
                or parse_time(fields.get("statuscategorychangedate"))
                or parse_time(fields.get("updated"))
            )
        cur = current_of(fields)
        extra = {
            "id": issue_id,
            "status": cur.status,
            "issuetype": cur.issue_type,
            "assignee": assignee or "",
            "priority": prio or "",
            "duedate": str(fields.get("duedate") or ""),
            "pushed": json.dumps(pushed.to_json()),
        }
        description = fields.get("description")
        if isinstance(description, str):
            extra["description"] = description  # wiki markup (v2): rewritable without a read
        labels = fields.get("labels")
        ticket = Ticket(
            ref=key,
            url=f"{self.url}/browse/{key}",
            title=str(fields.get("summary") or ""),
            state=state,
            owners=owners,
            due=due,
            priority=priority,
            labels=tuple(sorted(str(x) for x in labels)) if isinstance(labels, list) else (),
            marker=marker,
            created_at=parse_time(fields.get("created")),
            updated_at=parse_time(fields.get("updated")),
            closed_at=closed_at,
            extra=extra,
        )
        return ticket, cur

    def issue(self, raw: object) -> tuple[Ticket, Current] | None:
        """An issue of a search or GET answer; None for anything else."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("key"), str):
            return None
        fields = raw.get("fields")
        fields = fields if isinstance(fields, Mapping) else {}
        marker, pushed = read_marker(fields.get("description"))
        return self.ticket(str(raw["key"]), str(raw.get("id", "")), fields, marker, pushed)
