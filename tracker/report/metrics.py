"""Report figures over a snapshot of tracked tickets: pure (the clock comes in as `as_of`).

The definitions are the ones in DESIGN.md, section Report; they are repeated on each field.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracker.model import ActionItem, Ticket
from tracker.report.owners import OwnerRules
from tracker.report.rows import (
    NO_POSTMORTEM,
    ReportItem,
    Row,
    RowContext,
    build_row,
    local_date,
)
from tracker.report.trend import Snapshot, TrendWeek, rate, snapshot_on, trend, week_label

if TYPE_CHECKING:
    from tracker.config import Config
    from tracker.report.history import GitHistory
    from tracker.report.program import Program

__all__ = [
    "NO_POSTMORTEM",
    "Breakdown",
    "Report",
    "ReportItem",
    "Totals",
    "TrendWeek",
    "compute",
    "local_date",
    "rate",
]

NO_OWNER = "(no owner)"
NO_TEAM = "(no team)"
_DIGITS = re.compile(r"(\d+)")
NONE = "(none)"


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
    due_by_policy: int = 0  # open items whose due date is sync.default_due's, not the file's
    backfilled: int = 0  # items already done when the tool first saw them


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
    by_team: tuple[Breakdown, ...] = ()
    now: Snapshot | None = None  # open, overdue, done at the end of as_of
    week_before: Snapshot | None = None  # the same seven days earlier
    newly_overdue: tuple[ReportItem, ...] = ()  # became overdue during the last seven days
    closed_this_week: tuple[ReportItem, ...] = ()  # done or dropped during the last seven days
    program: Program | None = None
    history: bool = False  # opened and closed days come from git
    # Open tickets whose postmortem was removed from git: their own group, in no figure above.
    orphaned: tuple[ReportItem, ...] = ()

    @property
    def week(self) -> str:
        """The ISO week of `as_of`, "2026-W20": one report issue per week."""
        return week_label(self.as_of)


def _natural(key: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting "pm/item-9" before "pm/item-10"."""
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in _DIGITS.split(key) if p)


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _breakdowns(
    rows: Iterable[Row],
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


def compute(
    tickets: Sequence[Ticket],
    as_of: dt.date,
    *,
    tz: str = "UTC",
    stale_after_days: int = 14,
    due_soon_days: int = 7,
    trend_weeks: int = 12,
    wont_do_states: Collection[str] = (),
    history: GitHistory | None = None,
    file_items: Mapping[str, ActionItem] | None = None,
    owner_rules: OwnerRules | None = None,
    program: Program | None = None,
) -> Report:
    """Every report figure for `tickets` as of the day `as_of` (a calendar day in `tz`).

    `wont_do_states`: resolutions, GitHub state reasons or labels (case-insensitive) that make a
    ticket the backend reports as done count as dropped, e.g. a completed issue labelled
    `wontfix`. Empty by default: then done and dropped are exactly the ticket states.
    `history`: git's record of the postmortems (opened, closed and edited days of items);
    `file_items`: the items as parsed now, by key (a due date the file lacks is by policy);
    `owner_rules`: which owners are placeholders or teams; `program`: the program metrics.

    Raises:
        zoneinfo.ZoneInfoNotFoundError: `tz` is not an IANA zone (config validates it first).
    """
    if trend_weeks < 1:
        raise ValueError("trend_weeks must be at least 1")
    ctx = RowContext(
        as_of,
        tz,
        stale_after_days,
        due_soon_days,
        frozenset(s.casefold() for s in wont_do_states),
        owner_rules or OwnerRules(),
        history,
        file_items or {},
    )
    rows = sorted(
        (build_row(t, ctx) for t in tickets), key=lambda r: (_natural(r.item.key), r.item.ticket)
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
        due_by_policy=sum(r.item.due_by_policy for r in open_rows),
        backfilled=sum(r.item.backfilled for r in rows),
    )
    # On time only where people committed to the date: a policy due date is nobody's promise.
    timed = [
        r
        for r in done_rows
        if r.item.due is not None and r.closed is not None and not r.item.due_by_policy
    ]
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
    teams = _breakdowns(rows, lambda i: i.teams or (NO_TEAM,), fold=True)
    week_ago = as_of - dt.timedelta(days=7)
    dues = [r.item.due for r in rows]
    items = tuple(r.item for r in rows)
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
        by_owner=_busiest(owners, NO_OWNER),
        by_severity=_by_name(_breakdowns(rows, lambda i: (i.severity or NONE,)), NONE),
        by_priority=_by_name(_breakdowns(rows, lambda i: (i.priority or NONE,)), NONE),
        trend=trend(rows, as_of, trend_weeks),
        items=items,
        by_team=_busiest(teams, NO_TEAM),
        now=snapshot_on(rows, dues, as_of),
        week_before=snapshot_on(rows, dues, week_ago),
        newly_overdue=tuple(
            sorted(
                (i for i in items if i.overdue and i.due is not None and i.due >= week_ago),
                key=lambda i: (i.due or as_of, i.key),
            )
        ),
        closed_this_week=tuple(
            sorted(
                (i for i in items if i.closed_on is not None and week_ago < i.closed_on <= as_of),
                key=lambda i: (i.closed_on or as_of, i.key),
            )
        ),
        program=program,
        history=history is not None and bool(history.files),
        orphaned=orphans,
    )


def _busiest(rows: list[Breakdown], last: str) -> tuple[Breakdown, ...]:
    return tuple(
        sorted(rows, key=lambda b: (b.name == last, -b.overdue, -b.open, b.name.casefold()))
    )


def compute_for_config(
    tickets: Sequence[Ticket],
    as_of: dt.date,
    config: Config,
    *,
    history: GitHistory | None = None,
    file_items: Mapping[str, ActionItem] | None = None,
    program: Program | None = None,
) -> Report:
    """`compute` with the settings of `.tracker.yml` (report section, timezone, Jira won't-do,
    the lint's placeholder and team rules, report.teams)."""
    rc = config.report
    wont_do = config.jira.wont_do_resolutions if config.jira and config.backend == "jira" else ()
    rules = OwnerRules(
        placeholders=frozenset(p.casefold() for p in config.lint.placeholder_owners),
        team_suffixes=tuple(s.casefold() for s in config.lint.team_suffixes),
        teams={k.casefold().lstrip("@"): v for k, v in rc.teams.items()},
    )
    return compute(
        tickets,
        as_of,
        tz=config.timezone,
        stale_after_days=rc.stale_after_days,
        due_soon_days=rc.due_soon_days,
        trend_weeks=rc.trend_weeks,
        wont_do_states=wont_do,
        history=history,
        file_items=file_items,
        owner_rules=rules,
        program=program,
    )
