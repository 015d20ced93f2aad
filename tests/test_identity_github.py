"""Identity and lifecycle on GitHub, over the loopback fake: a ticket stays bound to its item
whatever people do (issue 13). Each test runs the CLI in-process against `FakeServer`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import generated
from tests.fakes.github_fake import FakeClock, FakeServer, GitHubFake
from tests.test_cli import run, write
from tracker.backends.github import GitHubBackend
from tracker.backends.github_body import parse_body
from tracker.engine import run_sync
from tracker.sync import ItemResult, SyncPolicy

TOKEN = "t0ken-secret"
OWNERS = generated.OWNERS
AS_OF = "2026-03-01"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)


@pytest.fixture
def served() -> Iterator[tuple[GitHubFake, FakeServer]]:
    fake = GitHubFake(clock=FakeClock(tick=1), token=TOKEN, assignable=OWNERS)
    with FakeServer(fake) as server:
        yield fake, server


def config(tmp: Path, server: FakeServer, extra: str = "", labels: str = "[postmortem]") -> None:
    write(
        tmp,
        ".tracker.yml",
        f"backend: github\ngithub:\n  repo: acme/infra\n  api_url: {server.url}\n"
        f"  write_spacing_s: 0\n  labels: {labels}\n{extra}",
    )


def sync(tmp: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code, out, err = run(["sync", "--format", "json", "--as-of", AS_OF, *args], capsys, cwd=tmp)
    return code, json.loads(out) if out.strip() else None, err


def status(tmp: Path, capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], str]:
    code, out, err = run(["status", "--format", "json", "--as-of", AS_OF], capsys, cwd=tmp)
    assert code == 0, err
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items, err


def writes(fake: GitHubFake, since: int = 0) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.log[since:] if r.method != "GET"]


def labelled(fake: GitHubFake, label: str = "postmortem") -> int:
    return sum(1 for i in fake.issues() if label in names(i["labels"]))


def names(labels: list[Any]) -> list[str]:
    return [x if isinstance(x, str) else x["name"] for x in labels]


# --- 1. the label is only the fast path -------------------------------------------------------


def test_labels_removed_and_titles_edited_nothing_is_created_and_status_sees_all(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    """17 synced items; a person removes the label from 3 issues and retitles 2."""
    fake, server = served
    config(tmp_path, server)
    write(tmp_path, "postmortems/pm-000.md", generated.postmortem(0, 17))
    code, first, _ = sync(tmp_path, capsys)
    assert code == 0 and first["created"] == 17
    numbers = sorted(i["number"] for i in fake.issues())
    for n in numbers[:3]:
        fake.edit(n, labels=[])
    for n in numbers[5:7]:
        fake.edit(n, title=f"Renamed by a person {n}")
    rows, err = status(tmp_path, capsys)
    assert len(rows) == 17  # today: 14
    assert "missing from the listing" in err
    before = len(fake.log)
    code, again, err = sync(tmp_path, capsys)
    assert code == 0 and again["created"] == 0
    assert len(fake.issues()) == 17
    assert again["updated"] == 3  # only the three labels put back
    assert all("label put back" in i["reason"] for i in again["items"] if i["action"] == "update")
    assert labelled(fake) == 17
    assert len(writes(fake, before)) == 3
    assert {i["title"] for i in fake.issues() if i["number"] in numbers[5:7]} == {
        f"Renamed by a person {n}" for n in numbers[5:7]
    }  # people's titles stay
    rows, _ = status(tmp_path, capsys)
    assert len(rows) == 17
    code, third, _ = sync(tmp_path, capsys)
    assert third["unchanged"] == 17 and third["requests"] == 1  # the fast path again


def test_changed_label_config_without_write_back_creates_no_second_issue(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    """No reference in the file to go by: the marker scan finds the issues."""
    fake, server = served
    config(tmp_path, server)
    write(tmp_path, "postmortems/pm-000.md", generated.postmortem(0, 5))
    code, first, _ = sync(tmp_path, capsys, "--no-write-back")
    assert code == 0 and first["created"] == 5
    config(tmp_path, server, labels="[incident-followup]")
    code, again, _ = sync(tmp_path, capsys, "--no-write-back")
    assert code == 0 and again["created"] == 0  # today: 5 more issues
    assert len(fake.issues()) == 5 and labelled(fake, "incident-followup") == 5
    rows, _ = status(tmp_path, capsys)
    assert len(rows) == 5


# --- 3. two postmortems with one id -----------------------------------------------------------


def test_duplicate_ids_refuse_before_any_request(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = served
    config(tmp_path, server)
    text = generated.postmortem(3, 4)
    write(tmp_path, "postmortems/pm-003.md", text)
    # A copy keeps the front matter id; here one line lower.
    write(tmp_path, "postmortems/copy-of-pm-003.md", text.replace("---\n", "---\ntitle: c\n", 1))
    code, out, err = sync(tmp_path, capsys)
    # --format json keeps its promise of one object on this exit path too
    assert code == 2 and out is not None and out["exit_code"] == 2
    assert "copy-of-pm-003.md:3" in out["error"] and "pm-003.md:2" in out["error"]
    assert fake.log == []  # zero requests, zero writes
    flat = " ".join(err.split())
    assert "postmortems/copy-of-pm-003.md:3" in flat and "postmortems/pm-003.md:2" in flat
    assert "pm-003" in flat
    code, out, err = run(["lint", "postmortems"], capsys, cwd=tmp_path)
    assert code == 1 and "PM013" in out + err and "copy-of-pm-003.md" in out + err


# --- 4. a deleted postmortem ------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _repo_with_two_postmortems(tmp: Path, server: FakeServer, extra: str = "") -> None:
    git(tmp, "init", "-q", "-b", "main")
    config(tmp, server, extra)
    write(tmp, "postmortems/pm-000.md", generated.postmortem(0, 5))
    write(tmp, "postmortems/pm-001.md", generated.postmortem(1, 3))
    git(tmp, "add", "-A")
    git(tmp, "commit", "-q", "-m", "postmortems")


def test_removed_postmortem_closes_its_tickets_with_a_comment_naming_the_commit(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = served
    _repo_with_two_postmortems(tmp_path, server, "sync:\n  close_removed: true\n")
    code, first, _ = sync(tmp_path, capsys)
    assert code == 0 and first["created"] == 8
    git(tmp_path, "commit", "-qam", "links")
    git(tmp_path, "rm", "-q", "postmortems/pm-000.md")
    git(tmp_path, "commit", "-qm", "drop the old postmortem")
    sha = git(tmp_path, "rev-parse", "HEAD")
    code, again, _ = sync(tmp_path, capsys)
    assert code == 0 and again["closed"] == 5  # today: 0
    gone = [i for i in fake.issues() if "pm-000" in i["body"]]
    assert len(gone) == 5
    assert all(i["state"] == "closed" and i["state_reason"] == "not_planned" for i in gone)
    for issue in gone:
        notes = [c["body"] for c in fake.state.comments.get(issue["number"], [])]
        assert len(notes) == 1 and sha in notes[0] and "postmortems/pm-000.md" in notes[0]
    assert sum(1 for i in fake.issues() if i["state"] == "open") == 3
    code, third, _ = sync(tmp_path, capsys)
    assert third["closed"] == 0 and third["unchanged"] == 8


def test_removed_postmortem_without_close_removed_is_listed_orphaned(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    _fake, server = served
    _repo_with_two_postmortems(tmp_path, server)
    sync(tmp_path, capsys)
    git(tmp_path, "commit", "-qam", "links")
    git(tmp_path, "rm", "-q", "postmortems/pm-000.md")
    git(tmp_path, "commit", "-qm", "drop")
    code, again, _ = sync(tmp_path, capsys)
    assert code == 0 and again["orphaned"] == 5 and again["closed"] == 0
    assert all(
        "removed in commit" in i["reason"] for i in again["items"] if i["action"] == "orphaned"
    )
    rows, _ = status(tmp_path, capsys)
    assert sum(1 for r in rows if r["orphaned"]) == 5 and len(rows) == 8
    code, out, err = run(["status", "--as-of", AS_OF], capsys, cwd=tmp_path)
    assert "Orphaned" in out and "3 open items, 3 overdue, 5 orphaned" in err
    code, out, _ = run(["report", "--format", "json", "--as-of", AS_OF], capsys, cwd=tmp_path)
    report = json.loads(out)
    assert len(report["orphaned"]) == 5 and report["totals"]["open"] == 3
    code, out, _ = run(["report", "--format", "markdown", "--as-of", AS_OF], capsys, cwd=tmp_path)
    assert "## Orphaned (postmortem removed from git)" in out


def test_excluded_or_uncommitted_deletion_is_said_and_changes_nothing(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = served
    _repo_with_two_postmortems(tmp_path, server, "sync:\n  close_removed: true\n")
    sync(tmp_path, capsys)
    git(tmp_path, "commit", "-qam", "links")
    text = (tmp_path / ".tracker.yml").read_text(encoding="utf-8")
    write(tmp_path, ".tracker.yml", text + "exclude: ['postmortems/pm-000.md']\n")
    before = len(fake.log)
    code, again, err = sync(tmp_path, capsys)
    assert code == 0 and again["closed"] == 0 and writes(fake, before) == []
    assert "postmortems/pm-000.md: 5 tickets left as they are" in " ".join(err.split())
    write(tmp_path, ".tracker.yml", text)
    (tmp_path / "postmortems" / "pm-000.md").unlink()  # deleted here, not in git
    code, again, err = sync(tmp_path, capsys)
    assert code == 0 and again["closed"] == 0 and writes(fake, before) == []
    assert "still in git" in err


# --- 5. a token that may not write ------------------------------------------------------------


def test_read_only_token_stops_at_the_first_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = GitHubFake(clock=FakeClock(tick=1), token=TOKEN, assignable=OWNERS, read_only=True)
    with FakeServer(fake) as server:
        config(tmp_path, server)
        write(tmp_path, "postmortems/pm-000.md", generated.postmortem(0, 17))
        code, out, _err = sync(tmp_path, capsys)
    assert code == 1
    assert len(writes(fake)) <= 2  # today: 17 or more
    assert out["failed"] == 1 and out["deferred"] == 16 and out["created"] == 0
    failure = next(i for i in out["items"] if i["action"] == "failed")["error"]
    assert "issues: write" in failure and "permissions:" in failure


# --- 7. a reference in prose is a link, not a binding -----------------------------------------

TWO = (
    "---\nid: pm-9\ndate: 2026-01-05\n---\n# Incident 9\n\n## Action items\n\n"
    "- [ ] Add a disk alert on db-1. Owner: @alice Due: 2026-02-01\n"
    "- [ ] Shard the ledger table. Owner: @bob Due: 2026-03-01\n"
)


def test_a_ticket_number_in_the_sentence_never_binds(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = served
    config(tmp_path, server)
    pm = write(tmp_path, "postmortems/pm-9.md", TWO)
    assert sync(tmp_path, capsys)[1]["created"] == 2
    text = pm.read_text(encoding="utf-8")
    pm.write_text(
        text + "- [ ] Page on replica lag, which hid the outage in #1. Owner: @carol "
        "Due: 2026-04-01\n",
        encoding="utf-8",
    )
    code, out, _ = sync(tmp_path, capsys)
    assert code == 0 and out["created"] == 1 and out["conflicts"] == 0  # today: a conflict
    assert out["unchanged"] == 2
    assert len(fake.issues()) == 3
    assert "(tracked: #3)" in pm.read_text(encoding="utf-8")


def test_an_unmarked_ticket_named_by_a_label_is_adopted_only_when_configured(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = served
    config(tmp_path, server)
    mine = fake.add_issue("Disk alert for db-1", "Filed by hand during the incident.")
    pm = write(
        tmp_path,
        "postmortems/pm-9.md",
        TWO.replace("Due: 2026-02-01", f"Due: 2026-02-01 Tracked in: #{mine['number']}"),
    )
    code, out, _ = sync(tmp_path, capsys)
    assert out["conflicts"] == 1 and out["created"] == 1 and len(fake.issues()) == 2
    conflict = next(i for i in out["items"] if i["action"] == "conflict")
    assert "sync.adopt" in conflict["reason"]
    config(tmp_path, server, "sync:\n  adopt: true\n")
    code, out, _ = sync(tmp_path, capsys)
    assert code == 0 and out["updated"] == 1 and out["created"] == 0
    adopted = fake.state.issues[mine["number"]]
    assert adopted["body"].startswith("Filed by hand during the incident.")
    marker = parse_body(adopted["body"]).marker
    assert marker is not None and marker.key.startswith("pm-9/")
    assert "postmortem" in names(adopted["labels"])
    assert sync(tmp_path, capsys, "--no-write-back")[1]["unchanged"] == 2
    assert len(fake.issues()) == 2
    assert pm.read_text(encoding="utf-8").count("(tracked:") == 1


# --- 8. a closure that cannot be written back -------------------------------------------------


def test_closure_without_write_back_is_said_once_per_item(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = served
    config(tmp_path, server)
    pm = write(tmp_path, "postmortems/pm-9.md", TWO)
    sync(tmp_path, capsys)
    for issue in fake.issues():
        fake.edit(issue["number"], state="closed", state_reason="completed")
    code, _out, err = sync(tmp_path, capsys, "--no-write-back")
    assert code == 0
    flat = " ".join(err.split())
    for n in (1, 2):
        assert flat.count(f"#{n} was closed in the tracker but the file still says open") == 1
    assert "write-back is off" in flat and "- [ ]" in pm.read_text(encoding="utf-8")


def test_closure_not_written_because_the_file_changed_is_said_once_per_item(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, server = served
    config(tmp_path, server)
    pm = write(tmp_path, "postmortems/pm-9.md", TWO)
    sync(tmp_path, capsys)
    for issue in fake.issues():
        fake.edit(issue["number"], state="closed", state_reason="completed")
    gh = GitHubBackend("acme/infra", TOKEN, api_url=server.url, write_spacing_s=0)

    def someone_edits(done: int, total: int, result: ItemResult) -> None:
        if done == total:  # after the plan read the file, before the write-back
            pm.write_text(pm.read_text(encoding="utf-8") + "\nEdited meanwhile.\n", "utf-8")

    out = run_sync(
        [(pm, "postmortems/pm-9.md")],
        gh,
        SyncPolicy(),
        as_of=dt.date(2026, 3, 1),
        progress=someone_edits,
    )
    assert out.write_back_errors  # the file is left as the person wrote it
    said = [n for n in out.notices if "was closed in the tracker" in n]
    assert len(said) == 2 and {n.split(": ")[1].split()[0] for n in said} == {"#1", "#2"}
    assert "- [ ] Add a disk alert" in pm.read_text(encoding="utf-8")


def test_a_postmortem_renamed_to_another_id_keeps_its_tickets(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer], capsys: pytest.CaptureFixture[str]
) -> None:
    """No `id:` in the front matter: the file name is the id, and `git mv` changes it."""
    fake, server = served
    git(tmp_path, "init", "-q", "-b", "main")
    config(tmp_path, server, "sync:\n  close_removed: true\n")
    write(tmp_path, "postmortems/db-outage.md", TWO.replace("id: pm-9\n", ""))
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "pm")
    assert sync(tmp_path, capsys, "--no-write-back")[1]["created"] == 2  # no refs to go by
    git(tmp_path, "mv", "postmortems/db-outage.md", "postmortems/2026-01-05-db-outage.md")
    git(tmp_path, "commit", "-qm", "rename")
    code, out, _ = sync(tmp_path, capsys, "--no-write-back")
    assert code == 0 and (out["created"], out["closed"], out["updated"]) == (0, 0, 2)
    assert all("moved from postmortems/db-outage.md" in i["reason"] for i in out["items"])
    assert len(fake.issues()) == 2 and all(i["state"] == "open" for i in fake.issues())
    assert sync(tmp_path, capsys, "--no-write-back")[1]["unchanged"] == 2
