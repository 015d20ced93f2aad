"""The embedded SQLite backend: the default without credentials and the reference implementation."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracker.backends.base import (
    Capabilities,
    CloseReason,
    Field,
    TicketDraft,
    marker_from_json,
    marker_to_json,
)
from tracker.errors import BackendError, Conflict, NotFound
from tracker.model import STATUSES, Marker, Status, Ticket

SCHEMA_VERSION = 1
_REF_RE = re.compile(r"local:(\d+)")
_WEEK_RE = re.compile(r"\d{4}-W\d{2}")

_SCHEMA_V1 = """
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'in_progress', 'done', 'dropped')),
    state_reason TEXT,
    owners TEXT NOT NULL DEFAULT '[]',
    due TEXT,
    priority TEXT,
    type TEXT,
    labels TEXT NOT NULL DEFAULT '[]',
    marker TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX tickets_key ON tickets (key);
CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE reports (
    week TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""
# Index = version reached after running the script; append, never edit, to migrate.
MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1,)
_COLUMNS = (
    "id, key, title, state, owners, due, priority, labels, marker, created_at, updated_at, "
    "closed_at"
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION inside one write transaction; return the version.

    Raises:
        BackendError: the file was written by a newer version of the tool.
    """
    conn.execute("BEGIN IMMEDIATE")  # two processes racing the first run: one migrates
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise BackendError(
                f"the local database has schema version {version}, newer than this tracker "
                f"understands ({SCHEMA_VERSION}): upgrade postmortem-tracker"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


def _ref(ticket_id: int) -> str:
    return f"local:{ticket_id}"


def _id_of(ref: str) -> int | None:
    m = _REF_RE.fullmatch(ref.strip())
    return int(m.group(1)) if m else None


def _state(value: object) -> Status:
    for status in STATUSES:
        if status == value:
            return status
    return "open"


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _merge(current: list[str], drop: tuple[str, ...], add: tuple[str, ...]) -> list[str]:
    """People's entries stay; the tool removes only what it put there and adds what it wants."""
    dropped = {d.casefold() for d in drop} - {a.casefold() for a in add}
    out = [c for c in current if c.casefold() not in dropped]
    have = {c.casefold() for c in out}
    out.extend(a for a in add if a.casefold() not in have)
    return out


def _body(draft: TicketDraft) -> str:
    lines = [draft.text, "", f"Postmortem: {draft.path}:{draft.line}"]
    if draft.postmortem_title:
        lines.append(f"Title: {draft.postmortem_title}")
    if draft.owners:
        lines.append("Owners: " + ", ".join(draft.owners))
    if draft.due:
        lines.append(f"Due: {draft.due.isoformat()}")
    if draft.severity:
        lines.append(f"Severity: {draft.severity}")
    return "\n".join(lines)


class LocalBackend:
    """Tickets in a SQLite file (WAL, busy timeout, one transaction per write)."""

    capabilities = Capabilities(
        bulk_create=False, native_due_date=True, counts_requests=True, in_progress_state=True,
        cheap_find=True,
    )

    def __init__(
        self,
        path: Path | str,
        *,
        now: Callable[[], dt.datetime] = _utcnow,
        busy_timeout_ms: int = 10_000,
    ) -> None:
        self.path = Path(path)
        self._now = now
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None  # opened on first use: no I/O here
        self.requests = 0
        self.writes = 0

    @property
    def requests_made(self) -> int | None:
        return self.requests

    # --- connection --------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Autocommit mode: we issue BEGIN IMMEDIATE ourselves so a writer takes the
                # lock before reading, and a second process waits (busy_timeout), never fails.
                conn = sqlite3.connect(
                    self.path, isolation_level=None, timeout=self._busy_timeout_ms / 1000
                )
                conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
                conn.execute("PRAGMA journal_mode = WAL")
                # WAL + NORMAL cannot corrupt the file; it may lose the last commit on power
                # loss, which sync repairs by key on the next run. FULL costs an fsync a write.
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                migrate(conn)
            except sqlite3.Error as exc:
                raise BackendError(
                    f"cannot open the local tracker database {self.path}: {exc}"
                ) from exc
            self._conn = conn
        return self._conn

    def close_connection(self) -> None:
        """Release the database file (tests, and long-lived processes between runs)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        self.requests += 1
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise BackendError(f"local tracker database {self.path}: {exc}") from exc
        self.writes += 1

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        conn = self._connection()
        self.requests += 1
        try:
            cur = conn.execute(sql, args)
            cur.row_factory = sqlite3.Row
            return list(cur.fetchall())
        except sqlite3.Error as exc:
            raise BackendError(f"local tracker database {self.path}: {exc}") from exc

    @staticmethod
    def _ticket(row: sqlite3.Row | tuple[Any, ...]) -> Ticket:
        (tid, _key, title, state, owners, due, priority, labels, marker, created, updated,
         closed) = tuple(row)
        ref = _ref(int(tid))
        return Ticket(
            ref=ref,
            url=ref,
            title=str(title),
            state=_state(state),
            owners=tuple(json.loads(owners)),
            due=dt.date.fromisoformat(due) if due else None,
            priority=priority,
            labels=tuple(json.loads(labels)),
            marker=marker_from_json(json.loads(marker)) if marker else None,
            created_at=_ts(created),
            updated_at=_ts(updated),
            closed_at=_ts(closed),
        )

    def _get(self, conn: sqlite3.Connection, ref: str) -> Ticket:
        tid = _id_of(ref)
        row = None
        if tid is not None:
            row = conn.execute(f"SELECT {_COLUMNS} FROM tickets WHERE id = ?", (tid,)).fetchone()
        if row is None:
            raise NotFound(f"ticket {ref} does not exist in {self.path}")
        return self._ticket(row)

    def _stamp(self) -> str:
        return self._now().astimezone(dt.timezone.utc).isoformat()

    # --- the Backend protocol ----------------------------------------------------------------

    def list_tracked(self) -> list[Ticket]:
        """Every ticket in the file, oldest first (one query)."""
        return [self._ticket(r) for r in self._read(f"SELECT {_COLUMNS} FROM tickets ORDER BY id")]

    def fetch(self, ref: str) -> Ticket | None:
        """One ticket by `local:N`; None for other references or a missing ticket."""
        tid = _id_of(ref)
        if tid is None:
            return None
        rows = self._read(f"SELECT {_COLUMNS} FROM tickets WHERE id = ?", (tid,))
        return self._ticket(rows[0]) if rows else None

    def find(self, key: str) -> Ticket | None:
        """The oldest ticket whose marker holds `key`."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM tickets WHERE key = ? ORDER BY id LIMIT 1", (key,)
        )
        return self._ticket(rows[0]) if rows else None

    def create(self, draft: TicketDraft) -> Ticket:
        """Insert an open ticket.

        Raises:
            Conflict: a ticket already carries this key (another process created it).
        """
        stamp = self._stamp()
        with self._write() as conn:
            # Checked inside the write lock: two processes syncing the same files cannot both
            # create a ticket for one key.
            if conn.execute("SELECT 1 FROM tickets WHERE key = ?", (draft.key,)).fetchone():
                raise Conflict(f"a local ticket already tracks {draft.key}")
            cur = conn.execute(
                "INSERT INTO tickets (key, title, body, state, owners, due, priority, type, "
                "labels, marker, created_at, updated_at) "
                "VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    draft.key, draft.title, _body(draft),
                    json.dumps(list(draft.assignees), ensure_ascii=False),
                    draft.due.isoformat() if draft.due else None, draft.priority, draft.type,
                    json.dumps(list(draft.labels), ensure_ascii=False),
                    json.dumps(marker_to_json(draft.marker), ensure_ascii=False), stamp, stamp,
                ),
            )
            return self._get(conn, _ref(int(cur.lastrowid or 0)))

    def update(self, ticket: Ticket, draft: TicketDraft, fields: frozenset[Field]) -> Ticket:
        """Write the named fields and the marker; labels and owners are merged.

        Raises:
            NotFound: the ticket does not exist.
        """
        with self._write() as conn:
            cur = self._get(conn, ticket.ref)
            sets: dict[str, object] = {
                "key": draft.key,
                "marker": json.dumps(marker_to_json(draft.marker), ensure_ascii=False),
                "labels": json.dumps(
                    _merge(list(cur.labels), draft.drop_labels, draft.labels), ensure_ascii=False
                ),
                "updated_at": self._stamp(),
            }
            if "title" in fields:
                sets["title"] = draft.title
            if "owners" in fields:
                owners = _merge(list(cur.owners), draft.drop_assignees, draft.assignees)
                sets["owners"] = json.dumps(owners, ensure_ascii=False)
            if "due" in fields:
                sets["due"] = draft.due.isoformat() if draft.due else None
            if "priority" in fields:
                sets["priority"] = draft.priority
            if "type" in fields:
                sets["type"] = draft.type
            if "status" in fields and cur.state in ("open", "in_progress"):
                sets["state"] = "in_progress" if draft.status == "in_progress" else "open"
            if "body" in fields or "title" in fields:
                sets["body"] = _body(draft)
            assignments = ", ".join(f"{name} = ?" for name in sets)
            conn.execute(
                f"UPDATE tickets SET {assignments} WHERE id = ?",  # noqa: S608 - names are ours
                (*sets.values(), _id_of(ticket.ref)),
            )
            return self._get(conn, ticket.ref)

    def close(
        self, ticket: Ticket, reason: CloseReason, marker: Marker | None = None
    ) -> Ticket:
        """Close as done (completed) or dropped (not planned, duplicate).

        Raises:
            NotFound: the ticket does not exist.
        """
        state: Status = "done" if reason == "completed" else "dropped"
        return self._set_state(ticket, state, reason, marker)

    def reopen(self, ticket: Ticket, marker: Marker | None = None) -> Ticket:
        """Reopen a closed ticket.

        Raises:
            NotFound: the ticket does not exist.
        """
        return self._set_state(ticket, "open", None, marker)

    def _set_state(
        self, ticket: Ticket, state: Status, reason: str | None, marker: Marker | None
    ) -> Ticket:
        stamp = self._stamp()
        with self._write() as conn:
            cur = self._get(conn, ticket.ref)
            closed_at = None
            if state in ("done", "dropped"):
                closed_at = cur.closed_at.isoformat() if cur.closed_at else stamp
            conn.execute(
                "UPDATE tickets SET state = ?, state_reason = ?, closed_at = ?, updated_at = ?, "
                "marker = COALESCE(?, marker), key = COALESCE(?, key) WHERE id = ?",
                (
                    state, reason, closed_at, stamp,
                    json.dumps(marker_to_json(marker), ensure_ascii=False) if marker else None,
                    marker.key if marker else None, _id_of(ticket.ref),
                ),
            )
            return self._get(conn, ticket.ref)

    def comment(self, ticket: Ticket, body: str) -> None:
        """Add a comment.

        Raises:
            NotFound: the ticket does not exist.
        """
        with self._write() as conn:
            self._get(conn, ticket.ref)
            conn.execute(
                "INSERT INTO comments (ticket_id, body, created_at) VALUES (?, ?, ?)",
                (_id_of(ticket.ref), body, self._stamp()),
            )

    def post_report(self, title: str, body: str, week: str) -> str:
        """Store the report of ISO `week`, replacing an earlier one for the same week."""
        if not _WEEK_RE.fullmatch(week):
            raise ValueError(f"week must look like 2026-W47, got {week!r}")
        stamp = self._stamp()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO reports (week, title, body, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (week) DO UPDATE SET "
                "title = excluded.title, body = excluded.body, updated_at = excluded.updated_at",
                (week, title, body, stamp, stamp),
            )
        return f"local:report/{week}"

    # --- beyond the protocol: what a person does in a tracker UI, and reads for tests ---------

    def edit(
        self,
        ref: str,
        *,
        title: str | None = None,
        owners: tuple[str, ...] | None = None,
        due: dt.date | None = None,
        labels: tuple[str, ...] | None = None,
        state: Status | None = None,
    ) -> Ticket:
        """Change a ticket the way a person would (never touches the marker).

        Raises:
            NotFound: the ticket does not exist.
        """
        sets: dict[str, object] = {"updated_at": self._stamp()}
        if title is not None:
            sets["title"] = title
        if owners is not None:
            sets["owners"] = json.dumps(list(owners), ensure_ascii=False)
        if due is not None:
            sets["due"] = due.isoformat()
        if labels is not None:
            sets["labels"] = json.dumps(list(labels), ensure_ascii=False)
        if state is not None:
            sets["state"] = state
            sets["closed_at"] = self._stamp() if state in ("done", "dropped") else None
        with self._write() as conn:
            self._get(conn, ref)
            assignments = ", ".join(f"{name} = ?" for name in sets)
            conn.execute(
                f"UPDATE tickets SET {assignments} WHERE id = ?",  # noqa: S608 - names are ours
                (*sets.values(), _id_of(ref)),
            )
            return self._get(conn, ref)

    def comments(self, ref: str) -> list[str]:
        """The comments of a ticket, oldest first."""
        return [
            str(r["body"])
            for r in self._read(
                "SELECT body FROM comments WHERE ticket_id = ? ORDER BY id", (_id_of(ref),)
            )
        ]

    def report(self, week: str) -> tuple[str, str] | None:
        """The stored (title, body) of a week's report."""
        rows = self._read("SELECT title, body FROM reports WHERE week = ?", (week,))
        return (str(rows[0]["title"]), str(rows[0]["body"])) if rows else None
