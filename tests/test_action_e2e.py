"""action.yml run step by step as the runner runs it, on each event payload of ../shared/specs,
against the GitHub fake (and the Jira fake) on 127.0.0.1.

The workspace is a real git repository with two commits: `base` (one postmortem) and `head`
(adds postmortems/2026-06-15-checkout.md, the file push.json's commit adds). Each payload is
fed as it is, except that its commit SHAs (`before`/`after`, `pull_request.base.sha`/`head.sha`/
`merge_commit_sha`) are replaced by the workspace's, so `git diff` can see them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.action_runner import ActionRun, git_repo, run_action
from tests.conftest import REPO, require_specs
from tests.fakes import jira_fake
from tests.fakes.github_fake import FakeClock, FakeServer, GitHubFake
from tests.test_jira_faults import owners_map

TOKEN = "t0ken-secret"
AS_OF = "2026-06-20"
CONFIG = "backend: github\ngithub:\n  write_spacing_s: 0\n"
OLD = (
    "---\nid: 2026-05-01-db\ndate: 2026-05-01\n---\n# Database failover\n\n## Action items\n\n"
    "| Item | Owner | Due | Priority |\n|---|---|---|---|\n"
    "| Alert on replica lag above 30s | @alice | 2026-06-01 | P1 |\n"
    "| Document the failover runbook | @bob | 2026-07-01 | P2 |\n"
)
NEW = (
    "---\nid: 2026-06-15-checkout\ndate: 2026-06-15\n---\n# Checkout outage\n\n"
    "## Action items\n\n"
    "- [ ] Add a timeout to the payment client. Owner: @alice Due: 2026-07-15\n"
    "- [ ] Load-test checkout at 3x peak. Owner: @bob Due: 2026-08-01\n"
    "- [ ] Page on checkout error rate. Owner: @carol Due: 2026-07-01\n"
)
BAD_NEW = (
    "---\nid: 2026-06-15-checkout\ndate: 2026-06-15\n---\n# Checkout outage\n\n"
    "## Action items\n\n"
    "- [ ] Add a timeout to the payment client. Owner: @alice Due: 2026-07-15\n"
    "- [ ] Improve monitoring\n"
    "- [ ] Load-test checkout. Owner: TBD Due: 2026-08-01\n"
)
BAD_OLD = "---\nid: 2026-05-01-db\n---\n# Database\n\n## Action items\n\n- Fix it\n"


@dataclass
class Env:
    workspace: Path
    temp: Path
    base: str
    head: str
    fake: GitHubFake
    url: str

    def run(
        self, file: str, inputs: dict[str, str], *, extra_env: dict[str, str] | None = None
    ) -> ActionRun:
        """The action on the payload `file` (GITHUB_* set as specs/events/README.md says)."""
        specs = require_specs() / "events"
        payload: dict[str, Any] = json.loads((specs / file).read_text(encoding="utf-8"))
        name = file.split(".", maxsplit=1)[0]
        ref, sha, head_ref, base_ref = (
            f"refs/heads/{payload['repository']['default_branch']}",
            self.head,
            "",
            "",
        )
        if name == "push":
            payload["before"], payload["after"] = self.base, self.head
            payload["head_commit"]["id"] = self.head
        elif name == "pull_request":
            pr = payload["pull_request"]
            pr["base"]["sha"], pr["head"]["sha"] = self.base, self.head
            pr["merge_commit_sha"] = self.head
            head_ref, base_ref = pr["head"]["ref"], pr["base"]["ref"]
            ref = base_ref if pr["merged"] else f"refs/pull/{pr['number']}/merge"
        event_path = self.temp / "event.json"
        event_path.write_text(json.dumps(payload), encoding="utf-8")
        env = {
            "GITHUB_REPOSITORY": payload["repository"]["full_name"],
            "GITHUB_API_URL": self.url,
            "GITHUB_SERVER_URL": self.url,
            "GITHUB_REF": ref,
            "GITHUB_SHA": sha,
            "GITHUB_HEAD_REF": head_ref,
            "GITHUB_BASE_REF": base_ref,
            **(extra_env or {}),
        }
        return run_action(
            workspace=self.workspace,
            temp=self.temp,
            inputs={"as-of": AS_OF, **inputs},
            event_name=name,
            event_path=event_path,
            event=payload,
            env=env,
            token=TOKEN,
        )


@contextmanager
def setup(
    tmp_path: Path,
    repo: str = "Codertocat/Hello-World",
    *,
    base: dict[str, str] | None = None,
    head: dict[str, str] | None = None,
    config: str = CONFIG,
    read_only: bool = False,
) -> Iterator[Env]:
    owner, name = repo.split("/")
    fake = GitHubFake(owner, name, token=TOKEN, clock=FakeClock(tick=1), read_only=read_only)
    workspace = tmp_path / "workspace"
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    base_sha, head_sha = git_repo(
        workspace,
        {".tracker.yml": config, "postmortems/2026-05-01-db.md": OLD, **(base or {})},
        {"postmortems/2026-06-15-checkout.md": NEW, **(head or {})},
    )
    with FakeServer(fake) as server:
        yield Env(workspace, temp, base_sha, head_sha, fake, server.url)


def writes(fake: GitHubFake) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.log if r.method != "GET"]


def assert_token_masked(result: ActionRun) -> None:
    first = result.steps[-1].stdout.splitlines()[0]
    assert first == f"::add-mask::{TOKEN}"
    rest = result.stdout.replace(first, "", 1) + result.stderr
    assert TOKEN not in rest


# --- sync --------------------------------------------------------------------------------------


def test_push_syncs_sets_outputs_and_summary_and_runs_once_more_idempotently(
    tmp_path: Path,
) -> None:
    with setup(tmp_path) as env:
        result = env.run("push.json", {"command": "sync"})
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(env.fake.issues()) == 5
        assert result.outputs == {
            "created": "5",
            "updated": "0",
            "closed": "0",
            "failed": "0",
            "deferred": "0",
            "report-url": "",
            "pull-request-url": "",
            "commit-url": "",
        }
        run_step = result.steps[-1]
        assert f"tracker sync --as-of {AS_OF}" in run_step.stdout.splitlines()
        assert_token_masked(result)
        assert run_step.summary.startswith("### Postmortem sync: 5 created\n\n| Ticket |")
        assert f"| [#1]({env.url}/Codertocat/Hello-World/issues/1) | `" in run_step.summary
        # Installed from the action's own folder into a venv under runner.temp, once.
        venv = env.temp / "postmortem-tracker-venv"
        pip = (venv / "pip.log").read_text().splitlines()
        assert pip == [
            "-m pip install --quiet --disable-pip-version-check --require-hashes "
            f"--only-binary :all: -r {REPO}/requirements/action.txt",
            "-m pip install --quiet --disable-pip-version-check --no-deps "
            f"--no-build-isolation --no-index {REPO}",
        ]
        assert result.steps[1].outputs == {"python": f"{venv}/bin/python"}
        titles = {i["title"] for i in env.fake.issues()}
        assert "Page on checkout error rate." in titles
        again = env.run("push.json", {"command": "sync"})
        assert again.returncode == 0, again.stderr
        assert again.outputs["created"] == "0" and len(env.fake.issues()) == 5
        assert len((venv / "pip.log").read_text().splitlines()) == 2  # not installed again


def test_merged_pull_request_syncs(tmp_path: Path) -> None:
    with setup(tmp_path) as env:
        result = env.run("pull_request.closed.merged.json", {"command": "sync"})
        assert result.returncode == 0, result.stderr
        assert result.outputs["created"] == "5" and len(env.fake.issues()) == 5
        assert "::notice::" not in result.stdout


def test_pull_request_closed_without_merging_does_nothing_and_says_so(tmp_path: Path) -> None:
    with setup(tmp_path) as env:
        result = env.run("pull_request.closed.unmerged.json", {"command": "sync"})
        assert result.returncode == 0, result.stderr
        assert env.fake.log == []
        assert "::notice::#2 was closed without merging: nothing to do" in result.stdout
        assert result.summary == (
            "### Postmortem tracker: nothing to do\n\n#2 was closed without merging: nothing to do\n"
        )
        assert result.outputs["created"] == ""


def test_pull_request_from_a_fork_is_linted_only_and_nothing_is_written(tmp_path: Path) -> None:
    with setup(tmp_path, read_only=True) as env:
        result = env.run(
            "pull_request.closed.merged.fork.json",
            {"command": "sync", "write-back": "pull-request"},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert env.fake.log == []  # not one request: no ticket, no pull request, no 403
        out = result.stdout.splitlines()
        assert out[1].startswith(
            "::notice::#2 comes from Octocoders/Hello-World: in a pull request from a fork the "
            "token is read-only and secrets are not passed, so sync cannot write; running lint only"
        )
        assert f"tracker lint --as-of {AS_OF} --changed-since {env.base}" in out
        assert "### Postmortem lint: 0 problems in 1 files" in result.summary
        assert result.outputs["created"] == ""


def test_workflow_dispatch_dry_run_writes_nothing(tmp_path: Path) -> None:
    with setup(tmp_path, "octo-org/octo-repo") as env:
        result = env.run("workflow_dispatch.json", {"command": "sync", "dry-run": "true"})
        assert result.returncode == 0, result.stderr
        assert writes(env.fake) == [] and env.fake.issues() == []
        assert result.outputs["created"] == "5"  # what would be
        assert result.summary.startswith("### Postmortem sync plan (dry run): 5 created")
        assert (
            "(tracked:"
            not in (env.workspace / "postmortems" / "2026-06-15-checkout.md").read_text()
        )


def test_schedule_syncs_then_posts_the_weekly_report(tmp_path: Path) -> None:
    with setup(tmp_path, "octo-org/octo-repo") as env:
        assert env.run("schedule.json", {"command": "sync"}).returncode == 0
        result = env.run("schedule.json", {"command": "report", "post-report": "true"})
        assert result.returncode == 0, result.stdout + result.stderr
        reports = [i for i in env.fake.issues() if i["title"].startswith("Postmortem action items")]
        assert len(reports) == 1
        assert (
            result.outputs["report-url"]
            == f"{env.url}/octo-org/octo-repo/issues/{reports[0]['number']}"
        )
        assert "2026-W25" in reports[0]["title"]
        assert "overdue" in result.summary.lower()


def test_github_token_goes_to_the_variable_the_config_names(tmp_path: Path) -> None:
    config = CONFIG + "  token_env: GH_APP_TOKEN\n"
    with setup(tmp_path, config=config) as env:
        result = env.run("push.json", {"command": "sync", "github-token": TOKEN})
        assert result.returncode == 0, result.stderr
        assert len(env.fake.issues()) == 5
        assert_token_masked(result)


def test_jira_inputs_reach_the_jira_backend(tmp_path: Path) -> None:
    jira = jira_fake.JiraFake("cloud")
    owners = "".join(f"  {k}: {v}\n" for k, v in owners_map("cloud").items())
    config = f"backend: jira\njira:\n  project: OPS\n  deployment: cloud\nowners:\n{owners}"
    with jira.serve() as url, setup(tmp_path, "octo-org/octo-repo", config=config) as env:
        inputs = {
            "command": "sync",
            "jira-url": url,
            "jira-email": jira_fake.EMAIL,
            "jira-api-token": jira_fake.TOKEN,
        }
        result = env.run("workflow_dispatch.json", inputs)
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(jira.issues) == 5 and result.outputs["created"] == "5"
        assert env.fake.log == []
        mask = result.steps[-1].stdout.splitlines()
        assert mask[:2] == [f"::add-mask::{TOKEN}", f"::add-mask::{jira_fake.TOKEN}"]
        assert jira_fake.TOKEN not in "\n".join(mask[2:]) + result.stderr


# --- lint --------------------------------------------------------------------------------------


def test_lint_on_a_pull_request_annotates_the_changed_postmortem_only(tmp_path: Path) -> None:
    with setup(
        tmp_path,
        base={"postmortems/2026-05-01-db.md": BAD_OLD},
        head={"postmortems/2026-06-15-checkout.md": BAD_NEW},
    ) as env:
        result = env.run("pull_request.opened.json", {"command": "lint"})
        assert result.returncode == 1  # the step fails on lint errors
        path = "postmortems/2026-06-15-checkout.md"
        annotations = result.annotations("error") + result.annotations("warning")
        assert annotations, result.stdout + result.stderr
        assert all(a.split(",")[0].endswith(f"file={path}") for a in annotations)
        lines = {int(m) for a in annotations for m in re.findall(r",line=(\d+)", a)}
        assert lines == {10, 11}  # the vague item and the placeholder owner, exactly
        assert any(",line=10," in a and "PM001" in a for a in result.annotations("error"))
        # "Owner: TBD" is a placeholder: the item has no owner
        assert any(",line=11," in a and "PM001" in a for a in result.annotations("error"))
        assert "2026-05-01-db.md" not in result.stdout + result.summary  # unchanged, not linted
        rows = [x for x in result.summary.splitlines() if x.startswith(f"| `{path}` |")]
        assert len(rows) == len(annotations)
        assert env.fake.log == []


def test_lint_on_push_compares_with_before(tmp_path: Path) -> None:
    with setup(tmp_path, head={"postmortems/2026-06-15-checkout.md": BAD_NEW}) as env:
        result = env.run("push.json", {"command": "lint"})
        assert result.returncode == 1
        assert f"--changed-since {env.base}" in result.stdout
        result = env.run("push.json", {"command": "lint", "changed-only": "false"})
        assert result.returncode == 1
        assert "in 2 files" in result.summary


def test_bad_input_fails_the_step_with_an_error(tmp_path: Path) -> None:
    with setup(tmp_path) as env:
        result = env.run("push.json", {"command": "deploy"})
        assert result.returncode == 2
        assert (
            "::error::input command: 'deploy' is not one of sync, report, lint, status"
            in result.stdout
        )
        assert env.fake.log == []


# --- write-back through a pull request ----------------------------------------------------------


def test_write_back_pull_request_opens_one_pull_request_in_the_fake(tmp_path: Path) -> None:
    with setup(tmp_path) as env:
        git = env.fake.git
        git.default_branch = "master"
        checkout = env.workspace / "postmortems"
        before = {f"postmortems/{p.name}": p.read_bytes() for p in checkout.glob("*.md")}
        master = git.seed({**before, ".tracker.yml": CONFIG.encode()}, branch="master")
        result = env.run("push.json", {"command": "sync", "write-back": "pull-request"})
        assert result.returncode == 0, result.stdout + result.stderr
        (pr,) = git.pulls()
        url = f"{env.url}/Codertocat/Hello-World/pull/{pr['number']}"
        assert result.outputs["pull-request-url"] == url
        assert result.outputs["created"] == "5"
        assert git.head("master") == master  # the base branch is left alone
        head = git.state.pulls[pr["number"]]["head"]
        links = git.files(head)
        assert links["postmortems/2026-06-15-checkout.md"].count(b"(tracked: #") == 3
        assert links["postmortems/2026-05-01-db.md"].count(b"#") >= 2
        # The checkout is not edited: the links travel in the pull request only.
        assert {f"postmortems/{p.name}": p.read_bytes() for p in checkout.glob("*.md")} == before
        assert f"[pull request]({url})" in result.summary
        again = env.run("push.json", {"command": "sync", "write-back": "pull-request"})
        assert again.returncode == 0, again.stderr
        assert again.outputs["created"] == "0" and len(git.pulls()) == 1
