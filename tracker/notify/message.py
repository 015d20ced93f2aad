"""One channel-neutral message (the weekly report or a per-owner digest), built from a report
(pure). The Slack, Teams and e-mail modules render it; none of them computes figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tracker.model import Ticket
from tracker.report.metrics import Report, ReportItem


@dataclass(frozen=True)
class Entry:
    """One item of a message: a ticket with a link and why it is listed."""

    ref: str
    url: str
    title: str
    detail: str  # "12 days overdue · alice · due 2026-03-01"


@dataclass(frozen=True)
class Message:
    title: str  # the headline
    summary: str  # one sentence of figures
    facts: tuple[tuple[str, str], ...]  # ("Open", "42 (+3)"), deltas when the report has them
    entries: tuple[Entry, ...]  # the top items, most overdue first
    more: int  # items not listed
    link: str | None  # the full report
    section: str = "Top overdue items"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{round(value * 100)}%"


def _delta(deltas: Mapping[str, object] | None, name: str) -> str:
    value = deltas.get(name) if deltas else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value == 0:
        return ""
    if isinstance(value, float):
        return f" ({value * 100:+.0f} pts)"
    return f" ({value:+d})"


def report_deltas(report: Report) -> Mapping[str, object] | None:
    """Week-over-week changes when the report computes them (a `deltas` mapping), else None:
    messages then show the figures alone."""
    found = getattr(report, "deltas", None)
    return found if isinstance(found, Mapping) else None


def _detail(item: ReportItem, as_of: dt.date, by_policy: frozenset[str] = frozenset()) -> str:
    bits: list[str] = []
    if item.overdue and item.days_overdue is not None:
        bits.append(f"{item.days_overdue} days overdue")
    elif item.due is not None:
        left = (item.due - as_of).days
        bits.append("due today" if left == 0 else f"due in {left} day{'s' if left != 1 else ''}")
    bits.append(", ".join(item.owners) if item.owners else "no owner")
    if item.due is not None:
        policy = " (set by policy)" if item.key in by_policy else ""
        bits.append(f"due {item.due.isoformat()}{policy}")
    return " · ".join(bits)


def _entry(item: ReportItem, as_of: dt.date, by_policy: frozenset[str] = frozenset()) -> Entry:
    return Entry(item.ticket, item.url, item.title, _detail(item, as_of, by_policy))


def policy_keys(tickets: Iterable[Ticket]) -> frozenset[str]:
    """Keys of the tickets whose due date the file does not give (due_policy, default_due)."""
    return frozenset(t.marker.key for t in tickets if t.marker and t.marker.due_by)


def _by_lateness(items: Sequence[ReportItem]) -> list[ReportItem]:
    return sorted(items, key=lambda i: (-(i.days_overdue or 0), i.due or dt.date.max, i.key))


def report_message(report: Report, link: str | None, top: int = 10) -> Message:
    """The weekly report as a message: headline, figures (with deltas if any), top overdue."""
    t = report.totals
    deltas = report_deltas(report)
    overdue = _by_lateness([i for i in report.items if i.overdue])
    facts = (
        ("Open", f"{t.open}{_delta(deltas, 'open')}"),
        ("Overdue", f"{t.overdue}{_delta(deltas, 'overdue')}"),
        ("Due soon", f"{t.due_soon}"),
        ("Stale", f"{t.stale}{_delta(deltas, 'stale')}"),
        ("Done", f"{t.done}{_delta(deltas, 'done')}"),
        ("Completion", f"{_pct(report.completion_rate)}{_delta(deltas, 'completion_rate')}"),
    )
    summary = (
        f"{t.open} open action items, {t.overdue} overdue, {t.stale} stale; "
        f"{_pct(report.completion_rate)} complete, {_pct(report.on_time_rate)} on time."
    )
    return Message(
        title=f"Postmortem action items: {report.week}",
        summary=summary,
        facts=facts,
        entries=tuple(_entry(i, report.as_of) for i in overdue[:top]),
        more=max(0, len(overdue) - top),
        link=link,
    )


def owner_matches(item: ReportItem, owner: str, aliases: Mapping[str, str]) -> bool:
    """Whether `owner` (as written, or a login / account id of the owners map) owns `item`."""
    want = owner.casefold().lstrip("@")
    names = {want}
    for written, ident in aliases.items():
        if want in (written.casefold().lstrip("@"), ident.casefold()):
            names |= {written.casefold().lstrip("@"), ident.casefold()}
    return any(o.casefold().lstrip("@") in names for o in item.owners)


def owner_items(report: Report, owner: str, aliases: Mapping[str, str]) -> list[ReportItem]:
    """The owner's overdue and due-soon items across every postmortem, most urgent first."""
    mine = [
        i for i in report.items if (i.overdue or i.due_soon) and owner_matches(i, owner, aliases)
    ]
    return _by_lateness(mine)


def digest_message(report: Report, owner: str, items: Sequence[ReportItem], link: str | None,
                   top: int = 10, by_policy: frozenset[str] = frozenset()) -> Message:  # fmt: skip
    """One owner's digest: their overdue and due-soon items."""
    late = sum(1 for i in items if i.overdue)
    soon = len(items) - late
    return Message(
        title=f"Your postmortem action items, {owner}",
        summary=f"{late} overdue and {soon} due within {report.due_soon_days} days "
        f"(as of {report.as_of.isoformat()}).",
        facts=(("Overdue", str(late)), ("Due soon", str(soon))),
        entries=tuple(_entry(i, report.as_of, by_policy) for i in items[:top]),
        more=max(0, len(items) - top),
        link=link,
        section="Overdue and due soon",
    )


def digest_owners(report: Report) -> list[str]:
    """Every owner with an overdue or due-soon item, as the tickets name them."""
    seen: dict[str, str] = {}
    for i in report.items:
        if i.overdue or i.due_soon:
            for o in i.owners:
                seen.setdefault(o.casefold().lstrip("@"), o)
    return [seen[k] for k in sorted(seen)]


def message_text(msg: Message) -> str:
    """Plain text (the e-mail text part, the Slack notification fallback, --dry-run)."""
    lines = [msg.title, "", msg.summary, ""]
    lines += [f"{name}: {value}" for name, value in msg.facts]
    if msg.entries:
        lines += ["", f"{msg.section}:"]
        lines += [
            f"- {e.ref} {e.title} ({e.detail})"
            + (f" {e.url}" if e.url.startswith(("https://", "http://")) else "")
            for e in msg.entries
        ]
    if msg.more:
        lines.append(f"... and {msg.more} more")
    if msg.link:
        lines += ["", f"Full report: {msg.link}"]
    return "\n".join(lines) + "\n"
