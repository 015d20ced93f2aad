"""A repository of postmortem files on disk, the local backend and wrappers that count or fail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.backends.base import Backend, Capabilities, CloseReason, Field, TicketDraft
from tracker.backends.local import LocalBackend
from tracker.engine import SyncOutcome, WriteBack, run_sync
from tracker.errors import BackendError, OutcomeUnknown
from tracker.model import Marker, Ticket
from tracker.sync import Progress, SyncPolicy

AS_OF = dt.date(2026, 10, 1)
T0 = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.timezone.utc)


class Clock:
    """A clock that ticks one minute per reading; tests never read the real one."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.t = start

    def __call__(self) -> dt.datetime:
        self.t += dt.timedelta(minutes=1)
        return self.t


class Crash(Exception):
    """The process died (not a BackendError: nothing catches it)."""


@dataclass
class Wrapper:
    """Counts writes; optionally fails: after `crash_after` writes (before or after the write
    lands), for chosen keys, or by hiding tickets from the listing."""

    inner: Backend
    crash_after: int | None = None
    crash_mode: str = "before"  # before: raise Crash; lost: write lands, then OutcomeUnknown
    fail_keys: frozenset[str] = frozenset()
    hide_refs: frozenset[str] = frozenset()
    writes: int = 0
    calls: list[str] = field(default_factory=list)

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    @property
    def requests_made(self) -> int | None:
        return self.inner.requests_made

    def _write(self, name: str, key: str | None, fn: Any, *args: Any) -> Any:
        self.calls.append(name)
        if key in self.fail_keys:
            raise BackendError(f"injected failure for {key}")
        if self.crash_after is not None and self.writes >= self.crash_after:
            if self.crash_mode == "before":
                raise Crash(f"crash before write {self.writes + 1}")
            fn(*args)
            self.writes += 1
            raise OutcomeUnknown(f"answer to write {self.writes} lost")
        out = fn(*args)
        self.writes += 1
        return out

    def list_tracked(self) -> list[Ticket]:
        return [t for t in self.inner.list_tracked() if t.ref not in self.hide_refs]

    def fetch(self, ref: str) -> Ticket | None:
        self.calls.append("fetch")
        return self.inner.fetch(ref)

    def find(self, key: str) -> Ticket | None:
        self.calls.append("find")
        return self.inner.find(key)

    def create(self, draft: TicketDraft) -> Ticket:
        out: Ticket = self._write("create", draft.key, self.inner.create, draft)
        return out

    def update(self, ticket: Ticket, draft: TicketDraft, fields: frozenset[Field]) -> Ticket:
        out: Ticket = self._write("update", ticket.key, self.inner.update, ticket, draft, fields)
        return out

    def close(self, ticket: Ticket, reason: CloseReason, marker: Marker | None = None) -> Ticket:
        out: Ticket = self._write("close", ticket.key, self.inner.close, ticket, reason, marker)
        return out

    def reopen(self, ticket: Ticket, marker: Marker | None = None) -> Ticket:
        out: Ticket = self._write("reopen", ticket.key, self.inner.reopen, ticket, marker)
        return out

    def comment(self, ticket: Ticket, body: str) -> None:
        self._write("comment", ticket.key, self.inner.comment, ticket, body)

    def post_report(self, title: str, body: str, week: str) -> str:
        out: str = self._write("post_report", None, self.inner.post_report, title, body, week)
        return out


class Repo:
    """Postmortem files in a temp folder, synced to a local database beside them."""

    def __init__(self, tmp_path: Path, policy: SyncPolicy | None = None) -> None:
        self.root = tmp_path / "repo"
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = tmp_path / "local.db"
        self.clock = Clock()
        self.policy = policy or SyncPolicy()
        self.last: Wrapper | None = None

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return path

    def read(self, rel: str) -> str:
        return (self.root / rel).read_bytes().decode("utf-8")

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink()

    def files(self) -> list[tuple[Path, str]]:
        return [(p, p.relative_to(self.root).as_posix()) for p in sorted(self.root.rglob("*.md"))]

    def local(self) -> LocalBackend:
        """A fresh backend on the database (what a person or a new process sees)."""
        return LocalBackend(self.db, now=self.clock)

    def sync(
        self,
        policy: SyncPolicy | None = None,
        *,
        wrapper: Wrapper | None = None,
        write_back: WriteBack = "file",
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> SyncOutcome:
        w = wrapper or Wrapper(self.local())
        if wrapper is not None and isinstance(wrapper.inner, LocalBackend):
            w.inner = self.local()
        self.last = w
        return run_sync(
            self.files(),
            w,
            policy or self.policy,
            as_of=AS_OF,
            dry_run=dry_run,
            write_back=write_back,
            progress=progress,
        )

    @property
    def writes(self) -> int:
        """Writes the last sync made."""
        assert self.last is not None
        return self.last.writes

    def tickets(self) -> list[Ticket]:
        return self.local().list_tracked()

    def ticket(self, key_or_ref: str) -> Ticket:
        found = [t for t in self.tickets() if key_or_ref in (t.ref, t.key)]
        assert len(found) == 1, f"{key_or_ref}: {len(found)} tickets"
        return found[0]

    def by_title(self, words: str) -> Ticket:
        found = [t for t in self.tickets() if words in t.title]
        assert len(found) == 1, f"{words!r}: {[t.title for t in self.tickets()]}"
        return found[0]
