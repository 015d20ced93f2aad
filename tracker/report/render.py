"""A `Report` as GitHub-flavoured Markdown (with mermaid charts), JSON, CSV or a rich console."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tracker.report.markup import (
    DASH,
    csv_cell,
    days,
    link,
    md_code,
    md_text,
    owners_md,
    pct,
    percent,
    quiet,
    table,
)
from tracker.report.metrics import NO_OWNER, Breakdown, Report, ReportItem
from tracker.report.render_changes import changes_json, delta_line, team_and_severity, what_changed
from tracker.report.render_program import program_json, program_markdown, program_rows
from tracker.report.split import split_markdown

__all__ = [
    "md_text",
    "percent",
    "render_text",
    "split_markdown",
    "to_csv",
    "to_json",
    "to_markdown",
]


def summary_line(report: Report) -> str:
    t = report.totals
    parts = [f"**{t.open} open** ({t.overdue} overdue, {t.stale} stale)"]
    parts.append(f"completion {pct(report.completion_rate).replace(DASH, 'n/a')}")
    parts.append(f"on time {pct(report.on_time_rate).replace(DASH, 'n/a')}")
    if report.median_days_to_close is not None:
        parts.append(f"median {days(report.median_days_to_close)} to close")
    return " · ".join(parts)


def _context_line(report: Report) -> str:
    t = report.totals
    s = (
        f"As of {report.as_of.isoformat()} ({report.timezone}): {t.tracked} tracked, "
        f"{t.open} open ({t.in_progress} in progress), {t.done} done, {t.dropped} dropped; "
        f"{t.due_soon} due in the next {days(report.due_soon_days)}; "
        f"{t.no_owner} open without an owner, {t.no_due} without a due date"
    )
    if t.due_by_policy:
        s += f", {t.due_by_policy} due by policy (sync.default_due, nobody committed to it)"
    if t.backfilled:
        s += f"; {t.backfilled} backfilled (done before the tool arrived, counted on their week)"
    if report.median_open_age_days is not None:
        s += f"; median age of open items {days(report.median_open_age_days)}"
    return s + "."


def _due(i: ReportItem, empty: str) -> str:
    if i.due is None:
        return empty
    return f"{i.due.isoformat()} (policy)" if i.due_by_policy else i.due.isoformat()


def _needs_a_push(report: Report, nudge: bool) -> list[str]:
    overdue = sorted(
        (i for i in report.items if i.overdue), key=lambda i: (-(i.days_overdue or 0), i.key)
    )
    stale = sorted(
        (i for i in report.items if i.stale and not i.overdue),
        key=lambda i: (-(i.days_since_activity or 0), i.key),
    )
    out = ["## Needs a push", ""]
    if not overdue and not stale:
        return [*out, "Nothing is overdue or stale.", ""]
    if overdue:
        out += [f"### Overdue ({len(overdue)})", ""]
        rows = (
            [
                link(i),
                md_text(i.title),
                owners_md(i.owners, mention=nudge),
                _due(i, ""),
                str(i.days_overdue),
                quiet(i),
            ]
            for i in overdue
        )
        head = ["Ticket", "Item", "Owners", "Due", "Days overdue", "Days since human activity"]
        out += [*table(head, "llllrr", rows), ""]
    if stale:
        n = report.stale_after_days
        out += [
            f"### Stale ({len(stale)}): no human activity for more than {days(n)}, not overdue",
            "",
        ]
        rows = (
            [
                link(i),
                md_text(i.title),
                owners_md(i.owners),
                _due(i, DASH),
                str(i.days_since_activity),
            ]
            for i in stale
        )
        head = ["Ticket", "Item", "Owners", "Due", "Days since human activity"]
        out += [*table(head, "llllr", rows), ""]
    return out


def _charts(report: Report) -> list[str]:
    t = report.totals
    out: list[str] = []
    slices = [
        ("Open", t.open - t.in_progress),
        ("In progress", t.in_progress),
        ("Done", t.done),
        ("Dropped", t.dropped),
    ]
    if t.tracked:
        out += [
            "## Status",
            "",
            "```mermaid",
            "pie showData",
            f"    title Status of {t.tracked} tracked items",
        ]
        out += [f'    "{label}" : {n}' for label, n in slices if n]
        out += ["```", ""]
    trend = report.trend
    labels = ", ".join(f'"{w.week[-3:]}"' for w in trend)
    top = max([w.opened for w in trend] + [w.closed for w in trend] + [1])
    rates = [percent(w.completion_rate or 0.0) for w in trend]
    # xychart-beta has one y axis and draws a second bar series over the first (mermaid-js
    # issue 7392), so counts and percentages get one chart each, and closed is a line.
    out += [f"## Trend ({trend[0].week} to {trend[-1].week})", ""]
    out += ["```mermaid", "xychart-beta", '    title "Opened (bars) and closed (line) per week"']
    out += [f"    x-axis [{labels}]", f'    y-axis "Items" 0 --> {top}']
    out += [f"    bar [{', '.join(str(w.opened) for w in trend)}]"]
    out += [f"    line [{', '.join(str(w.closed) for w in trend)}]", "```", ""]
    out += ["```mermaid", "xychart-beta", '    title "Completion rate at week end (%)"']
    out += [f"    x-axis [{labels}]", '    y-axis "%" 0 --> 100']
    out += [f"    line [{', '.join(str(r) for r in rates)}]", "```", ""]
    rows = (
        [w.week, str(w.opened), str(w.closed), str(w.dropped), pct(w.completion_rate)]
        for w in trend
    )
    head = ["Week", "Opened", "Closed", "Dropped", "Completion at week end"]
    return [*out, *table(head, "lrrrr", rows), ""]


def _counts(b: Breakdown) -> list[str]:
    return [str(b.tracked), str(b.open), str(b.overdue), str(b.done), str(b.dropped)]


def _breakdown_tables(report: Report) -> list[str]:
    out = ["## By postmortem", ""]
    head = ["Postmortem", "File", "Tracked", "Open", "Overdue", "Done", "Dropped", "Completion"]
    rows = (
        [md_text(b.name), md_code(b.path or ""), *_counts(b), pct(b.completion_rate)]
        for b in report.by_postmortem
    )
    out += [*table(head, "llrrrrrr", rows), "", "## By owner", ""]
    head = ["Owner", "Tracked", "Open", "Overdue", "Done", "Dropped", "Completion"]
    rows = (
        [
            f"_{b.name}_" if b.name == NO_OWNER else md_code(b.name),
            *_counts(b),
            pct(b.completion_rate),
        ]
        for b in report.by_owner
    )
    return [*out, *table(head, "lrrrrrr", rows), ""]


def to_markdown(report: Report, *, title: str | None = None, nudge: bool = False) -> str:
    """The weekly report; with `nudge`, owners of overdue items are @-mentioned (only then)."""
    out: list[str] = []
    if title:
        out += [f"# {md_text(title)}", ""]
    out += [summary_line(report), ""]
    line = delta_line(report) if report.totals.tracked else None
    if line:
        out += [line, ""]
    out += [_context_line(report), ""]
    if report.totals.tracked:
        out += what_changed(report)
        out += _needs_a_push(report, nudge)
    out += _charts(report)
    if report.program is not None:
        out += program_markdown(report.program)
    if report.totals.tracked:
        out += _breakdown_tables(report)
        out += team_and_severity(report)
    if report.orphaned:
        out += ["## Orphaned (postmortem removed from git)", ""]
        out += [
            f"- {link(i)} {md_text(i.title)} ({md_code(i.path or '-')})" for i in report.orphaned
        ]
        out += [""]
    return "\n".join(out).rstrip("\n") + "\n"


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _breakdown_json(rows: Iterable[Breakdown], *, path: bool = False) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for b in rows:
        d: dict[str, object] = {"name": b.name}
        if path:
            d["path"] = b.path
        d.update(
            tracked=b.tracked,
            open=b.open,
            done=b.done,
            dropped=b.dropped,
            overdue=b.overdue,
            completion_rate=_r(b.completion_rate),
        )
        out.append(d)
    return out


def _item_json(i: ReportItem) -> dict[str, object]:
    return {
        "key": i.key,
        "ticket": i.ticket,
        "url": i.url,
        "title": i.title,
        "owners": list(i.owners),
        "due": i.due.isoformat() if i.due else None,
        "state": i.state,
        "overdue": i.overdue,
        "days_overdue": i.days_overdue,
        "due_soon": i.due_soon,
        "stale": i.stale,
        "days_since_human_activity": i.days_since_activity,
        "last_human_activity": i.last_activity.isoformat() if i.last_activity else None,
        "postmortem": i.postmortem,
        "path": i.path,
        "severity": i.severity,
        "priority": i.priority,
        "opened_on": i.opened_on.isoformat() if i.opened_on else None,
        "closed_on": i.closed_on.isoformat() if i.closed_on else None,
        "teams": list(i.teams),
        "due_by_policy": i.due_by_policy,
        "backfilled": i.backfilled,
        "closed_by": i.closed_by,
    }


def to_json(report: Report) -> dict[str, object]:
    """Every figure; dates as ISO strings, rates as fractions in [0, 1] or None."""
    t = report.totals
    out: dict[str, object] = {
        "as_of": report.as_of.isoformat(),
        "timezone": report.timezone,
        "settings": {
            "stale_after_days": report.stale_after_days,
            "due_soon_days": report.due_soon_days,
            "trend_weeks": len(report.trend),
        },
        "totals": {
            "tracked": t.tracked,
            "open": t.open,
            "in_progress": t.in_progress,
            "done": t.done,
            "dropped": t.dropped,
            "overdue": t.overdue,
            "due_soon": t.due_soon,
            "stale": t.stale,
            "no_owner": t.no_owner,
            "no_due": t.no_due,
            "due_by_policy": t.due_by_policy,
            "backfilled": t.backfilled,
        },
        "history_from_git": report.history,
        "changes": changes_json(report),
        "completion_rate": _r(report.completion_rate),
        "on_time_rate": _r(report.on_time_rate),
        "on_time": report.on_time,
        "done_with_due": report.done_with_due,
        "median_days_to_close": report.median_days_to_close,
        "median_open_age_days": report.median_open_age_days,
        "by_postmortem": _breakdown_json(report.by_postmortem, path=True),
        "by_owner": _breakdown_json(report.by_owner),
        "by_severity": _breakdown_json(report.by_severity),
        "by_priority": _breakdown_json(report.by_priority),
        "by_team": _breakdown_json(report.by_team),
        "trend": [
            {
                "week": w.week,
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "opened": w.opened,
                "closed": w.closed,
                "dropped": w.dropped,
                "completion_rate": _r(w.completion_rate),
            }
            for w in report.trend
        ],
        "items": [_item_json(i) for i in report.items],
        "program": program_json(report.program),
    }
    if report.orphaned:  # tickets of removed postmortems: their own group
        out["orphaned"] = [_item_json(i) for i in report.orphaned]
    return out


CSV_COLUMNS = (
    "key", "ticket", "url", "title", "postmortem", "path", "owners", "state", "due", "overdue",
    "days_overdue", "due_soon", "stale", "days_since_human_activity", "opened_on", "closed_on",
    "severity", "priority", "teams", "due_by_policy", "backfilled", "closed_by",
)  # fmt: skip


def to_csv(report: Report) -> str:
    """One row per item after a header row; owners joined with '; '."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in report.items:
        d = _item_json(item)
        writer.writerow([csv_cell(d[c]) for c in CSV_COLUMNS])
    return buf.getvalue()


def render_text(report: Report, console: Console, *, limit: int = 50) -> None:
    """The report on a terminal: summary, what needs a push (at most `limit` rows), trend and
    per-owner tables."""
    t = report.totals
    console.print(
        f"[bold]{t.open} open[/] ([red]{t.overdue} overdue[/], [yellow]{t.stale} stale[/]) · "
        f"completion {pct(report.completion_rate)} · on time {pct(report.on_time_rate)} · "
        f"median {days(report.median_days_to_close)} to close"
    )
    console.print(escape(_context_line(report)), style="dim")
    line = delta_line(report)
    if line:
        console.print(escape(line))
    push = sorted(
        (i for i in report.items if i.overdue or i.stale),
        key=lambda i: (not i.overdue, -(i.days_overdue or 0), -(i.days_since_activity or 0), i.key),
    )
    if push:
        table = Table(title="Needs a push", title_justify="left")
        for col in ("Ticket", "Item", "Owners", "Due", "Overdue", "Since activity"):
            table.add_column(
                col, justify="right" if col in ("Overdue", "Since activity") else "left"
            )
        for i in push[:limit]:
            table.add_row(
                escape(i.ticket),
                escape(" ".join(i.title.split())),
                escape(", ".join(i.owners)) or "[dim]nobody[/]",
                i.due.isoformat() if i.due else DASH,
                f"[red]{i.days_overdue}d[/]" if i.overdue else "",
                f"[yellow]{i.days_since_activity}d[/]" if i.stale else f"{i.days_since_activity}d",
            )
        console.print(table)
        if len(push) > limit:
            console.print(
                f"... and {len(push) - limit} more: see the CSV or JSON output", style="dim"
            )
    trend = Table(title="Trend", title_justify="left")
    for col in ("Week", "Opened", "Closed", "Dropped", "Completion"):
        trend.add_column(col, justify="left" if col == "Week" else "right")
    for w in report.trend:
        done = f"[green]{w.closed}[/]" if w.closed else "0"
        trend.add_row(w.week, str(w.opened), done, str(w.dropped), pct(w.completion_rate))
    console.print(trend)
    owners = Table(title="By owner", title_justify="left")
    for col in ("Owner", "Tracked", "Open", "Overdue", "Done", "Dropped", "Completion"):
        owners.add_column(col, justify="left" if col == "Owner" else "right")
    for b in report.by_owner:
        overdue = f"[red]{b.overdue}[/]" if b.overdue else "0"
        owners.add_row(
            escape(b.name), str(b.tracked), str(b.open), overdue, str(b.done), str(b.dropped),
            pct(b.completion_rate),
        )  # fmt: skip
    console.print(owners)
    if report.program is not None and report.program.postmortems:
        program = Table(title="Program metrics (medians)", title_justify="left")
        for col in ("Metric", "Median", "Latest quarter"):
            program.add_column(col, justify="left" if col == "Metric" else "right")
        for row in program_rows(report.program):
            program.add_row(*row)
        console.print(program)
