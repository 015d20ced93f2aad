"""The sync plan: the file now, the ticket now and the marker (the last push), per item. Pure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from tracker.backends.base import (
    KEY_LABEL_PREFIX,
    CloseReason,
    Field,
    close_reason_for,
    is_closed,
    key_label,
)
from tracker.drafts import SyncPolicy, build_draft, desired_marker
from tracker.model import ActionItem, Marker, Postmortem, Status, Ticket
from tracker.plan_entry import COUNT_OF, COUNTS, Action, PlanEntry, SyncPlan
from tracker.plan_rules import duplicate, judge_gone, judge_removed, relabel
from tracker.removed import Removal
from tracker.threeway import BODY_META, FIELD_OF, NOTE, file_changes, rebind, weigh_field

__all__ = ["COUNTS", "COUNT_OF", "Action", "PlanEntry", "SyncPlan", "plan"]


def _state(
    old: Marker, new: Marker, ticket: Ticket, item: ActionItem
) -> tuple[CloseReason | None, bool, Status | None, str | None, bool]:
    """(close reason, reopen?, status to write back, conflict, set open<->in progress?)."""
    if old.status != new.status:
        if is_closed(new.status) and not is_closed(ticket.state):
            return close_reason_for(new.status), False, None, None, False
        if is_closed(old.status) and not is_closed(new.status) and is_closed(ticket.state):
            return None, True, None, None, False
        if not is_closed(new.status) and is_closed(ticket.state):
            return None, False, None, f"status (file: {new.status}, tracker: {ticket.state})", False
        return None, False, None, None, not is_closed(new.status) and new.status != ticket.state
    if is_closed(ticket.state) and not is_closed(new.status):
        # Closed in the tracker: never reopened; said in the file where it has a place for it.
        if any(c.name == "status" for c in item.cells):
            return None, False, ticket.state, None, False
        if item.checkbox and ticket.state == "done":
            return None, False, "done", None, False
    return None, False, None, None, False


def _bound(
    pm: Postmortem, item: ActionItem, ticket: Ticket, old: Marker, policy: SyncPolicy, how: str
) -> PlanEntry:
    """Three-way comparison of one item bound to its ticket."""
    write_ref = ticket.ref not in item.tickets and ticket.url not in item.tickets
    if desired_marker(item, pm, policy).hash == old.hash:
        # The no-op path (most items of most runs): the file changed nothing since its push.
        write_status = _state(old, old, ticket, item)[2]
        if write_status:
            why = f"closed in the tracker; writing {write_status} back"
        elif is_closed(ticket.state) and not is_closed(old.status):
            why = "closed in the tracker; the item has no checkbox or status cell: left as it is"
        else:
            why = how or "no change since the last sync"
        return PlanEntry(
            item.key,
            "unchanged",
            why,
            pm.path,
            item,
            ticket,
            write_ref=write_ref,
            write_status=write_status,
        )
    draft = build_draft(item, pm, policy, previous=old)
    new = draft.marker
    changed = file_changes(old, new)
    fields: set[Field] = set()
    conflicts: list[str] = []
    notes: list[str] = []
    for name in changed:
        if name in FIELD_OF:
            write, conflict = weigh_field(name, old, draft, ticket, policy)
            if conflict and conflict.startswith(NOTE):
                notes.append(conflict.removeprefix(NOTE))
            elif conflict:
                conflicts.append(conflict)
            elif write:
                fields.add(FIELD_OF[name])
        elif name in BODY_META:
            fields.add("body")
    close, reopen, write_status, state_conflict, set_status = _state(old, new, ticket, item)
    if state_conflict:
        conflicts.append(state_conflict)
    if set_status:
        fields.add("status")
    entry = PlanEntry(item.key, "unchanged", "", pm.path, item, ticket, draft)
    if conflicts:
        why = "both the file and the tracker changed " + "; ".join(conflicts)
        return replace(entry, action="conflict", reason=why)
    entry = replace(entry, fields=frozenset(fields), write_ref=write_ref, write_status=write_status)
    what = ", ".join(c for c in changed if c not in ("key", "done_on")) or "its record"
    prefix = f"{how}; " if how else ""
    if close:
        why = f"{prefix}file marks it {new.status}"
        return replace(entry, action="close", close_reason=close, reason=why)
    if reopen:
        why = f"{prefix}file reopened it ({old.status} -> {new.status})"
        return replace(entry, action="reopen", reason=why)
    kept = "".join(f"; {n}" for n in notes)
    return replace(entry, action="update", reason=f"{prefix}file changed {what}{kept}")


def _new(pm: Postmortem, item: ActionItem, policy: SyncPolicy) -> PlanEntry:
    """An item no ticket tracks yet."""
    if not is_closed(item.status):
        draft = build_draft(item, pm, policy)
        return PlanEntry(item.key, "create", "new item", pm.path, item, None, draft, write_ref=True)
    if policy.done_items == "skip":
        why = f"already {item.status} when first seen: skipped (done_items: skip)"
        return PlanEntry(item.key, "unchanged", why, pm.path, item)
    return PlanEntry(
        item.key,
        "create",
        f"new item, already {item.status}: created closed",
        pm.path,
        item,
        None,
        build_draft(item, pm, policy),
        close_reason=close_reason_for(item.status),
        write_ref=True,
    )


@dataclass
class _Claim:
    pm: Postmortem
    item: ActionItem
    how: str


@dataclass
class _State:
    """Working state of one planning pass."""

    by_ref: dict[str, Ticket] = field(default_factory=dict)
    by_key: dict[str, Ticket] = field(default_factory=dict)  # the oldest ticket of each key
    kept: dict[str, Ticket] = field(default_factory=dict)  # ref of a duplicate -> kept ticket
    claims: dict[str, list[_Claim]] = field(default_factory=dict)
    unbound: dict[str, list[ActionItem]] = field(default_factory=dict)
    entries: dict[str, list[PlanEntry]] = field(default_factory=dict)
    orphans: dict[str, list[Ticket]] = field(default_factory=dict)
    tracked: dict[str, int] = field(default_factory=dict)  # tickets per postmortem path
    by_label: dict[str, Ticket] = field(default_factory=dict)  # key label -> unmarked ticket
    markless: dict[str, list[_Claim]] = field(default_factory=dict)  # ref -> adopt / restore
    gone: dict[str, list[Ticket]] = field(default_factory=dict)  # removed postmortem -> tickets
    bindings: Mapping[str, tuple[str, ...]] | None = None
    removed: Mapping[str, Removal] = field(default_factory=dict)
    unlisted: Collection[str] = frozenset()

    def add(self, path: str, entry: PlanEntry) -> None:
        self.entries.setdefault(path, []).append(entry)

    def keeper(self, ticket: Ticket) -> Ticket:
        """The ticket kept for `ticket`'s key: itself unless it is a younger duplicate."""
        return self.kept.get(ticket.ref, ticket)


_NUMBER_RE = re.compile(r"(\d+)$")


def _age(t: Ticket) -> tuple[bool, float, int, str]:
    """Oldest first: creation time, then the number in the reference (#12, OPS-12, local:12)."""
    m = _NUMBER_RE.search(t.ref)
    created = t.created_at.timestamp() if t.created_at else 0.0
    return (t.created_at is None, created, int(m.group(1)) if m else 1 << 62, t.ref)


def _index(s: _State, tickets: Sequence[Ticket]) -> None:
    """Tickets by reference and by key; of several tickets with one key the oldest is kept.

    Two syncs racing (two shells; the Action's concurrency group prevents it in CI) can each
    create a ticket for one item: the younger ones are closed as duplicates of the oldest.
    """
    groups: dict[str, list[Ticket]] = {}
    for t in tickets:
        if t.ref in s.by_ref:
            continue
        s.by_ref[t.ref] = t
        if t.url:
            s.by_ref.setdefault(t.url, t)
        if t.marker is not None:
            groups.setdefault(t.marker.key, []).append(t)
        else:
            for label in t.labels:
                if label.startswith(KEY_LABEL_PREFIX):
                    s.by_label.setdefault(label, t)
    for key, group in groups.items():
        group.sort(key=_age)
        s.by_key[key] = group[0]
        for t in group[1:]:
            s.kept[t.ref] = group[0]


def _claim_items(s: _State, pms: Sequence[Postmortem], policy: SyncPolicy) -> None:
    """Bind items by a binding reference to a ticket with our marker, else by key, else by
    the key label of a ticket whose marker is gone."""
    for pm in pms:
        for item in pm.items:
            named = s.bindings.get(item.key, ()) if s.bindings is not None else item.tickets
            refs = [s.by_ref[r] for r in named if r in s.by_ref]
            ours = [t for t in refs if t.marker is not None]
            if ours:
                t = s.keeper(ours[0])
                how = "" if t.key == item.key else f"bound by its reference {t.ref}"
                if t is not ours[0]:  # it names a duplicate: bound to the ticket kept
                    how = f"its reference {ours[0].ref} is a duplicate of {t.ref}"
                s.claims.setdefault(t.ref, []).append(_Claim(pm, item, how))
            elif item.key in s.by_key:
                s.claims.setdefault(s.by_key[item.key].ref, []).append(_Claim(pm, item, ""))
            elif refs and policy.adopt:
                how = f"adopted {refs[0].ref} (sync.adopt: true): its marker is added"
                s.markless.setdefault(refs[0].ref, []).append(_Claim(pm, item, how))
            elif refs:
                why = (
                    f"ticket {refs[0].ref} is named as this item's ticket but has no marker "
                    "(postmortem-tracker did not create it): set sync.adopt: true to adopt "
                    "it, or remove the reference"
                )
                s.add(pm.path, PlanEntry(item.key, "conflict", why, pm.path, item, refs[0]))
            elif (label := key_label(item.key)) in s.by_label:
                ref = s.by_label[label].ref
                how = f"its marker was edited away; bound by its label {label}: marker restored"
                s.markless.setdefault(ref, []).append(_Claim(pm, item, how))
            else:
                s.unbound.setdefault(pm.path, []).append(item)


def _settle_claims(s: _State, policy: SyncPolicy) -> None:
    """One item per ticket; two items claiming one ticket are a conflict (unless one owns it)."""
    for ref, claims in s.claims.items():
        ticket = s.by_ref[ref]
        assert ticket.marker is not None
        owners = [c for c in claims if c.item.key == ticket.key] if len(claims) > 1 else claims
        for c in claims:
            if len(owners) == 1 and c is owners[0]:
                entry = _bound(c.pm, c.item, ticket, ticket.marker, policy, c.how)
                if ref in s.unlisted:
                    entry = relabel(entry, c.pm, policy)
            else:
                lines = ", ".join(f"line {o.item.line}" for o in claims if o is not c)
                why = f"two items claim ticket {ref} (also {lines}): keep one reference"
                entry = PlanEntry(c.item.key, "conflict", why, c.pm.path, c.item, ticket)
            s.add(c.pm.path, entry)


def _settle_markless(s: _State, policy: SyncPolicy) -> None:
    """Tickets without our marker that one item names (adoption) or whose key label it owns."""
    for ref, claims in s.markless.items():
        ticket = s.by_ref[ref]
        for c in claims:
            if len(claims) == 1:
                draft = build_draft(c.item, c.pm, policy)
                write_ref = ticket.ref not in c.item.tickets and ticket.url not in c.item.tickets
                entry = PlanEntry(
                    c.item.key,
                    "update",
                    c.how,
                    c.pm.path,
                    c.item,
                    ticket,
                    draft,
                    fields=frozenset({"body", "labels"}),
                    write_ref=write_ref,
                )
            else:
                lines = ", ".join(f"line {o.item.line}" for o in claims if o is not c)
                why = f"two items claim ticket {ref} (also {lines}): keep one reference"
                entry = PlanEntry(c.item.key, "conflict", why, c.pm.path, c.item, ticket)
            s.add(c.pm.path, entry)


def _find_orphans(s: _State, pms: Sequence[Postmortem], tickets: Sequence[Ticket]) -> None:
    """Tickets of covered postmortems that no item claims."""
    by_path = {pm.path: pm for pm in pms}
    by_id = {pm.id: pm for pm in pms}
    present = {item.key for pm in pms for item in pm.items}
    for t in tickets:
        m = t.marker
        if m is None:
            continue
        pm = by_path.get(m.path) or by_id.get(m.key.rsplit("/", 1)[0])
        if pm is None:
            if m.path in s.removed and t.ref not in s.kept and t.ref not in s.claims:
                s.gone.setdefault(m.path, []).append(t)
            continue  # otherwise a postmortem this run does not cover: never judged
        if t.ref in s.kept:
            s.add(pm.path, duplicate(pm, t, s.kept[t.ref]))
            continue
        s.tracked[pm.path] = s.tracked.get(pm.path, 0) + 1
        if t.ref in s.claims:
            continue
        if m.key in present:  # its item is there and bound elsewhere: a duplicate ticket
            first = s.by_key.get(m.key)
            other = first.ref if first is not None and first.ref != t.ref else "another ticket"
            why = f"duplicate: {other} already tracks this item"
            s.add(pm.path, PlanEntry(m.key, "conflict", why, pm.path, None, t))
            continue
        s.orphans.setdefault(pm.path, []).append(t)


def plan(
    postmortems: Sequence[Postmortem],
    tickets: Sequence[Ticket],
    policy: SyncPolicy,
    as_of: dt.date,
    *,
    bindings: Mapping[str, tuple[str, ...]] | None = None,
    removed: Mapping[str, Removal] | None = None,
    unlisted: Collection[str] = frozenset(),
) -> SyncPlan:
    """Compare the files with one listing of tracked tickets and decide every write. Pure.

    `bindings`: item key -> the references that bind it (None: every reference binds);
    `removed`: postmortem paths git says were deleted; `unlisted`: refs of tickets found
    outside the listing (their tracking label gets put back).
    """
    pms = [pm for pm in postmortems if not (policy.since and pm.date and pm.date < policy.since)]
    s = _State(bindings=bindings, removed=removed or {}, unlisted=unlisted)
    _index(s, tickets)
    _claim_items(s, pms, policy)
    _settle_claims(s, policy)
    _settle_markless(s, policy)
    _find_orphans(s, pms, tickets)
    pairs: dict[str, dict[str, tuple[Ticket, float]]] = {}
    for pm in pms:
        left, unbound = s.orphans.get(pm.path, []), s.unbound.get(pm.path, [])
        pairs[pm.path] = rebind(unbound, left) if left and unbound else {}
    moved: dict[str, tuple[Ticket, float]] = {}
    gone = [t for path in sorted(s.gone) for t in s.gone[path]]
    if gone:  # a postmortem renamed to another id: its items reappear elsewhere
        rest = [i for pm in pms for i in s.unbound.get(pm.path, []) if i.key not in pairs[pm.path]]
        moved = rebind(rest, gone) if rest else {}
    taken_gone = {t.ref for t, _ in moved.values()}
    closes = 0
    out: list[PlanEntry] = []
    for pm in pms:
        entries = s.entries.get(pm.path, [])
        left = s.orphans.get(pm.path, [])
        here = pairs[pm.path]
        for item in s.unbound.get(pm.path, []):
            if item.key in here or item.key in moved:
                t, r = here.get(item.key) or moved[item.key]
                assert t.marker is not None
                how = f"text changed; rebound to {t.ref} (similarity {r:.2f})"
                if item.key in moved:
                    how = f"moved from {t.marker.path}; rebound to {t.ref} (similarity {r:.2f})"
                entry = _bound(pm, item, t, t.marker, policy, how)
                entries.append(relabel(entry, pm, policy) if t.ref in unlisted else entry)
            else:
                entries.append(_new(pm, item, policy))
        entries.sort(key=lambda e: e.item.line if e.item else 1 << 30)
        taken = {t.ref for t, _ in here.values()}
        left = [t for t in left if t.ref not in taken]
        if left and not pm.has_errors:  # removals are judged only on cleanly parsed files
            removed_here, closes = judge_removed(pm, left, s.tracked[pm.path], policy, closes)
            entries.extend(removed_here)
        out.extend(entries)
    for path in sorted(s.gone):
        left = [t for t in s.gone[path] if t.ref not in taken_gone]
        judged, closes = judge_gone(s.removed[path], path, left, policy, closes)
        out.extend(judged)
    return SyncPlan(tuple(out), as_of)
