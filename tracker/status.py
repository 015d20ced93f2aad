"""`tracker status` and the snapshot status and report read: every tracked ticket, found
by the listing and, where it falls short, by what the tool owns (the references it wrote back
into the files); tickets of postmortems git says were removed are marked orphaned."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tracker.backends.base import Backend, is_closed
from tracker.errors import BackendError, NotFound
from tracker.identity import bindings_of
from tracker.model import Postmortem, Status, Ticket
from tracker.parse import DEFAULT_OPTIONS, ParseOptions, parse_postmortem
from tracker.removed import missing_paths, sort_out

if TYPE_CHECKING:
    from collections.abc import Collection


@runtime_checkable
class Scanner(Protocol):
    """A backend that can find marked tickets the listing misses (labels people removed)."""

    def scan(self, keys: Collection[str]) -> list[Ticket]:
        """Tickets carrying our marker that the listing may miss, at least those of `keys`."""
        ...


@dataclass(frozen=True)
class Snapshot:
    """The tracked tickets, and one line per thing the reader should know about them."""

    tickets: list[Ticket]
    notices: list[str]


def snapshot(
    backend: Backend,
    files: Sequence[tuple[Path, str]] = (),
    *,
    root: Path | None = None,
    full_run: bool = True,
    parse_options: ParseOptions = DEFAULT_OPTIONS,
) -> Snapshot:
    """One listing; plus the tickets the files' binding references name that it lacks (a
    label removed by hand), and the tickets of removed postmortems marked orphaned."""
    tickets = backend.list_tracked()
    pms: list[Postmortem] = []
    known = {t.ref for t in tickets} | {t.url for t in tickets}
    keys = {t.key for t in tickets if t.key}
    notices: list[str] = []
    for disk, rel in files:
        try:
            data = disk.read_bytes()
        except OSError:
            continue
        pm = parse_postmortem(data, rel, parse_options)
        pms.append(pm)
        for key, refs in bindings_of(pm, data).items():
            if key in keys or any(r in known for r in refs):
                continue
            for ref in refs:
                try:
                    found = backend.fetch(ref)
                except NotFound:
                    found = None
                except BackendError as exc:
                    notices.append(f"{rel}: could not look up {ref}: {exc}")
                    continue
                if found is not None and found.marker is not None and found.ref not in known:
                    tickets.append(found)
                    known.update((found.ref, found.url))
                    notices.append(
                        f"{found.ref} is missing from the listing (its tracking label was "
                        "removed): `tracker sync` puts it back"
                    )
                    break
    unseen = {i.key for pm in pms for i in pm.items} - {t.key for t in tickets if t.key}
    if unseen and isinstance(backend, Scanner):
        for found in backend.scan(unseen):
            if found.ref not in known:
                tickets.append(found)
                known.add(found.ref)
                notices.append(
                    f"{found.ref} is missing from the listing (its tracking label was removed "
                    "or `labels:` changed): `tracker sync` puts it back"
                )
    if root is not None:
        missing = missing_paths(tickets, {pm.path for pm in pms}, {pm.id for pm in pms})
        vanished = sort_out(root, missing, full_run=full_run)
        notices += vanished.notices(missing)
        for n, t in enumerate(tickets):
            rm = vanished.removed.get(t.marker.path) if t.marker else None
            if rm is not None:
                tickets[n] = replace(t, orphaned=f"{rm.path} removed in commit {rm.short}")
    return Snapshot(tickets, notices)


@dataclass(frozen=True)
class StatusRow:
    """One open tracked item for `tracker status`."""

    ref: str
    url: str
    title: str
    owner: str
    due: dt.date | None
    age_days: int | None
    overdue: bool
    state: Status
    postmortem: str | None
    orphaned: str | None = None  # its postmortem was removed: why (not open work of a live one)

    def to_json(self) -> dict[str, object]:
        return {
            "ticket": self.ref,
            "url": self.url,
            "title": self.title,
            "owner": self.owner,
            "due": self.due.isoformat() if self.due else None,
            "age_days": self.age_days,
            "overdue": self.overdue,
            "state": self.state,
            "postmortem": self.postmortem,
            "orphaned": self.orphaned,
        }


def _norm_owner(name: str) -> str:
    return name.casefold().lstrip("@")


def status_rows(
    tickets: Sequence[Ticket],
    as_of: dt.date,
    owner: str | None = None,
    overdue_only: bool = False,
    postmortem: str | None = None,
    tz: dt.tzinfo = dt.timezone.utc,
) -> list[StatusRow]:
    """Open tracked items, overdue first, then by due date (undated last). Pure."""
    rows: list[StatusRow] = []
    for t in tickets:
        if is_closed(t.state):
            continue
        m = t.marker
        if owner is not None:
            names = {_norm_owner(o) for o in (*t.owners, *(m.owners if m else ()))}
            if _norm_owner(owner) not in names:
                continue
        if postmortem is not None and (
            m is None or postmortem not in (m.path, m.key.rsplit("/", 1)[0])
        ):
            continue
        overdue = t.due is not None and t.due < as_of
        if overdue_only and not overdue:
            continue
        age = _age_days(t, as_of, tz)
        rows.append(
            StatusRow(
                ref=t.ref,
                url=t.url,
                title=t.title,
                owner=", ".join(t.owners) or ", ".join(m.owners if m else ()),
                due=t.due,
                age_days=age,
                overdue=overdue,
                state=t.state,
                postmortem=m.path if m else None,
                orphaned=t.orphaned,
            )
        )
    rows.sort(key=lambda r: (not r.overdue, r.due is None, r.due or dt.date.max, _ref_key(r.ref)))
    return rows


def _ref_key(ref: str) -> tuple[str, int]:
    head, _, num = ref.rpartition(":") if ":" in ref else ref.rpartition("-")
    if not head:
        head, num = "", ref.lstrip("#")
    return (head, int(num)) if num.isdigit() else (ref, 0)


def _age_days(t: Ticket, as_of: dt.date, tz: dt.tzinfo) -> int | None:
    """Days since the item was written: the postmortem's date, which the marker keeps (a ticket
    created by a later sync or a backfill is not a younger item), else the ticket's creation."""
    written = None
    if t.marker is not None and t.marker.pm_date:
        try:
            written = dt.date.fromisoformat(t.marker.pm_date)
        except ValueError:
            written = None
    if written is None and t.created_at is not None:
        written = t.created_at.astimezone(tz).date()
    return max(0, (as_of - written).days) if written is not None else None
