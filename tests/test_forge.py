"""forge.py against the in-process GitHub fake: the weekly report issue, and write-back as one
commit per run (a pull request, or a commit on the branch).

Every test's traffic is checked against the GitHub description (the shared subset plus
tests/fakes/specs/github-extra.json). Nothing sleeps: waits go to a list.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from tests.backends.test_github import spec_problems
from tests.conftest import SPECS
from tests.fakes.github_fake import FakeClock, Fault, GitHubFake, Logged
from tracker.backends.github import GitHubBackend
from tracker.errors import ConfigError, PermissionDenied, WriteBackError
from tracker.forge import LINKS_BRANCH, PR_TITLE, Forge, from_config
from tracker.report import GITHUB_BODY_LIMIT
from tracker.writeback import FileEdit, blob_sha

TOKEN = "t0ken-secret"
REFS = "/repos/acme/infra/git/refs"


@dataclasses.dataclass
class Rig:
    fake: GitHubFake
    clock: FakeClock
    waits: list[float]

    def forge(self, **kw: Any) -> Forge:
        args: dict[str, Any] = {
            "write_spacing_s": 0.0,
            "sleeper": self.waits.append,
            "clock": self.clock.time,
        }
        args.update(kw)
        return Forge("acme/infra", TOKEN, **args)

    def writes(self, since: int = 0) -> list[Logged]:
        return [r for r in self.fake.log[since:] if r.method != "GET"]

    def calls(self, method: str, path: str, since: int = 0) -> list[Logged]:
        return [
            r
            for r in self.fake.log[since:]
            if r.method == method and re.fullmatch(path, r.path) and r.fault is None
        ]


@pytest.fixture
def rig() -> Iterator[Rig]:
    clock = FakeClock()
    fake = GitHubFake(clock=clock, token=TOKEN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield Rig(fake, clock, [])
    if SPECS.is_dir():
        assert spec_problems(fake.log) == []


# --- the weekly report issue -------------------------------------------------------------------

MARKER = '<!-- postmortem-tracker-report: {"week":"2026-W47"} -->'
PART = re.compile(r'<!-- postmortem-tracker-report-part: \{"week":"2026-W47","part":(\d+)\} -->')


def reports(fake: GitHubFake) -> list[dict[str, Any]]:
    return [i for i in fake.issues() if "postmortem-report" in i["labels"]]


def comments(fake: GitHubFake, number: int) -> list[str]:
    return [c["body"] for c in fake.state.comments.get(number, [])]


def big_report(rows: int, width: int = 90) -> str:
    lines = ["# Postmortem action items", "", "## Open items", ""]
    lines += ["| Item | Owner | Due |", "|---|---|---|"]
    lines += [f"| item-{n:05d} {'x' * width} | @owner{n % 7} | 2026-12-01 |" for n in range(rows)]
    return "\n".join(lines) + "\n"


def test_report_issue_is_created_with_its_label(rig: Rig) -> None:
    rig.fake.state.labels.pop("postmortem-report", None)
    url = rig.forge().post_report(
        "Postmortem action items: 2026-W47",
        "| a | b |\n|---|---|\n",
        "2026-W47",
        close_previous=False,
    )
    (issue,) = reports(rig.fake)
    assert url == f"https://github.com/acme/infra/issues/{issue['number']}"
    assert issue["title"] == "Postmortem action items: 2026-W47"
    assert issue["body"] == f"| a | b |\n|---|---|\n\n{MARKER}"
    assert [r.body["name"] for r in rig.calls("POST", r"/repos/acme/infra/labels")] == [
        "postmortem-report"
    ]


def test_report_is_updated_in_place_and_not_patched_when_unchanged(rig: Rig) -> None:
    forge = rig.forge()
    url = forge.post_report("Report", "first\n", "2026-W47", close_previous=False)
    assert forge.post_report("Report", "second\n", "2026-W47", close_previous=False) == url
    (issue,) = reports(rig.fake)
    assert issue["body"].startswith("second\n")
    assert len(rig.calls("PATCH", r"/repos/acme/infra/issues/\d+")) == 1
    before = len(rig.fake.log)
    again = rig.forge()  # a new run: nothing cached
    assert again.post_report("Report", "second\n", "2026-W47", close_previous=False) == url
    assert rig.writes(before) == [] and again.requests == 1  # one listing, nothing else
    # a new title alone is a change too
    again.post_report("Report, renamed", "second\n", "2026-W47", close_previous=False)
    assert reports(rig.fake)[0]["title"] == "Report, renamed"


def test_a_200_kb_report_overflows_into_comments_kept_in_step(rig: Rig) -> None:
    markdown = big_report(2000)
    assert len(markdown) > 200_000
    forge = rig.forge()
    url = forge.post_report("Report", markdown, "2026-W47", close_previous=False)
    (issue,) = reports(rig.fake)
    number = issue["number"]
    parts = comments(rig.fake, number)
    assert len(parts) >= 3
    for text in (issue["body"], *parts):
        assert len(text) <= GITHUB_BODY_LIMIT
    assert issue["body"].endswith(MARKER)
    assert f"continues in {len(parts)} comments below" in issue["body"]
    assert [int(PART.search(c).group(1)) for c in parts] == list(range(2, len(parts) + 2))  # type: ignore[union-attr]
    rows = re.findall(r"^\| (item-\d{5})", "\n".join([issue["body"], *parts]), re.MULTILINE)
    assert rows == [f"item-{n:05d}" for n in range(2000)]  # every row once, in order, whole
    for c in parts:
        assert c.lstrip().startswith(("## Open items (continued)", "| Item | Owner | Due |"))

    # Someone comments; the report then shrinks: one overflow comment goes, the other is edited.
    rig.fake._comment(rig.fake.state.issues[number], "Looks bad, @owner3 please look")
    before = len(rig.fake.log)
    smaller = big_report(800)
    assert forge.post_report("Report", smaller, "2026-W47", close_previous=False) == url
    left = comments(rig.fake, number)
    assert len(left) == 2 and PART.search(left[0])
    assert left[1] == "Looks bad, @owner3 please look"  # never touched
    rows = re.findall(r"^\| (item-\d{5})", "\n".join([reports(rig.fake)[0]["body"], *left]), re.M)
    assert rows == [f"item-{n:05d}" for n in range(800)]
    deletes = rig.calls("DELETE", r"/repos/acme/infra/issues/comments/\d+", before)
    assert len(deletes) == len(parts) - 1
    # Unchanged again: the listing of the issue and its comments, no write.
    before = len(rig.fake.log)
    rig.forge().post_report("Report", smaller, "2026-W47", close_previous=False)
    assert rig.writes(before) == []
    # Grows back: comments are added after the ones there.
    rig.forge().post_report("Report", markdown, "2026-W47", close_previous=False)
    assert [PART.search(c) is not None for c in comments(rig.fake, number)].count(True) == len(
        parts
    )


def test_close_previous_closes_only_earlier_open_report_issues(rig: Rig) -> None:
    def old(week: str, state: str = "open") -> int:
        body = f'old\n\n<!-- postmortem-tracker-report: {{"week":"{week}"}} -->'
        issue = rig.fake.add_issue(f"Report {week}", body, labels=["postmortem-report"])
        if state == "closed":
            rig.fake.edit(issue["number"], state="closed", state_reason="completed")
        return int(issue["number"])

    w45, w46, w48 = old("2026-W45", "closed"), old("2026-W46"), old("2026-W48")
    other = rig.fake.add_issue("Not a report", "hello", labels=["postmortem-report"])["number"]
    forge = rig.forge()
    forge.post_report("Report", "now\n", "2026-W47", close_previous=False)
    assert rig.fake.state.issues[w46]["state"] == "open"
    before = len(rig.fake.log)
    forge.post_report("Report", "now\n", "2026-W47", close_previous=True)
    closes = rig.calls("PATCH", r"/repos/acme/infra/issues/\d+", before)
    assert [r.path.rsplit("/", 1)[1] for r in closes] == [str(w46)]
    assert closes[0].body == {"state": "closed", "state_reason": "completed"}
    states = {n: rig.fake.state.issues[n]["state"] for n in (w45, w46, w48, other)}
    assert states == {w45: "closed", w46: "closed", w48: "open", other: "open"}


def test_the_report_the_github_backend_posted_is_updated_in_place(rig: Rig) -> None:
    backend = GitHubBackend("acme/infra", TOKEN, write_spacing_s=0, sleeper=rig.waits.append)
    url = backend.post_report("Report", "from the backend", "2026-W47")
    assert rig.forge().post_report("Report", "now", "2026-W47", close_previous=False) == url
    (issue,) = reports(rig.fake)
    assert issue["body"] == f"now\n\n{MARKER}"


def test_a_marker_inside_the_report_text_cannot_pass_for_another_week(rig: Rig) -> None:
    text = 'x\n<!-- postmortem-tracker-report: {"week":"2026-W01"} -->\n'
    rig.forge().post_report("Report", text, "2026-W47", close_previous=False)
    rig.forge().post_report("Report", "y\n", "2026-W01", close_previous=False)
    assert len(reports(rig.fake)) == 2


# --- write-back ----------------------------------------------------------------------------------

A = "postmortems/2026-a.md"
B = "postmortems/2026/b.md"
A_OLD = b"# A\n\n## Action items\n\n- [ ] Add a disk alert. Owner: @alice\r\n"
B_OLD = b"# B\n\n| Item | Owner | Ticket |\n|---|---|---|\n| Shard the table | @bob | |\n"
A_NEW = A_OLD.replace(b"@alice", b"@alice (tracked: #1)")
B_NEW = B_OLD.replace(b"| @bob | |", b"| @bob | #2 |")


@pytest.fixture
def seeded(rig: Rig) -> Rig:
    rig.fake.git.seed({A: A_OLD, B: B_OLD, "README.md": b"# infra\n"})
    return rig


def edits(*pairs: tuple[str, bytes, bytes]) -> list[FileEdit]:
    return [FileEdit(path, new, blob_sha(old)) for path, old, new in pairs]


def changed(fake: GitHubFake, ref: str, base: str = "main") -> dict[str, bytes]:
    now, then = fake.git.files(ref), fake.git.files(base)
    assert set(now) == set(then)
    return {p: b for p, b in now.items() if then[p] != b}


def test_pull_request_holds_one_commit_with_exactly_the_changed_files(seeded: Rig) -> None:
    fake = seeded.fake
    main = fake.git.head("main")
    url = seeded.forge().commit_files(
        edits((A, A_OLD, A_NEW), (B, B_OLD, B_NEW)), None, mode="pull-request"
    )
    head = fake.git.head(LINKS_BRANCH)
    assert head is not None and fake.git.head("main") == main  # the base is left alone
    (commit,) = fake.git.commits_between(main, head)
    assert commit["parents"] == [main]
    assert commit["message"].startswith("Add ticket links to 2 postmortems")
    assert "only adds ticket links" in commit["message"]
    assert changed(fake, LINKS_BRANCH) == {A: A_NEW, B: B_NEW}  # byte-exact, CRLF kept
    (pr,) = fake.git.pulls()
    assert url == f"https://github.com/acme/infra/pull/{pr['number']}"
    assert fake.git.state.pulls[pr["number"]] == {"head": LINKS_BRANCH, "base": "main"}
    assert pr["title"] == PR_TITLE
    body = pr["body"]
    assert f"- `{A}`" in body and f"- `{B}`" in body
    assert "only adds ticket links" in body and "next sync finds every item already linked" in body
    assert "Required status checks do not run" in body and "close and reopen" in body
    assert "GitHub App token" in body
    # One request per folder on the way to the files, one tree, one commit, one branch, one PR.
    trees = seeded.calls("GET", r"/repos/acme/infra/git/trees/\w+")
    assert len(trees) == 3  # root, postmortems/, postmortems/2026/
    posted = [r.path.rsplit("/", 1)[1] for r in seeded.writes()]
    assert posted == ["trees", "commits", "refs", "pulls"]


def test_branch_created_then_rebuilt_and_the_pull_request_updated_in_place(seeded: Rig) -> None:
    fake = seeded.fake
    first = seeded.forge().commit_files(
        edits((A, A_OLD, A_NEW)), None, mode="pull-request", base_branch="main"
    )
    before = len(fake.log)
    second = seeded.forge().commit_files(
        edits((A, A_OLD, A_NEW), (B, B_OLD, B_NEW)), None, mode="pull-request", base_branch="main"
    )
    assert first == second and len(fake.git.pulls()) == 1
    main, head = fake.git.head("main"), fake.git.head(LINKS_BRANCH)
    assert head is not None
    assert len(fake.git.commits_between(main, head)) == 1  # rebuilt on main, not stacked
    assert changed(fake, LINKS_BRANCH) == {A: A_NEW, B: B_NEW}
    assert [r.body for r in seeded.calls("PATCH", REFS + r"/heads/postmortem-tracker/links")] == [
        {"sha": head, "force": True}
    ]
    assert len(seeded.calls("POST", REFS)) == 1 and len(seeded.calls("POST", r".*/pulls")) == 1
    (patch,) = seeded.calls("PATCH", r"/repos/acme/infra/pulls/\d+", before)
    assert set(patch.body) == {"body"} and f"- `{B}`" in patch.body["body"]
    # The same edits once more: no commit, no ref update, no pull request update.
    before = len(fake.log)
    assert (
        seeded.forge().commit_files(
            edits((A, A_OLD, A_NEW), (B, B_OLD, B_NEW)),
            None,
            mode="pull-request",
            base_branch="main",
        )
        == first
    )
    assert [r.path.rsplit("/", 1)[1] for r in seeded.writes(before)] == ["trees"]
    assert fake.git.head(LINKS_BRANCH) == head


def test_after_a_merge_the_next_write_back_opens_a_new_pull_request(seeded: Rig) -> None:
    fake = seeded.fake
    seeded.forge().commit_files(edits((A, A_OLD, A_NEW)), None, mode="pull-request")
    (pr,) = fake.git.pulls()
    fake.git.merge(pr["number"])
    assert fake.git.files("main")[A] == A_NEW
    seeded.forge().commit_files(edits((B, B_OLD, B_NEW)), None, mode="pull-request")
    first, second = fake.git.pulls()
    assert (first["state"], second["state"]) == ("closed", "open")
    assert changed(fake, LINKS_BRANCH) == {B: B_NEW}


def test_commit_mode_fast_forwards_the_base_branch(seeded: Rig) -> None:
    fake = seeded.fake
    main = fake.git.head("main")
    url = seeded.forge().commit_files(
        edits((A, A_OLD, A_NEW), (B, B_OLD, B_NEW)), "Link tickets", mode="commit"
    )
    new = fake.git.head("main")
    assert new is not None
    (commit,) = fake.git.commits_between(main, new)
    assert url == f"https://github.com/acme/infra/commit/{new}"
    assert commit["message"] == "Link tickets"
    assert changed(fake, new, base=commit["parents"][0]) == {A: A_NEW, B: B_NEW}
    assert [r.body for r in seeded.calls("PATCH", REFS + "/heads/main")] == [
        {"sha": new, "force": False}
    ]
    assert fake.git.pulls() == [] and fake.git.head(LINKS_BRANCH) is None


@pytest.mark.parametrize("mode", ["pull-request", "commit"])
def test_refuses_when_a_file_on_the_base_branch_changed(seeded: Rig, mode: str) -> None:
    fake = seeded.fake
    fake.git.seed({A: A_OLD + b"- [ ] A line someone added\n"}, message="edit")
    main = fake.git.head("main")
    before = len(fake.log)
    with pytest.raises(WriteBackError) as exc:
        seeded.forge().commit_files(
            edits((A, A_OLD, A_NEW), (B, B_OLD, B_NEW)),
            None,
            mode=mode,  # type: ignore[arg-type]
        )
    msg = str(exc.value)
    assert f"{A} on main is not the version this run read" in msg and B not in msg
    assert "nothing was committed" in msg and "Run sync again" in msg
    assert seeded.writes(before) == [] and fake.git.head("main") == main


def test_refuses_a_file_missing_on_the_base_branch(seeded: Rig) -> None:
    with pytest.raises(WriteBackError, match=r"postmortems/new\.md is not on main"):
        seeded.forge().commit_files(edits(("postmortems/new.md", b"x", b"y")), None, mode="commit")
    assert seeded.writes() == []


def test_refused_pull_request_names_the_setting_and_the_token(seeded: Rig) -> None:
    seeded.fake.git.actions_may_open_prs = False
    with pytest.raises(PermissionDenied) as exc:
        seeded.forge().commit_files(edits((A, A_OLD, A_NEW)), None, mode="pull-request")
    msg = str(exc.value)
    assert "403 GitHub Actions is not permitted to create or approve pull requests" in msg
    assert "'Allow GitHub Actions to create and approve pull requests'" in msg
    assert "Settings > Actions > General" in msg and "`github-token`" in msg
    assert LINKS_BRANCH in msg and seeded.fake.git.head(LINKS_BRANCH) is not None


@pytest.mark.parametrize("status", [422, 403])
def test_protected_branch_in_commit_mode_points_to_pull_request(seeded: Rig, status: int) -> None:
    seeded.fake.git.protected = {"main"}
    seeded.fake.git.protected_status = status
    main = seeded.fake.git.head("main")
    with pytest.raises(PermissionDenied) as exc:
        seeded.forge().commit_files(edits((A, A_OLD, A_NEW)), None, mode="commit")
    msg = str(exc.value)
    assert f"({status} Protected branch update failed for refs/heads/main.)" in msg
    assert "the branch is protected" in msg and "write-back: pull-request" in msg
    assert ("contents: write" in msg) == (status == 403)
    assert seeded.fake.git.head("main") == main


def test_commit_mode_never_forces_over_a_base_that_moved(seeded: Rig) -> None:
    seeded.fake.inject(
        Fault(
            "reply",
            "PATCH",
            REFS + "/heads/main",
            status=422,
            body={"message": "Update is not a fast forward", "documentation_url": "x"},
        )
    )
    with pytest.raises(WriteBackError, match="main moved while the links were being committed"):
        seeded.forge().commit_files(edits((A, A_OLD, A_NEW)), None, mode="commit")


def test_bytes_that_are_not_utf8_go_as_a_base64_blob(seeded: Rig) -> None:
    old, new = b"# C\n\xff\xfe legacy\n", b"# C\n\xff\xfe legacy (tracked: #3)\n"
    seeded.fake.git.seed({"postmortems/c.md": old})
    seeded.forge().commit_files(
        edits(("postmortems/c.md", old, new), (A, A_OLD, A_NEW)), None, mode="pull-request"
    )
    (blob,) = seeded.calls("POST", r"/repos/acme/infra/git/blobs")
    assert blob.body["encoding"] == "base64"
    assert changed(seeded.fake, LINKS_BRANCH) == {"postmortems/c.md": new, A: A_NEW}


def test_a_lost_answer_to_an_inert_git_object_is_sent_again(seeded: Rig) -> None:
    seeded.fake.inject(Fault("502", "POST", r"/repos/acme/infra/git/(trees|commits)", after=True))
    url = seeded.forge().commit_files(edits((A, A_OLD, A_NEW)), None, mode="pull-request")
    assert url.endswith("/pull/1")
    assert changed(seeded.fake, LINKS_BRANCH) == {A: A_NEW}


def test_a_lost_answer_to_the_pull_request_is_looked_up_not_sent_again(seeded: Rig) -> None:
    seeded.fake.inject(Fault("502", "POST", r"/repos/acme/infra/pulls", after=True))
    url = seeded.forge().commit_files(edits((A, A_OLD, A_NEW)), None, mode="pull-request")
    assert url.endswith("/pull/1") and len(seeded.fake.git.pulls()) == 1
    assert (
        len([r for r in seeded.fake.log if r.method == "POST" and r.path.endswith("/pulls")]) == 1
    )


def test_the_default_branch_comes_from_the_repository(seeded: Rig) -> None:
    seeded.fake.git.default_branch = "trunk"
    seeded.fake.git.state.refs["heads/trunk"] = seeded.fake.git.state.refs.pop("heads/main")
    seeded.forge().commit_files(edits((A, A_OLD, A_NEW)), None, mode="pull-request")
    (pr,) = seeded.fake.git.pulls()
    assert seeded.fake.git.state.pulls[pr["number"]]["base"] == "trunk"
    with pytest.raises(WriteBackError, match="the branch 'main' does not exist"):
        seeded.forge().commit_files(
            edits((A, A_OLD, A_NEW)), None, mode="pull-request", base_branch="main"
        )


def test_configuration_errors_and_no_token_in_repr() -> None:
    forge = from_config("acme/infra", TOKEN, token_env="GH", api_url=None, purpose="x")
    assert TOKEN not in repr(forge) and "acme/infra" in repr(forge)
    with pytest.raises(ConfigError, match="write-back: commit needs a GitHub repository"):
        from_config(None, TOKEN, token_env="GH", api_url=None, purpose="write-back: commit")
    with pytest.raises(ConfigError, match="needs a token for acme/infra: set the GH environment"):
        from_config("acme/infra", None, token_env="GH", api_url=None, purpose="report --post")
    with pytest.raises(ValueError, match="no edits"):
        forge.commit_files([], None, mode="commit")
