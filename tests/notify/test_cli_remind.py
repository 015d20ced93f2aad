"""`tracker remind`, `tracker report --owner` and report delivery, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.notify.servers import webhook
from tests.test_cli import run, write
from tracker.backends.local import LocalBackend

PM = """---
id: pm-1
date: 2026-03-02
severity: SEV1
facilitator: Lead
---
# Queue backlog

## Action items

| Item | Owner | Due | Priority |
|---|---|---|---|
| Page on consumer lag above 5 minutes | @ann | 2026-03-12 | P1 |
| Write the failover runbook for db-1 | @bob |  | P0 |
"""

CONFIG = """backend: local
owners: {Lead: lead-login}
sync:
  due_policy: {severity: {SEV1: 14}, priority: {P0: 5}, days: business}
remind: {escalate_to: [facilitator]}
"""


@pytest.fixture(autouse=True)
def _no_actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    write(tmp_path, "postmortems/2026-03-02-queue.md", PM)
    write(tmp_path, ".tracker.yml", CONFIG)
    code, _, err = run(["sync", "--as-of", "2026-03-03", "--no-write-back"], capsys, tmp_path)
    assert code == 0, err
    return tmp_path


def comments(repo: Path) -> dict[str, list[str]]:
    db = LocalBackend(repo / ".tracker" / "local.db")
    return {t.title: db.comments(t.ref) for t in db.list_tracked()}


def test_dry_run_then_send_then_nothing_more(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # P0 in a SEV1: 5 business days from Monday 2026-03-02 -> Monday 2026-03-09, by policy.
    code, out, err = run(["remind", "--as-of", "2026-03-09", "--dry-run"], capsys, repo)
    assert code == 0, err
    assert out.startswith("would comment on local:2 (due):\n    @bob: this postmortem action")
    assert "The due date was set by policy: P0: 5 business days" in out
    assert "<!-- pmt-remind v1 due=2026-03-09 stages=due key=pm-1/" in out
    assert err.endswith("remind (dry run): 2 comments would be sent\n")  # ann: due_soon too
    assert all(c == [] for c in comments(repo).values())
    code, out, err = run(["remind", "--as-of", "2026-03-09"], capsys, repo)
    assert code == 0 and err.endswith("remind: 2 sent\n")
    code, out, err = run(["remind", "--as-of", "2026-03-09", "--format", "json"], capsys, repo)
    data = json.loads(out)
    assert code == 0 and data["planned"] == [] and data["sent"] == []
    sent = comments(repo)
    assert [len(v) for v in sent.values()] == [1, 1]


def test_escalation_mentions_the_facilitator_from_front_matter(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["remind", "--as-of", "2026-03-26"], capsys, repo)
    assert code == 0, err
    runbook = comments(repo)["Write the failover runbook for db-1"]
    assert runbook[0].startswith("@lead-login: escalation. this postmortem action item has been")


def test_remind_is_off_until_configured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, ".tracker.yml", "backend: local\n")
    code, out, err = run(["remind", "--as-of", "2026-03-09"], capsys, tmp_path)
    assert (code, out) == (2, "")
    assert "reminders are off; add `remind: {}`" in err


def test_report_owner_lists_that_owners_items(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["report", "--owner", "@ann", "--as-of", "2026-03-14", "--format", "json"],
                       capsys, repo)  # fmt: skip
    data = json.loads(out)
    assert code == 0
    assert [(i["title"], i["days_overdue"], i["due_by_policy"]) for i in data["items"]] == [
        ("Page on consumer lag above 5 minutes", 2, False)
    ]
    code, out, _ = run(["report", "--owner", "bob", "--as-of", "2026-03-05"], capsys, repo)
    assert out.startswith("Your postmortem action items, bob\n\n0 overdue and 1 due within 7")
    assert "due in 4 days · bob · due 2026-03-09 (set by policy)" in out


def test_failed_slack_delivery_keeps_the_posted_report(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo, ".tracker.yml", CONFIG + "notify: {slack: {}}\n")
    with webhook() as hook:
        hook.status, hook.answer = 500, b"internal_error"
        monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
        code, _, err = run(["report", "--post", "--as-of", "2026-03-16"], capsys, repo)
    assert code == 1
    assert "report posted: local:report/2026-W12" in err
    assert "delivery to slack failed: Slack webhook (SLACK_WEBHOOK_URL) answered 500" in err
    assert "SECRET-PATH" not in err
    stored = LocalBackend(repo / ".tracker" / "local.db").report("2026-W12")
    assert stored is not None and stored[0] == "Postmortem action items: 2026-W12"


def test_report_post_delivers_to_slack(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo, ".tracker.yml", CONFIG + "notify: {slack: {}}\n")
    with webhook() as hook:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
        code, _, err = run(["report", "--post", "--as-of", "2026-03-16"], capsys, repo)
    assert code == 0, err
    assert err.endswith("report delivered to slack\n")
    [post] = hook.posts
    assert post["json"]["blocks"][0]["text"]["text"] == "Postmortem action items: 2026-W12"


def test_digest_once_per_owner_and_day(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo, ".tracker.yml", CONFIG + "notify: {slack: {}}\n")
    with webhook() as hook:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", hook.url)
        for _ in range(2):
            code, _, err = run(["remind", "--as-of", "2026-03-10", "--digest"], capsys, repo)
            assert code == 0, err
    titles = [p["json"]["blocks"][0]["text"]["text"] for p in hook.posts]
    assert titles == ["Your postmortem action items, ann", "Your postmortem action items, bob"]
