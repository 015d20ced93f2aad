"""`--format json` prints one JSON object on stdout on every exit path, failures included.

A sync that stopped on the rate limit once exited 1 with nothing on stdout, although the README
promises one object: scripts then had no idea what was done and what was left. Here the GitHub
fake (on 127.0.0.1, the CLI in a subprocess) answers rate limits: the object names the deferred
items. Errors before any output (configuration, usage, a failed listing) become an object with
`error` and `exit_code`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import generated
from tests.fakes.github_fake import FakeClock, FakeServer, Fault, GitHubFake
from tests.test_cli import run, write

TOKEN = "t0ken-secret"
ITEMS = 6
LISTING = r"/repos/acme/infra/issues"


@pytest.fixture
def served() -> Iterator[tuple[GitHubFake, FakeServer]]:
    fake = GitHubFake(clock=FakeClock(tick=1), token=TOKEN, assignable=generated.OWNERS)
    with FakeServer(fake) as server:
        yield fake, server


@pytest.fixture
def repo(tmp_path: Path, served: tuple[GitHubFake, FakeServer]) -> Path:
    _, server = served
    generated.write_postmortems(tmp_path, 1, ITEMS)
    (tmp_path / ".tracker.yml").write_text(
        f"backend: github\ngithub:\n  repo: acme/infra\n  api_url: {server.url}\n"
        "  write_spacing_s: 0\n",
        encoding="utf-8",
    )
    return tmp_path


def tracker(cwd: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """`python -m tracker ARGS`; the exit code, the one JSON object on stdout, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "TRACKER_"))}
    env["GITHUB_TOKEN"] = TOKEN
    done = subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.stdout.count("\n") == 1, done.stdout  # one object, one line
    assert TOKEN not in done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def rate_limit(method: str, path: str | None = None, skip: int = 0) -> Fault:
    # Retry-After past github.retry.max_wait_s (120 s): the client gives up at once, no waiting.
    return Fault("429", method, path, skip=skip, times=100, retry_after=3600)


def test_a_sync_rate_limited_at_the_listing_prints_its_deferred_items(
    repo: Path, served: tuple[GitHubFake, FakeServer]
) -> None:
    fake, _ = served
    fake.inject(rate_limit("GET", LISTING))
    code, data, err = tracker(repo, "sync", "--format", "json", "--as-of", "2026-03-01")
    assert code == 1
    assert "error: GitHub asks to wait 3600 s" in err
    assert data["deferred"] == ITEMS and data["created"] == 0 and data["failed"] == 0
    assert len(data["items"]) == ITEMS
    assert {i["action"] for i in data["items"]} == {"deferred"}
    assert all(i["reason"].startswith("sync deferred: GitHub asks to wait") for i in data["items"])
    assert len({i["key"] for i in data["items"]}) == ITEMS  # each item, by its key
    assert data["error"].startswith("GitHub asks to wait 3600 s")
    assert data["requests"] == 1
    assert fake.issues() == []


def test_a_sync_rate_limited_while_creating_prints_what_was_done_and_deferred(
    repo: Path, served: tuple[GitHubFake, FakeServer]
) -> None:
    fake, _ = served
    fake.inject(rate_limit("POST", LISTING, skip=2))
    code, data, _ = tracker(repo, "sync", "--format", "json", "--as-of", "2026-03-01")
    assert code == 0  # deferred work is for the next run, as with the write budget
    assert (data["created"], data["deferred"]) == (2, ITEMS - 2)
    assert [i["action"] for i in data["items"]] == ["create"] * 2 + ["deferred"] * (ITEMS - 2)
    assert len(fake.issues()) == 2


@pytest.mark.parametrize("command", ["status", "report"])
def test_a_rate_limited_listing_prints_an_error_object(
    command: str, repo: Path, served: tuple[GitHubFake, FakeServer]
) -> None:
    fake, _ = served
    fake.inject(rate_limit("GET", LISTING))
    code, data, err = tracker(repo, command, "--format", "json", "--as-of", "2026-03-01")
    assert code == 1
    assert set(data) == {"error", "exit_code"}
    assert data["exit_code"] == 1 and data["error"].startswith("GitHub asks to wait 3600 s")
    assert "error: GitHub asks to wait" in err


ARGS = {
    "parse": ["parse", "--format", "json"],
    "lint": ["lint", "--format", "json"],
    "sync": ["sync", "--format", "json", "--backend", "local"],
    "status": ["status", "--format", "json", "--backend", "local"],
    "report": ["report", "--format", "json", "--backend", "local"],
}


@pytest.mark.parametrize("command", list(ARGS))
def test_a_configuration_error_is_a_json_object_too(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, ".tracker.yml", "lint:\n  max_itemz: 3\n")
    code, out, err = run(ARGS[command], capsys, cwd=tmp_path)
    assert code == 2
    data = json.loads(out)
    assert data["exit_code"] == 2 and "max_itemz" in data["error"]
    assert "max_itemz" in err


def test_a_usage_error_after_format_json_is_a_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["lint", "--format", "json", "--as-of", "2026-13-01"], capsys, tmp_path)
    assert code == 2
    assert json.loads(out) == {
        "error": "Invalid value for '--as-of': '2026-13-01' is not a date: use YYYY-MM-DD",
        "exit_code": 2,
    }
    assert "is not a date" in err


def test_text_output_gets_no_json_on_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, ".tracker.yml", "lint:\n  max_itemz: 3\n")
    code, out, _ = run(["lint"], capsys, cwd=tmp_path)
    assert (code, out) == (2, "")


def test_a_json_command_that_succeeds_prints_exactly_one_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "postmortems/pm.md", "# T\n## Action items\n- Improve monitoring\n")
    code, out, _ = run(["lint", "--format", "json"], capsys, cwd=tmp_path)
    assert code == 1  # lint errors: the object was printed, no second one follows
    assert out.count("\n") == 1 and json.loads(out)["errors"] >= 1
