"""Two syncs at once: duplicates for one key are found on the next run and repaired.

The Action's concurrency group keeps two syncs apart in CI, but two shells can still race: both
list, both see an item untracked, both create a ticket. The next sync keeps the oldest ticket of
each key (lowest number, earliest created), closes the others as duplicates (GitHub state_reason
`duplicate`, Jira the won't-do path with resolution Duplicate, local `dropped`) with a comment
naming the ticket kept, and points the file's reference at the kept ticket.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fakes.github_fake import FakeClock, FakeServer, GitHubFake, Outcome
from tests.reliability import matrix
from tests.reliability.cli_runs import child_env, run, sync_cmd
from tests.sync_harness import Repo
from tracker.backends.github_body import parse_body

PM = """---
id: pm-race
date: 2026-06-15
---
# Race

## Action items

- [ ] [mateo] Page on consumer lag above 50k messages. Due: 2026-07-01 (P1)
- [ ] [keisha] Cap webhook retries at five attempts. Due: 2026-07-15
- [oskar] Move webhook retries to a separate vhost (P2)
"""
REL = "postmortems/pm-race.md"


def duplicate_by_hand(db: Path, of: int, *, older: bool = False) -> int:
    """Insert a copy of ticket `of` (same key and marker), as a racing sync would; its id."""
    with sqlite3.connect(db) as conn:
        cur = conn.execute(
            "INSERT INTO tickets (key, title, body, state, owners, due, priority, type, labels, "
            "marker, created_at, updated_at) SELECT key, title, body, state, owners, due, "
            "priority, type, labels, marker, created_at, updated_at FROM tickets WHERE id = ?",
            (of,),
        )
        new = int(cur.lastrowid or 0)
        if older:  # created before the original (a clock a second behind, say)
            conn.execute(
                "UPDATE tickets SET created_at = '2000-01-01T00:00:00+00:00' WHERE id = ?", (new,)
            )
    return new


# --- local backend -------------------------------------------------------------------------------


def test_a_younger_duplicate_is_closed_with_a_comment_naming_the_kept_ticket(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path)
    repo.write(REL, PM)
    assert repo.sync().created == 3
    text = repo.read(REL)
    dup = duplicate_by_hand(repo.db, 2)
    assert Counter(t.key for t in repo.tickets())[repo.ticket("local:2").key] == 2

    out = repo.sync()
    assert out.counts()["closed"] == 1 and out.counts()["unchanged"] == 3 and out.ok
    closed = next(r for r in out.items if r.action == "close")
    assert closed.ticket is not None and closed.ticket.ref == f"local:{dup}"
    assert "duplicate of local:2" in closed.reason
    assert repo.writes == 2  # the close and its comment
    t = repo.ticket(f"local:{dup}")
    assert t.state == "dropped"
    with sqlite3.connect(repo.db) as conn:
        reason = conn.execute("SELECT state_reason FROM tickets WHERE id = ?", (dup,)).fetchone()
    assert reason == ("duplicate",)
    (comment,) = repo.local().comments(f"local:{dup}")
    assert comment.startswith("Duplicate of local:2")
    assert repo.ticket("local:2").state == "open"
    assert repo.read(REL) == text  # the file already names the kept ticket

    again = repo.sync()
    assert again.counts()["unchanged"] == 4 and repo.writes == 0  # the closed twin stays closed


def test_a_file_naming_the_duplicate_is_pointed_at_the_oldest_ticket(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.write(REL, PM)
    repo.sync()
    # The racing sync won the write-back: the file names its ticket, which is the older one
    # here (its clock ran behind), so the ticket the file names is the one closed.
    old = duplicate_by_hand(repo.db, 1, older=True)
    repo.write(REL, repo.read(REL).replace("(tracked: local:1)", f"(tracked: local:{old})"))
    repo.sync()  # binds the item to the oldest, local:{old}: local:1 is closed
    assert repo.ticket("local:1").state == "dropped"
    assert f"(tracked: local:{old})" in repo.read(REL)

    # And the other way round: the file names the younger twin.
    young = duplicate_by_hand(repo.db, 2)
    repo.write(REL, repo.read(REL).replace("(tracked: local:2)", f"(tracked: local:{young})"))
    out = repo.sync()
    assert out.counts()["closed"] == 1
    bound = next(
        r for r in out.items if r.action == "unchanged" and r.ticket and r.ticket.ref == "local:2"
    )
    assert bound.reason == f"its reference local:{young} is a duplicate of local:2"
    assert "(tracked: local:2)" in repo.read(REL) and f"local:{young})" not in repo.read(REL)
    assert repo.ticket(f"local:{young}").state == "dropped"
    final = repo.sync()
    assert final.counts()["unchanged"] == len(repo.tickets()) and repo.writes == 0


def test_duplicates_of_a_removed_item_leave_one_orphan(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.write(REL, PM)
    repo.sync()
    duplicate_by_hand(repo.db, 3)
    lines = repo.read(REL).split("\n")
    repo.write(REL, "\n".join(x for x in lines if "[oskar]" not in x))  # the item is removed
    out = repo.sync()
    acts = Counter(r.action for r in out.items)
    assert acts["close"] == 1  # the twin, as a duplicate; the kept one is judged as an orphan
    assert acts["orphaned"] == 1, [(r.action, r.reason) for r in out.items]


# --- two processes against the GitHub fake -------------------------------------------------------

TOKEN = "t0ken-race"


class RacingFake(GitHubFake):
    """Holds the first listing until a second one arrives: both runs see no ticket at all."""

    gate = threading.Barrier(2)
    listings = 0

    def handle(
        self, method: str, url: str, headers: dict[str, str], raw: bytes | None, base: str = ""
    ) -> Outcome:
        if method == "GET" and urlsplit(url).path == "/repos/acme/infra/issues":
            with self.lock:
                self.listings += 1
                first_two = self.listings <= 2
            if first_two:
                self.gate.wait(timeout=20)
        return super().handle(method, url, headers, raw, base)


@pytest.fixture
def github(tmp_path: Path) -> Iterator[tuple[GitHubFake, Path]]:
    fake = RacingFake(clock=FakeClock(tick=1), token=TOKEN, assignable=matrix.OWNERS)
    fake.gate = threading.Barrier(2)
    fake.latency_s = 0.002  # the two runs' creates interleave
    with FakeServer(fake) as server:
        (tmp_path / ".tracker.yml").write_text(
            f"backend: github\ngithub:\n  repo: acme/infra\n  api_url: {server.url}\n"
            "  write_spacing_s: 0\n",
            encoding="utf-8",
        )
        yield fake, tmp_path


def issues_by_key(fake: GitHubFake) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for issue in fake.issues():
        marker = parse_body(issue["body"]).marker
        if marker is not None:
            out.setdefault(marker.key, []).append(issue)
    return out


def test_two_syncs_at_once_then_one_run_repairs_the_duplicates(
    github: tuple[GitHubFake, Path],
) -> None:
    fake, root = github
    for i in range(5):  # 50 items
        path = root / f"postmortems/pm-{i:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(matrix.postmortem(i), encoding="utf-8")
    env = child_env(GITHUB_TOKEN=TOKEN)
    cmd = sync_cmd("--format", "json")
    racers = [
        subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for p in racers:
        _, err = p.communicate(timeout=60)
        # One of them may find the file rewritten by the other: exit 1, never a crash.
        assert p.returncode in (0, 1), err.decode()
        assert b"Traceback" not in err
    twins = {k: v for k, v in issues_by_key(fake).items() if len(v) > 1}
    assert len(issues_by_key(fake)) == 50
    assert len(twins) == 50  # both listed before either created: every item twice
    extra = sum(len(v) - 1 for v in twins.values())

    repair = run(root, env, "--format", "json")
    assert repair.returncode == 0, repair.stderr
    out = json.loads(repair.stdout)
    assert out["closed"] == extra and out["created"] == 0
    for key, group in issues_by_key(fake).items():
        group = sorted(group, key=lambda i: int(str(i["number"])))
        kept, rest = group[0], group[1:]
        assert kept["state"] == "open", key
        for dup in rest:
            assert (dup["state"], dup["state_reason"]) == ("closed", "duplicate"), key
            comments = fake.state.comments.get(int(str(dup["number"])), [])
            assert [c["body"] for c in comments] == [
                f"Duplicate of #{kept['number']}: both track the same postmortem action item. "
                f"postmortem-tracker keeps the oldest ticket, #{kept['number']}, and closes "
                "this one."
            ]
    # Every item's reference names the kept (oldest) issue.
    kept_refs = {
        k: f"#{min(int(str(i['number'])) for i in v)}" for k, v in issues_by_key(fake).items()
    }
    for path in (root / "postmortems").glob("*.md"):
        for ref in re.findall(r"\(tracked: (#\d+)\)", path.read_text(encoding="utf-8")):
            assert ref in kept_refs.values(), (path, ref)
    written = sum(
        len(re.findall(r"\(tracked: #\d+\)", p.read_text(encoding="utf-8")))
        for p in (root / "postmortems").glob("*.md")
    )
    assert written == 50

    final = run(root, env, "--format", "json")
    done = json.loads(final.stdout)
    assert done["unchanged"] == 50 + extra and done["closed"] == 0 and done["requests"] == 1


# --- Jira: the won't-do path with resolution Duplicate -------------------------------------------


def test_jira_duplicates_are_resolved_as_duplicate(tmp_path: Path) -> None:
    from tests.fakes.jira_fake import EMAIL, JiraFake
    from tests.fakes.jira_fake import TOKEN as JIRA_TOKEN
    from tracker.backends.jira import JiraBackend
    from tracker.drafts import build_draft
    from tracker.engine import run_sync
    from tracker.parse import parse_postmortem
    from tracker.sync import SyncPolicy

    path = tmp_path / REL
    path.parent.mkdir(parents=True)
    path.write_text(PM, encoding="utf-8")
    files = [(path, REL)]
    fake = JiraFake("cloud")
    with fake.serve() as url:

        def jira() -> JiraBackend:
            return JiraBackend(
                url, project="OPS", deployment="cloud", email=EMAIL, token=JIRA_TOKEN
            )

        policy = SyncPolicy()
        assert run_sync(files, jira(), policy, as_of=matrix.AS_OF).created == 3
        pm = parse_postmortem(PM, REL)
        twin = jira().create(build_draft(pm.items[0], pm, policy))  # a racing sync's create
        out = run_sync(files, jira(), policy, as_of=matrix.AS_OF)
        assert out.counts()["closed"] == 1 and out.ok
        fields = fake.issues[twin.ref]["fields"]
        assert fields["status"]["statusCategory"]["key"] == "done"
        assert fields["resolution"]["name"] == "Duplicate"
        (comment,) = fake.comments[twin.ref]
        assert str(comment).startswith("Duplicate of OPS-1")
        kept = jira().fetch("OPS-1")
        assert kept is not None and kept.state == "open"
        again = run_sync(files, jira(), policy, as_of=matrix.AS_OF)
        assert again.counts()["unchanged"] == 4 and again.requests == 1
