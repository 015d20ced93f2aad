"""The plan's values: one entry per item or ticket, and the plan of a run. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from tracker.backends.base import CloseReason, Field, TicketDraft
from tracker.model import ActionItem, Status, Ticket

Action = Literal["create", "update", "close", "reopen", "unchanged", "orphaned", "conflict"]
COUNTS = (
    "created",
    "updated",
    "closed",
    "reopened",
    "unchanged",
    "orphaned",
    "conflicts",
    "failed",
    "deferred",
)
COUNT_OF: dict[str, str] = {
    "create": "created",
    "update": "updated",
    "close": "closed",
    "reopen": "reopened",
    "unchanged": "unchanged",
    "orphaned": "orphaned",
    "conflict": "conflicts",
    "failed": "failed",
    "deferred": "deferred",
}


@dataclass(frozen=True)
class PlanEntry:
    """One thing the plan will do (or decided not to do), with its reason."""

    key: str
    action: Action
    reason: str
    path: str | None = None
    item: ActionItem | None = None
    ticket: Ticket | None = None
    draft: TicketDraft | None = None
    fields: frozenset[Field] = frozenset()
    close_reason: CloseReason | None = None
    write_ref: bool = False  # the file lacks the ticket reference
    write_status: Status | None = None  # closed in the tracker: write Done / [x] into the file
    comment: str | None = None  # posted on the ticket after the close (duplicates)

    @property
    def writes(self) -> int:
        """Backend writes this entry costs."""
        if self.action == "create":
            return 2 if self.close_reason else 1
        if self.action in ("close", "reopen"):
            return (2 if self.fields else 1) + (1 if self.comment else 0)
        return 1 if self.action == "update" else 0

    def to_json(self) -> dict[str, object]:
        ref = self.ticket.ref if self.ticket else None
        return {"key": self.key, "action": self.action, "ticket": ref, "reason": self.reason}


@dataclass(frozen=True)
class SyncPlan:
    """Every entry a run would apply, in file order."""

    entries: tuple[PlanEntry, ...]
    as_of: dt.date

    @property
    def writes(self) -> int:
        """Backend writes the whole plan costs."""
        return sum(e.writes for e in self.entries)

    def counts(self) -> dict[str, int]:
        """Entries per count name (created, updated, ... deferred)."""
        out = dict.fromkeys(COUNTS, 0)
        for e in self.entries:
            out[COUNT_OF[e.action]] += 1
        return out
