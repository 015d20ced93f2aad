"""`tracker init`, the config schema and the generated configuration reference."""

from __future__ import annotations

import json
import shutil
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
    assert err.count("created") == 7  # six files and .gitignore
    assert (tmp_path / ".gitignore").read_text() == (
        "# postmortem-tracker's local ticket database\n.tracker/\n"
    )
    cfg = load_config(cwd=tmp_path).config
    assert cfg.github is not None and cfg.github.repo == "acme/infra"
    assert cfg.sync.default_due == {"P0": 14, "P1": 28, "default": 56}
    assert cfg.backend is None and cfg.sync.write_back == "none"  # a shell sync runs at once
    (tmp_path / ".tracker.yml").write_text("backend: local\n", encoding="utf-8")
    code, _, err = run(["init"], capsys, cwd=tmp_path)
    assert code == 0
    assert ".tracker.yml: exists, kept (use --force to overwrite)" in err
    assert err.count("unchanged") == 6
    assert (tmp_path / ".tracker.yml").read_text() == "backend: local\n"
    code, _, err = run(["init", "--force"], capsys, cwd=tmp_path)
    assert "overwritten  .tracker.yml" in err
    assert (tmp_path / ".tracker.yml").read_text().startswith("# postmortem-tracker configuration")


def test_gitignore_is_extended_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc", encoding="utf-8")  # no final newline
    assert scaffold.ensure_gitignore(tmp_path) == (".gitignore", "updated")
    assert scaffold.ensure_gitignore(tmp_path) == (".gitignore", "unchanged")
    text = (tmp_path / ".gitignore").read_text()
    assert text == "*.pyc\n# postmortem-tracker's local ticket database\n.tracker/\n"
    (tmp_path / ".gitignore").write_text("/.tracker\n", encoding="utf-8")
    assert scaffold.ensure_gitignore(tmp_path) == (".gitignore", "unchanged")


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
    code, out, err = run(["sync", "--dry-run"], capsys, cwd=tmp_path)
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
    _check_jsonschema("vendor.dependabot", [tmp_path / ".github" / "dependabot.yml"])
    for wf in workflows:
        data = yaml.safe_load(wf.read_text())
        assert data["permissions"] == {}, wf.name  # each job names its own
        for name, job in data["jobs"].items():
            assert "permissions" in job and job["timeout-minutes"] <= 30, (wf.name, name)
            checkout = job["steps"][0]
            assert checkout["with"]["persist-credentials"] is False, wf.name
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


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _actionlint() -> str | None:
    found = shutil.which("actionlint") or shutil.which(
        "actionlint", path=str(Path(sys.executable).parent)
    )
    return found


@pytest.mark.parametrize("branch", ["main", "master", "trunk"])
def test_init_in_a_fresh_repository_then_lint_and_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], branch: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", branch)
    code, _, err = run(["init", "--repo", "acme/infra"], capsys, cwd=repo)
    assert code == 0, err
    assert f"sync runs on pushes to {branch}" in err
    sync_wf = yaml.safe_load((repo / ".github/workflows/postmortem-sync.yml").read_text())
    assert sync_wf[True]["push"]["branches"] == [branch]  # PyYAML reads the key `on` as True
    dispatch = sync_wf[True]["workflow_dispatch"]["inputs"]["dry-run"]
    assert dispatch == {
        "description": "Print what would change; write nothing",
        "type": "boolean",
        "default": False,
    }
    workflows = sorted((repo / ".github" / "workflows").glob("*.yml"))
    lint = _actionlint()
    if lint is not None:
        done = subprocess.run(
            [lint, "-no-color", *map(str, workflows)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
    else:
        _check_jsonschema("vendor.github-workflows", workflows)
    text = (repo / "postmortems" / "TEMPLATE.md").read_text()
    (repo / "postmortems" / "2026-02-20-db.md").write_text(
        text.replace("@handle", "@dana")
        .replace("| YYYY-MM-DD | P1", "| 2026-04-01 | P1")
        .replace("id: YYYY-MM-DD-short-name", "id: 2026-02-20-db")
        .replace("date: YYYY-MM-DD", "date: 2026-02-20")
    )
    code, out, err = run(["lint"], capsys, cwd=repo)
    assert (code, out) == (0, ""), err
    code, out, err = run(["sync", "--dry-run"], capsys, cwd=repo)
    assert code == 0, err
    assert "plan: 1 created" in err
    # A real (not dry) local sync works too, and changes no file (write_back: none).
    before = _git(repo, "status", "--porcelain", "--untracked-files=all")
    code, _, err = run(["sync"], capsys, cwd=repo)
    assert code == 0, err
    assert (
        _git(repo, "status", "--porcelain", "--untracked-files=all") == before
    )  # .tracker/ ignored


@pytest.mark.skipif(_actionlint() is None, reason="actionlint is not installed")
def test_repository_workflows_pass_actionlint() -> None:
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    lint = _actionlint()
    assert lint is not None
    done = subprocess.run(
        [lint, "-no-color", *map(str, workflows)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_default_branch_comes_from_the_remote_head_first(tmp_path: Path) -> None:
    from tracker.gitdiff import default_branch

    origin = tmp_path / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "trunk")
    _git(origin, "commit", "-q", "--allow-empty", "-m", "first")
    _git(tmp_path, "clone", "-q", str(origin), "clone")
    clone = tmp_path / "clone"
    _git(clone, "checkout", "-q", "-b", "feature")
    assert default_branch(clone) == "trunk"  # origin/HEAD, not the branch checked out
    _git(clone, "remote", "set-head", "origin", "--delete")
    assert default_branch(clone) == "feature"
    assert default_branch(tmp_path) is None  # not a repository


def test_release_pin_is_a_commit_with_the_tag_in_a_comment() -> None:
    from tracker import release

    sha = "0123456789abcdef0123456789abcdef01234567"
    assert release.action_ref(sha, "1.2.3") == (
        f"{release.ACTION_REPOSITORY}@{sha}  # v1.2.3",
        True,
    )
    assert release.action_ref("", "1.2.3") == (f"{release.ACTION_REPOSITORY}@v1.2.3", False)
    source = Path(release.__file__).read_text(encoding="utf-8")
    stamped = release.stamp(source, sha)
    assert f'RELEASE_SHA = "{sha}"' in stamped and stamped.count(sha) == 1
    with pytest.raises(ValueError, match="not a full 40-character commit SHA"):
        release.stamp(source, "v1")
    files = scaffold.planned_files("acme/infra", release.action_ref(sha, "1.2.3")[0])
    sync_wf = next(f for f in files if f.path.endswith("postmortem-sync.yml"))
    assert f"uses: {release.ACTION_REPOSITORY}@{sha}  # v1.2.3\n" in sync_wf.content


@pytest.mark.skipif(shutil.which("zizmor") is None, reason="zizmor is not installed")
def test_released_init_workflows_pass_zizmor(tmp_path: Path) -> None:
    from tracker import release

    ref = release.action_ref("0123456789abcdef0123456789abcdef01234567", "1.2.3")[0]
    scaffold.write_files(tmp_path, scaffold.planned_files("acme/infra", ref), force=False)
    done = subprocess.run(
        ["zizmor", "--offline", "--persona=regular", "--no-progress", ".github/workflows"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
