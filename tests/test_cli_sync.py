"""`tracker sync`, `status` and `report` on the local backend, as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_cli import run, write

TABLE = (
    "---\nid: PM-1\ndate: 2026-06-01\nseverity: SEV2\n---\n# DB down\n\n## Action items\n\n"
    "| Item | Owner | Due | Ticket |\n|---|---|---|---|\n"
    "| Add a disk alert on db-1 | @ann | 2026-06-20 | |\n"
    "| Shard the ledger table | @bob | 2026-12-01 | |\n"
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # GITHUB_REPOSITORY would send `report --post` to a GitHub issue (forge.py), not the local db.
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(var, raising=False)


def test_sync_then_resync_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pm = write(tmp_path, "postmortems/pm1.md", TABLE)
    code, out, err = run(["sync", "--as-of", "2026-07-01"], capsys, cwd=tmp_path)
    assert code == 0
    assert "no backend configured: tickets go to the local file .tracker/local.db" in err
    assert "sync: 2 created" in err
    assert "| Add a disk alert on db-1 | @ann | 2026-06-20 | local:1 |" in pm.read_text()
    code, out, _ = run(["sync", "--format", "json"], capsys, cwd=tmp_path)
    data = json.loads(out)
    assert (code, data["created"], data["unchanged"], data["requests"]) == (0, 0, 2, None)
    code, out, err = run(["status", "--as-of", "2026-07-01"], capsys, cwd=tmp_path)
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith("local:1") and "Add a disk alert on db-1" in lines[1]
    assert "2 open items, 1 overdue (as of 2026-07-01)" in err
    code, out, _ = run(
        ["status", "--overdue", "--as-of", "2026-07-01", "--format", "json"], capsys, cwd=tmp_path
    )
    rows = json.loads(out)["items"]
    assert [(r["ticket"], r["overdue"], r["owner"]) for r in rows] == [("local:1", True, "ann")]
    code, out, _ = run(["status", "--owner", "bob", "--format", "json"], capsys, cwd=tmp_path)
    assert [r["ticket"] for r in json.loads(out)["items"]] == ["local:2"]


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pm = write(tmp_path, "postmortems/pm1.md", TABLE)
    code, out, err = run(["sync", "--dry-run"], capsys, cwd=tmp_path)
    assert code == 0
    assert out.count("would create") == 2
    assert "plan: 2 created" in err
    assert pm.read_text() == TABLE
    code, out, _ = run(["status", "--format", "json"], capsys, cwd=tmp_path)
    assert json.loads(out)["items"] == []


def test_no_write_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pm = write(tmp_path, "postmortems/pm1.md", TABLE)
    assert run(["sync", "--no-write-back"], capsys, cwd=tmp_path)[0] == 0
    assert pm.read_text() == TABLE


def test_missing_backend_under_actions_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "postmortems/pm1.md", TABLE)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, err = run(["sync"], capsys, cwd=tmp_path)
    assert (code, out) == (2, "")
    assert "no backend configured" in err and "set `backend: github`" in err
    assert not (tmp_path / ".tracker").exists()


def test_report_formats_and_post(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "postmortems/pm1.md", TABLE)
    write(tmp_path, ".tracker.yml", "backend: local\n")
    run(["sync"], capsys, cwd=tmp_path)
    code, out, _ = run(
        ["report", "--as-of", "2026-07-01", "--format", "json"], capsys, cwd=tmp_path
    )
    data = json.loads(out)
    assert code == 0
    assert data["as_of"] == "2026-07-01"
    assert data["totals"]["tracked"] == 2 and data["totals"]["overdue"] == 1
    code, out, _ = run(["report", "--as-of", "2026-07-01", "--format", "csv"], capsys, cwd=tmp_path)
    assert len(out.strip().splitlines()) == 3
    summary = tmp_path / "summary.md"
    outputs = tmp_path / "outputs.txt"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    code, out, err = run(
        ["report", "--as-of", "2026-07-01", "--format", "markdown", "--post", "--output", "r.md"],
        capsys,
        cwd=tmp_path,
    )
    assert code == 0 and out == ""
    md = (tmp_path / "r.md").read_text()
    assert "Add a disk alert on db-1" in md and "```mermaid" in md
    assert summary.read_text().strip() == md.strip()
    assert "report-url=local:report/2026-W27" in outputs.read_text()
    assert "report posted: local:report/2026-W27" in err


def test_quickstart_on_the_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    code, _, err = run(
        ["sync", "examples/postmortems", "--as-of", "2026-11-22"], capsys, cwd=tmp_path
    )
    assert code == 0 and "sync: 52 created" in err
    code, _, err = run(["sync", "examples/postmortems"], capsys, cwd=tmp_path)
    assert code == 0 and err == "sync: 52 items, all up to date\n"  # one line
    code, out, err = run(["status", "--as-of", "2026-11-22"], capsys, cwd=tmp_path)
    assert code == 0 and "open items" in err
    code, out, _ = run(
        ["report", "--as-of", "2026-11-22", "--format", "markdown"], capsys, cwd=tmp_path
    )
    assert code == 0 and "Needs a push" in out
