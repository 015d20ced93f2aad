"""Reminder comments on the GitHub and Jira fakes: mentions in each dialect, the hidden marker,
once per stage, and a lost answer to the comment's POST that never becomes a second comment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from tests.backends.contract import make_draft
from tests.backends.test_jira import make_backend
from tests.fakes.github_fake import FakeClock, Fault, GitHubFake
from tests.fakes.jira_fake import JiraFake
from tracker.backends.github import GitHubBackend
from tracker.config import Config
from tracker.notify import run as notify_run
from tracker.notify.stages import read_marks
from tracker.notify.state import Journal

DAY = dt.date(2026, 7, 1)
NOW = dt.datetime(2026, 7, 1, 9, tzinfo=dt.timezone.utc)
CFG = Config.model_validate(
    {
        "owners": {"Alice": "alice", "Lead": "bob"},
        "remind": {"escalate_to": ["@acme/sre-leads", "facilitator"]},
    }
)


def _run(backend: Any, name: str, root: Path, day: dt.date = DAY) -> notify_run.RemindRun:
    journal = Journal(root / "remind.db", "test-run")
    return notify_run.remind(
        CFG, root, backend, name, backend.list_tracked(), day=day, now=NOW,
        dry_run=False, honour_quiet=False, journal=journal,
    )  # fmt: skip


@pytest.fixture
def github() -> Iterator[tuple[GitHubFake, GitHubBackend]]:
    clock = FakeClock()
    fake = GitHubFake(clock=clock, token="tok")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        gh = GitHubBackend("acme/infra", "tok", write_spacing_s=0.0, sleeper=clock.sleep,
                           clock=clock.time, owners={"Alice": "alice"})  # fmt: skip
        yield fake, gh


def _bodies(fake: GitHubFake) -> list[str]:
    return [str(c["body"]) for cs in fake.state.comments.values() for c in cs]


def test_github_issue_gets_an_at_mention_and_a_hidden_marker(
    github: tuple[GitHubFake, GitHubBackend], tmp_path: Path
) -> None:
    fake, gh = github
    gh.create(make_draft(key="pm-1/a", due=DAY + dt.timedelta(days=2)))
    run = _run(gh, "github", tmp_path)
    assert run.outcome is not None and len(run.outcome.sent) == 1
    [body] = _bodies(fake)
    assert body.startswith("@alice: this postmortem action item is due in 2 days, on 2026-07-03.")
    assert body.endswith("<!-- pmt-remind v1 due=2026-07-03 stages=due_soon key=pm-1/a -->")
    again = _run(gh, "github", tmp_path)  # same day: nothing more
    assert again.planned == [] and len(_bodies(fake)) == 1


def test_github_escalation_mentions_team_and_facilitator(
    github: tuple[GitHubFake, GitHubBackend], tmp_path: Path
) -> None:
    fake, gh = github
    pm = tmp_path / "postmortems" / "2026-06-15-queue.md"
    pm.parent.mkdir(parents=True)
    pm.write_text("---\nid: pm-1\nfacilitator: Lead\n---\n# Queue\n", encoding="utf-8")
    gh.create(make_draft(key="pm-1/a", due=DAY - dt.timedelta(days=14)))
    _run(gh, "github", tmp_path)
    [body] = _bodies(fake)
    assert body.startswith("@acme/sre-leads @bob: escalation. this postmortem action item has")
    assert "owner: @alice" in body
    assert "stages=overdue.1,escalate" in body


def test_github_lost_answer_to_the_comment_is_not_sent_twice(
    github: tuple[GitHubFake, GitHubBackend], tmp_path: Path
) -> None:
    fake, gh = github
    gh.create(make_draft(key="pm-1/a", due=DAY))
    lost = Fault("502", method="POST", path=r".*/comments", after=True)
    fake.inject(lost)
    run = _run(gh, "github", tmp_path)
    assert lost.fired == 1 and run.outcome is not None
    assert len(run.outcome.sent) == 1 and run.outcome.failed == []  # found after the 502
    assert len(_bodies(fake)) == 1
    _run(gh, "github", tmp_path)
    assert len(_bodies(fake)) == 1


def test_github_lost_journal_still_never_repeats(
    github: tuple[GitHubFake, GitHubBackend], tmp_path: Path
) -> None:
    fake, gh = github
    gh.create(make_draft(key="pm-1/a", due=DAY))
    _run(gh, "github", tmp_path)
    (tmp_path / "remind.db").unlink()  # a fresh runner: the journal is gone
    run = _run(gh, "github", tmp_path)
    assert run.outcome is not None and [s for _, s in run.outcome.found] == [("due",)]
    assert len(_bodies(fake)) == 1


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_jira_comment_mentions_by_account_id_or_username(mode: str, tmp_path: Path) -> None:
    fake = JiraFake(mode)  # type: ignore[arg-type]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        jira = make_backend(fake, deployment=mode)
        made = jira.create(make_draft(key="pm-1/a", due=DAY - dt.timedelta(days=1)))
        run = _run(jira, "jira", tmp_path)
        assert run.outcome is not None and len(run.outcome.sent) == 1
        [body] = fake.comments[made.ref]
        who = "[~accountid:5b10a2844c20165700ede21a]" if mode == "cloud" else "[~alice]"
        assert body.startswith(f"{who}: this postmortem action item is 1 day overdue")
        assert body.endswith("{color:#97a0af}pmt-remind v1 due=2026-06-30 stages=overdue.0 "
                             "key=pm-1/a{color}")  # fmt: skip
        assert [m.stages for m in read_marks(jira.comment_bodies(made))] == [("overdue.0",)]
        _run(jira, "jira", tmp_path)
        assert len(fake.comments[made.ref]) == 1


def test_github_mentions_only_assignees_never_a_stranger(
    github: tuple[GitHubFake, GitHubBackend], tmp_path: Path
) -> None:
    fake, gh = github
    draft = make_draft(key="pm-1/a", due=DAY, owners=("Alice", "mallory"),
                       assignees=("alice", "mallory"))  # fmt: skip
    gh.create(draft)
    [ticket] = gh.list_tracked()
    assert set(ticket.owners) == {"alice", "mallory"}  # mallory is not assignable in the fake
    _run(gh, "github", tmp_path)
    [body] = _bodies(fake)
    assert body.startswith("@alice mallory: this postmortem action item is due today")
