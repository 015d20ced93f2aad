"""What the file wants a ticket to say: the draft and marker built from one item (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from tracker.backends.base import (
    TicketDraft,
    cut_title,
    is_closed,
    marker_hash,
    render_labels,
    resolve_owners,
)
from tracker.model import ActionItem, Marker, Postmortem, Status
from tracker.notify.due_policy import DuePolicy
from tracker.parse.values import parse_date

DoneItems = Literal["create-closed", "skip"]


@dataclass(frozen=True)
class SyncPolicy:
    """How a sync run behaves; `tracker.config` builds it from `.tracker.yml`."""

    close_removed: bool = False
    max_closes: int = 10
    done_items: DoneItems = "create-closed"
    max_writes: int = 300
    default_due: Mapping[str, int] = field(default_factory=dict)  # priority|"default" -> days
    since: dt.date | None = None
    owners: Mapping[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] = ("postmortem",)
    label_templates: tuple[str, ...] = ()  # e.g. "priority:{priority}", "sev:{severity}"
    due_policy: DuePolicy | None = None  # sync.due_policy: before default_due
    adopt: bool = False  # a ticket an item names that carries no marker is adopted (marked)
    # Owners as written are no accounts (Jira): an unmapped owner is a guess, never worth
    # overwriting the assignee a person chose.
    owners_need_map: bool = False


def effective_due(item: ActionItem, pm: Postmortem, policy: SyncPolicy) -> dt.date | None:
    """The file's date, else `default_due` by priority from the postmortem date.

    A vague due date written in the file ("Q3") counts as the file's choice: no default then.
    """
    if item.due is not None:
        return item.due
    if item.due_text or pm.date is None:
        return None
    if policy.due_policy is not None:
        by_policy = policy.due_policy.due(pm.date, pm.severity, item.priority)
        if by_policy is not None:
            return by_policy
    if not policy.default_due:
        return None
    days = policy.default_due.get(item.priority or "")
    if days is None and item.priority:
        days = policy.default_due.get(item.priority.upper())
    if days is None:
        days = policy.default_due.get("default")
    return pm.date + dt.timedelta(days=days) if days is not None else None


def due_by(item: ActionItem, pm: Postmortem, policy: SyncPolicy) -> str | None:
    """Where a due date the file does not give comes from ("policy: SEV1: 14 days",
    "default_due"); None when the file gives it or there is none."""
    if item.due is not None or effective_due(item, pm, policy) is None:
        return None
    if policy.due_policy is not None and pm.date is not None:
        why = policy.due_policy.describe(pm.severity, item.priority)
        if why is not None and policy.due_policy.due(pm.date, pm.severity, item.priority):
            return f"policy: {why}"
    return "default_due"


def done_on(item: ActionItem) -> str | None:
    """The day a done item says it was done ("Done as of 2021-06-30"), best effort."""
    if not is_closed(item.status) or not item.status_text:
        return None
    parsed = parse_date(item.status_text)
    return parsed.date.isoformat() if parsed.date else None


def make_marker(
    item: ActionItem, pm: Postmortem, due: dt.date | None, due_source: str | None = None
) -> Marker:
    """The marker that records what this item pushes (`due_source`: see `due_by`)."""
    m = Marker(
        key=item.key,
        path=pm.path,
        hash="",
        title=item.title,
        status=item.status,
        owners=item.owners,
        due=due.isoformat() if due else None,
        priority=item.priority,
        type=item.type,
        pm_date=pm.date.isoformat() if pm.date else None,
        done_on=done_on(item),
        severity=pm.severity,
        line=item.line,
        due_by=due_source,
    )
    return replace(m, hash=marker_hash(m))


def desired_marker(item: ActionItem, pm: Postmortem, policy: SyncPolicy) -> Marker:
    """The marker a sync of `item` would leave (cheap: no labels, owners or draft)."""
    return make_marker(item, pm, effective_due(item, pm, policy), due_by(item, pm, policy))


def with_status(marker: Marker, status: Status, done: str | None) -> Marker:
    """The marker with another status (what the ticket holds until a close or reopen lands)."""
    m = replace(marker, status=status, done_on=done)
    return replace(m, hash=marker_hash(m))


def _labels(
    policy: SyncPolicy, priority: str | None, type_: str | None, sev: str | None
) -> tuple[str, ...]:
    values = {"priority": priority, "type": type_, "severity": sev}
    return render_labels(policy.labels, policy.label_templates, values)


def build_draft(
    item: ActionItem, pm: Postmortem, policy: SyncPolicy, previous: Marker | None = None
) -> TicketDraft:
    """The draft for `item`; with `previous`, what the last push set and is no longer wanted."""
    due = effective_due(item, pm, policy)
    labels = _labels(policy, item.priority, item.type, pm.severity)
    assignees = resolve_owners(item.owners, policy.owners)
    drop_labels: tuple[str, ...] = ()
    drop_assignees: tuple[str, ...] = ()
    if previous is not None:
        old_labels = _labels(policy, previous.priority, previous.type, previous.severity)
        drop_labels = tuple(x for x in old_labels if x not in labels)
        old = resolve_owners(previous.owners, policy.owners)
        want = {a.casefold() for a in assignees}
        drop_assignees = tuple(a for a in old if a.casefold() not in want)
    return TicketDraft(
        key=item.key,
        title=cut_title(item.title),
        text=item.title,
        owners=item.owners,
        assignees=assignees,
        due=due,
        priority=item.priority,
        type=item.type,
        severity=pm.severity,
        labels=labels,
        path=pm.path,
        line=item.line,
        status=item.status,
        marker=make_marker(item, pm, due, due_by(item, pm, policy)),
        postmortem_title=pm.title,
        postmortem_date=pm.date,
        drop_labels=drop_labels,
        drop_assignees=drop_assignees,
    )
