"""Domain values shared by the parser, linter, sync engine, backends and reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["open", "in_progress", "done", "dropped"]
Severity = Literal["error", "warning", "info"]
Source = Literal["table", "list", "inline", "paragraph"]

STATUSES: tuple[Status, ...] = ("open", "in_progress", "done", "dropped")


@dataclass(frozen=True)
class Problem:
    """Something a reader of the postmortem should fix or know, tied to a line where possible."""

    code: str
    severity: Severity
    message: str
    line: int | None = None
    column: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class TableCell:
    """Where a table row keeps a writable cell (for write-back)."""

    column: int  # 0-based index of the cell in the row
    name: str  # "ticket" or "status"


@dataclass(frozen=True)
class ActionItem:
    """One follow-up item found in a postmortem."""

    key: str
    title: str
    owners: tuple[str, ...] = ()
    due: dt.date | None = None
    due_text: str | None = None
    status: Status = "open"
    status_text: str | None = None
    priority: str | None = None
    type: str | None = None
    tickets: tuple[str, ...] = ()
    line: int = 1
    end_line: int = 1
    source: Source = "list"
    section: str | None = None
    checkbox: bool = False
    cells: tuple[TableCell, ...] = ()

    @property
    def postmortem_id(self) -> str:
        return self.key.rsplit("/", 1)[0]

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "title": self.title,
            "owners": list(self.owners),
            "due": self.due.isoformat() if self.due else None,
            "due_text": self.due_text,
            "status": self.status,
            "status_text": self.status_text,
            "priority": self.priority,
            "type": self.type,
            "tickets": list(self.tickets),
            "line": self.line,
            "source": self.source,
            "section": self.section,
        }


@dataclass(frozen=True)
class Postmortem:
    """A parsed postmortem file: metadata, action items and the problems found on the way."""

    path: str
    id: str
    title: str | None = None
    date: dt.date | None = None
    severity: str | None = None
    status: str | None = None
    items: tuple[ActionItem, ...] = ()
    problems: tuple[Problem, ...] = ()
    has_action_section: bool = False
    digest: str = ""  # sha256 of the bytes parsed; write-back refuses a file that changed since

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "id": self.id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "severity": self.severity,
            "status": self.status,
            "items": [i.to_json() for i in self.items],
            "problems": [p.to_json() for p in self.problems],
        }


@dataclass(frozen=True)
class Marker:
    """What the file last pushed to a ticket: stored inside the ticket, read back by `plan`."""

    key: str
    path: str
    hash: str
    title: str = ""
    status: Status = "open"
    owners: tuple[str, ...] = ()
    due: str | None = None
    priority: str | None = None
    type: str | None = None
    pm_date: str | None = None
    done_on: str | None = None
    severity: str | None = None
    line: int | None = None
    # When the tool wrote this marker (ISO, UTC): a ticket updated later was touched by someone
    # else. Not part of the comparison: restamping is no change of what the file pushed.
    written_at: str | None = field(default=None, compare=False)
    # Where a due date the file does not give came from ("policy: SEV1: 14 days",
    # "default_due"); not part of the hash: it follows from the fields that are.
    due_by: str | None = None


@dataclass(frozen=True)
class Ticket:
    """A tracked ticket as the backend sees it now."""

    ref: str  # how the postmortem refers to it: "#412", "OPS-17", "local:17"
    url: str
    title: str
    state: Status  # open | in_progress | done | dropped
    owners: tuple[str, ...] = ()
    due: dt.date | None = None
    priority: str | None = None
    labels: tuple[str, ...] = ()
    marker: Marker | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # Set by the snapshot when git says its postmortem was removed: why, e.g.
    # "postmortems/x.md removed in commit 1a2b3c4d5e6f". Orphaned tickets are their own group.
    orphaned: str | None = None

    @property
    def key(self) -> str | None:
        return self.marker.key if self.marker else None
