"""The action's reminder and webhook inputs, and the opt-in lines `tracker init` writes."""

from __future__ import annotations

import re

import yaml

from tests.test_action import ACTION_DATA, _parses
from tracker import action, gha, scaffold
from tracker.config import config_from_mapping

PUSH = gha.Event("push", {"before": "a" * 40, "ref": "refs/heads/main"})


def _step(**values: str) -> action.Step:
    return action.decide(action.Inputs.parse({"config": "ci.yml", **values}), PUSH)


def test_remind_true_runs_reminders_after_sync() -> None:
    step = _step(command="sync", remind="true", **{"as-of": "2026-03-09"})
    assert step.argv == ("--config", "ci.yml", "sync", "--as-of", "2026-03-09", "--remind")
    got = _parses(step.argv)
    assert got["remind"] is True and str(got["as_of"]) == "2026-03-09"


def test_command_remind_takes_dry_run_and_as_of() -> None:
    step = _step(command="remind", **{"dry-run": "true", "as-of": "2026-03-09"})
    assert step.argv == ("--config", "ci.yml", "remind", "--as-of", "2026-03-09", "--dry-run")
    assert _parses(step.argv)["dry_run"] is True
    assert step.notices == ()


def test_remind_with_another_command_is_reported_unused() -> None:
    step = _step(command="report", remind="true")
    assert step.argv == ("--config", "ci.yml", "report")
    assert step.notices == (
        "input remind is not used by report (use it with command: sync, or run command: remind)",
    )


def test_webhook_urls_are_exported_under_the_configured_names() -> None:
    inputs = action.Inputs.parse(
        {"slack-webhook-url": "https://hooks.slack.test/T/B/x", "teams-webhook-url": "https://t"}
    )
    assert action.secret_env(inputs, config_from_mapping({})) == {
        "SLACK_WEBHOOK_URL": "https://hooks.slack.test/T/B/x",
        "TEAMS_WEBHOOK_URL": "https://t",
    }
    custom = config_from_mapping({"notify": {"slack": {"webhook_env": "OPS_SLACK"}}})
    assert action.secret_env(inputs, custom)["OPS_SLACK"] == "https://hooks.slack.test/T/B/x"


def test_init_workflows_carry_the_opt_in_lines_and_they_work_uncommented() -> None:
    files = {f.path: f.content for f in scaffold.planned_files("acme/infra")}
    sync = files[".github/workflows/postmortem-sync.yml"]
    report = files[".github/workflows/postmortem-report.yml"]
    assert '          # remind: "true"\n' in sync
    assert "          # slack-webhook-url: ${{ secrets.SLACK_WEBHOOK_URL }}\n" in report
    for text in (sync, report):
        on = re.sub(r"^(\s+)# ((?:remind|slack-webhook-url|teams-webhook-url): )", r"\1\2",
                    text, flags=re.M)  # fmt: skip
        assert on != text
        steps = yaml.safe_load(on)["jobs"]
        with_ = next(s["with"] for job in steps.values() for s in job["steps"] if "with" in s
                     and "command" in s["with"])  # fmt: skip
        assert set(with_) <= set(ACTION_DATA["inputs"])
        assert {"remind", "slack-webhook-url"} & set(with_)
