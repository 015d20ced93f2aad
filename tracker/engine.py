"""One sync run (parse, list, plan, apply, write back) and the rows of `tracker status`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from tracker.backends.base import Backend, is_closed
from tracker.errors import BackendError, NotFound, WriteBackError
from tracker.model import Postmortem, Status, Ticket
from tracker.parse import DEFAULT_OPTIONS, ParseOptions, parse_postmortem
from tracker.safe_edit import Edit, Kind, apply_checked
from tracker.sync import (
    ItemResult,
    Progress,
    SyncPlan,
    SyncPolicy,
    apply,
    count,
    plan,
)
from tracker.writeback import FileEdit, apply_edits, collect_edit

# file: edit the postmortems on disk; collect: compute the edits and return them in
# `SyncOutcome.edits` (forge.py commits them), leaving the files alone; none: no write-back.
WriteBack = Literal["file", "collect", "none"]
_STATUS_WORDS: dict[Status, str] = {"done": "Done", "dropped": "Dropped"}


@dataclass(frozen=True)
class SyncOutcome:
    """What a sync run did (or, dry, would do): one result per item, and the counts."""

    items: tuple[ItemResult, ...]
    requests: int | None
    plan: SyncPlan
    dry_run: bool = False
    files_written: tuple[str, ...] = ()
    write_back_errors: tuple[str, ...] = ()
    edits: tuple[FileEdit, ...] = ()  # write_back="collect": what the files would become

    def counts(self) -> dict[str, int]:
        return count(self.items)

    @property
    def created(self) -> int:
        return self.counts()["created"]

    @property
    def updated(self) -> int:
        return self.counts()["updated"]

    @property
    def closed(self) -> int:
        return self.counts()["closed"]

    @property
    def reopened(self) -> int:
        return self.counts()["reopened"]

    @property
    def unchanged(self) -> int:
        return self.counts()["unchanged"]

    @property
    def orphaned(self) -> int:
        return self.counts()["orphaned"]

    @property
    def conflicts(self) -> int:
        return self.counts()["conflicts"]

    @property
    def failed(self) -> int:
        return self.counts()["failed"]

    @property
    def deferred(self) -> int:
        return self.counts()["deferred"]

    @property
    def ok(self) -> bool:
        """No item failed and every write-back landed (exit code 0)."""
        return self.failed == 0 and not self.write_back_errors

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = dict(self.counts())
        out["requests"] = self.requests
        out["items"] = [r.to_json() for r in self.items]
        return out


@dataclass(frozen=True)
class _File:
    disk: Path
    pm: Postmortem


def _parse_all(
    files: Sequence[tuple[Path, str]], options: ParseOptions
) -> tuple[list[_File], list[ItemResult]]:
    parsed: list[_File] = []
    failed: list[ItemResult] = []
    for disk, rel in files:
        try:
            data = disk.read_bytes()
        except OSError as exc:
            failed.append(
                ItemResult(
                    rel,
                    "failed",
                    "cannot read the postmortem",
                    error=f"{disk}: {exc.strerror or exc}",
                )
            )
            continue
        parsed.append(_File(disk, parse_postmortem(data, rel, options)))
    return parsed, failed


def _fetch_unlisted(
    pms: Sequence[Postmortem], tickets: list[Ticket], backend: Backend, policy: SyncPolicy
) -> tuple[list[Ticket], dict[str, str]]:
    """Tickets an item references that the listing lacks (label removed by hand).

    Only items with no key in the listing ask, so a no-op re-sync fetches nothing. Returns
    the tickets carrying our marker, and the items whose lookup failed (never created then).
    """
    keys = {t.key for t in tickets if t.key}
    known = {t.ref for t in tickets} | {t.url for t in tickets}
    extra: list[Ticket] = []
    held: dict[str, str] = {}
    seen: set[str] = set()
    for pm in pms:
        if policy.since and pm.date and pm.date < policy.since:
            continue
        for item in pm.items:
            if item.key in keys or any(r in known for r in item.tickets):
                continue
            for ref in item.tickets:
                if ref in seen:
                    continue
                seen.add(ref)
                try:
                    found = backend.fetch(ref)
                except NotFound:
                    found = None
                except BackendError as exc:
                    held[item.key] = f"could not look up {ref}, so it was not created: {exc}"
                    continue
                if found is not None and found.marker is not None:
                    extra.append(found)
                    known.update((found.ref, found.url))
    return extra, held


def _edits_for(results: Sequence[ItemResult]) -> dict[str, list[tuple[ItemResult, str, str]]]:
    """Per postmortem path: (result, kind, value) edits to make in the file."""
    out: dict[str, list[tuple[ItemResult, str, str]]] = {}
    for r in results:
        e = r.entry
        if e is None or e.item is None or e.path is None or r.action == "conflict":
            continue
        if e.write_ref and r.ticket is not None:
            out.setdefault(e.path, []).append((r, "ref", r.ticket.ref))
        if e.write_status is not None:
            if any(c.name == "status" for c in e.item.cells):
                value = _STATUS_WORDS.get(e.write_status, "Done")
                out.setdefault(e.path, []).append((r, "status", value))
            elif e.item.checkbox:
                out.setdefault(e.path, []).append((r, "checkbox", "x"))
    return out


def _edit_of(r: ItemResult, kind: str, value: str) -> Edit:
    assert r.entry is not None and r.entry.item is not None
    what: Kind = "ref" if kind == "ref" else "status" if kind == "status" else "checkbox"
    return Edit(r.entry.item, what, value)


def _write_back(
    files: Sequence[_File],
    results: list[ItemResult],
    collect: bool = False,
    options: ParseOptions = DEFAULT_OPTIONS,
) -> tuple[list[ItemResult], list[str], list[str], list[FileEdit]]:
    """Write refs and statuses into unchanged files (or, `collect`, return the new contents);
    errors go on the items they concern."""
    edits = _edits_for(results)
    errors: dict[int, str] = {}
    written: list[str] = []
    problems: list[str] = []
    collected: list[FileEdit] = []
    index = {id(r): n for n, r in enumerate(results)}
    for f in files:
        todo = edits.get(f.pm.path)
        if not todo:
            continue

        def edit(
            data: bytes, todo: list[tuple[ItemResult, str, str]] = todo, pm: Postmortem = f.pm
        ) -> bytes:
            # Each edit is read back by the parser; one that would change what the file says
            # is refused (safe_edit.py), and one odd line never costs the others.
            wanted = [_edit_of(r, kind, value) for r, kind, value in todo]
            data, refused = apply_checked(data, pm, wanted, options)
            for n, message in refused.items():
                errors[index[id(todo[n][0])]] = f"write-back: {message}"
                problems.append(f"{pm.path}: {message}")
            return data

        try:
            if collect:
                found = collect_edit(f.disk, f.pm.path, f.pm.digest, edit)
                if found is not None:
                    collected.append(found)
            elif apply_edits(f.disk, f.pm.digest, edit):
                written.append(f.pm.path)
        except WriteBackError as exc:
            problems.append(str(exc))
            for r, _, _ in todo:
                errors[index[id(r)]] = f"write-back: {exc}"
    out = list(results)
    for n, message in errors.items():
        old = out[n].error
        out[n] = replace(out[n], error=f"{old}; {message}" if old else message)
    return out, written, problems, collected


def run_sync(
    files: list[tuple[Path, str]],
    backend: Backend,
    policy: SyncPolicy,
    *,
    as_of: dt.date,
    dry_run: bool = False,
    write_back: WriteBack = "file",
    parse_options: ParseOptions = DEFAULT_OPTIONS,
    progress: Progress | None = None,
) -> SyncOutcome:
    """Sync `files` (disk path, repo-relative posix path) with `backend`.

    Raises:
        BackendError: the listing failed (no item was touched).
    """
    parsed, unreadable = _parse_all(files, parse_options)
    pms = [f.pm for f in parsed]
    tickets = backend.list_tracked()
    extra, held = _fetch_unlisted(pms, tickets, backend, policy)
    the_plan = plan(pms, [*tickets, *extra], policy, as_of)
    if dry_run:
        items = unreadable + [ItemResult.planned(e) for e in the_plan.entries]
        return SyncOutcome(tuple(items), backend.requests_made, the_plan, dry_run=True)
    # Items whose reference could not be looked up are never created blind (duplicates).
    blocked = {n for n, e in enumerate(the_plan.entries) if e.action == "create" and e.key in held}
    runnable = SyncPlan(
        tuple(e for n, e in enumerate(the_plan.entries) if n not in blocked), the_plan.as_of
    )
    applied = iter(apply(runnable, backend, max_writes=policy.max_writes, progress=progress).items)
    results: list[ItemResult] = []
    for n, e in enumerate(the_plan.entries):
        if n in blocked:
            results.append(ItemResult(e.key, "failed", e.reason, None, held[e.key], e))
        else:
            results.append(next(applied))
    written: list[str] = []
    problems: list[str] = []
    collected: list[FileEdit] = []
    if write_back != "none":
        results, written, problems, collected = _write_back(
            parsed, results, collect=write_back == "collect", options=parse_options
        )
    return SyncOutcome(
        tuple(unreadable + results),
        backend.requests_made,
        the_plan,
        files_written=tuple(written),
        write_back_errors=tuple(problems),
        edits=tuple(collected),
    )


# --- tracker status ------------------------------------------------------------------------------


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
            )
        )
    rows.sort(key=lambda r: (not r.overdue, r.due is None, r.due or dt.date.max, _ref_key(r.ref)))
    return rows


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


def _ref_key(ref: str) -> tuple[str, int]:
    head, _, num = ref.rpartition(":") if ":" in ref else ref.rpartition("-")
    if not head:
        head, num = "", ref.lstrip("#")
    return (head, int(num)) if num.isdigit() else (ref, 0)
