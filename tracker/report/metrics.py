"""Report figures over a snapshot of tracked tickets: pure (the clock comes in as `as_of`).

The definitions are the ones in DESIGN.md, section Report; they are repeated on each field.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tracker.model import Status, Ticket

if TYPE_CHECKING:
    from tracker.config import Config

NO_OWNER = "(no owner)"
_DIGITS = re.compile(r"(\d+)")
NONE = "(none)"
NO_POSTMORTEM = "(no postmortem)"


@dataclass(frozen=True)
class Totals:
    tracked: int = 0
    open: int = 0  # open + in_progress
    in_progress: int = 0
    done: int = 0
    dropped: int = 0
    overdue: int = 0
    due_soon: int = 0
    stale: int = 0
    no_owner: int = 0  # open items without an owner
    no_due: int = 0  # open items without a due date


@dataclass(frozen=True)
class Breakdown:
    """One row of a per-postmortem, per-owner, per-severity or per-priority table."""

    name: str
    tracked: int
    open: int
    done: int
    dropped: int
    overdue: int
    completion_rate: float | None
    path: str | None = None  # postmortem file, for the per-postmortem table


@dataclass(frozen=True)
class TrendWeek:
    week: str  # ISO week, "2026-W07"
    start: dt.date  # Monday
    end: dt.date  # Sunday
    opened: int  # open date within the week
    closed: int  # done items whose close date is within the week
    dropped: int  # dropped items closed within the week
    completion_rate: float | None  # at the week's end, over items opened by then


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
    days_since_update: int | None
    postmortem: str
    path: str | None
    severity: str | None
    priority: str | None
    opened_on: dt.date | None
    closed_on: dt.date | None

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "in_progress")


@dataclass(frozen=True)
class Report:
    as_of: dt.date
    timezone: str
    stale_after_days: int
    due_soon_days: int
    totals: Totals
    completion_rate: float | None  # done / (done + open); dropped excluded
    on_time_rate: float | None  # done by the due date / done with a due date and close date
    on_time: int
    done_with_due: int
    median_days_to_close: float | None
    median_open_age_days: float | None
    by_postmortem: tuple[Breakdown, ...]
    by_owner: tuple[Breakdown, ...]
    by_severity: tuple[Breakdown, ...]
    by_priority: tuple[Breakdown, ...]
    trend: tuple[TrendWeek, ...]
    items: tuple[ReportItem, ...]  # sorted by key, numbers in natural order
    # Open tickets whose postmortem was removed from git: their own group, in no figure above.
    orphaned: tuple[ReportItem, ...] = ()

    @property
    def week(self) -> str:
        """The ISO week of `as_of`, "2026-W20": one report issue per week."""
        return _week_label(self.as_of)


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


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


def _iso_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _natural(key: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting "pm/item-9" before "pm/item-10"."""
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in _DIGITS.split(key) if p)


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class _Row:
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


def _owners(ticket: Ticket) -> tuple[str, ...]:
    out: list[str] = []
    seen: set[str] = set()
    for raw in ticket.owners:
        name = raw.strip().lstrip("@").strip()
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            out.append(name)
    return tuple(out)


def _row(
    ticket: Ticket,
    as_of: dt.date,
    tz: str,
    stale_after_days: int,
    due_soon_days: int,
    wont_do: frozenset[str],
) -> _Row:
    marker = ticket.marker
    key = marker.key if marker else ticket.ref
    postmortem = (key.rpartition("/")[0] or key) if marker else NO_POSTMORTEM
    state = _state(ticket, wont_do)
    is_open = state in ("open", "in_progress")
    opened = _iso_date(marker.pm_date if marker else None) or local_date(ticket.created_at, tz)
    closed: dt.date | None = None
    if state == "done":
        closed = _iso_date(marker.done_on if marker else None) or local_date(ticket.closed_at, tz)
    elif state == "dropped":
        closed = local_date(ticket.closed_at, tz)
    due = ticket.due
    overdue = is_open and due is not None and due < as_of
    due_soon = (
        is_open and due is not None and as_of <= due <= as_of + dt.timedelta(days=due_soon_days)
    )
    touched = local_date(ticket.updated_at or ticket.created_at, tz)
    since = max(0, (as_of - touched).days) if touched is not None else None
    stale = is_open and since is not None and since > stale_after_days
    item = ReportItem(
        key=key,
        ticket=ticket.ref,
        url=ticket.url,
        title=ticket.title,
        owners=_owners(ticket),
        due=due,
        state=state,
        overdue=overdue,
        days_overdue=(as_of - due).days if overdue and due is not None else None,
        due_soon=due_soon,
        stale=stale,
        days_since_update=since,
        postmortem=postmortem,
        path=marker.path if marker else None,
        severity=(marker.severity if marker else None) or None,
        priority=ticket.priority or (marker.priority if marker else None) or None,
        opened_on=opened,
        closed_on=closed,
    )
    return _Row(item, state, opened, closed)


def _breakdowns(
    rows: Iterable[_Row],
    names: Callable[[ReportItem], Iterable[str]],
    *,
    fold: bool = False,
) -> list[Breakdown]:
    """Count rows per bucket; `fold` groups names case-insensitively (owners)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    spelling: dict[str, str] = {}
    paths: dict[str, str] = {}
    for r in rows:
        for name in names(r.item):
            bucket = name.casefold() if fold else name
            spelling[bucket] = min(spelling.get(bucket, name), name)
            if r.item.path is not None:
                paths[bucket] = min(paths.get(bucket, r.item.path), r.item.path)
            c = counts[bucket]
            c[0] += 1
            if r.item.is_open:
                c[1] += 1
            elif r.state == "done":
                c[2] += 1
            else:
                c[3] += 1
            if r.item.overdue:
                c[4] += 1
    return [
        Breakdown(
            name=spelling[b],
            tracked=c[0],
            open=c[1],
            done=c[2],
            dropped=c[3],
            overdue=c[4],
            completion_rate=rate(c[2], c[2] + c[1]),
            path=paths.get(b),
        )
        for b, c in counts.items()
    ]


def _by_name(rows: list[Breakdown], last: str) -> tuple[Breakdown, ...]:
    return tuple(sorted(rows, key=lambda b: (b.name == last, b.name.casefold(), b.name)))


def _trend(rows: list[_Row], as_of: dt.date, weeks: int) -> tuple[TrendWeek, ...]:
    last_monday = as_of - dt.timedelta(days=as_of.weekday())
    first_monday = last_monday - dt.timedelta(weeks=weeks - 1)
    opened = [0] * weeks
    closed = [0] * weeks
    dropped = [0] * weeks
    # Completion at each week's end, by difference arrays: an item counts from the week it was
    # opened; it is open until the week it was closed (done or dropped), done from then on.
    open_diff = [0] * (weeks + 1)
    done_diff = [0] * (weeks + 1)

    def span(diff: list[int], lo: int, hi: int) -> None:
        lo, hi = max(lo, 0), min(hi, weeks)
        if lo < hi:
            diff[lo] += 1
            diff[hi] -= 1

    for r in rows:
        w_open = (r.opened - first_monday).days // 7 if r.opened is not None else None
        w_closed = (r.closed - first_monday).days // 7 if r.closed is not None else None
        if w_open is not None and 0 <= w_open < weeks:
            opened[w_open] += 1
        if w_closed is not None and 0 <= w_closed < weeks:
            (closed if r.state == "done" else dropped)[w_closed] += 1
        if w_open is None:
            continue  # opened at an unknown date: left out of the weekly rates
        if r.state in ("open", "in_progress"):
            span(open_diff, w_open, weeks)
        elif w_closed is not None:  # closed at an unknown date: neither done nor open then
            span(open_diff, w_open, w_closed)
            if r.state == "done":
                span(done_diff, max(w_open, w_closed), weeks)
    out: list[TrendWeek] = []
    open_then = done_then = 0
    for w in range(weeks):
        start = first_monday + dt.timedelta(weeks=w)
        end = start + dt.timedelta(days=6)
        open_then += open_diff[w]
        done_then += done_diff[w]
        out.append(
            TrendWeek(
                week=_week_label(start),
                start=start,
                end=end,
                opened=opened[w],
                closed=closed[w],
                dropped=dropped[w],
                completion_rate=rate(done_then, done_then + open_then),
            )
        )
    return tuple(out)


def compute(
    tickets: Sequence[Ticket],
    as_of: dt.date,
    *,
    tz: str = "UTC",
    stale_after_days: int = 14,
    due_soon_days: int = 7,
    trend_weeks: int = 12,
    wont_do_states: Collection[str] = (),
) -> Report:
    """Every report figure for `tickets` as of the day `as_of` (a calendar day in `tz`).

    `wont_do_states`: resolutions, GitHub state reasons or labels (case-insensitive) that make a
    ticket the backend reports as done count as dropped, e.g. a completed issue labelled
    `wontfix`. Empty by default: then done and dropped are exactly the ticket states.

    Raises:
        zoneinfo.ZoneInfoNotFoundError: `tz` is not an IANA zone (config validates it first).
    """
    if trend_weeks < 1:
        raise ValueError("trend_weeks must be at least 1")
    wont_do = frozenset(s.casefold() for s in wont_do_states)
    rows = sorted(
        (_row(t, as_of, tz, stale_after_days, due_soon_days, wont_do) for t in tickets),
        key=lambda r: (_natural(r.item.key), r.item.ticket),
    )
    orphaned = {t.ref for t in tickets if t.orphaned and t.state in ("open", "in_progress")}
    orphans = tuple(r.item for r in rows if r.item.ticket in orphaned)
    rows = [r for r in rows if r.item.ticket not in orphaned]
    open_rows = [r for r in rows if r.item.is_open]
    done_rows = [r for r in rows if r.state == "done"]
    totals = Totals(
        tracked=len(rows),
        open=len(open_rows),
        in_progress=sum(r.state == "in_progress" for r in rows),
        done=len(done_rows),
        dropped=sum(r.state == "dropped" for r in rows),
        overdue=sum(r.item.overdue for r in rows),
        due_soon=sum(r.item.due_soon for r in rows),
        stale=sum(r.item.stale for r in rows),
        no_owner=sum(not r.item.owners for r in open_rows),
        no_due=sum(r.item.due is None for r in open_rows),
    )
    timed = [r for r in done_rows if r.item.due is not None and r.closed is not None]
    on_time = sum(
        1 for r in timed if r.closed is not None and r.item.due and r.closed <= r.item.due
    )
    to_close = [
        max(0, (r.closed - r.opened).days)
        for r in done_rows
        if r.closed is not None and r.opened is not None
    ]
    ages = [max(0, (as_of - r.opened).days) for r in open_rows if r.opened is not None]
    postmortems = _breakdowns(rows, lambda i: (i.postmortem,))
    owners = _breakdowns(rows, lambda i: i.owners or (NO_OWNER,), fold=True)
    return Report(
        as_of=as_of,
        timezone=tz,
        stale_after_days=stale_after_days,
        due_soon_days=due_soon_days,
        totals=totals,
        completion_rate=rate(totals.done, totals.done + totals.open),
        on_time_rate=rate(on_time, len(timed)),
        on_time=on_time,
        done_with_due=len(timed),
        median_days_to_close=_median(to_close),
        median_open_age_days=_median(ages),
        by_postmortem=_by_name(postmortems, NO_POSTMORTEM),
        # Owners with the most overdue work first, then the most open work.
        by_owner=tuple(
            sorted(
                owners, key=lambda b: (b.name == NO_OWNER, -b.overdue, -b.open, b.name.casefold())
            )
        ),
        by_severity=_by_name(_breakdowns(rows, lambda i: (i.severity or NONE,)), NONE),
        by_priority=_by_name(_breakdowns(rows, lambda i: (i.priority or NONE,)), NONE),
        trend=_trend(rows, as_of, trend_weeks),
        items=tuple(r.item for r in rows),
        orphaned=orphans,
    )


def compute_for_config(tickets: Sequence[Ticket], as_of: dt.date, config: Config) -> Report:
    """`compute` with the settings of `.tracker.yml` (report section, timezone, Jira won't-do)."""
    rc = config.report
    wont_do = config.jira.wont_do_resolutions if config.jira and config.backend == "jira" else ()
    return compute(
        tickets,
        as_of,
        tz=config.timezone,
        stale_after_days=rc.stale_after_days,
        due_soon_days=rc.due_soon_days,
        trend_weeks=rc.trend_weeks,
        wont_do_states=wont_do,
    )
