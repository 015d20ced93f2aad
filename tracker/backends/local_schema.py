"""The local backend's SQLite schema, its migrations and row conversion."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from tracker.backends.base import marker_from_json
from tracker.errors import BackendError
from tracker.model import STATUSES, Status, Ticket

SCHEMA_VERSION = 1

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
# MIGRATIONS[n - 1] takes the file from version n - 1 to n: append, never edit.
MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1,)

SELECT_ALL = (
    "SELECT id, key, title, state, owners, due, priority, labels, marker, created_at, "
    "updated_at, closed_at FROM tickets ORDER BY id"
)
SELECT_ID = (
    "SELECT id, key, title, state, owners, due, priority, labels, marker, created_at, "
    "updated_at, closed_at FROM tickets WHERE id = ?"
)
SELECT_KEY = (
    "SELECT id, key, title, state, owners, due, priority, labels, marker, created_at, "
    "updated_at, closed_at FROM tickets WHERE key = ? ORDER BY id LIMIT 1"
)
INSERT = (
    "INSERT INTO tickets (key, title, body, state, owners, due, priority, type, labels, marker, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SET_STATE = (
    "UPDATE tickets SET state = ?, state_reason = ?, closed_at = ?, updated_at = ?, "
    "marker = COALESCE(?, marker), key = COALESCE(?, key) WHERE id = ?"
)
UPSERT_REPORT = (
    "INSERT INTO reports (week, title, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (week) DO UPDATE SET title = excluded.title, body = excluded.body, "
    "updated_at = excluded.updated_at"
)
# Columns an UPDATE may name; anything else is a programming error, never user input.
UPDATABLE = frozenset(
    {
        "key",
        "title",
        "body",
        "state",
        "owners",
        "due",
        "priority",
        "type",
        "labels",
        "marker",
        "updated_at",
        "closed_at",
    }
)


def update_sql(columns: list[str]) -> str:
    """`UPDATE tickets SET a = ?, b = ? WHERE id = ?` for known column names only."""
    unknown = set(columns) - UPDATABLE
    if unknown:
        raise ValueError(f"not a ticket column: {sorted(unknown)}")
    assignments = ", ".join(f"{c} = ?" for c in columns)
    return f"UPDATE tickets SET {assignments} WHERE id = ?"  # noqa: S608 - names checked above


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
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


def _state(value: object) -> Status:
    for status in STATUSES:
        if status == value:
            return status
    return "open"


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def row_to_ticket(row: tuple[Any, ...]) -> Ticket:
    """A `SELECT_*` row as a Ticket (ref and url both `local:N`)."""
    tid, _key, title, state, owners, due, priority, labels, marker, created, updated, closed = row
    ref = f"local:{int(tid)}"
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
