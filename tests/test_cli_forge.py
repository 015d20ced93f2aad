"""Write-back through the GitHub repository and the report issue, from the engine and the CLI.

In-process runs use the GitHub fake through `responses`; the end-to-end run is `tracker sync`
as a subprocess against the fake on 127.0.0.1. Nothing sleeps, nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from tests.backends.test_github import spec_problems
from tests.conftest import SPECS
from tests.fakes.github_fake import FakeClock, FakeServer, GitHubFake
from tests.sync_harness import Wrapper
from tests.test_cli import run, write
from tracker import wiring
from tracker.backends.local import LocalBackend
from tracker.config import load_config
from tracker.engine import run_sync
from tracker.forge import LINKS_BRANCH
from tracker.sync import SyncPolicy
from tracker.writeback import blob_sha

TOKEN = "t0ken-secret"
PM_PATH = "postmortems/pm-7.md"
PM = (
    "---\nid: pm-7\ndate: 2026-01-05\n---\n# Incident 7\n\n## Action items\n\n"
    "- [ ] Add a disk alert on db-1. Owner: @alice Due: 2026-02-01\n"
    "- [ ] Shard the ledger table. Owner: @bob Due: 2026-03-01\n\n## Follow-ups\n\n"
    "| Item | Owner | Due | Ticket |\n|---|---|---|---|\n"
    "| Rotate the replica password | @carol | 2026-04-01 | |\n"
)
ENV_VARS = (
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "GITHUB_BASE_REF",
    "GITHUB_REF",
    "GITHUB_TOKEN",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def fake() -> Iterator[GitHubFake]:
    gh = GitHubFake(clock=FakeClock(tick=1), token=TOKEN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh.install(rsps)
        yield gh
    if SPECS.is_dir():
        assert spec_problems(gh.log) == []


# --- the engine ----------------------------------------------------------------------------------


def test_collect_mode_returns_the_edits_and_leaves_the_files(tmp_path: Path) -> None:
    pm = write(tmp_path, PM_PATH, PM)
    backend = LocalBackend(tmp_path / "db.sqlite")
    policy = SyncPolicy()
    files = [(pm, PM_PATH)]
    out = run_sync(files, backend, policy, as_of=dt.date(2026, 1, 10), write_back="collect")
    assert out.created == 3 and out.files_written == () and out.write_back_errors == ()
    assert pm.read_text(encoding="utf-8") == PM  # untouched
    (edit,) = out.edits
    assert edit.path == PM_PATH and edit.base_blob == blob_sha(PM.encode())
    text = edit.content.decode()
    assert text.count("(tracked: local:") == 2 and "| 2026-04-01 | local:3 |" in text
    # The edit lands (the pull request is merged): the next sync finds nothing to do.
    pm.write_bytes(edit.content)
    counting = Wrapper(backend)
    again = run_sync(files, counting, policy, as_of=dt.date(2026, 1, 10), write_back="collect")
    assert again.unchanged == 3 and again.edits == () and counting.writes == 0


def test_collect_mode_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    pm = write(tmp_path, PM_PATH, PM)

    class Meddler(LocalBackend):
        def list_tracked(self) -> list[Any]:
            pm.write_text(PM + "\n- [ ] Added meanwhile. Owner: @dan\n", encoding="utf-8")
            return super().list_tracked()

    out = run_sync(
        [(pm, PM_PATH)],
        Meddler(tmp_path / "db.sqlite"),
        SyncPolicy(),
        as_of=dt.date(2026, 1, 10),
        write_back="collect",
    )
    assert out.edits == () and "changed since it was parsed" in out.write_back_errors[0]


# --- wiring ----------------------------------------------------------------------------------------


def test_repo_prefix_and_base_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert wiring.repo_prefix(tmp_path) == ""
    (tmp_path / ".git").mkdir()
    (tmp_path / "ops" / "pm").mkdir(parents=True)
    assert wiring.repo_prefix(tmp_path) == ""
    assert wiring.repo_prefix(tmp_path / "ops" / "pm") == "ops/pm/"
    assert wiring.write_back_base() is None
    monkeypatch.setenv("GITHUB_REF", "refs/tags/v1")
    assert wiring.write_back_base() is None
    monkeypatch.setenv("GITHUB_REF", "refs/heads/release/2026")
    assert wiring.write_back_base() == "release/2026"
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    assert wiring.write_back_base() == "main"


def test_forge_is_configured_by_a_github_section_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, ".tracker.yml", "backend: local\n")
    assert not wiring.forge_configured(load_config(cwd=tmp_path))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/infra")
    assert wiring.forge_configured(load_config(cwd=tmp_path))
    monkeypatch.delenv("GITHUB_REPOSITORY")
    write(tmp_path, ".tracker.yml", "backend: jira\ngithub:\n  repo: acme/infra\n")
    assert wiring.forge_configured(load_config(cwd=tmp_path))


def test_write_back_goes_to_the_checkout_and_reports_to_github_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tickets (and reports) may live in another repository than the postmortems."""
    write(tmp_path, ".tracker.yml", "backend: github\ngithub:\n  repo: acme/tickets\n")
    loaded = load_config(cwd=tmp_path)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert wiring.build_forge(loaded, "x", files=True).repo == "acme/tickets"
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/infra")
    assert wiring.build_forge(loaded, "x", files=True).repo == "acme/infra"
    assert wiring.build_forge(loaded, "x").repo == "acme/tickets"


# --- the CLI in process ----------------------------------------------------------------------------


def test_write_back_to_github_without_a_repository_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, PM_PATH, PM)
    code, out, err = run(["sync", "--write-back", "pull-request"], capsys, cwd=tmp_path)
    assert (code, out) == (2, "")
    assert "write-back: pull-request needs a GitHub repository" in err
    assert "set `github.repo: owner/name`" in err and "GITHUB_REPOSITORY" in err
    assert not (tmp_path / ".tracker").exists()  # checked before any ticket was made


def test_write_back_without_a_token_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, PM_PATH, PM)
    write(tmp_path, ".tracker.yml", "github:\n  repo: acme/infra\nsync:\n  write_back: commit\n")
    code, _, err = run(["sync"], capsys, cwd=tmp_path)
    assert code == 2
    assert "write-back: commit needs a token for acme/infra: set the GITHUB_TOKEN" in err
    assert not (tmp_path / ".tracker").exists()


def test_sync_with_local_tickets_commits_the_links_to_github(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake: GitHubFake,
) -> None:
    """Tickets in one tracker, links through the repository: here local tickets, commit mode."""
    pm = write(tmp_path, PM_PATH, PM)
    fake.git.seed({PM_PATH: PM.encode()})
    write(tmp_path, ".tracker.yml", "backend: local\ngithub:\n  write_spacing_s: 0\n")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/infra")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out.txt"))
    args = ["sync", "--write-back", "commit", "--format", "json", "--as-of", "2026-01-10"]
    code, out, err = run(args, capsys, cwd=tmp_path)
    assert code == 0, err
    data = json.loads(out)
    sha = fake.git.head("main")
    assert data["created"] == 3
    assert data["write_back"] == {
        "mode": "commit",
        "files": [PM_PATH],
        "url": f"https://github.com/acme/infra/commit/{sha}",
        "error": None,
    }
    assert pm.read_text(encoding="utf-8") == PM
    assert fake.git.files("main")[PM_PATH].decode().count("(tracked: local:") == 2
    assert f"links to 1 postmortem sent as a commit: {data['write_back']['url']}" in err
    assert f"commit-url={data['write_back']['url']}" in (tmp_path / "out.txt").read_text()
    assert TOKEN not in out + err


def test_a_refused_write_back_fails_the_run_after_the_tickets(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake: GitHubFake,
) -> None:
    write(tmp_path, PM_PATH, PM)
    fake.git.seed({PM_PATH: PM.encode()})
    fake.git.protected = {"main"}
    write(tmp_path, ".tracker.yml", "github:\n  repo: acme/infra\n  write_spacing_s: 0\n")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    code, _, err = run(["sync", "--write-back", "commit"], capsys, cwd=tmp_path)
    assert code == 1
    assert "sync: 3 created" in err
    assert "write-back: GitHub refused to commit the ticket links to main" in err
    assert "write-back: pull-request" in err


def test_report_post_goes_to_the_github_issue_when_a_repository_is_configured(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake: GitHubFake,
) -> None:
    write(tmp_path, PM_PATH, PM)
    write(
        tmp_path,
        ".tracker.yml",
        "backend: local\ngithub:\n  repo: acme/infra\n  write_spacing_s: 0\n"
        "report:\n  close_previous: true\n",
    )
    run(["sync", "--as-of", "2026-01-10"], capsys, cwd=tmp_path)
    old = fake.add_issue(
        "Last week",
        '<!-- postmortem-tracker-report: {"week":"2026-W01"} -->',
        labels=["postmortem-report"],
    )
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    outputs = tmp_path / "out.txt"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    code, _, err = run(
        ["report", "--post", "--as-of", "2026-01-10", "--output", "r.md"], capsys, cwd=tmp_path
    )
    assert code == 0, err
    (issue,) = [i for i in fake.issues() if i["title"] == "Postmortem action items: 2026-W02"]
    url = f"https://github.com/acme/infra/issues/{issue['number']}"
    assert f"report posted: {url}" in err and f"report-url={url}" in outputs.read_text()
    assert "3 tracked, 3 open" in issue["body"]
    assert fake.state.issues[old["number"]]["state"] == "closed"


def test_report_post_with_another_backend_and_no_repository_is_not_posted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, ".tracker.yml", "backend: local\n")
    db = LocalBackend(tmp_path / "db.sqlite")
    monkeypatch.setattr(
        wiring, "build_backend", lambda loaded, name=None: wiring.BuiltBackend(db, "jira")
    )
    outputs = tmp_path / "out.txt"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    code, out, err = run(["report", "--post", "--format", "markdown"], capsys, cwd=tmp_path)
    assert code == 0 and "# " not in err and out.startswith("**")
    assert "the report was not posted: with backend jira it goes to an issue" in err
    assert "set `github.repo`" in err and not outputs.exists()


# --- end to end: `tracker sync` as a subprocess against the fake on 127.0.0.1 ----------------


def test_sync_opens_a_pull_request_with_the_links_and_a_second_sync_writes_nothing(
    tmp_path: Path,
) -> None:
    fake = GitHubFake(clock=FakeClock(tick=1), token=TOKEN, assignable=("alice", "bob", "carol"))
    pm = write(tmp_path, PM_PATH, PM)
    fake.git.seed({PM_PATH: PM.encode(), "README.md": b"# infra\n"})
    outputs = tmp_path / "outputs.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "TRACKER_"))}
    env.update(GITHUB_TOKEN=TOKEN, GITHUB_OUTPUT=str(outputs))

    with FakeServer(fake) as server:
        write(
            tmp_path,
            ".tracker.yml",
            f"backend: github\ngithub:\n  repo: acme/infra\n  api_url: {server.url}\n"
            "  write_spacing_s: 0\nsync:\n  write_back: pull-request\n",
        )

        def sync() -> tuple[dict[str, Any], str]:
            cmd = [sys.executable, "-m", "tracker", "sync", "--format", "json"]
            done = subprocess.run(
                [*cmd, "--as-of", "2026-01-10"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert TOKEN not in done.stdout + done.stderr
            out: dict[str, Any] = json.loads(done.stdout)
            return out, done.stderr

        first, err = sync()
        assert first["created"] == 3
        (pr,) = fake.git.pulls()
        url = f"{server.url}/acme/infra/pull/{pr['number']}"
        assert first["write_back"] == {
            "mode": "pull-request",
            "files": [PM_PATH],
            "url": url,
            "error": None,
        }
        assert f"links to 1 postmortem sent as a pull request: {url}" in err
        assert f"pull-request-url={url}" in outputs.read_text()
        linked = fake.git.files(LINKS_BRANCH)[PM_PATH].decode()
        numbers = sorted(int(n) for n in re.findall(r"#(\d+)", linked))
        assert numbers == sorted(i["number"] for i in fake.issues())
        assert "(tracked: #" in linked and pm.read_text(encoding="utf-8") == PM  # tree unchanged
        assert fake.git.files("main")[PM_PATH] == PM.encode()

        # Merged, and the checkout pulls it: syncing the write-back commit changes nothing.
        fake.git.merge(pr["number"])
        pm.write_bytes(fake.git.files("main")[PM_PATH])
        before = len(fake.log)
        second, err = sync()
        assert second["unchanged"] == 3 and second["created"] + second["updated"] == 0
        assert second["write_back"] == {
            "mode": "pull-request",
            "files": [],
            "url": None,
            "error": None,
        }
        assert "write-back (pull-request): no links to write" in err
        assert [r.method for r in fake.log[before:]] == ["GET"]  # one listing, zero writes
        assert len(fake.git.pulls()) == 1
    if SPECS.is_dir():
        assert spec_problems(fake.log) == []
