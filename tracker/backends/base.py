"""The backend contract: a Protocol over domain types, and the draft a ticket is written from."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from tracker.model import STATUSES, Marker, Status, Ticket

CloseReason = Literal["completed", "not_planned", "duplicate"]
# "labels": put the tool's labels back (a ticket found outside the listing lost its label).
Field = Literal["title", "owners", "due", "priority", "type", "status", "body", "labels"]
FIELDS: tuple[Field, ...] = ("title", "owners", "due", "priority", "type", "status", "body")
# A label naming an item's key (labels allow no spaces, so a hash): the second signal that
# binds a ticket whose marker people edited away (Jira; searchable with JQL).
KEY_LABEL_PREFIX = "pmt-"
# GitHub caps issue titles at 256 characters and Jira summaries at 255; the plan cuts titles
# to this length so every backend can store them verbatim (and compare them back exactly).
MAX_TITLE = 250


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do natively; the engine adapts, it never probes."""

    bulk_create: bool = False
    native_due_date: bool = False
    counts_requests: bool = False
    in_progress_state: bool = False  # `update(..., {"status"})` can set open <-> in_progress
    cheap_find: bool = False  # `find(key)` costs one query, not a full listing


@dataclass(frozen=True)
class TicketDraft:
    """Everything a backend needs to write one ticket; the body is rendered by the backend."""

    key: str
    title: str  # already cut to MAX_TITLE
    text: str  # the item text as written (uncut)
    owners: tuple[str, ...]  # as written in the postmortem
    assignees: tuple[str, ...]  # resolved through the top-level `owners:` map
    due: dt.date | None
    priority: str | None
    type: str | None
    severity: str | None
    labels: tuple[str, ...]  # the tool's own labels for this item
    path: str  # repo-relative posix path of the postmortem
    line: int
    status: Status
    marker: Marker
    postmortem_title: str | None = None
    postmortem_date: dt.date | None = None
    # What the previous push set and the file no longer wants: removed from the ticket's sets,
    # while labels and assignees that people added stay (PATCH replaces whole sets: merge).
    drop_labels: tuple[str, ...] = ()
    drop_assignees: tuple[str, ...] = ()

    def with_marker(self, marker: Marker) -> TicketDraft:
        """The same draft carrying another marker."""
        return replace(self, marker=marker)


class Backend(Protocol):
    """A ticket tracker seen through domain types only. Constructors do no I/O.

    Every method raises a `tracker.errors.BackendError` subclass on failure: `NotFound` for a
    ticket that does not exist, `OutcomeUnknown` when a write was sent and its answer was lost.
    """

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def requests_made(self) -> int | None: ...

    def list_tracked(self) -> list[Ticket]:
        """Every ticket this tool tracks (one paginated listing), closed ones included."""
        ...

    def fetch(self, ref: str) -> Ticket | None:
        """One ticket by its reference; None when absent or when `ref` is not this backend's."""
        ...

    def find(self, key: str) -> Ticket | None:
        """The tracked ticket whose marker holds `key`, if any (used after OutcomeUnknown)."""
        ...

    def create(self, draft: TicketDraft) -> Ticket:
        """Create a ticket carrying `draft.marker`: open (in progress where the backend can)."""
        ...

    def update(self, ticket: Ticket, draft: TicketDraft, fields: frozenset[Field]) -> Ticket:
        """Write only the named fields plus the marker; merge labels and assignees."""
        ...

    def close(self, ticket: Ticket, reason: CloseReason, marker: Marker | None = None) -> Ticket:
        """Close the ticket; with `marker`, record it in the same write."""
        ...

    def reopen(self, ticket: Ticket, marker: Marker | None = None) -> Ticket:
        """Reopen the ticket; with `marker`, record it in the same write."""
        ...

    def comment(self, ticket: Ticket, body: str) -> None:
        """Add a comment to the ticket."""
        ...

    def post_report(self, title: str, body: str, week: str) -> str:
        """Create or update the report for ISO `week` (e.g. 2026-W47); return its URL."""
        ...


def key_label(key: str) -> str:
    """The label that names an item's key."""
    return KEY_LABEL_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def is_closed(status: Status) -> bool:
    """Done and dropped are closed; open and in progress are not."""
    return status in ("done", "dropped")


def close_reason_for(status: Status) -> CloseReason:
    """The close reason a closed file status maps to."""
    return "not_planned" if status == "dropped" else "completed"


def cut_title(text: str) -> str:
    """A title no backend will refuse for its length."""
    text = " ".join(text.split())
    if len(text) <= MAX_TITLE:
        return text
    return text[: MAX_TITLE - 1].rstrip() + "…"


def resolve_owners(owners: tuple[str, ...], owner_map: Mapping[str, str]) -> tuple[str, ...]:
    """Owners as written -> backend identities; an unmapped owner stays as written."""
    folded = {k.casefold().lstrip("@"): v for k, v in owner_map.items()}
    out: list[str] = []
    for owner in owners:
        name = owner.lstrip("@")
        ident = owner_map.get(owner) or folded.get(name.casefold()) or name
        if ident not in out:
            out.append(ident)
    return tuple(out)


def render_labels(
    labels: tuple[str, ...], templates: tuple[str, ...], values: Mapping[str, str | None]
) -> tuple[str, ...]:
    """Fixed labels plus templates such as 'priority:{priority}' (skipped when a value is None)."""
    out = list(labels)
    for tpl in templates:
        try:
            label = tpl.format_map({k: v for k, v in values.items() if v})
        except (KeyError, IndexError, ValueError):
            continue  # the template names a value this item lacks
        if label and label not in out:
            out.append(label)
    return tuple(out)


def marker_hash(m: Marker) -> str:
    """Hash of what the file pushed (not the line: moving an item is not a change)."""
    owners = "\x1e".join(sorted(o.casefold() for o in m.owners))
    parts = (m.key, m.path, m.title, m.status, owners, m.due, m.priority, m.type, m.pm_date,
             m.done_on, m.severity)  # fmt: skip
    blob = "\x1f".join("\x00" if p is None else p for p in parts)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def marker_to_json(m: Marker) -> dict[str, object]:
    """The marker as a JSON object (what backends store in the ticket)."""
    data: dict[str, object] = {
        "v": 1,
        "key": m.key,
        "path": m.path,
        "hash": m.hash,
        "title": m.title,
        "status": m.status,
        "owners": list(m.owners),
        "due": m.due,
        "priority": m.priority,
        "type": m.type,
        "pm_date": m.pm_date,
        "done_on": m.done_on,
        "severity": m.severity,
        "line": m.line,
        **({"written_at": m.written_at} if m.written_at else {}),
    }
    if m.due_by:  # only when set: markers written before it existed stay byte-identical
        data["due_by"] = m.due_by
    return data


def _opt_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return str(value) if isinstance(value, (str, int)) and str(value) else None


def marker_from_json(data: object) -> Marker | None:
    """Read a stored marker leniently (it lives in data people can edit); None if unusable."""
    if not isinstance(data, Mapping):
        return None
    key, path, digest = data.get("key"), data.get("path"), data.get("hash")
    if not (isinstance(key, str) and key and isinstance(path, str) and isinstance(digest, str)):
        return None
    status = data.get("status")
    owners = data.get("owners")
    line = data.get("line")
    title = data.get("title")
    return Marker(
        key=key,
        path=path,
        hash=digest,
        title=title if isinstance(title, str) else "",
        status=status if status in STATUSES else "open",
        owners=tuple(str(o) for o in owners) if isinstance(owners, list) else (),
        due=_opt_str(data, "due"),
        priority=_opt_str(data, "priority"),
        type=_opt_str(data, "type"),
        pm_date=_opt_str(data, "pm_date"),
        done_on=_opt_str(data, "done_on"),
        severity=_opt_str(data, "severity"),
        line=line if isinstance(line, int) and not isinstance(line, bool) else None,
        written_at=_opt_str(data, "written_at"),
        due_by=_opt_str(data, "due_by"),
    )
