"""What changed this week (deltas with arrows, newly overdue, closed with who closed them) and
the per-team and per-severity tables, as Markdown lines and JSON."""

from __future__ import annotations

from tracker.report.markup import DASH, link, md_code, md_text, owners_md, pct, percent, table
from tracker.report.metrics import NO_TEAM, NONE, Breakdown, Report, ReportItem
from tracker.report.trend import Snapshot

UP, DOWN, SAME = "↑", "↓", "→"


def _arrow(delta: float) -> str:
    return UP if delta > 0 else DOWN if delta < 0 else SAME


def _count_delta(name: str, now: int, before: int) -> str:
    d = now - before
    return f"{name} {now} ({_arrow(d)} {d:+d})" if d else f"{name} {now} ({SAME} 0)"


def delta_line(report: Report) -> str | None:
    """ "Week over week: open 12 (↑ +2) · overdue 3 (↓ -1) · completion 54% (↑ +4 pts)"."""
    now, before = report.now, report.week_before
    if now is None or before is None:
        return None
    parts = [
        _count_delta("open", now.open, before.open),
        _count_delta("overdue", now.overdue, before.overdue),
    ]
    a, b = now.completion_rate, before.completion_rate
    if a is None:
        parts.append("completion n/a")
    elif b is None:
        parts.append(f"completion {pct(a)}")
    else:
        d = percent(a) - percent(b)
        parts.append(f"completion {pct(a)} ({_arrow(d)} {d:+d} pts)")
    return f"Week over week (since {before.day.isoformat()}): " + " · ".join(parts)


def _due(i: ReportItem) -> str:
    if i.due is None:
        return DASH
    return f"{i.due.isoformat()} (policy)" if i.due_by_policy else i.due.isoformat()


def what_changed(report: Report) -> list[str]:
    out = ["## What changed this week", ""]
    if report.newly_overdue:
        out += [f"### Became overdue ({len(report.newly_overdue)})", ""]
        rows = (
            [link(i), md_text(i.title), owners_md(i.owners), _due(i)] for i in report.newly_overdue
        )
        out += [*table(["Ticket", "Item", "Owners", "Due"], "llll", rows), ""]
    else:
        out += ["Nothing became overdue this week.", ""]
    if report.closed_this_week:
        out += [f"### Closed this week ({len(report.closed_this_week)})", ""]
        rows = (
            [
                link(i),
                md_text(i.title),
                i.state,
                i.closed_on.isoformat() if i.closed_on else DASH,
                md_code(i.closed_by) if i.closed_by else DASH,
            ]
            for i in report.closed_this_week
        )
        out += [*table(["Ticket", "Item", "State", "Closed", "Closed by"], "lllll", rows), ""]
    else:
        out += ["Nothing was closed this week.", ""]
    return out


def _counts(b: Breakdown) -> list[str]:
    return [str(b.tracked), str(b.open), str(b.overdue), str(b.done), str(b.dropped)]


def team_and_severity(report: Report) -> list[str]:
    head = ["Tracked", "Open", "Overdue", "Done", "Dropped", "Completion"]
    out = ["## By team", ""]
    rows = (
        [
            f"_{b.name}_" if b.name == NO_TEAM else md_code(b.name),
            *_counts(b),
            pct(b.completion_rate),
        ]
        for b in report.by_team
    )
    out += [*table(["Team", *head], "lrrrrrr", rows), "", "## By severity", ""]
    rows = (
        [f"_{b.name}_" if b.name == NONE else md_code(b.name), *_counts(b), pct(b.completion_rate)]
        for b in report.by_severity
    )
    return [*out, *table(["Severity", *head], "lrrrrrr", rows), ""]


def _snap(s: Snapshot | None) -> dict[str, object] | None:
    if s is None:
        return None
    rate = s.completion_rate
    return {
        "day": s.day.isoformat(),
        "open": s.open,
        "overdue": s.overdue,
        "done": s.done,
        "completion_rate": None if rate is None else round(rate, 4),
    }


def changes_json(report: Report) -> dict[str, object]:
    now, before = report.now, report.week_before
    delta: dict[str, object] = {}
    if now is not None and before is not None:
        a, b = now.completion_rate, before.completion_rate
        delta = {
            "open": now.open - before.open,
            "overdue": now.overdue - before.overdue,
            "completion_rate": None if a is None or b is None else round(a - b, 4),
        }
    return {
        "now": _snap(now),
        "week_before": _snap(before),
        "delta": delta,
        "newly_overdue": [i.key for i in report.newly_overdue],
        "closed_this_week": [
            {
                "key": i.key,
                "state": i.state,
                "closed_on": i.closed_on.isoformat() if i.closed_on else None,
                "closed_by": i.closed_by,
            }
            for i in report.closed_this_week
        ],
    }
