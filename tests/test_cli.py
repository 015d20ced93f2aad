"""The `tracker` command as a user runs it: exit codes, stdout and stderr kept apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tracker.cli import main

EXAMPLES = REPO / "examples" / "postmortems"


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], cwd: Path | None = None
) -> tuple[int, str, str]:
    old = Path.cwd()
    if cwd:
        os.chdir(cwd)
    try:
        with pytest.raises(SystemExit) as exc:
            main(args)
    finally:
        os.chdir(old)
    out = capsys.readouterr()
    code = exc.value.code if isinstance(exc.value.code, int) else 1
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def _no_actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)


def write(tmp: Path, rel: str, text: str) -> Path:
    p = tmp / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


GOOD = "# T\n## Action items\n- Add a disk alert at 80% on db-1. Owner: @ann Due: 2026-07-01\n"
BAD = "# T\n## Action items\n- Improve monitoring\n"


def test_parse_json_shape_on_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["parse", "--format", "json", str(EXAMPLES)], capsys)
    assert code == 0
    data = json.loads(out)
    assert len(data["postmortems"]) == 7
    pm = data["postmortems"][0]
    assert set(pm) == {"path", "id", "title", "date", "severity", "status", "items", "problems"}
    assert set(pm["items"][0]) == {
        "key",
        "title",
        "owners",
        "due",
        "due_text",
        "status",
        "status_text",
        "priority",
        "type",
        "tickets",
        "line",
        "source",
        "section",
    }
    assert "52 action items in 7 postmortems" in err


def test_parse_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "postmortems/a.md", GOOD)
    code, out, _ = run(["parse"], capsys, cwd=tmp_path)
    assert code == 0
    assert "postmortems/a.md" in out
    assert "Add a disk alert at 80% on db-1." in out and "owner: ann" in out


def test_lint_ok_and_failing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "postmortems/good.md", GOOD)
    assert run(["lint"], capsys, cwd=tmp_path)[0] == 0
    write(tmp_path, "postmortems/bad.md", BAD)
    code, out, err = run(["lint"], capsys, cwd=tmp_path)
    assert code == 1
    assert out.splitlines() == [
        "postmortems/bad.md:3:1: PM001 'Improve monitoring' has no owner: add one person, "
        "e.g. 'Owner: @handle' or an Owner column",
        "postmortems/bad.md:3:1: PM004 'Improve monitoring' has no due date: add "
        "'Due: YYYY-MM-DD' or a Due column",
        "postmortems/bad.md:3:1: PM008 'Improve monitoring' is vague: say what will change "
        "and how you will know it is done",
    ]
    assert "2 postmortems, 2 action items: 2 errors, 1 warnings" in err


def test_lint_github_format_is_default_in_actions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "postmortems/bad.md", BAD)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = run(["lint"], capsys, cwd=tmp_path)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("::error file=postmortems/bad.md,line=3,title=PM001::")
    assert lines[-1].startswith("::warning file=postmortems/bad.md,line=3,title=PM008::")
    assert "| `postmortems/bad.md` | 3 | PM001 error |" in summary.read_text()


def test_lint_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "postmortems/bad.md", BAD)
    code, out, _ = run(["lint", "--format", "json"], capsys, cwd=tmp_path)
    data = json.loads(out)
    assert (code, data["errors"], data["warnings"]) == (1, 2, 1)


def test_lint_as_of(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "postmortems/a.md", GOOD)
    code, out, _ = run(["lint", "--as-of", "2026-08-01"], capsys, cwd=tmp_path)
    assert code == 0 and "PM006 due 2026-07-01 passed 31 days ago" in out
    code, _, err = run(["lint", "--as-of", "soon"], capsys, cwd=tmp_path)
    assert code == 2 and "'soon' is not a date: use YYYY-MM-DD" in err


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["lint", "nope/"], capsys, cwd=tmp_path)
    assert (code, out) == (2, "")
    assert "nope/: no such file or directory" in err


def test_config_errors_name_file_field_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, ".tracker.yml", "lint:\n  max_itemz: 3\nsync:\n  max_writes: -1\n")
    code, out, err = run(["lint"], capsys, cwd=tmp_path)
    assert (code, out) == (2, "")
    assert ".tracker.yml: invalid configuration" in err
    assert "lint.max_itemz: unknown field; did you mean 'max_items'?" in err
    assert "sync.max_writes: Input should be greater than or equal to 1 (got -1)" in err
    assert "Traceback" not in err


def test_config_yaml_error_has_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, ".tracker.yml", "lint:\n  max_items: [1\n")
    code, _, err = run(["lint"], capsys, cwd=tmp_path)
    assert code == 2
    assert ".tracker.yml:3:1: not valid YAML" in err


def test_explicit_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--config", "other.yml", "lint"], capsys, cwd=tmp_path)
    assert code == 2 and "other.yml: config file not found" in err


def test_configured_paths_and_exclude(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, ".tracker.yml", "paths: ['incidents/*.md']\nexclude: ['**/TEMPLATE.md']\n")
    write(tmp_path, "incidents/a.md", GOOD)
    write(tmp_path, "incidents/TEMPLATE.md", BAD)
    write(tmp_path, "postmortems/b.md", BAD)
    code, out, _ = run(["parse", "--format", "json"], capsys, cwd=tmp_path)
    assert code == 0
    assert [p["path"] for p in json.loads(out)["postmortems"]] == ["incidents/a.md"]


def test_paths_outside_the_repository_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, ".tracker.yml", "paths: ['../elsewhere/*.md']\n")
    code, _, err = run(["lint"], capsys, cwd=tmp_path)
    assert code == 2 and "reaches outside the repository" in err


def test_help_teaches_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for cmd in ("parse", "lint"):
        assert cmd in out
        sub_code, sub_out, _ = run([cmd, "--help"], capsys)
        assert sub_code == 0 and len(sub_out) > 200


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    write(tmp_path, "postmortems/a.md", GOOD)
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "parse", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["postmortems"][0]["items"][0]["owners"] == ["ann"]
