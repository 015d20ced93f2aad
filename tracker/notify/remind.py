"""`tracker remind`: plan the reminder comments a day owes (pure), then send each exactly once.

Sending one reminder: claim it in the journal (committed), read the ticket's comments for its
hidden marker (a crashed or parallel run may have posted it), post what is still missing,
record it. A post whose answer is lost is looked for again at once and otherwise left
`unknown` for the next run, which looks again before sending: never a second comment.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tracker.errors import BackendError, OutcomeUnknown
from tracker.model import Ticket
from tracker.notify.stages import Stages, marker_text, owed, sent_stages, stage_kind
from tracker.notify.state import Journal

_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_TEAM = re.compile(r"@?[A-Za-z0-9][\w-]*/[\w.-]+")


class Commenter(Protocol):
    """What reminders need of a backend: post a comment and read the comments back."""

    def comment(self, ticket: Ticket, body: str) -> None: ...

    def comment_bodies(self, ticket: Ticket) -> list[str]: ...


@dataclass(frozen=True)
class Dialect:
    """How a backend's comments mention people and hide the marker."""

    name: str  # "github" | "jira" | "local"
    mention: Callable[[str], str]  # identity -> markup that notifies them
    hide: Callable[[str], str]  # marker token -> markup readers do not see (or barely)


def github_dialect(name: str = "github") -> Dialect:
    return Dialect(name, lambda who: "@" + who, lambda token: f"<!-- {token} -->")


def jira_dialect(mention: Callable[[str], str]) -> Dialect:
    # Wiki markup has no hidden text; a grey footer is the least visible form that a comment
    # read back through REST v2 returns verbatim.
    return Dialect("jira", mention, lambda token: "{color:#97a0af}" + token + "{color}")


@dataclass(frozen=True)
class Reminder:
    """A comment a ticket is owed today."""

    ticket: Ticket
    key: str
    due: dt.date
    stages: tuple[str, ...]
    late: int  # days past the due date (negative: before it)


@dataclass(frozen=True)
class People:
    """Who a reminder mentions: owners of the ticket, and escalation contacts."""

    owners_map: Mapping[str, str] = field(default_factory=dict)
    escalate_to: tuple[str, ...] = ()
    front_matter: Callable[[str], Mapping[str, object]] = lambda _path: {}


def plan(
    tickets: Sequence[Ticket],
    day: dt.date,
    schedule: Stages,
    sent: Callable[[str, dt.date], frozenset[str]],
) -> list[Reminder]:
    """Every open tracked ticket with a due date that owes a stage not yet recorded as sent."""
    out: list[Reminder] = []
    for t in tickets:
        if t.state not in ("open", "in_progress") or t.key is None or t.due is None:
            continue
        stages = owed(t.due, day, schedule)
        if not stages:
            continue
        todo = tuple(s for s in stages if s not in sent(t.key, t.due))
        if todo:
            out.append(Reminder(t, t.key, t.due, todo, (day - t.due).days))
    return sorted(out, key=lambda r: (-r.late, r.key))


def _ident(name: str, owners_map: Mapping[str, str]) -> str:
    bare = name.strip().lstrip("@")
    folded = {k.casefold().lstrip("@"): v for k, v in owners_map.items()}
    return owners_map.get(name) or folded.get(bare.casefold()) or bare


def _markup(ident: str, dialect: Dialect) -> str:
    if dialect.name == "jira":
        return dialect.mention(ident)
    return dialect.mention(ident) if _LOGIN.fullmatch(ident) else ident


def owner_mentions(ticket: Ticket, dialect: Dialect, people: People) -> list[str]:
    if dialect.name == "jira":
        who = ticket.extra.get("assignee") or ""
        if who:
            return [dialect.mention(who)]
        return list(ticket.owners)
    if dialect.name == "github" and "assignees" in ticket.extra:
        # Only assignees: an owner GitHub refused to assign may be a stranger's login.
        can = {a.casefold() for a in ticket.extra["assignees"].split(",") if a}
        return [
            dialect.mention(o.lstrip("@")) if o.lstrip("@").casefold() in can else o.lstrip("@")
            for o in ticket.owners
        ]
    return [_markup(o.lstrip("@"), dialect) for o in ticket.owners]


def escalation_mentions(ticket: Ticket, dialect: Dialect, people: People) -> list[str]:
    out: list[str] = []
    for entry in people.escalate_to:
        names: list[str] = []
        if entry in ("owner", "facilitator"):
            path = ticket.marker.path if ticket.marker else ""
            value = people.front_matter(path).get(entry) if path else None
            if isinstance(value, str):
                names = [n for n in re.split(r"[,;]\s*", value) if n.strip()]
            elif isinstance(value, list):
                names = [str(n) for n in value if str(n).strip()]
        elif _TEAM.fullmatch(entry):
            team = entry.lstrip("@")
            out.append("@" + team if dialect.name != "jira" else team)
            continue
        else:
            names = [entry]
        for name in names:
            markup = _markup(_ident(name, people.owners_map), dialect)
            if markup not in out:
                out.append(markup)
    return out


def render(rem: Reminder, stages: tuple[str, ...], dialect: Dialect, people: People) -> str:
    """The comment for `stages` of `rem`: the strongest stage speaks, the marker records all."""
    owners = " ".join(owner_mentions(rem.ticket, dialect, people)) or "Owner"
    kinds = {stage_kind(s) for s in stages}
    due = rem.due.isoformat()
    if "escalate" in kinds:
        contacts = " ".join(escalation_mentions(rem.ticket, dialect, people))
        lead = f"{contacts}: escalation. " if contacts else "Escalation: "
        text = (
            f"{lead}this postmortem action item has been overdue for {rem.late} days "
            f"(due {due}); owner: {owners}. Please agree on a new date or drop it."
        )
    elif "overdue" in kinds:
        text = (
            f"{owners}: this postmortem action item is {rem.late} "
            f"day{'s' if rem.late != 1 else ''} overdue (due {due}). Finish it, move the due "
            "date in the postmortem, or close it as not planned."
        )
    elif "due" in kinds:
        text = f"{owners}: this postmortem action item is due today ({due})."
    else:
        text = (
            f"{owners}: this postmortem action item is due in {-rem.late} "
            f"day{'s' if rem.late != -1 else ''}, on {due}."
        )
    why = rem.ticket.marker.due_by if rem.ticket.marker else None
    if why:
        text += f" The due date was set by {why}, not written in the postmortem."
    return f"{text}\n\n{dialect.hide(marker_text(rem.key, rem.due, stages))}"


@dataclass
class Outcome:
    """What a run did, reminder by reminder."""

    sent: list[tuple[Reminder, tuple[str, ...]]] = field(default_factory=list)
    found: list[tuple[Reminder, tuple[str, ...]]] = field(default_factory=list)  # by marker
    busy: list[Reminder] = field(default_factory=list)  # another run holds the claim
    deferred: list[Reminder] = field(default_factory=list)  # daily budget spent
    unknown: list[Reminder] = field(default_factory=list)
    failed: list[tuple[Reminder, str]] = field(default_factory=list)
    held: str | None = None  # quiet hours / weekend: nothing sent


def send(
    reminders: Sequence[Reminder],
    backend: Commenter,
    journal: Journal,
    dialect: Dialect,
    people: People,
    *,
    now: dt.datetime,
    day: dt.date,
    budget: int,
) -> Outcome:
    """Send each reminder at most once, whatever ran or crashed before."""
    out = Outcome()
    for rem in reminders:
        claimed = journal.claim(rem.key, rem.due, rem.stages, rem.ticket.ref, now, day, budget)
        if claimed is None:
            if journal.budget_left(day, budget) == 0:
                out.deferred.append(rem)
            else:
                out.busy.append(rem)
            continue
        if not claimed:
            continue
        try:
            there = sent_stages(backend.comment_bodies(rem.ticket), rem.key, rem.due)
        except BackendError as exc:
            journal.release(rem.key, rem.due, claimed, day)
            out.failed.append((rem, str(exc)))
            continue
        found = tuple(s for s in claimed if s in there)
        if found:
            journal.mark(rem.key, rem.due, found, "sent")
            out.found.append((rem, found))
        todo = tuple(s for s in claimed if s not in there)
        if not todo:
            journal.release(rem.key, rem.due, (), day)  # gives the budget back
            continue
        try:
            backend.comment(rem.ticket, render(rem, todo, dialect, people))
        except OutcomeUnknown as exc:
            if _landed(backend, rem, todo):
                journal.mark(rem.key, rem.due, todo, "sent")
                out.sent.append((rem, todo))
            else:
                journal.mark(rem.key, rem.due, todo, "unknown")
                out.unknown.append(rem)
                out.failed.append((rem, f"{exc} (looked for before the next send)"))
            continue
        except BackendError as exc:
            journal.release(rem.key, rem.due, todo, day)
            out.failed.append((rem, str(exc)))
            continue
        journal.mark(rem.key, rem.due, todo, "sent")
        out.sent.append((rem, todo))
    return out


def _landed(backend: Commenter, rem: Reminder, stages: tuple[str, ...]) -> bool:
    try:
        there = sent_stages(backend.comment_bodies(rem.ticket), rem.key, rem.due)
    except BackendError:
        return False
    return all(s in there for s in stages)


def quiet(now: dt.datetime, window: str | None, skip_weekends: bool) -> str | None:
    """Why nothing may be sent at `now` (local time), or None."""
    if skip_weekends and now.weekday() >= 5:
        return "weekend (remind.skip_weekends)"
    if window is None:
        return None
    start_s, end_s = window.split("-")
    start = dt.time.fromisoformat(start_s)
    end = dt.time.fromisoformat(end_s)
    t = now.time().replace(tzinfo=None)
    inside = (start <= t < end) if start <= end else (t >= start or t < end)
    return f"quiet hours {window} (remind.quiet_hours)" if inside else None
