"""60 days of `remind`, one run a day over 50 tickets: every stage exactly once per ticket and
due date, a changed due date re-arms, closed tickets hear nothing, and SIGKILL mid-run (in a
child process, before or after the comment is stored) never produces a second comment."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.backends.contract import make_draft
from tests.conftest import REPO
from tests.notify.sim import T0, one_day
from tracker.backends.local import LocalBackend
from tracker.notify import run as notify_run
from tracker.notify.stages import read_marks
from tracker.notify.state import Journal

START = dt.date(2026, 3, 2)
DAYS = 60
END = START + dt.timedelta(days=DAYS - 1)


def _tickets(backend: LocalBackend, n: int = 50) -> list[str]:
    refs = []
    for i in range(n):
        due = START + dt.timedelta(days=5 + (i * 7) % 45)
        t = backend.create(make_draft(key=f"pm-{i // 10}/item{i}", due=due, owners=(f"user{i}",)))
        refs.append(t.ref)
    return refs


def _expected(due: dt.date, first: dt.date, last: dt.date) -> set[str]:
    """Stages a ticket due on `due` is owed over [first, last], written out by hand."""
    want = set()
    if any(first <= due - dt.timedelta(days=k) <= last for k in (1, 2, 3)):
        want.add("due_soon")
    if first <= due <= last:
        want.add("due")
    k = 0  # `first` <= `due` in every call: each overdue repeat starts inside the window
    while due + dt.timedelta(days=1 + 7 * k) <= last:
        want.add(f"overdue.{k}")
        k += 1
    if due + dt.timedelta(days=14) <= last:
        want.add("escalate")
    return want


def _sent(backend: LocalBackend, ref: str) -> Counter[tuple[dt.date, str]]:
    marks = read_marks(backend.comments(ref))
    return Counter((m.due, s) for m in marks for s in m.stages)


def _child(db: Path, journal: Path, day: dt.date, kill_at: int, when: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.notify.sim", str(db), str(journal), day.isoformat(),
         str(kill_at), when],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return proc.returncode


def test_sixty_days_fifty_tickets(tmp_path: Path) -> None:
    db, jpath = tmp_path / "local.db", tmp_path / "remind.db"
    backend = LocalBackend(db, now=lambda: T0)
    refs = _tickets(backend)
    closed = refs[4]  # closed on day 3, before any reminder of it is due (due START+33)
    moved = refs[0]  # due START+5; moved to START+40 on day 20
    kill_days = {START + dt.timedelta(days=d): w for d, w in ((12, "after"), (26, "before"))}
    killed = 0
    for offset in range(DAYS):
        day = START + dt.timedelta(days=offset)
        if offset == 3:
            backend.edit(closed, state="done")
        if offset == 20:
            backend.edit(moved, due=START + dt.timedelta(days=40))
        if day in kill_days and _child(db, jpath, day, 2, kill_days[day]) == -9:
            killed += 1
            # The next run of the same day picks up where the killed one died.
        journal = Journal(jpath, notify_run.run_id(), alive=notify_run.process_alive)
        one_day(backend, journal, day)
    assert killed == 2, "the child processes were not killed mid-run"
    for i, ref in enumerate(refs):
        sent = _sent(backend, ref)
        assert all(n == 1 for n in sent.values()), f"{ref}: duplicates {sent}"
        due = START + dt.timedelta(days=5 + (i * 7) % 45)
        if ref == closed:
            assert sent == Counter(), "a closed ticket got a reminder"
            continue
        if ref == moved:
            new_due = START + dt.timedelta(days=40)
            before = {s for (d, s) in sent if d == due}
            after = {s for (d, s) in sent if d == new_due}
            # Day 0..19 at the old due date, day 20.. at the new one: re-armed, all stages again.
            assert before == _expected(due, START, START + dt.timedelta(days=19))
            assert after == _expected(new_due, START + dt.timedelta(days=20), END)
            continue
        assert {s for (d, s) in sent} == _expected(due, START, END), ref
        assert {d for (d, _) in sent} <= {due}


@pytest.mark.parametrize("when", ["before", "after"])
def test_killed_run_then_rerun_sends_each_comment_once(tmp_path: Path, when: str) -> None:
    db, jpath = tmp_path / "local.db", tmp_path / "remind.db"
    backend = LocalBackend(db, now=lambda: T0)
    refs = [backend.create(make_draft(key=f"pm/i{i}", due=START)).ref for i in range(5)]
    assert _child(db, jpath, START, 3, when) == -9
    stored = sum(len(backend.comments(r)) for r in refs)
    assert stored == (2 if when == "before" else 3)
    journal = Journal(jpath, notify_run.run_id(), alive=notify_run.process_alive)
    run = one_day(backend, journal, START)
    assert run.outcome is not None
    assert len(run.outcome.found) == (0 if when == "before" else 1)  # found by its marker
    assert [len(backend.comments(r)) for r in refs] == [1, 1, 1, 1, 1]
