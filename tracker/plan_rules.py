"""Plan entries for tickets whose item is gone, duplicated, or found outside the listing. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tracker.backends.base import is_closed
from tracker.drafts import SyncPolicy, build_draft
from tracker.model import Postmortem, Ticket
from tracker.plan_entry import PlanEntry
from tracker.removed import Removal

_UNLISTED = "not in the listing (its tracking label was removed or changed): label put back"


def relabel(entry: PlanEntry, pm: Postmortem, policy: SyncPolicy) -> PlanEntry:
    """A bound ticket found outside the listing: the same entry, putting its labels back."""
    ticket, item = entry.ticket, entry.item
    if entry.action == "conflict" or ticket is None or ticket.marker is None or item is None:
        return entry
    if entry.action == "unchanged":
        draft = build_draft(item, pm, policy, previous=ticket.marker)
        return replace(
            entry,
            action="update",
            draft=draft.with_marker(ticket.marker),
            fields=frozenset({"labels"}),
            reason=_UNLISTED,
        )
    return replace(entry, fields=entry.fields | {"labels"}, reason=f"{entry.reason}; {_UNLISTED}")


def duplicate(pm: Postmortem, t: Ticket, kept: Ticket) -> PlanEntry:
    """A younger ticket carrying the key of an older one: closed as its duplicate."""
    key = t.key or t.ref
    if is_closed(t.state):
        why = f"duplicate of {kept.ref}, already closed"
        return PlanEntry(key, "unchanged", why, pm.path, None, t)
    # Only references the backend made go into the comment: no text from a file (mentions).
    note = (
        f"Duplicate of {kept.ref}: both track the same postmortem action item. "
        f"postmortem-tracker keeps the oldest ticket, {kept.ref}, and closes this one."
    )
    why = f"duplicate of {kept.ref} (the oldest ticket of this item is kept)"
    return PlanEntry(key, "close", why, pm.path, None, t, close_reason="duplicate", comment=note)


def judge_removed(
    pm: Postmortem, left: list[Ticket], total: int, policy: SyncPolicy, closes: int
) -> tuple[list[PlanEntry], int]:
    """Entries for tickets whose item left a cleanly parsed postmortem."""
    out: list[PlanEntry] = []
    for t in left:
        key = t.key or t.ref
        if not pm.has_action_section:
            why = "the action-item section vanished: nothing closed"
            out.append(PlanEntry(key, "conflict", why, pm.path, None, t))
        elif 2 * len(left) > total:
            why = f"the postmortem lost {len(left)} of its {total} tracked items: nothing closed"
            out.append(PlanEntry(key, "conflict", why, pm.path, None, t))
        elif is_closed(t.state):
            why = "removed from the file; the ticket is already closed"
            out.append(PlanEntry(key, "unchanged", why, pm.path, None, t))
        elif policy.close_removed and closes < policy.max_closes:
            closes += 1
            why = "removed from the file (close_removed: true)"
            out.append(PlanEntry(key, "close", why, pm.path, None, t, close_reason="not_planned"))
        else:
            why = "max_closes reached this run" if policy.close_removed else "close_removed is off"
            out.append(
                PlanEntry(key, "orphaned", f"removed from the file; {why}", pm.path, None, t)
            )
    return out, closes


def judge_gone(
    rm: Removal, path: str, left: Sequence[Ticket], policy: SyncPolicy, closes: int
) -> tuple[list[PlanEntry], int]:
    """Tickets of a postmortem whose file git says was removed."""
    out: list[PlanEntry] = []
    for t in left:
        key = t.key or t.ref
        gone = f"its postmortem {path} was removed in commit {rm.short}"
        if is_closed(t.state):
            out.append(PlanEntry(key, "unchanged", f"{gone}; already closed", path, None, t))
        elif policy.close_removed and closes < policy.max_closes:
            closes += 1
            # Names only the path the tool recorded and git's hash: no text from a file.
            note = (
                f"The postmortem `{path.replace('@', '@' + chr(0x200D))}` was removed from "
                f"the repository in commit {rm.commit}. postmortem-tracker closes its action "
                "items as not planned (sync.close_removed: true)."
            )
            why = f"{gone} (close_removed: true)"
            out.append(
                PlanEntry(
                    key, "close", why, path, None, t, close_reason="not_planned", comment=note
                )
            )
        else:
            why = "max_closes reached this run" if policy.close_removed else "close_removed is off"
            out.append(PlanEntry(key, "orphaned", f"{gone}; {why}", path, None, t))
    return out, closes
