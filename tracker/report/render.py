"""A `Report` as GitHub-flavoured Markdown (with mermaid charts), JSON, CSV or a rich console."""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tracker.report.metrics import NO_OWNER, Breakdown, Report, ReportItem
from tracker.report.split import split_markdown

__all__ = ["render_text", "split_markdown", "to_csv", "to_json", "to_markdown"]

DASH = "–"
# Inline Markdown that a title could use to format, link, embed or typeset (GitHub math: `$`).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]~|$!])")
# A GitHub login (alphanumerics and single inner hyphens, at most 39): what could be mentioned.
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "|": "%7C"}


def percent(value: float) -> int:
    """Whole percent, halves rounded up (12.5% -> 13%, as people round)."""
    return math.floor(value * 100 + 0.5)


def pct(value: float | None) -> str:
    return DASH if value is None else f"{percent(value)}%"


def days(value: float | None) -> str:
    if value is None:
        return DASH
    n = f"{value:g}"
    return f"{n} day" if n == "1" else f"{n} days"


def md_text(text: str) -> str:
    """Plain text safe inside a Markdown table cell: no formatting, HTML or @mentions."""
    text = " ".join(text.split())
    text = html.escape(text, quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # A zero-width space after '@' keeps GitHub from notifying anyone (as Renovate does).
    return text.replace("@", "@&#8203;")


def md_code(text: str) -> str:
    """`text` as a code span inside a table cell (never a mention, never formatting)."""
    text = " ".join(text.split()).replace("`", "'").replace("|", "\\|")
    return f"`{text}`" if text else ""


def _link(item: ReportItem) -> str:
    ref = md_text(item.ticket)
    if not item.url.startswith(("https://", "http://")):
        return ref
    url = "".join(_URL_UNSAFE.get(c, c) for c in item.url)
    return f"[{ref}]({url})"


def _owners(owners: Sequence[str], *, mention: bool = False) -> str:
    if not owners:
        return "_nobody_"
    return ", ".join(f"@{o}" if mention and _LOGIN.fullmatch(o) else md_code(o) for o in owners)


def _quiet(i: ReportItem) -> str:
    if i.days_since_update is None:
        return DASH
    return f"{i.days_since_update} (stale)" if i.stale else str(i.days_since_update)


def _table(header: Sequence[str], align: str, rows: Iterable[Sequence[str]]) -> list[str]:
    """Pipe table lines; `align` has one of l/r per column."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


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
    if report.median_open_age_days is not None:
        s += f"; median age of open items {days(report.median_open_age_days)}"
    return s + "."


def _needs_a_push(report: Report, nudge: bool) -> list[str]:
    overdue = sorted(
        (i for i in report.items if i.overdue), key=lambda i: (-(i.days_overdue or 0), i.key)
    )
    stale = sorted(
        (i for i in report.items if i.stale and not i.overdue),
        key=lambda i: (-(i.days_since_update or 0), i.key),
    )
    out = ["## Needs a push", ""]
    if not overdue and not stale:
        return [*out, "Nothing is overdue or stale.", ""]
    if overdue:
        out += [f"### Overdue ({len(overdue)})", ""]
        rows = (
            [
                _link(i),
                md_text(i.title),
                _owners(i.owners, mention=nudge),
                i.due.isoformat() if i.due else "",
                str(i.days_overdue),
                _quiet(i),
            ]
            for i in overdue
        )
        head = ["Ticket", "Item", "Owners", "Due", "Days overdue", "Days since update"]
        out += [*_table(head, "llllrr", rows), ""]
    if stale:
        n = report.stale_after_days
        out += [f"### Stale ({len(stale)}): no update for more than {days(n)}, not overdue", ""]
        rows = (
            [
                _link(i),
                md_text(i.title),
                _owners(i.owners),
                i.due.isoformat() if i.due else DASH,
                str(i.days_since_update),
            ]
            for i in stale
        )
        head = ["Ticket", "Item", "Owners", "Due", "Days since update"]
        out += [*_table(head, "llllr", rows), ""]
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
    return [*out, *_table(head, "lrrrr", rows), ""]


def _counts(b: Breakdown) -> list[str]:
    return [str(b.tracked), str(b.open), str(b.overdue), str(b.done), str(b.dropped)]


def _breakdown_tables(report: Report) -> list[str]:
    out = ["## By postmortem", ""]
    head = ["Postmortem", "File", "Tracked", "Open", "Overdue", "Done", "Dropped", "Completion"]
    rows = (
        [md_text(b.name), md_code(b.path or ""), *_counts(b), pct(b.completion_rate)]
        for b in report.by_postmortem
    )
    out += [*_table(head, "llrrrrrr", rows), "", "## By owner", ""]
    head = ["Owner", "Tracked", "Open", "Overdue", "Done", "Dropped", "Completion"]
    rows = (
        [
            f"_{b.name}_" if b.name == NO_OWNER else md_code(b.name),
            *_counts(b),
            pct(b.completion_rate),
        ]
        for b in report.by_owner
    )
    return [*out, *_table(head, "lrrrrrr", rows), ""]


def to_markdown(report: Report, *, title: str | None = None, nudge: bool = False) -> str:
    """The weekly report; with `nudge`, owners of overdue items are @-mentioned (only then)."""
    out: list[str] = []
    if title:
        out += [f"# {md_text(title)}", ""]
    out += [summary_line(report), "", _context_line(report), ""]
    if report.totals.tracked:
        out += _needs_a_push(report, nudge)
    out += _charts(report)
    if report.totals.tracked:
        out += _breakdown_tables(report)
    if report.orphaned:
        out += ["## Orphaned (postmortem removed from git)", ""]
        out += [
            f"- {_link(i)} {md_text(i.title)} ({md_code(i.path or '-')})" for i in report.orphaned
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
        "days_since_update": i.days_since_update,
        "postmortem": i.postmortem,
        "path": i.path,
        "severity": i.severity,
        "priority": i.priority,
        "opened_on": i.opened_on.isoformat() if i.opened_on else None,
        "closed_on": i.closed_on.isoformat() if i.closed_on else None,
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
        },
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
    }
    if report.orphaned:  # tickets of removed postmortems: their own group
        out["orphaned"] = [_item_json(i) for i in report.orphaned]
    return out


CSV_COLUMNS = (
    "key", "ticket", "url", "title", "postmortem", "path", "owners", "state", "due", "overdue",
    "days_overdue", "due_soon", "stale", "days_since_update", "opened_on", "closed_on",
    "severity", "priority",
)  # fmt: skip


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    s = str(value)
    # A spreadsheet runs a cell that starts like a formula (OWASP "CSV injection").
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def to_csv(report: Report) -> str:
    """One row per item after a header row; owners joined with '; '."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in report.items:
        d = _item_json(item)
        writer.writerow([_cell(d[c]) for c in CSV_COLUMNS])
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
    push = sorted(
        (i for i in report.items if i.overdue or i.stale),
        key=lambda i: (not i.overdue, -(i.days_overdue or 0), -(i.days_since_update or 0), i.key),
    )
    if push:
        table = Table(title="Needs a push", title_justify="left")
        for col in ("Ticket", "Item", "Owners", "Due", "Overdue", "Since update"):
            table.add_column(col, justify="right" if col in ("Overdue", "Since update") else "left")
        for i in push[:limit]:
            table.add_row(
                escape(i.ticket),
                escape(" ".join(i.title.split())),
                escape(", ".join(i.owners)) or "[dim]nobody[/]",
                i.due.isoformat() if i.due else DASH,
                f"[red]{i.days_overdue}d[/]" if i.overdue else "",
                f"[yellow]{i.days_since_update}d[/]" if i.stale else f"{i.days_since_update}d",
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
