"""The reminder journal: SQLite, intent recorded before a comment is sent.

Each reminder row goes `claimed` (committed before the comment is posted) -> `sent`, or
`unknown` when the answer to the post was lost. A claim by another run that is still within its
lease is respected (parallel runs on one journal never send twice); an expired claim or an
`unknown` row is taken over, and the taker reads the ticket's comments for the reminder's
hidden marker before posting (a run killed between post and record never repeats itself).
The daily write budget is counted in the same transaction as the claim.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tracker.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reminders (
    key TEXT NOT NULL, due TEXT NOT NULL, stage TEXT NOT NULL,
    state TEXT NOT NULL, run TEXT NOT NULL, at TEXT NOT NULL, ref TEXT NOT NULL,
    PRIMARY KEY (key, due, stage)
);
CREATE TABLE IF NOT EXISTS budget (day TEXT PRIMARY KEY, used INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS digests (
    owner TEXT NOT NULL, day TEXT NOT NULL, channel TEXT NOT NULL,
    PRIMARY KEY (owner, day, channel)
);
"""

Claim = tuple[str, ...]


class Journal:
    """One reminder journal file; every method is one short transaction."""

    def __init__(
        self,
        path: Path,
        run: str,
        lease: dt.timedelta = dt.timedelta(minutes=10),
        alive: Callable[[str], bool] = lambda _run: True,
    ) -> None:
        self.path = path
        self.run = run
        self.lease = lease
        self.alive = alive  # whether the run holding a claim still runs (False: take it over)
        self._ready = False

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"{self.path}: cannot open the reminder journal ({exc}); check remind.state_path"
            ) from None
        try:
            if not self._ready:
                conn.executescript(_SCHEMA)
                self._ready = True
            # Writers take the lock up front: two runs never both read "not sent" and send.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def sent(self, key: str, due: dt.date) -> frozenset[str]:
        """Stages recorded as sent for `key` at `due`."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT stage FROM reminders WHERE key = ? AND due = ? AND state = 'sent'",
                (key, due.isoformat()),
            ).fetchall()
        return frozenset(str(r[0]) for r in rows)

    def all_sent(self) -> dict[tuple[str, dt.date], frozenset[str]]:
        """Every (key, due) -> stages recorded as sent, in one read (planning a run)."""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT key, due, stage FROM reminders WHERE state = 'sent'"
            ).fetchall()
        out: dict[tuple[str, dt.date], set[str]] = {}
        for key, due, stage in rows:
            out.setdefault((str(key), dt.date.fromisoformat(due)), set()).add(str(stage))
        return {k: frozenset(v) for k, v in out.items()}

    def claim(
        self,
        key: str,
        due: dt.date,
        stages: tuple[str, ...],
        ref: str,
        now: dt.datetime,
        day: dt.date,
        budget: int,
    ) -> Claim | None:
        """Claim the stages not yet sent; None when another live run holds one of them or the
        day's budget is spent. Returns the stages claimed (maybe none: all were sent)."""
        with self._tx() as conn:
            todo: list[str] = []
            for stage in stages:
                row = conn.execute(
                    "SELECT state, run, at FROM reminders WHERE key = ? AND due = ? AND stage = ?",
                    (key, due.isoformat(), stage),
                ).fetchone()
                if row is None:
                    todo.append(stage)
                    continue
                state, run, at = str(row[0]), str(row[1]), dt.datetime.fromisoformat(row[2])
                if state == "sent":
                    continue
                live = now - at < self.lease and self.alive(run)
                if state == "claimed" and run != self.run and live:
                    return None  # another run is sending it right now
                todo.append(stage)
            if not todo:
                return ()
            used = conn.execute("SELECT used FROM budget WHERE day = ?", (day.isoformat(),))
            row = used.fetchone()
            if row is not None and int(row[0]) >= budget:
                return None
            conn.execute(
                "INSERT INTO budget (day, used) VALUES (?, 1) "
                "ON CONFLICT(day) DO UPDATE SET used = used + 1",
                (day.isoformat(),),
            )
            conn.executemany(
                "INSERT INTO reminders (key, due, stage, state, run, at, ref) "
                "VALUES (?, ?, ?, 'claimed', ?, ?, ?) ON CONFLICT(key, due, stage) DO UPDATE "
                "SET state = 'claimed', run = excluded.run, at = excluded.at, ref = excluded.ref",
                [(key, due.isoformat(), s, self.run, now.isoformat(), ref) for s in todo],
            )
            return tuple(todo)

    def budget_left(self, day: dt.date, budget: int) -> int:
        with self._tx(write=False) as conn:
            row = conn.execute("SELECT used FROM budget WHERE day = ?", (day.isoformat(),))
            found = row.fetchone()
        return max(0, budget - (int(found[0]) if found else 0))

    def mark(self, key: str, due: dt.date, stages: tuple[str, ...], state: str) -> None:
        """Record `sent` or `unknown` for stages this run claimed."""
        with self._tx() as conn:
            conn.executemany(
                "UPDATE reminders SET state = ? WHERE key = ? AND due = ? AND stage = ?",
                [(state, key, due.isoformat(), s) for s in stages],
            )

    def release(self, key: str, due: dt.date, stages: tuple[str, ...], day: dt.date) -> None:
        """Give back a claim whose comment certainly was not sent (and its budget)."""
        with self._tx() as conn:
            conn.executemany(
                "DELETE FROM reminders WHERE key = ? AND due = ? AND stage = ? AND run = ? "
                "AND state = 'claimed'",
                [(key, due.isoformat(), s, self.run) for s in stages],
            )
            conn.execute(
                "UPDATE budget SET used = MAX(0, used - 1) WHERE day = ?", (day.isoformat(),)
            )

    def digest_once(self, owner: str, day: dt.date, channel: str) -> bool:
        """Record a digest for (owner, day, channel); False when one was already recorded."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO digests (owner, day, channel) VALUES (?, ?, ?)",
                (owner, day.isoformat(), channel),
            )
            return cur.rowcount == 1

    def forget_digest(self, owner: str, day: dt.date, channel: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM digests WHERE owner = ? AND day = ? AND channel = ?",
                (owner, day.isoformat(), channel),
            )
