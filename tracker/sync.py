"""Sync: `plan` (pure, see tracker.planner) and `apply` (resumable, one write budget a run)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from tracker.backends.base import Backend, TicketDraft
from tracker.drafts import DoneItems, SyncPolicy, with_status
from tracker.errors import BackendError, OutcomeUnknown, PermissionDenied, RateLimited
from tracker.model import Ticket
from tracker.planner import COUNT_OF, COUNTS, Action, PlanEntry, SyncPlan, plan

__all__ = [
    "COUNTS",
    "Action",
    "DoneItems",
    "ItemResult",
    "PlanEntry",
    "Progress",
    "ResultAction",
    "SyncPlan",
    "SyncPolicy",
    "SyncResult",
    "apply",
    "count",
    "plan",
]

ResultAction = Literal[
    "create",
    "update",
    "close",
    "reopen",
    "unchanged",
    "orphaned",
    "conflict",
    "failed",
    "deferred",
]


@dataclass(frozen=True)
class ItemResult:
    """What happened to one plan entry."""

    key: str
    action: ResultAction
    reason: str
    ticket: Ticket | None = None
    error: str | None = None
    entry: PlanEntry | None = None

    @classmethod
    def planned(cls, entry: PlanEntry) -> ItemResult:
        """The entry as planned (a dry run, or nothing to write)."""
        return cls(entry.key, entry.action, entry.reason, entry.ticket, None, entry)

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "action": self.action,
            "ticket": self.ticket.ref if self.ticket else None,
            "reason": self.reason,
            "error": self.error,
        }


def count(results: Sequence[ItemResult]) -> dict[str, int]:
    """Results per count name (created, updated, ... deferred), every name present."""
    out = dict.fromkeys(COUNTS, 0)
    for r in results:
        out[COUNT_OF[r.action]] += 1
    return out


@dataclass(frozen=True)
class SyncResult:
    """What apply did: one result per plan entry, and the writes it spent."""

    items: tuple[ItemResult, ...]
    writes: int

    def counts(self) -> dict[str, int]:
        return count(self.items)


Progress = Callable[[int, int, ItemResult], None]  # (entries done, entries in all, latest)


@runtime_checkable
class BulkCreator(Protocol):
    """A backend that creates many tickets in one request (Jira: 50 per call)."""

    def create_many(self, drafts: Sequence[TicketDraft]) -> list[Ticket | BackendError]: ...


def _create_draft(entry: PlanEntry) -> TicketDraft:
    """The draft a create sends: the marker says "open" until a planned close lands, so a crash
    in between leaves a ticket the next plan closes (not one it believes closed by a person)."""
    draft = entry.draft
    assert draft is not None
    if entry.close_reason:
        draft = draft.with_marker(with_status(draft.marker, "open", None))
    return draft


def _bulk_create(
    plan: SyncPlan, backend: Backend, max_writes: int
) -> dict[int, Ticket | BackendError]:
    """Creates that fit the budget, sent through `create_many` up front, by entry index."""
    if not (backend.capabilities.bulk_create and isinstance(backend, BulkCreator)):
        return {}
    remaining = max_writes
    picked: list[int] = []
    for n, entry in enumerate(plan.entries):
        cost = entry.writes
        if cost == 0 or cost > remaining:
            continue  # the main loop defers it (same walk, same budget)
        remaining -= cost
        if entry.action == "create":
            picked.append(n)
    if not picked:
        return {}
    made = backend.create_many([_create_draft(plan.entries[n]) for n in picked])
    return dict(zip(picked, made, strict=True))


def _create(
    backend: Backend, draft: TicketDraft, sent: Ticket | BackendError | None = None
) -> Ticket:
    """Create (or take the bulk answer); after a lost answer look the key up, never re-send
    blindly."""
    try:
        if sent is None:
            return backend.create(draft)
        if isinstance(sent, BackendError):
            raise sent
        return sent
    except OutcomeUnknown:
        found = backend.find(draft.key)
        if found is not None:
            return found
        return backend.create(draft)  # truly absent: the first attempt never landed


def _execute(
    entry: PlanEntry,
    backend: Backend,
    done: list[Ticket],
    sent: Ticket | BackendError | None = None,
) -> None:
    """Run one entry's writes; each ticket state reached is appended to `done`."""
    draft = entry.draft
    if entry.action == "create":
        assert draft is not None
        final = draft.marker
        done.append(_create(backend, _create_draft(entry), sent))
        if entry.close_reason:
            done.append(backend.close(done[-1], entry.close_reason, final))
        return
    ticket = entry.ticket
    assert ticket is not None
    if entry.action == "update":
        assert draft is not None
        done.append(backend.update(ticket, draft, entry.fields))
        return
    target = draft.marker if draft is not None else None  # None: an orphan keeps its marker
    if entry.fields and draft is not None and target is not None:
        before = ticket.marker  # fields first, state last: same crash argument as above
        interim = with_status(target, before.status, before.done_on) if before else target
        ticket = backend.update(ticket, draft.with_marker(interim), entry.fields)
        done.append(ticket)
    if entry.action == "close":
        done.append(backend.close(ticket, entry.close_reason or "completed", target))
        if entry.comment:
            # After the close: a crash in between loses a note, never repeats one (the next
            # plan sees the duplicate closed and leaves it).
            backend.comment(done[-1], entry.comment)
    elif entry.action == "reopen":
        done.append(backend.reopen(ticket, target))


def apply(
    plan: SyncPlan, backend: Backend, *, max_writes: int = 300, progress: Progress | None = None
) -> SyncResult:
    """Run the plan's writes within the budget; one failed item never stops the run."""
    remaining = max_writes
    halted: str | None = None
    results: list[ItemResult] = []
    total = len(plan.entries)
    bulk = _bulk_create(plan, backend, max_writes)
    for n, entry in enumerate(plan.entries, 1):
        cost = entry.writes
        result: ItemResult
        if cost == 0:
            result = ItemResult.planned(entry)
        elif halted or cost > remaining:
            why = f"{entry.action} deferred: {halted or f'write budget of {max_writes} spent'}"
            result = ItemResult(entry.key, "deferred", why, entry.ticket, None, entry)
        else:
            remaining -= cost
            done: list[Ticket] = []
            try:
                _execute(entry, backend, done, bulk.get(n - 1))
                result = ItemResult(entry.key, entry.action, entry.reason, done[-1], None, entry)
            except RateLimited as exc:  # every later write would wait too: stop writing
                halted = f"rate limited ({exc})"
                latest = done[-1] if done else entry.ticket
                why = f"{entry.action} deferred: {halted}"
                result = ItemResult(entry.key, "deferred", why, latest, None, entry)
            except PermissionDenied as exc:
                # The token may not write here: every later write would be refused too (a
                # request storm of 403s). Stop at the first; the error names what is missing.
                halted = "the tracker refused a write for lack of permission (see the failure)"
                latest = done[-1] if done else entry.ticket
                result = ItemResult(entry.key, "failed", entry.reason, latest, str(exc), entry)
            except BackendError as exc:
                latest = done[-1] if done else entry.ticket
                result = ItemResult(entry.key, "failed", entry.reason, latest, str(exc), entry)
        results.append(result)
        if progress is not None:
            progress(n, total, result)
    return SyncResult(tuple(results), max_writes - remaining)
