"""One sync run: parse, list, plan, apply, write back (`tracker status` is in tracker.status)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from tracker.backends.base import Backend
from tracker.errors import BackendError, NotFound, WriteBackError
from tracker.identity import bindings_of, refuse_duplicate_ids
from tracker.model import Postmortem, Status, Ticket
from tracker.parse import DEFAULT_OPTIONS, ParseOptions, parse_postmortem
from tracker.removed import Vanished, missing_paths, sort_out
from tracker.safe_edit import Edit, Kind, apply_checked
from tracker.status import Scanner, StatusRow, status_rows
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

__all__ = [
    "Scanner",
    "StatusRow",
    "SyncOutcome",
    "WriteBack",
    "run_sync",
    "status_rows",
]

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
    notices: tuple[str, ...] = ()  # one line each: things left as they are, and why

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
    data: bytes = b""


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
        parsed.append(_File(disk, parse_postmortem(data, rel, options), data))
    return parsed, failed


def _fetch_unlisted(
    pms: Sequence[Postmortem],
    tickets: list[Ticket],
    backend: Backend,
    policy: SyncPolicy,
    bindings: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[list[Ticket], dict[str, str]]:
    """Tickets an item's binding reference names that the listing lacks (label removed by
    hand, `labels:` changed in the config).

    Only items with no key in the listing ask, so a no-op re-sync fetches nothing. Returns
    the tickets found (an unmarked one is adopted or reported by the plan, never re-created),
    and the items whose lookup failed (never created then).
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
            refs = bindings.get(item.key, ()) if bindings is not None else item.tickets
            if item.key in keys or any(r in known for r in refs):
                continue
            for ref in refs:
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
                if found is not None and (found.marker is not None or bindings is not None):
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


def _vanished(
    root: Path | None, pms: Sequence[Postmortem], tickets: Sequence[Ticket], full_run: bool
) -> tuple[Vanished, dict[str, int]]:
    """Postmortems the tickets point at that this run did not see: removed, or left alone."""
    if root is None:
        return Vanished(), {}
    missing = missing_paths(tickets, {pm.path for pm in pms}, {pm.id for pm in pms})
    return sort_out(root, missing, full_run=full_run), missing


def _closure_notices(results: Sequence[ItemResult], write_back: WriteBack) -> list[str]:
    """One line per item closed in the tracker whose file could not say so."""
    out: list[str] = []
    for r in results:
        e = r.entry
        if e is None or e.item is None or e.write_status is None or r.ticket is None:
            continue
        if r.action in ("conflict", "failed", "deferred"):
            continue
        if write_back == "none":
            why = "write-back is off"
        elif r.error and "write-back" in r.error:
            why = r.error.split("write-back: ", 1)[-1]
        else:
            continue
        word = _STATUS_WORDS.get(e.write_status, "Done")
        out.append(
            f"{e.path}:{e.item.line}: {r.ticket.ref} was closed in the tracker but the file "
            f"still says {e.item.status} ({why}): mark it {word} in the file"
        )
    return out


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
    root: Path | None = None,
    full_run: bool = False,
) -> SyncOutcome:
    """Sync `files` (disk path, repo-relative posix path) with `backend`.

    With `root` (the folder the relative paths start from), tickets of postmortems that git
    says were removed are closed (`close_removed`) or reported orphaned; `full_run` says the
    files are every configured postmortem (so one still on disk was excluded by the config).

    Raises:
        DuplicatePostmortemId: two files share a postmortem id (before any request).
        BackendError: the listing failed (no item was touched).
    """
    parsed, unreadable = _parse_all(files, parse_options)
    refuse_duplicate_ids([(f.pm, f.data) for f in parsed])
    pms = [f.pm for f in parsed]
    bindings: dict[str, tuple[str, ...]] = {}
    for f in parsed:
        bindings.update(bindings_of(f.pm, f.data))
    tickets = backend.list_tracked()
    extra, held = _fetch_unlisted(pms, tickets, backend, policy, bindings)
    vanished, missing = _vanished(root, pms, tickets, full_run)
    notices = vanished.notices(missing)
    unlisted = {t.ref for t in extra}

    def planned(found: Sequence[Ticket]) -> SyncPlan:
        return plan(
            pms,
            [*tickets, *found],
            policy,
            as_of,
            bindings=bindings,
            removed=vanished.removed,
            unlisted=unlisted,
        )

    the_plan = planned(extra)
    creates = {e.key for e in the_plan.entries if e.action == "create"}
    if creates and isinstance(backend, Scanner):
        # Before creating, look for the items' markers beyond the label (one scan): a label
        # removed by hand or a changed `labels:` never makes a second ticket.
        known = {t.ref for t in (*tickets, *extra)}
        found = [t for t in backend.scan(creates) if t.ref not in known]
        if found:
            unlisted |= {t.ref for t in found}
            extra = [*extra, *found]
            the_plan = planned(extra)
    if dry_run:
        items = unreadable + [ItemResult.planned(e) for e in the_plan.entries]
        return SyncOutcome(
            tuple(items), backend.requests_made, the_plan, dry_run=True, notices=tuple(notices)
        )
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
    notices += _closure_notices(results, write_back)
    return SyncOutcome(
        tuple(unreadable + results),
        backend.requests_made,
        the_plan,
        files_written=tuple(written),
        write_back_errors=tuple(problems),
        edits=tuple(collected),
        notices=tuple(notices),
    )


def deferred_outcome(
    files: list[tuple[Path, str]],
    backend: Backend,
    reason: str,
    *,
    as_of: dt.date,
    parse_options: ParseOptions = DEFAULT_OPTIONS,
) -> SyncOutcome:
    """A run stopped before its first write (the listing hit the rate limit): every item deferred.

    What `--format json` prints then, so a script learns what is left for the next run.
    """
    parsed, unreadable = _parse_all(files, parse_options)
    why = f"sync deferred: {reason}"
    items = [ItemResult(i.key, "deferred", why) for f in parsed for i in f.pm.items]
    return SyncOutcome(tuple(unreadable + items), backend.requests_made, SyncPlan((), as_of))
