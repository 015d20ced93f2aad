"""The weekly trend and the week-over-week changes, from each item's true open and close days.

Pure: rows in (the day an item was opened and closed, its state and due date), figures out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tracker.model import Status


class Dated(Protocol):
    @property
    def state(self) -> Status: ...
    @property
    def opened(self) -> dt.date | None: ...
    @property
    def closed(self) -> dt.date | None: ...


@dataclass(frozen=True)
class TrendWeek:
    week: str  # ISO week, "2026-W07"
    start: dt.date  # Monday
    end: dt.date  # Sunday
    opened: int  # open date within the week
    closed: int  # done items whose close date is within the week
    dropped: int  # dropped items closed within the week
    completion_rate: float | None  # at the week's end, over items opened by then


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def week_label(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def trend(rows: Sequence[Dated], as_of: dt.date, weeks: int) -> tuple[TrendWeek, ...]:
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
                week=week_label(start),
                start=start,
                end=end,
                opened=opened[w],
                closed=closed[w],
                dropped=dropped[w],
                completion_rate=rate(done_then, done_then + open_then),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Snapshot:
    """The headline figures on one day, rebuilt from the open and close days."""

    day: dt.date
    open: int
    overdue: int
    done: int

    @property
    def completion_rate(self) -> float | None:
        return rate(self.done, self.done + self.open)


def snapshot_on(rows: Sequence[Dated], dues: Sequence[dt.date | None], day: dt.date) -> Snapshot:
    """Open, overdue and done at the end of `day` (items opened later do not exist yet; a done
    item with an unknown close day was done before the tool saw it, so it counts as done)."""
    n_open = n_overdue = n_done = 0
    for r, due in zip(rows, dues, strict=True):
        if r.opened is None or r.opened > day:
            continue
        closed_then = r.state in ("done", "dropped") and (r.closed is None or r.closed <= day)
        if closed_then:
            n_done += r.state == "done"
            continue
        n_open += 1
        n_overdue += due is not None and due < day
    return Snapshot(day, n_open, n_overdue, n_done)
