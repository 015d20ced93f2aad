"""action.yml checked against itself and the CLI, tracker.action's event decisions, and
`tracker lint --changed-since` (the pull-request lint the action runs)."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from tests.action_runner import ACTION, git_repo, load_action
from tests.conftest import require_specs
from tests.test_cli import run, write
from tracker import action, gha, scaffold
from tracker.cli import cli
from tracker.config import Config, GitHubConfig, JiraConfig

ACTION_DATA = load_action()
STEPS: list[dict[str, Any]] = ACTION_DATA["runs"]["steps"]
RUN_STEP = next(s for s in STEPS if s.get("id") == "run")


def _check_jsonschema(files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions"]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        check=False,
    )


def _expr(text: str) -> str:
    return "${{ " + text + " }}"


# --- action.yml on its own ---------------------------------------------------------------------


def test_action_yml_validates_against_the_vendored_schema(tmp_path: Path) -> None:
    done = _check_jsonschema([ACTION])
    assert done.returncode == 0, done.stdout + done.stderr
    # ...and the schema does reject a mistake, so the pass above means something.
    broken = tmp_path / "action.yml"
    broken.write_text(ACTION.read_text().replace("shell: bash", "shellx: bash", 1))
    assert _check_jsonschema([broken]).returncode != 0


def test_composite_action_shape() -> None:
    assert ACTION_DATA["runs"]["using"] == "composite"
    for step in STEPS:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], f"{step.get('id')}: pass values through env:"
    text = ACTION.read_text()
    uses = [s["uses"] for s in STEPS if "uses" in s]
    # v6: Node 24 (v5 runs on the deprecated Node 20).
    assert uses == ["actions/setup-python@e797f83bcb11b83ae66e0230d6156d7c80228e7c"]
    assert "e797f83bcb11b83ae66e0230d6156d7c80228e7c  # v6.0.0" in text
    assert ACTION_DATA["name"].startswith("postmortem-tracker")  # unique on the Marketplace
    install = next(s for s in STEPS if s.get("id") == "install")
    assert install["env"]["SOURCE"] == _expr("github.action_path")
    assert install["env"]["VENV"].startswith(_expr("runner.temp"))
    assert RUN_STEP["env"]["TRACKER_PYTHON"] == _expr("steps.install.outputs.python")
    assert "-m tracker.action" in RUN_STEP["run"]


def test_every_input_is_described_and_reaches_a_step() -> None:
    inputs: dict[str, Any] = ACTION_DATA["inputs"]
    used: dict[str, list[str]] = {}
    for step in STEPS:
        for key, value in {**step.get("env", {}), **step.get("with", {})}.items():
            for name in re.findall(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", str(value)):
                used.setdefault(name, []).append(f"{step.get('id')}.{key}")
    assert set(used) == set(inputs), "declared inputs and inputs used by steps differ"
    for name, spec in inputs.items():
        assert spec["description"].strip(), name
        assert isinstance(spec.get("default", ""), str), f"{name}: defaults are strings"
        assert len(used[name]) == 1, (name, used[name])
    # Every input the run step gets is named so that gha.action_env() gives it back by name.
    for var, value in RUN_STEP["env"].items():
        m = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", value)
        if m:
            assert var == "ACTION_" + m.group(1).upper().replace("-", "_"), var
    assert inputs["github-token"]["default"] == _expr("github.token")
    assert inputs["python-version"]["default"] == "3.12"
    assert inputs["command"]["default"] == "sync"


def _params(command: click.Command) -> list[click.Parameter]:
    return list(command.params)


def test_every_non_secret_input_maps_to_a_cli_option_that_exists() -> None:
    inputs = set(ACTION_DATA["inputs"])
    mapped = {"command"} | set(action.OPTIONS) | set(action.SECRETS) | set(action.SETUP_INPUTS)
    assert inputs == mapped, f"unmapped: {inputs - mapped}, stale: {mapped - inputs}"
    assert not set(action.OPTIONS) & set(action.SECRETS)
    assert set(action.COMMANDS) <= set(cli.commands)  # type: ignore[attr-defined]
    assert (
        "sync | report | lint | status | remind" in ACTION_DATA["inputs"]["command"]["description"]
    )
    for name, per_command in action.OPTIONS.items():
        for command_name, option in per_command.items():
            command = cli if command_name == "*" else cli.commands[command_name]  # type: ignore[attr-defined]
            params = _params(command)
            if option == "PATH":
                assert any(isinstance(p, click.Argument) and p.name == "paths" for p in params)
            else:
                opts = {o for p in params if isinstance(p, click.Option) for o in p.opts}
                assert option in opts, f"input {name}: `tracker {command_name}` has no {option}"
    setup = next(s for s in STEPS if "uses" in s)
    for name in action.SETUP_INPUTS:
        assert _expr(f"inputs.{name}") in setup["with"].values()


def _parses(argv: tuple[str, ...]) -> dict[str, Any]:
    """Parse a `tracker` command line as click would, without running it."""
    at = next(i for i, a in enumerate(argv) if a in cli.commands)  # type: ignore[attr-defined]
    ctx = cli.make_context("tracker", list(argv[:at]))
    name = argv[at]
    sub = cli.commands[name].make_context(name, list(argv[at + 1 :]), parent=ctx)  # type: ignore[attr-defined]
    return {"command": name, **ctx.params, **sub.params}


@pytest.mark.parametrize("command", action.COMMANDS)
def test_argv_built_from_every_input_parses(command: str) -> None:
    values = {
        "command": command,
        "config": "ci/.tracker.yml",
        "paths": "postmortems/a.md 'docs/post mortems'",
        "dry-run": "false",
        "write-back": "none",
        "as-of": "2026-03-02",
        "post-report": "true",
        "changed-only": "true",
    }
    push = gha.Event("push", {"before": "a" * 40, "ref": "refs/heads/main"})
    step = action.decide(action.Inputs.parse(values), push)
    assert step.argv is not None
    got = _parses(step.argv)
    assert got["command"] == command and got["config_path"] == "ci/.tracker.yml"
    assert str(got["as_of"]) == "2026-03-02"
    if command in ("sync", "lint"):
        assert got["paths"] == ("postmortems/a.md", "docs/post mortems")
    if command == "sync":
        dest = next(p.name for p in cli.commands["sync"].params if "--write-back" in p.opts)  # type: ignore[attr-defined]
        assert got[str(dest)] == "none"
    if command == "lint":
        assert got["changed_since"] == "a" * 40
    if command == "report":
        assert got["post"] is True
    unused = {"sync": {"post-report"}, "lint": {"write-back", "post-report"}}.get(command)
    for name in unused or ():
        assert f"input {name} is not used by {command}" in step.notices


def test_secrets_are_exported_under_the_names_the_config_gives() -> None:
    values = {
        "github-token": "ghs_app",
        "jira-api-token": "atl",
        "jira-email": "bot@acme.test",
        "jira-pat": "",
        "jira-url": "https://acme.atlassian.net",
    }
    inputs = action.Inputs.parse(values)
    assert action.secret_env(inputs, Config()) == {
        "GITHUB_TOKEN": "ghs_app",
        "JIRA_API_TOKEN": "atl",
        "JIRA_EMAIL": "bot@acme.test",
        "TRACKER_JIRA_URL": "https://acme.atlassian.net",
    }
    custom = Config(
        github=GitHubConfig(token_env="GH_APP_TOKEN"),
        jira=JiraConfig(token_env="J_TOKEN", email_env="J_MAIL", pat_env="J_PAT"),
    )
    inputs = action.Inputs.parse({**values, "jira-pat": "pat"})
    assert action.secret_env(inputs, custom) == {
        "GH_APP_TOKEN": "ghs_app",
        "J_TOKEN": "atl",
        "J_MAIL": "bot@acme.test",
        "J_PAT": "pat",
        "TRACKER_JIRA_URL": "https://acme.atlassian.net",
    }
    # Every secret reaches the run step, and the tokens are masked before tracker starts.
    for name in action.SECRETS:
        var = "ACTION_" + name.upper().replace("-", "_")
        assert RUN_STEP["env"][var] == _expr(f"inputs.{name}")
    loop = re.search(r"for name in ([\w ]+); do", RUN_STEP["run"])
    assert loop is not None
    assert set(loop.group(1).split()) == {
        "ACTION_GITHUB_TOKEN",
        "ACTION_JIRA_API_TOKEN",
        "ACTION_JIRA_PAT",
        "ACTION_SLACK_WEBHOOK_URL",
        "ACTION_TEAMS_WEBHOOK_URL",
    }
    assert RUN_STEP["run"].index("::add-mask::") < RUN_STEP["run"].index("tracker.action")


def test_outputs_are_the_run_steps() -> None:
    outputs = ACTION_DATA["outputs"]
    assert set(outputs) == {
        "created",
        "updated",
        "closed",
        "failed",
        "deferred",
        "report-url",
        "pull-request-url",
        "commit-url",
    }
    for name, spec in outputs.items():
        assert spec["value"] == _expr(f"steps.run.outputs.{name}")
        assert spec["description"].strip()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"command": "deploy"}, "input command: 'deploy' is not one of sync, report"),
        ({"write-back": "file"}, "input write-back: 'file' is not one of pull-request"),
        ({"dry-run": "maybe"}, "input dry-run: 'maybe' is not a boolean"),
        ({"paths": "'open"}, "input paths: No closing quotation"),
    ],
)
def test_bad_input_values_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(action.ConfigError, match=re.escape(message)):
        action.Inputs.parse(values)


def test_booleans_and_defaults() -> None:
    default = action.Inputs.parse({})
    assert (default.command, default.dry_run, default.changed_only) == ("sync", False, True)
    assert action.Inputs.parse({"dry-run": "True", "changed-only": "FALSE"}).dry_run is True
    assert action.Inputs.parse({"changed-only": "false"}).changed_only is False


# --- events ------------------------------------------------------------------------------------


def _event(file: str, name: str | None = None) -> gha.Event:
    path = require_specs() / "events" / file
    default = file.split(".", maxsplit=1)[0]
    return gha.read_event(name or default, str(path))


def _decide(command: str, event: gha.Event, **more: str) -> action.Step:
    return action.decide(action.Inputs.parse({"command": command, **more}), event)


def test_push_to_the_default_branch() -> None:
    push = _event("push.json")
    assert _decide("sync", push) == action.Step(("sync",))
    before = push.text("before")
    assert _decide("lint", push).argv == ("lint", "--changed-since", before)
    assert _decide("lint", push, **{"changed-only": "false"}).argv == ("lint",)
    # The webhook shape (with file lists) gives the same answer: the lists are never read.
    assert _decide("lint", _event("push.webhook.json", "push")) == _decide("lint", push)


def _edited(event: gha.Event, **changes: Any) -> gha.Event:
    payload = copy.deepcopy(dict(event.payload))
    for path, value in changes.items():
        node = payload
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return gha.Event(event.name, payload)


def test_push_elsewhere_deleted_or_new_branch() -> None:
    push = _event("push.json")
    other = _edited(push, ref="refs/heads/feature")
    step = _decide("sync", other)
    assert step.argv is None
    assert step.notices == (
        "push to refs/heads/feature, not the default branch master: nothing synced "
        "(add `branches: [master]` to the workflow's push trigger)",
    )
    assert _decide("lint", other).argv == ("lint", "--changed-since", push.text("before"))
    deleted = _edited(push, deleted=True, after=gha.NULL_SHA)
    assert _decide("sync", deleted) == action.Step(
        None, ("the push deleted refs/heads/master: nothing to do",)
    )
    created = _edited(push, created=True, before=gha.NULL_SHA)
    step = _decide("lint", created)
    assert step.argv == ("lint",)
    assert step.notices == (
        "the push created refs/heads/master: no earlier commit to compare with; "
        "linting every postmortem",
    )


def test_merged_pull_request_syncs() -> None:
    merged = _event("pull_request.closed.merged.json")
    assert _decide("sync", merged) == action.Step(("sync",))
    into_other = _edited(merged, pull_request__base__ref="release")
    assert _decide("sync", into_other).notices == (
        "#2 was merged into release, not the default branch master: nothing synced",
    )


def test_pull_request_closed_without_merging_does_nothing() -> None:
    unmerged = _event("pull_request.closed.unmerged.json")
    for command in action.COMMANDS:
        step = _decide(command, unmerged)
        assert step == action.Step(None, ("#2 was closed without merging: nothing to do",))


def test_pull_request_from_a_fork_is_linted_only() -> None:
    fork = _event("pull_request.closed.merged.fork.json")
    base = fork.text("pull_request", "base", "sha")
    for command in ("sync", "report", "status"):
        step = _decide(command, fork, **{"post-report": "true"})
        assert step.argv == ("lint", "--changed-since", base)
        assert len(step.notices) == 1  # no "input post-report is not used by lint"
        assert step.notices[0] == (
            "#2 comes from Octocoders/Hello-World: in a pull request from a fork the token is "
            f"read-only and secrets are not passed, so {command} cannot write; running lint "
            "only (the push to the default branch after the merge can sync)"
        )
    assert _decide("lint", fork) == action.Step(("lint", "--changed-since", base))
    # A deleted fork (head.repo null) is a fork; a branch of a repository that is itself a fork
    # (head.repo.fork true, same repository) is not.
    deleted = _edited(fork, pull_request__head__repo=None)
    assert deleted.pr_from_fork()
    assert "comes from a deleted fork" in _decide("sync", deleted).notices[0]
    same = _event("pull_request.closed.merged.json")
    assert not _edited(same, pull_request__head__repo__fork=True).pr_from_fork()
    # pull_request_target runs with the base repository's token: not read-only.
    target = gha.Event("pull_request_target", fork.payload)
    assert _decide("sync", target).argv == ("sync",)


def test_opened_pull_request() -> None:
    opened = _event("pull_request.opened.json")
    base = opened.text("pull_request", "base", "sha")
    assert _decide("lint", opened) == action.Step(("lint", "--changed-since", base))
    assert _decide("sync", opened) == action.Step(
        None, ("#2 is opened: sync runs once it is merged",)
    )


def test_schedule_and_dispatch_run_as_asked() -> None:
    schedule = _event("schedule.json")
    assert _decide("report", schedule, **{"post-report": "true"}).argv == ("report", "--post")
    assert _decide("sync", schedule).argv == ("sync",)
    assert _decide("lint", schedule).argv == ("lint",)
    dispatch = _event("workflow_dispatch.json")
    assert _decide("sync", dispatch, **{"dry-run": "true"}).argv == ("sync", "--dry-run")
    step = _decide("report", dispatch, **{"dry-run": "true", "post-report": "true"})
    assert step == action.Step(("report",), ("dry-run: the report is not posted",))


def test_event_payload_is_read_leniently(tmp_path: Path) -> None:
    assert gha.read_event(None, None) == gha.Event("")
    bad = tmp_path / "event.json"
    bad.write_text("[1, 2]")
    event = gha.read_event("push", str(bad))
    assert event.problem == f"the event payload {bad} is not a JSON object"
    step = _decide("sync", event)
    assert step.argv == ("sync",) and "running sync without event details" in step.notices[0]
    missing = gha.read_event("push", str(tmp_path / "nope.json"))
    assert missing.payload == {} and missing.problem is not None
    odd = gha.Event("pull_request", {"action": "closed", "pull_request": {"merged": "yes"}})
    assert _decide("sync", odd).argv is None  # `merged` must be the JSON true
    assert gha.Event("x", {"a": [1]}).get("a", "b") is None


# --- tracker lint --changed-since and annotations -----------------------------------------------

GOOD = "---\nid: {id}\n---\n# T\n## Action items\n- Add a disk alert on db-1. Owner: @ann Due: 2026-07-01\n"
BAD = "---\nid: {id}\n---\n# T\n## Action items\n- Improve monitoring\n"


def test_lint_changed_since_checks_only_the_changed_postmortems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = git_repo(
        tmp_path,
        {
            "postmortems/old-bad.md": BAD.format(id="old"),
            "postmortems/edited.md": GOOD.format(id="edited"),
            "postmortems/TEMPLATE.md": BAD.format(id="tpl"),
        },
        {
            "postmortems/edited.md": BAD.format(id="edited"),
            "postmortems/new.md": GOOD.format(id="old"),  # reuses the old file's id
            "postmortems/TEMPLATE.md": BAD.format(id="tpl2"),  # excluded by the config
            "notes/other.md": BAD.format(id="n"),  # outside the paths globs
        },
    )
    (tmp_path / "postmortems" / "old-bad.md").unlink()  # deleted files are not linted
    code, out, err = run(["lint", "--changed-since", base], capsys, cwd=tmp_path)
    lines = out.splitlines()
    assert code == 1
    assert {line.split(":")[0] for line in lines} == {"postmortems/edited.md"}
    assert "postmortems/new.md:1:1: PM013 postmortem id 'old'" not in out  # old-bad.md is gone
    assert "2 postmortems changed since" in err
    # Put the old file back: the duplicate id is reported on the file that brought it.
    subprocess.run(
        ["git", "checkout", "-q", "--", "postmortems/old-bad.md"], cwd=tmp_path, check=True
    )
    code, out, _ = run(["lint", "--changed-since", base], capsys, cwd=tmp_path)
    assert (
        "postmortems/new.md:1:1: PM013 postmortem id 'old' is also used by postmortems/old-bad.md"
        in out
    )
    assert "old-bad.md:" not in out.replace("used by postmortems/old-bad.md", "")
    code, out, err = run(["lint", "--changed-since", "HEAD"], capsys, cwd=tmp_path)
    assert (code, out) == (0, "")
    assert "0 postmortems changed since HEAD" in err


def test_lint_changed_since_an_unknown_commit_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git_repo(tmp_path, {"postmortems/a.md": GOOD.format(id="a")}, {})
    sha = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    code, out, err = run(["lint", "--changed-since", sha], capsys, cwd=tmp_path)
    assert (code, out) == (2, "")
    assert f"error: cannot list the files changed since {sha}: " in err
    assert "use actions/checkout with `fetch-depth: 0`" in err
    code, _, err = run(["lint", "--changed-since", "main"], capsys, cwd=tmp_path.parent)
    assert code == 2 and "cannot list the files changed since main" in err


def test_annotations_are_capped_and_the_summary_lists_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    items = "".join(f"- Task {n} is vague\n" for n in range(12))
    write(tmp_path, "postmortems/a.md", f"# T\n## Action items\n{items}")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = run(["lint"], capsys, cwd=tmp_path)
    assert code == 1
    lines = out.splitlines()
    errors = [x for x in lines if x.startswith("::error ")]
    warnings = [x for x in lines if x.startswith("::warning ")]
    assert len(errors) == 10 and len(warnings) <= 10 and len(lines) == len(errors) + len(warnings)
    assert (
        errors[0] == "::error file=postmortems/a.md,line=3,title=PM001::" + errors[0].split("::")[2]
    )
    text = summary.read_text()
    rows = [x for x in text.splitlines() if x.startswith("| `postmortems/a.md`")]
    hidden = len(rows) - len(lines)
    assert hidden > 0
    assert f"{hidden} of them are not annotated in the diff" in text
    assert sum("PM001 error" in r for r in rows) == 12


def test_cap_annotations_keeps_order_per_level() -> None:
    from tracker.model import Problem

    probs = [("a", Problem("PM001", "error", f"e{n}", n)) for n in range(12)]
    probs += [("a", Problem("PM008", "warning", f"w{n}", n)) for n in range(3)]
    shown, hidden = gha.cap_annotations(probs, per_level=10)
    assert [p.message for _, p in shown] == [f"e{n}" for n in range(10)] + ["w0", "w1", "w2"]
    assert hidden == 2


def test_step_summary_and_outputs_of_a_sync(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "postmortems/a.md", GOOD.format(id="a"))
    (tmp_path / ".tracker.yml").write_text("backend: local\n")
    out_file, summary = tmp_path / "out", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out_file))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, _, _ = run(["sync", "--as-of", "2026-03-01"], capsys, cwd=tmp_path)
    assert code == 0
    assert out_file.read_text() == "created=1\nupdated=0\nclosed=0\nfailed=0\ndeferred=0\n"
    text = summary.read_text()
    assert text.startswith("### Postmortem sync: 1 created\n\n| Ticket | Item | Result | Why |\n")
    assert re.search(r"^\| local:1 \| `a/[0-9a-f]+` \| created \| new item \|$", text, re.M), text
    assert text.endswith("\n\n- links written to `postmortems/a.md`\n")
    summary.write_text("")
    run(["sync", "--dry-run", "--as-of", "2026-03-01"], capsys, cwd=tmp_path)
    assert summary.read_text() == "### Postmortem sync plan (dry run): 1 unchanged\n"


def test_init_workflows_use_only_inputs_the_action_declares() -> None:
    inputs = set(ACTION_DATA["inputs"])
    seen = 0
    for planned in scaffold.planned_files("acme/infra"):
        if not planned.path.startswith(".github/workflows/"):
            continue
        workflow = yaml.safe_load(planned.content)
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if step.get("uses") == scaffold.DEFAULT_ACTION_REF:
                    seen += 1
                    assert set(step.get("with", {})) <= inputs, planned.path
                    assert step["with"]["command"] in action.COMMANDS
    assert seen == 3


def test_readme_workflows_validate_and_use_only_declared_inputs(tmp_path: Path) -> None:
    text = (ACTION.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## GitHub Action\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    workflows = [b for b in blocks if b.startswith("name:")]
    assert len(workflows) == 4
    files = []
    for n, body in enumerate(workflows):
        files.append(tmp_path / f"wf{n}.yml")
        files[-1].write_text(body, encoding="utf-8")
        data = yaml.safe_load(body)
        assert "permissions" in data
        for job in data["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith(scaffold.DEFAULT_ACTION_REF.split("@")[0]):
                    assert set(step["with"]) <= set(ACTION_DATA["inputs"]), step["with"]
                    assert step["with"]["command"] in action.COMMANDS
                elif step.get("uses", "").startswith("actions/"):
                    assert re.fullmatch(r"actions/[\w-]+@[0-9a-f]{40}", step["uses"])
                assert "${{" not in step.get("run", "")
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ACTION_DATA["inputs"]:
        assert f"`{name}`" in section, f"README's input table lacks {name}"
    for name in ACTION_DATA["outputs"]:
        assert f"`{name}`" in section, f"README lacks output {name}"
