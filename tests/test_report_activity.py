"""Staleness counts human activity only: the tool's writes never reset it, a person's comment
does (GitHub fake served on 127.0.0.1; the postmortem's history in a git repository)."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github_fake import FakeClock, FakeServer, GitHubFake
from tests.test_report_history import commit, init_repo
from tracker.backends.github import GitHubBackend
from tracker.backends.github_body import parse_body
from tracker.discover import discover
from tracker.engine import run_sync
from tracker.gitlog import read_history
from tracker.report import compute
from tracker.sync import SyncPolicy

TOKEN = "t0ken-secret"
UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PM = """---
date: 2026-02-20
---
# Queue backlog

## Action items

- [ ] Alert on broker disk above 70%. Owner: @kofi Due: 2026-04-30
- [ ] Split the settlement vhost from webhooks. Owner: @dana Due: 2026-04-30
"""

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def served() -> Iterator[tuple[GitHubFake, FakeServer, FakeClock]]:
    clock = FakeClock(start=START, tick=1)
    fake = GitHubFake(clock=clock, token=TOKEN, assignable=("kofi", "dana"))
    with FakeServer(fake) as server:
        yield fake, server, clock


def backend(server: FakeServer, clock: FakeClock) -> GitHubBackend:
    return GitHubBackend(
        "acme/infra", TOKEN, api_url=server.url, write_spacing_s=0, sleeper=clock.sleep,
        clock=clock.time,
    )  # fmt: skip


def days_since(gh: GitHubBackend, repo: Path, as_of: dt.date) -> dict[str, int | None]:
    history = read_history(repo, ["postmortems/queue.md"])
    report = compute(gh.list_tracked(), as_of, history=history)
    return {i.title.split()[0]: i.days_since_activity for i in report.items}


def test_tool_writes_are_not_activity_and_a_comment_is(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer, FakeClock]
) -> None:
    fake, server, clock = served
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"postmortems/queue.md": PM}, dt.datetime(2026, 2, 21, 10, tzinfo=UTC))
    files = discover((), repo, ["postmortems/**/*.md"], [])
    gh = backend(server, clock)
    outcome = run_sync(files, gh, SyncPolicy(), as_of=START.date(), write_back="none")
    assert outcome.counts()["created"] == 2
    for issue in fake.issues():  # every write records when the tool made it
        marker = parse_body(issue["body"]).marker
        assert marker is not None and marker.written_at is not None
    # Right after the sync: days since the item was written (the commit of 21 Feb), not 0.
    assert days_since(backend(server, clock), repo, START.date()) == {"Alert": 8, "Split": 8}
    # Weeks of silence, with a no-op re-sync in between: it keeps growing, and goes stale.
    clock.advance(10 * 86400)
    again = backend(server, clock)
    resync = run_sync(files, again, SyncPolicy(), as_of=clock.now.date(), write_back="none")
    assert resync.counts()["unchanged"] == 2
    assert again.requests_made <= math.ceil(2 / 100) + 2 and again.writes == 0
    as_of = dt.date(2026, 3, 20)
    assert days_since(backend(server, clock), repo, as_of) == {"Alert": 27, "Split": 27}
    # A person comments on one issue on 15 March: that one resets, the other does not.
    clock.now = dt.datetime(2026, 3, 15, 16, 0, tzinfo=UTC)
    alert = next(i for i in fake.issues() if i["title"].startswith("Alert"))
    fake.comment_as(alert["number"], "kofi", "Dashboards are in; alert next week.")
    seen = days_since(backend(server, clock), repo, as_of)
    assert seen == {"Alert": 5, "Split": 27}
    report = compute(backend(server, clock).list_tracked(), as_of, stale_after_days=14,
                     history=read_history(repo, ["postmortems/queue.md"]))  # fmt: skip
    assert {i.title.split()[0] for i in report.items if i.stale} == {"Split"}
    # A comment costs the next no-op re-sync nothing either.
    last = backend(server, clock)
    run_sync(files, last, SyncPolicy(), as_of=as_of, write_back="none")
    assert last.requests_made <= math.ceil(2 / 100) + 2 and last.writes == 0


def test_an_edit_of_the_item_in_the_file_is_activity(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer, FakeClock]
) -> None:
    _, server, clock = served
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"postmortems/queue.md": PM}, dt.datetime(2026, 2, 21, 10, tzinfo=UTC))
    files = discover((), repo, ["postmortems/**/*.md"], [])
    run_sync(files, backend(server, clock), SyncPolicy(), as_of=START.date(), write_back="none")
    edited = PM.replace("Due: 2026-04-30\n- [ ] Split", "Due: 2026-05-15\n- [ ] Split")
    commit(repo, {"postmortems/queue.md": edited}, dt.datetime(2026, 3, 12, 10, tzinfo=UTC))
    # The tool pushes the new due date on 18 March: its own write, no activity of itself.
    clock.now = dt.datetime(2026, 3, 18, 9, 0, tzinfo=UTC)
    out = run_sync(files, backend(server, clock), SyncPolicy(), as_of=clock.now.date(),
                   write_back="none")  # fmt: skip
    assert out.counts()["updated"] == 1
    seen = days_since(backend(server, clock), repo, dt.date(2026, 3, 20))
    assert seen == {"Alert": 8, "Split": 27}  # Alert edited on 12 March; Split untouched
