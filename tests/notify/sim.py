"""A day of `tracker remind` over a local backend, in this process or in a child that the test
kills with SIGKILL at a chosen point (`python -m tests.notify.sim DB JOURNAL DAY KILL_AT WHEN`)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path

from tracker.backends.local import LocalBackend
from tracker.config import Config
from tracker.model import Ticket
from tracker.notify import run as notify_run
from tracker.notify.state import Journal

CONFIG = Config.model_validate({"remind": {"escalate_to": ["@acme/sre-leads"]}})
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


class Killing(LocalBackend):
    """A local backend whose process dies (SIGKILL) at the n-th comment: before it is stored
    ("before") or right after it is stored, before the journal records it ("after")."""

    def __init__(self, path: Path, kill_at: int, when: str) -> None:
        super().__init__(path, now=lambda: T0)
        self.kill_at = kill_at
        self.when = when
        self.count = 0

    def comment(self, ticket: Ticket, body: str) -> None:
        self.count += 1
        if self.count == self.kill_at and self.when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        super().comment(ticket, body)
        if self.count == self.kill_at and self.when == "after":
            os.kill(os.getpid(), signal.SIGKILL)


def one_day(backend: LocalBackend, journal: Journal, day: dt.date) -> notify_run.RemindRun:
    now = dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.timezone.utc)
    return notify_run.remind(
        CONFIG,
        Path("."),
        backend,
        "local",
        backend.list_tracked(),
        day=day,
        now=now,
        dry_run=False,
        honour_quiet=False,
        journal=journal,
    )


def main(argv: list[str]) -> None:
    db, journal_path, day, kill_at, when = argv
    backend = Killing(Path(db), int(kill_at), when)
    journal = Journal(Path(journal_path), notify_run.run_id(), alive=notify_run.process_alive)
    run = one_day(backend, journal, dt.date.fromisoformat(day))
    assert run.outcome is not None
    print(len(run.outcome.sent), len(run.outcome.found))


if __name__ == "__main__":
    main(sys.argv[1:])
