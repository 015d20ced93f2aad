"""Pure helpers of the three-way comparison: field changes, tracker-side edits, rebinding."""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from tracker.backends.base import Field, TicketDraft, cut_title, resolve_owners
from tracker.drafts import SyncPolicy
from tracker.model import ActionItem, Marker, Ticket
from tracker.parse.values import normalise_text

SIMILARITY = 0.6  # DESIGN "Identity": an edited item rebinds to an orphan at least this similar
BODY_META = ("path", "severity", "pm_date")  # shown in the ticket body, not fields of their own
FIELD_OF: dict[str, Field] = {
    "title": "title",
    "owners": "owners",
    "due": "due",
    "priority": "priority",
    "type": "type",
}
_COMPARED = ("title", "owners", "due", "priority", "type", "status", "key", "done_on", *BODY_META)


def fold(names: Sequence[str]) -> frozenset[str]:
    """Names compared the way people mean them: case and a leading @ ignored."""
    return frozenset(n.casefold().lstrip("@") for n in names)


def file_changes(old: Marker, new: Marker) -> list[str]:
    """Marker attributes the file changed since its last push (never the line: moves are free)."""
    out = []
    for name in _COMPARED:
        a, b = getattr(old, name), getattr(new, name)
        if name == "owners":
            a, b = fold(a), fold(b)
        if a != b:
            out.append(name)
    return out


NOTE = "note: "  # a `weigh_field` detail that is no conflict, only worth saying


def mapped(owners: Sequence[str], policy: SyncPolicy) -> bool:
    """Every owner has an account in the `owners:` map (none: nothing to map)."""
    known = fold(list(policy.owners))
    return all(o.casefold().lstrip("@") in known for o in owners)


def weigh_field(
    name: str, old: Marker, draft: TicketDraft, ticket: Ticket, policy: SyncPolicy
) -> tuple[bool, str | None]:
    """(write it?, conflict detail) for a field the file changed, given the ticket now.

    A detail starting with NOTE is no conflict: the tracker's value is kept and the run says so.

    The tracker changed a field when the ticket no longer shows what the marker says was
    pushed. A value the backend does not report (None) is no evidence of a change.
    """
    base: str | None
    now: str | None
    want: str | None
    if name == "owners":
        was = fold(resolve_owners(old.owners, policy.owners))
        have, wanted = fold(ticket.owners), fold(draft.assignees)
        if wanted <= have and not (fold(draft.drop_assignees) & have):
            return False, None  # people already made it so
        if was <= have:  # people only added someone: merge, theirs stay
            return True, None
        if policy.owners_need_map:
            if mapped(draft.owners, policy):  # the file now names an account: it decides
                return True, None
            # A person chose the assignee; the file names nobody the tool can map (a guess):
            # theirs stays. Said once, in the run that records the file's new owners.
            return False, (
                f"{NOTE}kept the tracker's assignee {', '.join(ticket.owners) or '-'}: the "
                f"file's owner {', '.join(draft.owners) or '-'} has no account in `owners:`"
            )
        file_side = ", ".join(draft.owners) or "-"
        return False, f"owners (file: {file_side}, tracker: {', '.join(ticket.owners) or '-'})"
    if name == "title":
        base, now, want = cut_title(old.title), ticket.title, draft.title
    elif name == "due":
        base = old.due
        now = ticket.due.isoformat() if ticket.due else None
        want = draft.due.isoformat() if draft.due else None
    elif name == "priority":
        base, now, want = old.priority, ticket.priority, draft.priority
    else:
        return True, None  # nothing tracker-side to compare (type)
    if now is None or now == base:
        return True, None
    if now == want:
        return False, None
    return False, f"{name} (file: {want or '-'}, tracker: {now})"


def _similarity(a: str, b: str) -> float:
    m = SequenceMatcher(None, a, b, autojunk=False)
    if m.real_quick_ratio() < SIMILARITY or m.quick_ratio() < SIMILARITY:
        return 0.0  # cheap upper bounds first: most pairs are nowhere near
    return m.ratio()


def rebind(
    items: Sequence[ActionItem], orphans: Sequence[Ticket]
) -> dict[str, tuple[Ticket, float]]:
    """Pair edited items (by key) with tickets whose item vanished, most similar pairs first."""
    texts = [normalise_text(t.marker.title) if t.marker else "" for t in orphans]
    pairs: list[tuple[float, int, int]] = []
    for i, item in enumerate(items):
        norm = normalise_text(item.title)
        for j, text in enumerate(texts):
            r = _similarity(norm, text)
            if r >= SIMILARITY:
                pairs.append((r, i, j))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_items: set[int] = set()
    used_tickets: set[int] = set()
    out: dict[str, tuple[Ticket, float]] = {}
    for r, i, j in pairs:
        if i in used_items or j in used_tickets:
            continue
        used_items.add(i)
        used_tickets.add(j)
        out[items[i].key] = (orphans[j], r)
    return out
