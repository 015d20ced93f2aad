"""The embedded SQLite backend: the default without credentials and the reference implementation."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from tracker.backends import local_schema as sql
from tracker.backends.base import Capabilities, CloseReason, Field, TicketDraft, marker_to_json
from tracker.errors import BackendError, Conflict, NotFound
from tracker.model import Marker, Status, Ticket

SCHEMA_VERSION = sql.SCHEMA_VERSION
_REF_RE = re.compile(r"local:(\d+)")
_WEEK_RE = re.compile(r"\d{4}-W\d{2}")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _id_of(ref: str) -> int | None:
    m = _REF_RE.fullmatch(ref.strip())
    return int(m.group(1)) if m else None


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _merge(current: tuple[str, ...], drop: tuple[str, ...], add: tuple[str, ...]) -> list[str]:
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
        native_due_date=True, counts_requests=False, in_progress_state=True, cheap_find=True
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
        self.requests = 0  # queries and transactions, for the same budget figures as GitHub
        self.writes = 0

    @property
    def requests_made(self) -> int | None:
        # No HTTP here: `tracker sync --format json` reports "requests": null for local.
        # `self.requests` still counts queries for the benchmarks.
        return None

    # --- connection --------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # Autocommit mode: each write issues BEGIN IMMEDIATE itself, so it takes the
                # write lock before it reads, and a second process waits (busy timeout).
                conn = sqlite3.connect(
                    self.path, isolation_level=None, timeout=self._busy_timeout_ms / 1000
                )
                conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
                conn.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
                # WAL + NORMAL cannot corrupt the file; power loss may drop the last commit,
                # which the next sync repairs by key. FULL would cost an fsync per write.
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                sql.migrate(conn)
            except (sqlite3.Error, OSError) as exc:
                msg = f"cannot open the local tracker database {self.path}: {exc}"
                raise BackendError(msg) from exc
            self._conn = conn
        return self._conn

    def close_connection(self) -> None:
        """Release the database file."""
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

    def _read(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self._connection()
        self.requests += 1
        try:
            return list(conn.execute(query, args).fetchall())
        except sqlite3.Error as exc:
            raise BackendError(f"local tracker database {self.path}: {exc}") from exc

    def _get(self, conn: sqlite3.Connection, ref: str) -> Ticket:
        tid = _id_of(ref)
        row = conn.execute(sql.SELECT_ID, (tid,)).fetchone() if tid is not None else None
        if row is None:
            raise NotFound(f"ticket {ref} does not exist in {self.path}")
        return sql.row_to_ticket(tuple(row))

    def _set(self, conn: sqlite3.Connection, ref: str, sets: dict[str, object]) -> Ticket:
        conn.execute(sql.update_sql(list(sets)), (*sets.values(), _id_of(ref)))
        return self._get(conn, ref)

    def _stamp(self) -> str:
        return self._now().astimezone(dt.timezone.utc).isoformat()

    # --- the Backend protocol ----------------------------------------------------------------

    def list_tracked(self) -> list[Ticket]:
        """Every ticket in the file, oldest first (one query)."""
        return [sql.row_to_ticket(r) for r in self._read(sql.SELECT_ALL)]

    def fetch(self, ref: str) -> Ticket | None:
        """One ticket by `local:N`; None for other references (no query) or a missing ticket."""
        tid = _id_of(ref)
        if tid is None:
            return None
        rows = self._read(sql.SELECT_ID, (tid,))
        return sql.row_to_ticket(rows[0]) if rows else None

    def find(self, key: str) -> Ticket | None:
        """The oldest ticket whose marker holds `key`."""
        rows = self._read(sql.SELECT_KEY, (key,))
        return sql.row_to_ticket(rows[0]) if rows else None

    def create(self, draft: TicketDraft) -> Ticket:
        """Insert an open ticket (in progress when the draft says so).

        Raises:
            Conflict: a ticket already carries this key (another process created it).
        """
        stamp = self._stamp()
        with self._write() as conn:
            # Checked under the write lock: two processes syncing the same files cannot both
            # create a ticket for one key.
            if conn.execute(sql.SELECT_KEY, (draft.key,)).fetchone():
                raise Conflict(f"a local ticket already tracks {draft.key}: re-run sync")
            cur = conn.execute(
                sql.INSERT,
                (
                    draft.key,
                    draft.title,
                    _body(draft),
                    "in_progress" if draft.status == "in_progress" else "open",
                    _json(list(draft.assignees)),
                    draft.due.isoformat() if draft.due else None,
                    draft.priority,
                    draft.type,
                    _json(list(draft.labels)),
                    _json(marker_to_json(replace(draft.marker, written_at=stamp))),
                    stamp,
                    stamp,
                ),
            )
            return self._get(conn, f"local:{cur.lastrowid}")

    def update(self, ticket: Ticket, draft: TicketDraft, fields: frozenset[Field]) -> Ticket:
        """Write the named fields and the marker; labels and owners are merged.

        Raises:
            NotFound: the ticket does not exist.
        """
        with self._write() as conn:
            cur = self._get(conn, ticket.ref)
            stamp = self._stamp()
            sets: dict[str, object] = {
                "key": draft.key,
                "marker": _json(marker_to_json(replace(draft.marker, written_at=stamp))),
                "labels": _json(_merge(cur.labels, draft.drop_labels, draft.labels)),
                "updated_at": stamp,
            }
            if "title" in fields:
                sets["title"] = draft.title
            if "owners" in fields:
                sets["owners"] = _json(_merge(cur.owners, draft.drop_assignees, draft.assignees))
            if "due" in fields:
                sets["due"] = draft.due.isoformat() if draft.due else None
            if "priority" in fields:
                sets["priority"] = draft.priority
            if "type" in fields:
                sets["type"] = draft.type
            if "status" in fields and cur.state in ("open", "in_progress"):
                sets["state"] = "in_progress" if draft.status == "in_progress" else "open"
            if fields & {"body", "title", "owners", "due"}:
                sets["body"] = _body(draft)
            return self._set(conn, ticket.ref, sets)

    def close(self, ticket: Ticket, reason: CloseReason, marker: Marker | None = None) -> Ticket:
        """Close as done (completed) or dropped (not planned, duplicate).

        Raises:
            NotFound: the ticket does not exist.
        """
        return self._set_state(
            ticket, "done" if reason == "completed" else "dropped", reason, marker
        )

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
            if state in ("done", "dropped"):  # closing twice keeps the first close time
                closed_at = cur.closed_at.isoformat() if cur.closed_at else stamp
            stamped = replace(marker, written_at=stamp) if marker else None
            stored = _json(marker_to_json(stamped)) if stamped else None
            args = (state, reason, closed_at, stamp, stored, marker.key if marker else None)
            conn.execute(sql.SET_STATE, (*args, _id_of(ticket.ref)))
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
        """Store the report of ISO `week`, replacing an earlier one of the same week."""
        if not _WEEK_RE.fullmatch(week):
            raise ValueError(f"week must look like 2026-W47, got {week!r}")
        stamp = self._stamp()
        with self._write() as conn:
            conn.execute(sql.UPSERT_REPORT, (week, title, body, stamp, stamp))
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
        """Change a ticket the way a person would in a tracker UI (the marker stays).

        Raises:
            NotFound: the ticket does not exist.
        """
        stamp = self._stamp()
        sets: dict[str, object] = {"updated_at": stamp}
        if title is not None:
            sets["title"] = title
        if owners is not None:
            sets["owners"] = _json(list(owners))
        if due is not None:
            sets["due"] = due.isoformat()
        if labels is not None:
            sets["labels"] = _json(list(labels))
        if state is not None:
            sets["state"] = state
            sets["closed_at"] = stamp if state in ("done", "dropped") else None
        with self._write() as conn:
            self._get(conn, ref)
            return self._set(conn, ref, sets)

    def comment_bodies(self, ticket: Ticket) -> list[str]:
        """The ticket's comments, oldest first (what `comment` stored)."""
        return self.comments(ticket.ref)

    def comments(self, ref: str) -> list[str]:
        """The comments of a ticket, oldest first."""
        query = "SELECT body FROM comments WHERE ticket_id = ? ORDER BY id"
        return [str(r[0]) for r in self._read(query, (_id_of(ref),))]

    def report(self, week: str) -> tuple[str, str] | None:
        """The stored (title, body) of a week's report."""
        rows = self._read("SELECT title, body FROM reports WHERE week = ?", (week,))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None
