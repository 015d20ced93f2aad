"""What the CLI prints: one line per change, grouped notes, no secret in any error."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from jira.exceptions import JIRAError

from tests.test_cli import run, write
from tracker import output
from tracker.errors import ConfigError
from tracker.gitdiff import changed_files
from tracker.model import Ticket
from tracker.sync import ItemResult

TOKEN = "c2VjcmV0LXRva2VuLTEyMzQ1Njc4OTA"  # what a Basic header would carry


def test_redact_hides_authorization_headers_and_token_parameters() -> None:
    text = (
        f"request headers = {{'Authorization': 'Basic {TOKEN}', 'Accept': 'json'}}\n"
        f"authorization: Bearer {TOKEN}\nGET /x?access_token={TOKEN}&page=2"
    )
    shown = output.redact(text)
    assert TOKEN not in shown
    assert "'Authorization': '***'" in shown and "'Accept': 'json'" in shown
    assert "access_token=***&page=2" in shown


@pytest.mark.parametrize("verbose", [False, True])
def test_a_jira_error_with_an_authorization_header_never_reaches_the_output(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    verbose: bool,
) -> None:
    request = SimpleNamespace(
        headers={"Authorization": f"Basic {TOKEN}", "Content-Type": "application/json"},
        text='{"jql": "project = OPS"}',
    )
    error = JIRAError("Unauthorized", 401, "https://acme.atlassian.net/rest/api/2/x", request)
    assert TOKEN in str(error)  # the library's own text carries the header

    def boom(self: object) -> list[Ticket]:
        raise error

    monkeypatch.setattr("tracker.backends.local.LocalBackend.list_tracked", boom)
    args = ["status", "-v"] if verbose else ["status"]
    code, out, err = run(args, capsys, cwd=tmp_path)
    assert code == 3
    assert TOKEN not in out + err
    assert "internal error: jira.exceptions.JIRAError" in err
    if verbose:
        assert "Traceback" in err and "'Authorization': '***'" in err
    else:
        assert (
            "Traceback" not in err
            and "Unauthorized" not in err
            and "run again with -v" in err.lower()
        )


def _result(action: str, key: str, ref: str | None, url: str = "", reason: str = "") -> ItemResult:
    ticket = Ticket(ref=ref, url=url, title=f"Title of {key}", state="open") if ref else None
    return ItemResult(key, action, reason or "why", ticket)  # type: ignore[arg-type]


def test_a_no_op_sync_is_one_line() -> None:
    items = [_result("unchanged", f"pm/{i}", f"#{i}") for i in range(17)]
    text = output.sync_text(items, {"unchanged": 17}, dry_run=False, requests=3)
    assert text == output.SyncText((), ("sync: 17 items, all up to date",))


def test_changes_are_one_line_each_with_title_and_url_then_a_summary() -> None:
    items = [
        _result("create", "pm/a", "#12", "https://github.com/acme/infra/issues/12"),
        _result("unchanged", "pm/b", "#13"),
        *[
            _result("deferred", f"pm/d{i}", None, reason="create deferred: write budget of 2 spent")
            for i in range(3)
        ],
    ]
    text = output.sync_text(
        items, {"created": 1, "unchanged": 1, "deferred": 3}, dry_run=False, requests=None
    )
    assert text.changes == (
        "     created  #12        Title of pm/a  https://github.com/acme/infra/issues/12",
    )
    assert text.summary == (
        "sync: 1 created, 1 unchanged, 3 deferred",
        "3 deferred to the next run: write budget of 2 spent",
    )


def test_repeated_notes_are_grouped() -> None:
    notes = [
        f"pm/{i}: 'dana' cannot be assigned in acme/infra (not a GitHub login)" for i in range(5)
    ]
    notes += ["pm/x: one of a kind", "a note without a key", "a note without a key"]
    assert output.group_notes(notes) == [
        "'dana' cannot be assigned in acme/infra (not a GitHub login) "
        "(5 items: pm/0, pm/1, pm/2, ...)",
        "pm/x: one of a kind",
        "a note without a key",
    ]


def test_quiet_sync_prints_nothing_and_config_goes_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        "pms/a.md",
        "# T\n## Action items\n- Add a disk alert on db-1. Owner: @ann Due: 2026-07-01\n",
    )
    write(tmp_path, "ci.yml", "paths: ['pms/*.md']\nlocal:\n  path: db/t.db\n")
    code, out, err = run(["sync", "-q", "--config", "ci.yml"], capsys, cwd=tmp_path)
    assert (code, out, err) == (0, "", "")
    assert (tmp_path / "db" / "t.db").exists()
    code, out, err = run(["--config", "ci.yml", "sync"], capsys, cwd=tmp_path)
    assert (code, out, err) == (0, "", "sync: 1 item, all up to date\n")


def test_status_table_fits_80_columns_and_wraps_titles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long = "Add a disk alert " + "and a very long explanation " * 6
    write(
        tmp_path,
        "postmortems/a.md",
        f"# T\n## Action items\n- {long}. Owner: @ann Due: 2026-07-01\n",
    )
    assert run(["sync"], capsys, cwd=tmp_path)[0] == 0
    code, out, _ = run(["status"], capsys, cwd=tmp_path)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert len(lines) > 2 and lines[1].startswith("local:1") and "2026-07-01" in lines[1]
    code, _, err = run(["status", "--owner", "bob"], capsys, cwd=tmp_path)
    assert err == "no open items with owner 'bob'; owners with open items: ann\n"


def test_status_age_counts_from_the_postmortem_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        "postmortems/a.md",
        "---\ndate: 2026-01-10\n---\n## Action items\n- Add a disk alert on db-1. Owner: @ann Due: 2026-07-01\n",
    )
    assert run(["sync"], capsys, cwd=tmp_path)[0] == 0
    code, out, _ = run(["status", "--as-of", "2026-03-01"], capsys, cwd=tmp_path)
    assert code == 0 and out.splitlines()[1].rstrip().endswith(
        "50d"
    )  # written 2026-01-10, synced later


def _repo(tmp_path: Path) -> Path:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    (tmp_path / "a.md").write_text("a\n")
    git("add", "a.md")
    git("commit", "-q", "-m", "one")
    (tmp_path / "b.md").write_text("b\n")
    git("add", "b.md")
    git("commit", "-q", "-m", "two")
    return tmp_path


@pytest.mark.parametrize("ref", ["--output=out.txt", "-p", "--", " "])
def test_changed_since_refuses_a_ref_git_would_read_as_an_option(tmp_path: Path, ref: str) -> None:
    root = _repo(tmp_path)
    with pytest.raises(ConfigError, match="not a commit or branch name"):
        changed_files(root, ref)
    assert not (root / "out.txt").exists()
    assert changed_files(root, "HEAD~1") == ["b.md"]  # --end-of-options keeps refs working


def test_changed_since_option_injection_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path)
    code, out, err = run(["lint", "--changed-since=--output=out.txt"], capsys, cwd=root)
    assert code == 2 and out == "" and "not a commit or branch name" in err
    assert not (root / "out.txt").exists()
