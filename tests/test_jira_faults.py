"""Faults over 127.0.0.1: a 200-item sync to Jira through the engine converges, no duplicates.

`responses` cannot show a request being re-sent after its answer was lost, so these runs go
through a real socket to the Jira fake served on the loopback interface. Faults hit seeded
points; with `after` the fake stores the create first and then fails, drops or stalls the
answer (a lost response). Nothing sleeps: rate-limit waits go to a recording sleeper; only the
client's socket timeout (0.3 s) is real, a few times per run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
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
from tests.backends.contract import make_draft
from tests.backends.test_jira import owners_map, spec_problems
from tests.conftest import SPECS
from tests.fakes.jira_fake import EMAIL, PAT, TOKEN, Fault, JiraFake, Logged, Mode
from tracker.backends.base import Capabilities, TicketDraft
from tracker.backends.jira import JiraBackend
from tracker.backends.jira_text import read_marker
from tracker.engine import SyncOutcome, run_sync
from tracker.errors import OutcomeUnknown
from tracker.model import Ticket
from tracker.sync import SyncPolicy

AS_OF = dt.date(2026, 3, 1)
OWNERS = generated.OWNERS  # dan and erin are not in the owners map
POSTMORTEMS, ITEMS = 20, 10
CREATE = r"/issue$"
# After these the fake may or may not have stored the create (it has, when `after`).
LOSSY = ("500", "502", "timeout", "drop")
# Jira's rate limiter refuses before doing anything: waited out and sent again.
LIMITS = ("429", "503")


def postmortem(i: int) -> str:
    return generated.postmortem(i, ITEMS)


@pytest.fixture
def files(tmp_path: Path) -> list[tuple[Path, str]]:
    return generated.write_postmortems(tmp_path, POSTMORTEMS, ITEMS)


@pytest.fixture(params=["cloud", "datacenter"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[JiraFake, str]]:
    fake = JiraFake(request.param, hang_s=0.6)
    with fake.serve() as url:
        yield fake, url


class OneByOne(JiraBackend):
    """The same backend with bulk create off: the fault matrix then hits every single create."""

    @property
    def capabilities(self) -> Capabilities:
        return dataclasses.replace(super().capabilities, bulk_create=False)


def backend(fake: JiraFake, url: str, waits: list[float], *, bulk: bool = True) -> JiraBackend:
    creds: dict[str, Any] = (
        {"email": EMAIL, "token": TOKEN} if fake.mode == "cloud" else {"pat": PAT}
    )
    return (JiraBackend if bulk else OneByOne)(
        url,
        project="OPS",
        deployment=fake.mode,
        owners=owners_map(fake.mode),
        http_timeout_s=0.3,
        sleeper=waits.append,
        clock=lambda: dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
        **creds,
    )


def sync(files: list[tuple[Path, str]], jira: JiraBackend, mode: Mode) -> SyncOutcome:
    policy = SyncPolicy(max_writes=10_000, owners=owners_map(mode))
    return run_sync(files, jira, policy, as_of=AS_OF)


def schedule(rng: random.Random, creates: int) -> list[Fault]:
    """Each fault kind at seeded points: on creates, and on the reads around them."""
    faults = []
    for kind in (*LOSSY, *LIMITS):
        for skip in rng.sample(range(creates), 3):
            after = kind in LOSSY and rng.random() < 0.75
            faults.append(
                Fault(kind, "POST", CREATE, after=after, skip=skip, retry_after="3")  # type: ignore[arg-type]
            )
        faults.append(Fault(kind, "GET", skip=rng.randrange(40), retry_after="3"))  # type: ignore[arg-type]
    return faults


def keys_of(r: Logged) -> list[str]:
    """The item keys a create or bulk create carried (from the marker in each description)."""
    if r.endpoint == "issue/bulk":
        bodies = [u["fields"] for u in r.body["issueUpdates"]]
    else:
        bodies = [r.body["fields"]]
    out = []
    for fields in bodies:
        marker = read_marker(fields.get("description"))[0]
        assert marker is not None
        out.append(marker.key)
    return out


def stored_keys(r: Logged) -> list[str]:
    """Keys the fake stored for a create request (per item for a bulk one)."""
    if not r.applied or r.status not in (201, 400):
        return []
    keys = keys_of(r)
    if r.endpoint == "issue":
        return keys if r.status == 201 else []
    failed = {e["failedElementNumber"] for e in r.response.get("errors", [])}
    return [k for n, k in enumerate(keys) if n not in failed]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_faulty_first_sync_then_a_clean_one_converges(
    seed: int, files: list[tuple[Path, str]], served: tuple[JiraFake, str]
) -> None:
    fake, url = served
    total = POSTMORTEMS * ITEMS
    fake.faults.extend(schedule(random.Random(seed), total))
    waits: list[float] = []
    first = sync(files, backend(fake, url, waits, bulk=False), fake.mode)
    fired = Counter(f.kind for f in fake.faults for _ in range(f.fired))
    assert set(fired) == {*LOSSY, *LIMITS}, fired  # every kind hit at least once
    assert first.counts()["created"] + first.counts()["failed"] == total
    assert 3.0 in waits  # Retry-After honoured through the sleeper, never slept

    fake.calm()
    second = sync(files, backend(fake, url, []), fake.mode)
    assert second.failed == 0, [r.error for r in second.items if r.error]

    creates = fake.requests("POST", r"issue(/bulk)?")
    stored = Counter(k for r in creates for k in stored_keys(r))
    assert len(stored) == total and set(stored.values()) == {1}  # none lost, none twice
    assert len(fake.issues) == total
    # A create is sent again only after an answer proving it was not stored: a rate limit,
    # or a failure the fake never applied followed by a lookup that found nothing.
    sent = Counter(k for r in creates for k in keys_of(r))
    unapplied = Counter(k for r in creates if not r.applied for k in keys_of(r))
    for key, n in sent.items():
        assert n == 1 + unapplied[key], (key, n, unapplied[key])

    third = backend(fake, url, [])
    before = len(fake.log)
    again = sync(files, third, fake.mode)
    assert again.counts()["unchanged"] == total
    assert third.requests_made == 2  # ceil(200 / 100) listing pages, nothing else
    assert [r.method for r in fake.log[before:]] == ["GET", "GET"]
    if SPECS.is_dir():  # the loopback traffic too, faults and all
        assert spec_problems(fake.log) == []


def test_bulk_creates_under_faults_converge(served: tuple[JiraFake, str]) -> None:
    """What an engine does with create_many: unknown outcomes are looked up, never re-sent."""
    fake, url = served
    fake.faults += [  # one per request, in order: each fires on the first create it sees
        Fault("429", "POST", "issue/bulk", retry_after="3"),  # chunk 1, waited out
        Fault("502", "POST", "issue/bulk", after=True),  # chunk 1 again: stored, answer lost
        Fault("drop", "POST", "issue/bulk", after=True),  # chunk 2: stored, answer lost
        Fault("timeout", "POST", "issue/bulk"),  # chunk 3: never stored
    ]
    drafts = [make_draft(f"bulk/{i:03d}", title=f"Bulk {i}", text=f"Bulk {i}") for i in range(200)]
    waits: list[float] = []
    jira = backend(fake, url, waits)
    out = jira.create_many(drafts)
    unknown = [d for d, r in zip(drafts, out, strict=True) if isinstance(r, OutcomeUnknown)]
    assert len(unknown) == 150 and waits == [3.0]
    assert len(fake.issues) == 150  # chunks 1, 2 and 4; the timed-out chunk 3 was not stored

    fake.calm()
    missing: list[TicketDraft] = []
    for d in unknown:
        found = jira.find(d.key)
        if found is None:
            missing.append(d)
    assert len(missing) == 50
    assert all(isinstance(r, Ticket) for r in jira.create_many(missing))
    keys = Counter(t.key for t in backend(fake, url, []).list_tracked())
    assert len(keys) == 200 and set(keys.values()) == {1}


def test_engine_bulk_sync_under_faults_converges(
    files: list[tuple[Path, str]], served: tuple[JiraFake, str]
) -> None:
    """run_sync sends creates through create_many; lost chunks are looked up, never re-sent."""
    fake, url = served
    total = POSTMORTEMS * ITEMS
    fake.faults += [
        Fault("429", "POST", "issue/bulk", retry_after="3"),
        Fault("502", "POST", "issue/bulk", after=True),  # stored, answer lost
        Fault("drop", "POST", "issue/bulk", after=True),  # stored, answer lost
        Fault("timeout", "POST", "issue/bulk"),  # never stored
    ]
    first = sync(files, backend(fake, url, []), fake.mode)
    assert first.counts()["created"] + first.counts()["failed"] == total
    fake.calm()
    sync(files, backend(fake, url, []), fake.mode)
    keys = Counter(t.key for t in backend(fake, url, []).list_tracked())
    assert len(keys) == total and set(keys.values()) == {1}
    sent = Counter(
        k
        for r in fake.log
        if r.endpoint in ("issue", "issue/bulk") and r.method == "POST"
        for k in stored_keys(r)
    )
    assert set(sent.values()) == {1}  # no key was ever stored twice
    bulk_posts = [r for r in fake.log if r.endpoint == "issue/bulk"]
    assert len(bulk_posts) <= math.ceil(total / 50) + 3
    again = sync(files, backend(fake, url, []), fake.mode)
    assert again.counts()["unchanged"] == total


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_cli_sync_end_to_end_over_loopback(tmp_path: Path, mode: Mode) -> None:
    """Cloud with JIRA_EMAIL + JIRA_API_TOKEN, Data Center with JIRA_PAT (deployment detected)."""
    fake = JiraFake(mode)
    with fake.serve() as url:
        (tmp_path / "postmortems").mkdir()
        (tmp_path / "postmortems" / "pm-000.md").write_text(postmortem(0), encoding="utf-8")
        owners = "".join(f"  {k}: {v}\n" for k, v in owners_map(mode).items())
        (tmp_path / ".tracker.yml").write_text(
            f"backend: jira\njira:\n  url: {url}\n  project: OPS\nowners:\n{owners}",
            encoding="utf-8",
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "TRACKER_", "JIRA_"))
        }
        if mode == "cloud":
            env |= {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN}
        else:
            env |= {"JIRA_PAT": PAT}

        def run() -> dict[str, Any]:
            cmd = [
                sys.executable,
                "-m",
                "tracker",
                "sync",
                "--format",
                "json",
                "--as-of",
                "2026-03-01",
            ]
            done = subprocess.run(
                cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, done.stderr
            assert TOKEN not in done.stdout + done.stderr and PAT not in done.stdout + done.stderr
            out: dict[str, Any] = json.loads(done.stdout)
            return out

        first = run()
        assert first["created"] == ITEMS and len(fake.issues) == ITEMS
        text = (tmp_path / "postmortems" / "pm-000.md").read_text(encoding="utf-8")
        assert text.count("(tracked: OPS-") == ITEMS
        again = run()
        assert again["unchanged"] == ITEMS and again["requests"] == 2  # serverInfo + listing
        assert len(fake.issues) == ITEMS
