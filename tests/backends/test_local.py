"""The local SQLite backend: the shared contract, plus schema, WAL and concurrency."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.backends.contract import BackendContract, make_draft
from tests.sync_harness import Clock
from tracker.backends import BACKENDS
from tracker.backends.base import Backend
from tracker.backends.local import SCHEMA_VERSION, LocalBackend
from tracker.backends.local_schema import migrate
from tracker.errors import BackendError, Conflict
from tracker.model import Ticket

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)


class TestLocalContract(BackendContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> LocalBackend:
        return LocalBackend(tmp_path / ".tracker" / "local.db", now=Clock(T0))

    @pytest.fixture
    def missing_ref(self) -> str:
        return "local:987654"

    def person_edit(self, backend: Backend, ticket: Ticket, **changes: Any) -> Ticket:
        assert isinstance(backend, LocalBackend)
        return backend.edit(ticket.ref, **changes)


def test_registry_builds_local(tmp_path: Path) -> None:
    backend = BACKENDS["local"](tmp_path / "x.db")
    assert isinstance(backend, LocalBackend)


def test_constructor_does_no_io(tmp_path: Path) -> None:
    LocalBackend(tmp_path / "not" / "yet" / "local.db")
    assert not (tmp_path / "not").exists()


def test_refs_urls_and_timestamps_come_from_the_injected_clock(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "l.db", now=Clock(T0))
    t = b.create(make_draft())
    assert t.ref == "local:1" and t.url == "local:1"
    assert t.created_at == T0 + dt.timedelta(minutes=1)
    closed = b.close(t, "completed")
    assert closed.closed_at == T0 + dt.timedelta(minutes=2)
    assert closed.created_at == t.created_at


def test_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    LocalBackend(path).list_tracked()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"tickets", "comments", "reports"} <= tables


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
    assert migrate(conn) == SCHEMA_VERSION
    assert migrate(conn) == SCHEMA_VERSION
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(BackendError, match="upgrade postmortem-tracker"):
        LocalBackend(path).list_tracked()


def test_busy_timeout_is_set(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "l.db", busy_timeout_ms=4321)
    b.list_tracked()
    assert b._connection().execute("PRAGMA busy_timeout").fetchone()[0] == 4321


def test_unwritable_location_is_a_backend_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(BackendError, match="cannot open the local tracker database"):
        LocalBackend(blocker / "local.db").list_tracked()


def test_two_connections_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    a, b = LocalBackend(path, now=Clock(T0)), LocalBackend(path, now=Clock(T0))
    created = a.create(make_draft())
    assert [t.ref for t in b.list_tracked()] == [created.ref]
    b.close(created, "completed")
    assert a.list_tracked()[0].state == "done"
    a.reopen(created)
    assert b.fetch(created.ref) is not None
    assert b.list_tracked()[0].state == "open"


def test_a_reader_does_not_block_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    a, b = LocalBackend(path), LocalBackend(path, busy_timeout_ms=100)
    a.create(make_draft("pm/1"))
    reader = a._connection()
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1
    b.create(make_draft("pm/2"))  # WAL: a writer proceeds while a read transaction is open
    assert reader.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1  # snapshot
    reader.execute("COMMIT")
    assert len(a.list_tracked()) == 2


def test_a_held_write_lock_times_out_as_a_backend_error(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    a, b = LocalBackend(path), LocalBackend(path, busy_timeout_ms=50)
    a.list_tracked()
    b.list_tracked()
    holder = a._connection()
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(BackendError, match="locked"):
            b.create(make_draft())
    finally:
        holder.execute("ROLLBACK")
    assert b.list_tracked() == []


def test_second_create_of_a_key_is_a_conflict(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "l.db")
    b.create(make_draft("pm/k"))
    with pytest.raises(Conflict):
        b.create(make_draft("pm/k"))
    assert len(b.list_tracked()) == 1


def test_concurrent_writers_in_threads(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    LocalBackend(path).list_tracked()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        b = LocalBackend(path)
        try:
            for i in range(40):
                t = b.create(make_draft(f"pm/{n}-{i}"))
                b.update(t, make_draft(f"pm/{n}-{i}", title=f"t{n}-{i}"), frozenset({"title"}))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            b.close_connection()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    tickets = LocalBackend(path).list_tracked()
    assert len(tickets) == 160
    assert len({t.ref for t in tickets}) == 160
    assert all(t.title == f"t{t.key.removeprefix('pm/')}" for t in tickets if t.key)


_CHILD = """
import sys
from tests.backends.contract import make_draft
from tracker.backends.local import LocalBackend
from tracker.errors import Conflict
b = LocalBackend(sys.argv[1])
made = 0
for i in range(25):
    try:
        b.create(make_draft(f"pm/{i}"))
        made += 1
    except Conflict:
        pass
print(made)
"""


def test_two_processes_never_create_one_key_twice(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path)], cwd=root, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    made = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    tickets = LocalBackend(path).list_tracked()
    assert sum(made) == 25 == len(tickets)
    assert sorted(t.key or "" for t in tickets) == sorted(f"pm/{i}" for i in range(25))


def test_reports_are_stored_and_replaced(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "l.db", now=Clock(T0))
    assert b.post_report("W47", "body 1", "2026-W47") == "local:report/2026-W47"
    b.post_report("W47 again", "body 2", "2026-W47")
    assert b.report("2026-W47") == ("W47 again", "body 2")
    assert b.report("2026-W48") is None
    with pytest.raises(ValueError, match="2026-W47"):
        b.post_report("x", "y", "week 47")


def test_comments_are_stored(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "l.db")
    t = b.create(make_draft())
    b.comment(t, "first")
    b.comment(t, "second ✅")
    assert b.comments(t.ref) == ["first", "second ✅"]


def test_a_damaged_marker_reads_as_no_marker(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    b = LocalBackend(path)
    t = b.create(make_draft())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE tickets SET marker = ? WHERE id = 1", ('{"key": 5}',))
    conn.commit()
    conn.close()
    assert b.fetch(t.ref) is not None
    listed = b.list_tracked()[0]
    assert listed.marker is None and listed.key is None
