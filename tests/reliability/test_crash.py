"""Crash safety: `tracker sync` as a child process, SIGKILLed at seeded points, then run to the end.

Kill points are drawn from a seeded generator: a tenth of the applying phase (read from the
progress lines the CLI prints) plus a few milliseconds, or a plain delay from the start (start-up,
listing, planning). The GitHub fake on 127.0.0.1 answers each request 4 ms late, so a run lasts
long enough to be cut anywhere. After every kill: no key has two tickets, every postmortem is its
original bytes plus whole `(tracked: REF)` tags naming the item's own ticket and parses with the
same keys, and the SQLite file passes `PRAGMA integrity_check`. Then clean runs finish the work.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github_fake import FakeClock, FakeServer, GitHubFake, Outcome
from tests.reliability import matrix
from tests.reliability.cli_runs import (
    Kill,
    Killed,
    check_files,
    child_env,
    leftovers,
    run,
    run_and_kill,
)
from tracker.backends.github_body import parse_body

TOKEN = "t0ken-crash"
KILLS = 10


def setup_repo(
    root: Path, postmortems: int, items: int, first: int = 0
) -> tuple[dict[Path, bytes], dict[Path, str]]:
    """Postmortems `first` .. `first + postmortems - 1` with `items` items each."""
    originals: dict[Path, bytes] = {}
    rel_of: dict[Path, str] = {}
    for i in range(first, first + postmortems):
        rel = f"postmortems/pm-{i:03d}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = matrix.postmortem(i)
        if items != matrix.ITEMS:  # more items per file: repeat the list with other numbers
            extra = [
                line.replace("failure mode", f"failure mode {k}x")
                for k in range(1, items // matrix.ITEMS)
                for line in text.splitlines()
                if line.startswith("- [ ]")
            ]
            text = text + "\n".join(extra) + "\n"
        path.write_text(text, encoding="utf-8")
        originals[path] = path.read_bytes()
        rel_of[path] = rel
    return originals, rel_of


def summary(kills: list[Killed], states: list[tuple[int, int]]) -> str:
    """Where the kills landed, judged by what they left: (tickets, refs in files) after each."""
    landed = sum(k.killed for k in kills)
    return (
        f"{len(kills)} kill attempts, {landed} killed a running sync; "
        f"(tickets, refs in files) after each: {states}"
    )


# --- GitHub --------------------------------------------------------------------------------------


class KillingFake(GitHubFake):
    """The GitHub fake that SIGKILLs the client when it has applied its `kill_at`-th write:
    the write is stored and its answer goes to a dead process (a crash mid-request)."""

    victim: int | None = None
    kill_at: int | None = None
    writes_seen = 0

    def handle(
        self, method: str, url: str, headers: dict[str, str], raw: bytes | None, base: str = ""
    ) -> Outcome:
        out = super().handle(method, url, headers, raw, base)
        if method != "GET" and self.victim is not None:
            self.writes_seen += 1
            if self.kill_at is not None and self.writes_seen == self.kill_at:
                os.kill(self.victim, signal.SIGKILL)
        return out


@pytest.fixture
def github(tmp_path: Path) -> Iterator[tuple[KillingFake, Path]]:
    fake = KillingFake(clock=FakeClock(tick=1), token=TOKEN, assignable=matrix.OWNERS)
    fake.latency_s = 0.004
    with FakeServer(fake) as server:
        (tmp_path / ".tracker.yml").write_text(
            f"backend: github\ngithub:\n  repo: acme/infra\n  api_url: {server.url}\n"
            "  write_spacing_s: 0\n",
            encoding="utf-8",
        )
        yield fake, tmp_path


def github_refs(fake: GitHubFake) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for issue in fake.issues():
        m = parse_body(issue["body"]).marker
        out[f"#{issue['number']}"] = m.key if m else None
    return out


def test_sigkill_at_seeded_points_against_github(github: tuple[KillingFake, Path]) -> None:
    fake, root = github
    originals, rel_of = setup_repo(root, 10, 10)  # 100 items, 100 more whenever all synced
    env = child_env(GITHUB_TOKEN=TOKEN)
    rng = random.Random(20260301)
    kills, states = [], []
    for n in range(KILLS):
        refs = github_refs(fake)
        if len(refs) == 10 * len(originals) and check_files(originals, rel_of, refs) == len(refs):
            more = setup_repo(root, 10, 10, first=len(originals))  # all done: new work
            originals.update(more[0])
            rel_of.update(more[1])
        total = 10 * len(originals)
        fake.writes_seen = 0
        fake.kill_at = None
        kill = Kill.draw(rng, 1.2)
        if n % 2 == 0:  # every other run dies inside a write the fake applied
            fake.kill_at = rng.randint(1, total - len(refs) + 3)  # 3: labels, maybe
            kill = Kill(0, 30.0)
        k = run_and_kill(root, env, kill, on_start=lambda pid: setattr(fake, "victim", pid))
        fake.victim = None
        assert k.killed or k.returncode == 0, k.stderr
        kills.append(k)
        keys = Counter(github_refs(fake).values())
        assert all(n == 1 for n in keys.values()), "a key got two issues"
        states.append((len(keys), check_files(originals, rel_of, github_refs(fake))))
    print("\n" + summary(kills, states))
    assert sum(k.killed for k in kills) >= KILLS // 2  # most kills hit a running sync
    total = 10 * len(originals)

    done = run(root, env, "--format", "json")
    assert done.returncode == 0, done.stderr
    again = run(root, env, "--format", "json")
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["unchanged"] == total and out["created"] == 0
    assert out["requests"] == -(-total // 100)  # the listing, nothing else
    refs = github_refs(fake)
    assert sorted(Counter(refs.values()).values()) == [1] * total  # none lost, none twice
    assert check_files(originals, rel_of, refs) == total  # every item carries its own ref
    stray = leftovers(root / "postmortems", [p.name for p in originals])
    assert all(p.suffix == ".tmp" and p.name.startswith(".") for p in stray)


# --- local (SQLite) ------------------------------------------------------------------------------


def local_refs(db: Path) -> dict[str, str | None]:
    with sqlite3.connect(db) as conn:
        return {f"local:{i}": key for i, key in conn.execute("SELECT id, key FROM tickets")}


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_sigkill_at_seeded_points_against_the_local_backend(tmp_path: Path) -> None:
    root = tmp_path
    # 1,000 items in one run (no write budget to speak of): long enough to be cut mid-write.
    (root / ".tracker.yml").write_text("sync:\n  max_writes: 5000\n", encoding="utf-8")
    originals, rel_of = setup_repo(root, 50, 20)
    db = root / ".tracker" / "local.db"
    env = child_env()
    rng = random.Random(17)
    kills, states = [], []
    for _ in range(KILLS + 2):
        k = run_and_kill(root, env, Kill.draw(rng, 0.6, 0.01))
        assert k.killed or k.returncode == 0, k.stderr
        kills.append(k)
        if db.exists():
            assert integrity(db) == "ok"
            keys = Counter(local_refs(db).values())
            assert all(n == 1 for n in keys.values()), "a key got two tickets"
            states.append((len(keys), check_files(originals, rel_of, local_refs(db))))
    print("\n" + summary(kills, states))
    assert sum(k.killed for k in kills) >= KILLS // 2

    done = run(root, env, "--format", "json")
    assert done.returncode == 0, done.stderr
    again = run(root, env, "--format", "json")
    out = json.loads(again.stdout)
    assert out["unchanged"] == 1000 and out["created"] == 0
    assert integrity(db) == "ok"
    refs = local_refs(db)
    assert sorted(Counter(refs.values()).values()) == [1] * 1000
    assert check_files(originals, rel_of, refs) == 1000
    # An atomic write cut by SIGKILL may leave its hidden temporary file; never a postmortem.
    stray = leftovers(root / "postmortems", [p.name for p in originals])
    assert all(p.suffix == ".tmp" and p.name.startswith(".") for p in stray)
