"""Faults over 127.0.0.1: a 200-item sync through the engine converges without duplicates.

`responses` cannot show a request being re-sent after its answer was lost (API-NOTES 3.3), so
these runs go through a real socket to the fake served on the loopback interface. Faults hit
seeded random requests; the fake stores a create before failing or dropping most answers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import generated
from tests.backends.test_github import spec_problems
from tests.conftest import SPECS
from tests.fakes.github_fake import FakeClock, FakeServer, Fault, GitHubFake, Logged
from tracker.backends.github import GitHubBackend
from tracker.backends.github_body import parse_body
from tracker.engine import SyncOutcome, run_sync
from tracker.sync import SyncPolicy

TOKEN = "t0ken-secret"
AS_OF = dt.date(2026, 3, 1)
OWNERS = generated.OWNERS
CREATE = r"/repos/acme/infra/issues"
POSTMORTEMS, ITEMS = 20, 10
# Kinds after which the fake may or may not have stored the create (it stores it here when
# `after`); the rate-limit kinds are never applied, and are re-sent after the wait.
LOSSY = ("500", "502", "503", "timeout", "drop")
LIMITS = ("429", "secondary")


def postmortem(i: int) -> str:
    return generated.postmortem(i, ITEMS)


@pytest.fixture
def files(tmp_path: Path) -> list[tuple[Path, str]]:
    return generated.write_postmortems(tmp_path, POSTMORTEMS, ITEMS)


@pytest.fixture
def served() -> Iterator[tuple[GitHubFake, FakeServer]]:
    fake = GitHubFake(clock=FakeClock(tick=1), token=TOKEN, assignable=OWNERS)
    with FakeServer(fake) as server:
        yield fake, server


def backend(server: FakeServer, waits: list[float]) -> GitHubBackend:
    return GitHubBackend(
        "acme/infra",
        TOKEN,
        api_url=server.url,
        write_spacing_s=0,
        http_timeout_s=0.2,
        sleeper=waits.append,  # nothing sleeps: 60 s secondary waits are only recorded
        label_templates=("priority:{priority}",),
    )


def sync(files: list[tuple[Path, str]], gh: GitHubBackend) -> SyncOutcome:
    policy = SyncPolicy(max_writes=10_000, label_templates=("priority:{priority}",))
    return run_sync(files, gh, policy, as_of=AS_OF)


def schedule(rng: random.Random, creates: int) -> list[Fault]:
    """Each fault kind at seeded random points: on creates, and on the reads around them."""
    faults = []
    for kind in (*LOSSY, *LIMITS):
        for skip in rng.sample(range(creates), 3):
            after = kind in LOSSY and rng.random() < 0.75
            faults.append(Fault(kind, "POST", CREATE, after=after, skip=skip, delay_s=0.6))
        faults.append(Fault(kind, "GET", skip=rng.randrange(40), delay_s=0.6))
    return faults


def create_key(r: Logged) -> str:
    marker = parse_body(r.body.get("body") if isinstance(r.body, dict) else None).marker
    assert marker is not None
    return marker.key


@pytest.mark.parametrize("seed", [1, 2])
def test_a_faulty_first_sync_then_a_clean_one_converges(
    seed: int, files: list[tuple[Path, str]], served: tuple[GitHubFake, FakeServer]
) -> None:
    fake, server = served
    keys_total = POSTMORTEMS * ITEMS
    fake.inject(*schedule(random.Random(seed), keys_total))
    waits: list[float] = []
    first = sync(files, backend(server, waits))
    fired = Counter(f.kind for f in fake.faults for _ in range(f.fired))
    assert set(fired) == {*LOSSY, *LIMITS}, fired  # every kind hit at least once
    assert first.counts()["created"] + first.counts()["failed"] == keys_total
    assert 60.0 in waits and 3.0 in waits  # secondary limit and Retry-After, never slept

    fake.faults.clear()
    second = sync(files, backend(server, []))
    assert second.failed == 0

    creates = fake.requests("POST", CREATE)
    stored = Counter(create_key(r) for r in creates if r.applied)
    assert len(stored) == keys_total and set(stored.values()) == {1}  # none lost, none twice
    tracked = [i for i in fake.issues() if parse_body(i["body"]).marker is not None]
    assert len(tracked) == keys_total
    # A create is sent again only after an answer proving it was not stored: a rate limit,
    # or a failed request the fake never applied and a lookup that found nothing.
    sent = Counter(create_key(r) for r in creates)
    unapplied = Counter(create_key(r) for r in creates if not r.applied)
    for key, n in sent.items():
        assert n == 1 + unapplied[key], (key, n, unapplied[key])

    third = backend(server, [])
    again = sync(files, third)
    assert again.counts()["unchanged"] == keys_total
    assert third.requests_made == 2 and third.writes == 0
    if SPECS.is_dir():  # the loopback traffic too, faults and all
        assert spec_problems(fake.log) == []


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m tracker ARGS` as a user runs it, with only GITHUB_TOKEN set; never leaks it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "TRACKER_"))}
    env["GITHUB_TOKEN"] = TOKEN
    done = subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    return done


def cli_sync_json(cwd: Path, as_of: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(cli(cwd, "sync", "--format", "json", "--as-of", as_of).stdout)
    return out


def test_cli_sync_end_to_end_over_loopback(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer]
) -> None:
    fake, server = served
    (tmp_path / "postmortems").mkdir()
    (tmp_path / "postmortems" / "pm-000.md").write_text(postmortem(0), encoding="utf-8")
    (tmp_path / ".tracker.yml").write_text(
        "backend: github\n"
        f"github:\n  repo: acme/infra\n  api_url: {server.url}\n  write_spacing_s: 0\n"
        "  label_templates: ['priority:{priority}']\n",
        encoding="utf-8",
    )

    def run() -> dict[str, Any]:
        return cli_sync_json(tmp_path, "2026-03-01")

    first = run()
    assert first["created"] == ITEMS and len(fake.issues()) == ITEMS
    text = (tmp_path / "postmortems" / "pm-000.md").read_text(encoding="utf-8")
    assert text.count("(tracked: #") == ITEMS
    again = run()
    assert again["unchanged"] == ITEMS and again["requests"] == 1
    assert len(fake.issues()) == ITEMS


def test_cli_sync_updates_closes_and_writes_back_over_loopback(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer]
) -> None:
    """The same life cycle as on the local backend, through the CLI as a subprocess."""
    fake, server = served
    pm = tmp_path / "postmortems" / "pm-7.md"
    pm.parent.mkdir()
    pm.write_text(
        "---\nid: pm-7\ndate: 2026-01-05\n---\n# Incident 7\n\n## Action items\n\n"
        f"- [ ] Add a disk alert on db-1. Owner: @{OWNERS[0]} Due: 2026-02-01\n"
        f"- [ ] Shard the ledger table. Owner: @{OWNERS[1]} Due: 2026-03-01\n"
        f"- [ ] Rotate the replica password. Owner: @{OWNERS[2]} Due: 2026-04-01\n",
        encoding="utf-8",
    )
    (tmp_path / ".tracker.yml").write_text(
        f"backend: github\ngithub:\n  repo: acme/infra\n  api_url: {server.url}\n"
        "  write_spacing_s: 0\n",
        encoding="utf-8",
    )

    def sync() -> dict[str, Any]:
        return cli_sync_json(tmp_path, "2026-01-10")

    assert sync()["created"] == 3
    text = pm.read_text(encoding="utf-8")
    assert [n for n in (1, 2, 3) if f"(tracked: #{n})" in text] == [1, 2, 3]
    by_title = {i["title"]: i for i in fake.issues()}
    shard = by_title["Shard the ledger table."]
    # The file changes: a new due date for one item, another one done.
    text = text.replace("Due: 2026-03-01", "Due: 2026-03-15").replace(
        "- [ ] Add a disk alert", "- [x] Add a disk alert"
    )
    pm.write_text(text, encoding="utf-8")
    # A person closes the third ticket in GitHub.
    rotate = by_title["Rotate the replica password."]
    fake.edit(rotate["number"], state="closed", state_reason="completed")
    result = sync()
    assert (result["created"], result["updated"], result["closed"]) == (0, 1, 1)
    issues = {i["number"]: i for i in fake.issues()}
    assert "2026-03-15" in issues[shard["number"]]["body"]
    assert issues[by_title["Add a disk alert on db-1."]["number"]]["state"] == "closed"
    assert "- [x] Rotate the replica password." in pm.read_text(encoding="utf-8")
    assert len(fake.issues()) == 3
    # Once the file agrees with GitHub, nothing is left to write.
    sync()
    final = sync()
    assert final["created"] + final["updated"] + final["closed"] + final["reopened"] == 0


def test_cli_dry_run_against_the_fake_prints_the_plan_and_writes_nothing(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer]
) -> None:
    fake, server = served
    pm = tmp_path / "postmortems" / "pm-000.md"
    pm.parent.mkdir()
    pm.write_text(postmortem(0), encoding="utf-8")
    (tmp_path / ".tracker.yml").write_text(
        f"backend: github\ngithub:\n  repo: acme/infra\n  api_url: {server.url}\n",
        encoding="utf-8",
    )
    done = cli(tmp_path, "sync", "--dry-run")
    assert done.stdout.count("would create") == ITEMS
    assert f"plan: {ITEMS} created" in done.stderr
    assert fake.issues() == []
    # The listing, and the marker scan a plan with creates does first (issue 13); no write.
    assert [r.method for r in fake.log] == ["GET", "GET"]
    assert pm.read_text(encoding="utf-8") == postmortem(0)
