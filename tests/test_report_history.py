"""Report history from git: histories built in temporary repositories inside the tests.

The bundled examples are committed on (their postmortem date + 1 day) with their done items
still open, and marked done in a second commit two weeks later; the tool then arrives months
after (one sync to the local backend on IMPORT). The trend must show items opened in their
postmortems' weeks and the backfilled closes on their real weeks, never on import day.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tracker.backends.local import LocalBackend
from tracker.config import config_from_mapping
from tracker.discover import discover
from tracker.engine import run_sync
from tracker.gitlog import read_history
from tracker.model import Marker, Ticket
from tracker.parse import parse_postmortem
from tracker.report import compute, compute_for_config
from tracker.report.history import GitHistory, line_is_done, parse_log
from tracker.report.sources import gather
from tracker.report.trend import week_label
from tracker.sync import SyncPolicy

EXAMPLES = Path(__file__).parents[1] / "examples" / "postmortems"
IMPORT = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.timezone.utc)  # the tool arrives
AS_OF = dt.date(2026, 10, 7)
UTC = dt.timezone.utc

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str, when: dt.datetime | None = None, author: str = "Dana") -> str:
    env = {
        "HOME": str(repo),
        "PATH": os.environ.get("PATH", ""),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": f"{author.lower()}@example.com",
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": f"{author.lower()}@example.com",
    }
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    out = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, check=True, text=True
    )
    return out.stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def commit(repo: Path, files: dict[str, str], when: dt.datetime, author: str = "Dana") -> None:
    for rel, text in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        git(repo, "add", rel)
    git(repo, "commit", "-q", "-m", f"edit {', '.join(files)}", when=when, author=author)


def undone(text: str, lines: set[int]) -> str:
    """`text` with the done marks of the given (1-based) lines taken back to open."""
    out = text.split("\n")
    for n in lines:
        line = out[n - 1]
        line = re.sub(r"\[[xX]\]", "[ ]", line, count=1)
        line = re.sub(r"(?i)(\|\s*)(done|closed|complete[d]?|fixed|✅)(\s*\|)", r"\1Open\3", line)
        line = re.sub(r"(?i)\*\*(done|fixed)\*\*", "", line)
        out[n - 1] = line
    return "\n".join(out)


def example_files() -> list[tuple[str, str]]:
    out = []
    for path in sorted(EXAMPLES.rglob("*.md")):
        rel = "postmortems/" + path.relative_to(EXAMPLES).as_posix()
        out.append((rel, path.read_text(encoding="utf-8")))
    return out


@pytest.fixture
def examples_repo(tmp_path: Path) -> tuple[Path, dict[str, dt.date], dict[str, set[str]]]:
    """The examples with their history; (repo, pm date by path, keys marked done later)."""
    repo = init_repo(tmp_path / "repo")
    dates: dict[str, dt.date] = {}
    later: dict[str, set[str]] = {}
    for rel, text in example_files():
        pm = parse_postmortem(text.encode(), rel)
        assert pm.date is not None, rel
        dates[rel] = pm.date
        done = [i for i in pm.items if i.status == "done"]
        first = undone(text, {i.line for i in done})
        reparsed = {i.key: i.status for i in parse_postmortem(first.encode(), rel).items}
        later[rel] = {i.key for i in done if reparsed.get(i.key) == "open"}
        written = dt.datetime.combine(pm.date + dt.timedelta(days=1), dt.time(10), UTC)
        commit(repo, {rel: first}, written)
        if first != text:
            commit(repo, {rel: text}, written + dt.timedelta(days=14), author="Kofi")
    return repo, dates, later


def sync_local(repo: Path) -> list[Ticket]:
    backend = LocalBackend(repo / ".tracker" / "local.db", now=lambda: IMPORT)
    files = discover((), repo, ["postmortems/**/*.md"], ["**/TEMPLATE.md"])
    run_sync(files, backend, SyncPolicy(), as_of=IMPORT.date(), write_back="none")
    return backend.list_tracked()


def test_examples_trend_uses_true_history(
    examples_repo: tuple[Path, dict[str, dt.date], dict[str, set[str]]],
) -> None:
    repo, dates, later = examples_repo
    tickets = sync_local(repo)
    assert tickets and all(t.created_at == IMPORT for t in tickets)
    config = config_from_mapping({"report": {"trend_weeks": 32}})
    files = discover((), repo, ["postmortems/**/*.md"], [])
    inputs = gather(repo, files, config, lambda p: read_history(repo, p))
    assert inputs.history is not None and inputs.history.files
    report = compute_for_config(
        tickets, AS_OF, config, history=inputs.history, file_items=inputs.file_items
    )
    by_key = {i.key: i for i in report.items}
    expected_open: dict[str, int] = {}
    expected_closed: dict[str, int] = {}
    for t in tickets:
        assert t.marker is not None
        item = by_key[t.marker.key]
        added = dates[t.marker.path] + dt.timedelta(days=1)
        assert item.opened_on == added, item.key  # the commit that added it, not import day
        expected_open[week_label(added)] = expected_open.get(week_label(added), 0) + 1
        if item.state == "done":
            assert item.backfilled, item.key
            marked = added + dt.timedelta(days=14) if item.key in later[t.marker.path] else added
            assert item.closed_on == marked, item.key
            expected_closed[week_label(marked)] = expected_closed.get(week_label(marked), 0) + 1
            if item.key in later[t.marker.path]:
                assert item.closed_by == "Kofi"
    assert sum(len(k) for k in later.values()) >= 3  # the history really moves some closes
    weeks = {w.week: w for w in report.trend}
    assert {k: w.opened for k, w in weeks.items() if w.opened} == expected_open
    assert {k: w.closed for k, w in weeks.items() if w.closed} == expected_closed
    assert weeks[week_label(IMPORT.date())].closed == 0  # nothing closes on import day
    assert report.totals.backfilled == report.totals.done
    # Without git the same tickets still keep backfilled closes off import day.
    plain = compute(tickets, AS_OF, trend_weeks=32)
    assert sum(w.closed for w in plain.trend if w.week == week_label(IMPORT.date())) == 0


def test_program_time_to_publish_from_first_commit(
    examples_repo: tuple[Path, dict[str, dt.date], dict[str, set[str]]],
) -> None:
    repo, dates, _ = examples_repo
    config = config_from_mapping({})
    found = discover((), repo, ["postmortems/**/*.md"], [])
    inputs = gather(repo, found, config, lambda p: read_history(repo, p))
    assert inputs.program is not None
    publish = {p.path: p.values["time_to_publish_days"] for p in inputs.program.postmortems}
    assert set(publish) == set(dates)
    for path, days in publish.items():
        assert days is not None and 0.4 <= days <= 1.5, path  # committed the next morning


def test_shallow_clone_falls_back_to_postmortem_date(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    text = "---\ndate: 2026-03-02\n---\n# DNS\n\n## Action items\n\n- [ ] Add a TTL alert\n"
    commit(origin, {"postmortems/dns.md": text}, dt.datetime(2026, 3, 10, 9, tzinfo=UTC))
    commit(origin, {"README.md": "x\n"}, dt.datetime(2026, 3, 11, 9, tzinfo=UTC))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", origin.as_uri(), str(clone))
    history = read_history(clone, ["postmortems/dns.md"])
    assert history.files["postmortems/dns.md"][0].commit.grafted
    assert history.item("postmortems/dns.md", "Add a TTL alert").added is None
    assert history.published("postmortems/dns.md") is None
    full = read_history(origin, ["postmortems/dns.md"])
    assert full.item("postmortems/dns.md", "Add a TTL alert").added is not None
    marker = Marker(key="dns/a", path="postmortems/dns.md", hash="h", title="Add a TTL alert",
                    pm_date="2026-03-02")  # fmt: skip
    ticket = Ticket(ref="#1", url="", title="Add a TTL alert", state="open", marker=marker,
                    created_at=dt.datetime(2026, 9, 1, tzinfo=UTC))  # fmt: skip
    assert compute([ticket], AS_OF, history=history).items[0].opened_on == dt.date(2026, 3, 2)
    assert compute([ticket], AS_OF, history=full).items[0].opened_on == dt.date(2026, 3, 10)


def test_one_git_process_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = init_repo(tmp_path / "r")
    files = {f"postmortems/{n}/pm.md": f"# {n}\n\n- [ ] item {n}\n" for n in range(5)}
    commit(repo, files, dt.datetime(2026, 4, 1, tzinfo=UTC))
    calls: list[list[str]] = []
    real = subprocess.run

    def counting(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[bytes]:
        calls.append(cmd)
        return real(cmd, **kw)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(subprocess, "run", counting)
    history = read_history(repo, list(files))
    assert len(calls) == 1 and set(history.files) == set(files)


def test_not_a_repository_reads_as_no_history(tmp_path: Path) -> None:
    assert read_history(tmp_path, ["postmortems/a.md"]) == GitHistory()


def test_parse_log_and_done_lines() -> None:
    log = (
        "\x1eaaa\x1f2026-04-02T10:00:00+00:00\x1fKofi\x1f\n\n"
        "diff --git a/p.md b/p.md\n--- a/p.md\n+++ b/p.md\n@@ -3 +3 @@\n"
        "-- [ ] Add alert (tracked: #4)\n+- [x] Add alert (tracked: #4)\n"
        "\x1ebbb\x1f2026-04-01T10:00:00+00:00\x1fDana\x1f\n\n"
        "diff --git a/p.md b/p.md\n--- /dev/null\n+++ b/p.md\n@@ -0,0 +1,3 @@\n"
        "+# P\n+\n+- [ ] Add **alert**\n"
    )
    h = parse_log(log)
    item = h.item("p.md", "Add alert")
    assert item.added is not None and item.added.sha == "bbb"
    assert item.done is not None and item.done.author == "Kofi"
    assert item.edited is not None and item.edited.sha == "aaa"
    assert line_is_done("| Add alert | @kofi | Done |")
    assert line_is_done("- Add alert. Status: done")
    assert not line_is_done("| Make done detection faster than before, please | @kofi | Open |")
    assert not line_is_done("- [ ] Add alert")


def test_marker_paths_outside_the_repository_are_never_read(tmp_path: Path) -> None:
    from tracker.report.sources import with_ticket_files

    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "pm.md").write_text("# pm\n", encoding="utf-8")
    (tmp_path / "secret.md").write_text("x\n", encoding="utf-8")
    (root / "link.md").symlink_to(tmp_path / "secret.md")
    paths = ["docs/pm.md", "../secret.md", str(tmp_path / "secret.md"), "link.md", "docs"]
    tickets = [
        Ticket(ref=f"#{n}", url="", title="t", state="open",
               marker=Marker(key=f"k/{n}", path=p, hash="h"))
        for n, p in enumerate(paths)
    ]  # fmt: skip
    assert with_ticket_files(root, [], tickets) == [(root / "docs" / "pm.md", "docs/pm.md")]
