"""One report row per ticket: its state, owners, due date, and the true days it was opened,
closed and last touched by a person. Pure (the day comes in as `as_of`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tracker.model import ActionItem, Status, Ticket
from tracker.report.owners import OwnerRules

if TYPE_CHECKING:
    from tracker.report.history import GitHistory, ItemHistory

NO_POSTMORTEM = "(no postmortem)"
# The tool's own writes land within this many seconds of the time its marker records; a later
# update of the ticket is someone else's doing (a comment, a state or assignee change).
TOOL_WRITE_SLACK_S = 600


@dataclass(frozen=True)
class ReportItem:
    key: str
    ticket: str
    url: str
    title: str
    owners: tuple[str, ...]
    due: dt.date | None
    state: Status
    overdue: bool
    days_overdue: int | None
    due_soon: bool
    stale: bool
    days_since_activity: int | None  # days since human activity (the tool's writes excluded)
    postmortem: str
    path: str | None
    severity: str | None
    priority: str | None
    opened_on: dt.date | None
    closed_on: dt.date | None
    teams: tuple[str, ...] = ()
    due_by_policy: bool = False  # the due date is sync.default_due's: nobody committed to it
    backfilled: bool = False  # done before the tool arrived: counted on its real week
    closed_by: str | None = None  # who marked it done in the file (git author), when known
    last_activity: dt.date | None = None  # the last human activity seen

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "in_progress")


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: dt.datetime | None, tz: str) -> dt.date | None:
    """The calendar day of `moment` in `tz`; a naive datetime is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(_zone(tz)).date()


def iso_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class Row:
    """What `compute` needs of one ticket, computed once."""

    item: ReportItem
    state: Status  # after the won't-do mapping
    opened: dt.date | None
    closed: dt.date | None  # done: done_on or closed_at; dropped: closed_at; open: None


def _state(ticket: Ticket, wont_do: frozenset[str]) -> Status:
    state: Status = ticket.state if ticket.state in ("in_progress", "done", "dropped") else "open"
    if state == "done" and wont_do:
        signals = [ticket.extra.get("resolution", ""), ticket.extra.get("state_reason", "")]
        if any(s.casefold() in wont_do for s in [*signals, *ticket.labels] if s):
            return "dropped"
    return state


@dataclass(frozen=True)
class RowContext:
    as_of: dt.date
    tz: str
    stale_after_days: int
    due_soon_days: int
    wont_do: frozenset[str]
    rules: OwnerRules
    history: GitHistory | None
    file_items: Mapping[str, ActionItem]


def _moment(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _human_activity(ticket: Ticket, hist: ItemHistory | None) -> dt.datetime | None:
    """The last thing a person did to the item: edited it in the file (git), or acted on the
    ticket after the tool's last write (its marker's `written_at`; a ticket without one counts
    every update, as before the tool recorded its writes)."""
    seen: list[dt.datetime] = []
    written = _moment(ticket.marker.written_at if ticket.marker else None)
    if ticket.updated_at is not None:
        updated = _aware(ticket.updated_at)
        if written is None or updated > written + dt.timedelta(seconds=TOOL_WRITE_SLACK_S):
            seen.append(updated)
    if hist is not None:
        seen += [_aware(c.when) for c in (hist.edited, hist.added) if c is not None]
    if not seen and written is None and ticket.created_at is not None:
        seen.append(_aware(ticket.created_at))
    return max(seen) if seen else None


def _closed(
    ticket: Ticket, state: Status, hist: ItemHistory | None, tz: str
) -> tuple[dt.date | None, bool, str | None]:
    """(close day, backfilled, closed by) of a closed ticket.

    Done: the earliest of the ticket's close, the commit that marked the item done and the day
    the file says. Backfilled (done before its ticket existed, or created closed): only the
    file's days count, never the import day; unknown when the file tells nothing.
    """
    marker = ticket.marker
    closed_at = local_date(ticket.closed_at, tz)
    if state == "dropped":
        return closed_at, False, ticket.extra.get("closed_by")
    file_days: list[tuple[dt.date, str | None]] = []
    said = iso_date(marker.done_on if marker else None)
    if said is not None:
        file_days.append((said, None))
    if hist is not None and hist.done is not None:
        day = local_date(hist.done.when, tz)
        if day is not None:
            file_days.append((day, hist.done.author))
    created = local_date(ticket.created_at, tz)
    quick = (
        ticket.created_at is not None
        and ticket.closed_at is not None
        and _aware(ticket.closed_at) - _aware(ticket.created_at) <= dt.timedelta(minutes=10)
    )
    earliest = min(file_days, key=lambda d: d[0]) if file_days else None
    backfilled = quick or (earliest is not None and created is not None and earliest[0] < created)
    if backfilled:
        if earliest is None and hist is not None and hist.added is not None:
            # Done by its section ("Completed actions"), no line of its own says so: it was
            # done when the commit added it.
            return local_date(hist.added.when, tz), True, hist.added.author
        return (earliest[0], True, earliest[1]) if earliest else (None, True, None)
    if earliest is not None and (closed_at is None or earliest[0] <= closed_at):
        return earliest[0], False, earliest[1]
    return closed_at, False, ticket.extra.get("closed_by")


def build_row(ticket: Ticket, ctx: RowContext) -> Row:
    as_of, tz = ctx.as_of, ctx.tz
    marker = ticket.marker
    key = marker.key if marker else ticket.ref
    postmortem = (key.rpartition("/")[0] or key) if marker else NO_POSTMORTEM
    state = _state(ticket, ctx.wont_do)
    is_open = state in ("open", "in_progress")
    hist = (
        ctx.history.item(marker.path, marker.title or ticket.title)
        if ctx.history is not None and marker is not None
        else None
    )
    added = local_date(hist.added.when, tz) if hist and hist.added else None
    opened = (
        added or iso_date(marker.pm_date if marker else None) or local_date(ticket.created_at, tz)
    )
    closed: dt.date | None = None
    backfilled = False
    closed_by: str | None = None
    if state in ("done", "dropped"):
        closed, backfilled, closed_by = _closed(ticket, state, hist, tz)
    due = ticket.due
    file_item = ctx.file_items.get(key)
    by_policy = (
        due is not None
        and file_item is not None
        and file_item.due is None
        and file_item.due_text is None
    )
    overdue = is_open and due is not None and due < as_of
    due_soon = (
        is_open and due is not None and as_of <= due <= as_of + dt.timedelta(days=ctx.due_soon_days)
    )
    human = _human_activity(ticket, hist)
    touched = local_date(human, tz) if human is not None else opened
    since = max(0, (as_of - touched).days) if touched is not None else None
    stale = is_open and since is not None and since > ctx.stale_after_days
    written = ticket.owners or (marker.owners if marker else ())
    people, teams = ctx.rules.split(written)
    if marker is not None and ticket.owners:
        teams = ctx.rules.split(marker.owners)[1] + teams
    item = ReportItem(
        key=key,
        ticket=ticket.ref,
        url=ticket.url,
        title=ticket.title,
        owners=people,
        due=due,
        state=state,
        overdue=overdue,
        days_overdue=(as_of - due).days if overdue and due is not None else None,
        due_soon=due_soon,
        stale=stale,
        days_since_activity=since,
        postmortem=postmortem,
        path=marker.path if marker else None,
        severity=(marker.severity if marker else None) or None,
        priority=ticket.priority or (marker.priority if marker else None) or None,
        opened_on=opened,
        closed_on=closed,
        teams=ctx.rules.teams_of(people, teams),
        due_by_policy=by_policy,
        backfilled=backfilled,
        closed_by=closed_by,
        last_activity=touched,
    )
    return Row(item, state, opened, closed)
