"""`tracker init`, the config schema and the generated configuration reference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.test_cli import run
from tracker import scaffold
from tracker.config import load_config


def _check_jsonschema(schema: str, files: list[Path]) -> None:
    """Validate offline with check-jsonschema's vendored GitHub schemas."""
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_init_writes_files_once_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(
        '[remote "origin"]\n\turl = git@github.com:acme/infra.git\n', encoding="utf-8"
    )
    code, out, err = run(["init"], capsys, cwd=tmp_path)
    assert code == 0 and out == ""
    assert err.count("created") == 5
    cfg = load_config(cwd=tmp_path).config
    assert cfg.github is not None and cfg.github.repo == "acme/infra"
    assert cfg.sync.default_due == {"P0": 14, "P1": 28, "default": 56}
    (tmp_path / ".tracker.yml").write_text("backend: local\n", encoding="utf-8")
    code, _, err = run(["init"], capsys, cwd=tmp_path)
    assert code == 0
    assert ".tracker.yml: exists, kept (use --force to overwrite)" in err
    assert err.count("unchanged") == 4
    assert (tmp_path / ".tracker.yml").read_text() == "backend: local\n"
    code, _, err = run(["init", "--force"], capsys, cwd=tmp_path)
    assert "overwritten  .tracker.yml" in err
    assert (tmp_path / ".tracker.yml").read_text().startswith("# postmortem-tracker configuration")


def test_init_then_lint_on_a_new_postmortem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["init", "--repo", "acme/infra"], capsys, cwd=tmp_path)
    text = (tmp_path / "postmortems" / "TEMPLATE.md").read_text()
    (tmp_path / "postmortems" / "2026-11-02-db.md").write_text(
        text.replace("@handle", "@dana")
        .replace("| YYYY-MM-DD | P1", "| 2026-12-01 | P1")
        .replace("id: YYYY-MM-DD-short-name", "id: 2026-11-02-db")
    )
    code, out, err = run(["lint"], capsys, cwd=tmp_path)
    assert (code, out) == (0, "")
    assert "1 postmortems, 1 action items: 0 errors, 0 warnings" in err
    code, out, _ = run(["parse", "--format", "json"], capsys, cwd=tmp_path)
    item = json.loads(out)["postmortems"][0]["items"][0]
    assert (item["owners"], item["due"], item["priority"]) == (["dana"], "2026-12-01", "P1")
    code, out, err = run(["sync", "--dry-run", "--backend", "local"], capsys, cwd=tmp_path)
    assert code == 0
    assert out.count("would create") == 1 and "plan: 1 created" in err
    code, out, _ = run(["status", "--backend", "local", "--format", "json"], capsys, cwd=tmp_path)
    assert json.loads(out)["items"] == []  # the dry run wrote no ticket


def test_generated_workflows_validate_and_are_safe(tmp_path: Path) -> None:
    files = scaffold.planned_files("acme/infra")
    scaffold.write_files(tmp_path, files, force=False)
    workflows = sorted((tmp_path / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) == 3
    _check_jsonschema("vendor.github-workflows", workflows)
    for wf in workflows:
        data = yaml.safe_load(wf.read_text())
        assert "permissions" in data, wf.name
        for job in data["jobs"].values():
            for step in job["steps"]:
                uses = step.get("uses", "")
                if uses.startswith("actions/"):
                    ref = uses.split("@")[1].split()[0]
                    assert len(ref) == 40, f"{wf.name}: {uses} is not pinned to a commit"
                assert "${{" not in step.get("run", "")
    writers = [yaml.safe_load(w.read_text()) for w in workflows if "lint" not in w.name]
    assert all(
        w["concurrency"] == {"group": "postmortem-tracker", "cancel-in-progress": False}
        for w in writers
    )


def test_repo_workflows_validate() -> None:
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    assert workflows
    _check_jsonschema("vendor.github-workflows", workflows)


def test_config_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["config", "schema"], capsys)
    schema = json.loads(out)
    assert code == 0
    assert schema["additionalProperties"] is False
    assert {"backend", "owners", "sync", "lint", "github", "jira"} <= set(schema["properties"])


def test_configuration_docs_do_not_drift() -> None:
    doc = REPO / "docs" / "configuration.md"
    assert doc.read_text(encoding="utf-8") == scaffold.configuration_markdown(), (
        "docs/configuration.md is out of date: run `tracker config docs > docs/configuration.md`"
    )
