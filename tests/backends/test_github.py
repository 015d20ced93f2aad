"""The GitHub backend against the in-process fake: the shared contract, then GitHub specifics.

Nothing sleeps: every wait goes to a recording sleeper that moves a fake clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
import re
import socket
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import responses

from tests.backends.contract import BackendContract, make_draft
from tests.conftest import SPECS, require_specs
from tests.fakes.github_fake import FakeClock, Fault, GitHubFake, Logged
from tracker.backends.base import Backend
from tracker.backends.github import GitHubBackend, from_config
from tracker.backends.github_body import BEGIN, END, MARKER_OPEN, ZWJ, parse_body
from tracker.backends.github_rest import rate_wait
from tracker.config import GitHubConfig
from tracker.errors import (
    AuthError,
    BackendError,
    ConfigError,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from tracker.model import Ticket

TOKEN = "t0ken-secret"
ISSUES = r"/repos/acme/infra/issues"
EXTRA_SPEC = Path(__file__).resolve().parents[1] / "fakes" / "specs" / "github-extra.json"


class Sleeps:
    """The injectable sleeper: records each wait and moves the fake clock instead."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))
        self.clock.advance(seconds)


@cache
def _validator() -> Any:
    pytest.importorskip("jsonschema", reason="jsonschema is in the test extra")
    from tests.fakes.openapi import SpecValidator

    # The subset in ../shared/specs, and the git data and pull request operations forge.py
    # uses, cut from the same @octokit/openapi release (tests/fakes/specs/github-extra.json).
    return SpecValidator(require_specs() / "github-rest-subset.json", EXTRA_SPEC)


def spec_problems(log: list[Logged]) -> list[str]:
    from tests.fakes.openapi import traffic_problems

    return traffic_problems(_validator(), log)


@dataclasses.dataclass
class Rig:
    fake: GitHubFake
    clock: FakeClock
    sleeps: Sleeps
    rsps: responses.RequestsMock

    def backend(self, **kw: Any) -> GitHubBackend:
        args: dict[str, Any] = {
            "write_spacing_s": 0.0,
            "sleeper": self.sleeps,
            "clock": self.clock.time,
            "label_templates": ("priority:{priority}",),
            "owners": {"Alice": "alice", "Bob": "bob"},
        }
        repo, token = kw.pop("repo", "acme/infra"), kw.pop("token", TOKEN)
        args.update(kw)
        return GitHubBackend(repo, token, **args)


@pytest.fixture
def rig() -> Iterator[Rig]:
    clock = FakeClock()
    fake = GitHubFake(clock=clock, token=TOKEN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield Rig(fake, clock, Sleeps(clock), rsps)
    if SPECS.is_dir():  # every test's traffic, checked against the spec
        assert spec_problems(fake.log) == []


@pytest.fixture
def gh(rig: Rig) -> GitHubBackend:
    return rig.backend()


def number(t: Ticket) -> int:
    return int(t.ref.lstrip("#"))


# --- the shared contract -------------------------------------------------------------------------


class TestGitHubContract(BackendContract):
    @pytest.fixture
    def backend(self, rig: Rig) -> GitHubBackend:
        self.fake = rig.fake
        return rig.backend()

    @pytest.fixture
    def missing_ref(self) -> str:
        return "#9999"

    def person_edit(self, backend: Backend, ticket: Ticket, **changes: Any) -> Ticket:
        edits: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "owners":
                edits["assignees"] = list(value)
            elif name == "labels":
                edits["labels"] = list(value)
            elif name == "state":
                closed = value in ("done", "dropped")
                edits["state"] = "closed" if closed else "open"
                edits["state_reason"] = "not_planned" if value == "dropped" else "completed"
            else:
                edits[name] = value
        self.fake.edit(number(ticket), **edits)
        found = backend.fetch(ticket.ref)
        assert found is not None
        return found


# --- construction and configuration --------------------------------------------------------------


def test_constructor_does_no_io(rig: Rig) -> None:
    b = rig.backend()
    assert rig.fake.log == [] and b.requests_made == 0
    assert TOKEN not in repr(b)


def test_from_config_names_what_to_set() -> None:
    cfg = GitHubConfig(token_env="MY_TOKEN")
    with pytest.raises(ConfigError, match=r"github\.repo.*GITHUB_REPOSITORY"):
        from_config(cfg, {}, TOKEN, None, None)
    with pytest.raises(ConfigError, match="set the MY_TOKEN environment variable"):
        from_config(cfg, {}, None, "acme/infra", None)
    with pytest.raises(ConfigError, match="owner/name"):
        from_config(GitHubConfig(repo="not-a-repo"), {}, TOKEN, None, None)


def test_from_config_takes_env_values_and_config_wins() -> None:
    cfg = GitHubConfig(labels=["pm", "extra"], write_spacing_s=0.5, http_timeout_s=5)
    b = from_config(cfg, {"Al": "al"}, TOKEN, "acme/infra", "https://ghe.example.com/api/v3")
    assert (b.repo, b.api_url, b.labels) == (
        "acme/infra",
        "https://ghe.example.com/api/v3",
        ("pm", "extra"),
    )
    assert (b.write_spacing_s, b.http_timeout_s, b.max_wait_s) == (0.5, 5, 120.0)
    b = from_config(GitHubConfig(repo="acme/tickets"), {}, TOKEN, "acme/infra", None)
    assert (b.repo, b.api_url) == ("acme/tickets", "https://api.github.com")


def test_requests_go_to_port_443_with_api_version_and_token(rig: Rig, gh: GitHubBackend) -> None:
    gh.list_tracked()
    call = rig.rsps.calls[0]
    assert call.request.url is not None and call.request.url.startswith(
        "https://api.github.com:443/"
    )
    assert call.request.headers["Authorization"] == f"token {TOKEN}"
    assert call.request.headers["X-GitHub-Api-Version"] == "2022-11-28"


# --- listing -------------------------------------------------------------------------------------


def test_listing_is_one_request_per_100_with_the_documented_query(rig: Rig) -> None:
    seed = rig.backend()
    for n in range(250):
        rig.fake.add_issue(f"t{n}", labels=["postmortem"])
    seed.create(make_draft("pm-1/a"))
    rig.fake.log.clear()
    b = rig.backend()
    assert [t.key for t in b.list_tracked()] == ["pm-1/a"]
    gets = rig.fake.requests("GET", ISSUES)
    assert len(gets) == 3 == b.requests_made
    q = {k: v[-1] for k, v in gets[0].query.items()}
    assert q == {
        "labels": "postmortem",
        "state": "all",
        "per_page": "100",
        "sort": "created",
        "direction": "asc",
    }
    assert not rig.fake.requests(path=r"/search/.*")


def test_listing_skips_pull_requests_and_unmarked_issues_and_maps_states(
    rig: Rig, gh: GitHubBackend
) -> None:
    made = {r: gh.create(make_draft(f"pm-1/{r}")) for r in ("open", "done", "np", "dup")}
    rig.fake.add_pull_request("a PR", labels=["postmortem"])
    rig.fake.add_issue("by hand", labels=["postmortem"])
    rig.fake.edit(number(made["done"]), state="closed", state_reason="completed")
    rig.fake.edit(number(made["np"]), state="closed", state_reason="not_planned")
    rig.fake.edit(number(made["dup"]), state="closed", state_reason="duplicate")
    states = {t.key: t.state for t in gh.list_tracked()}
    assert states == {
        "pm-1/open": "open",
        "pm-1/done": "done",
        "pm-1/np": "dropped",
        "pm-1/dup": "dropped",
    }


def test_find_relists_with_etags_and_reuses_unchanged_pages(rig: Rig, gh: GitHubBackend) -> None:
    t = gh.create(make_draft())
    gh.list_tracked()
    rig.fake.log.clear()
    assert gh.find(t.key or "") == t
    (get,) = rig.fake.requests("GET", ISSUES)
    assert get.headers.get("if-none-match") and get.status == 304


def test_fetch_understands_our_reference_forms_only(rig: Rig, gh: GitHubBackend) -> None:
    t = gh.create(make_draft())
    n = number(t)
    assert gh.fetch(f"#{n}") == t
    assert gh.fetch(f"acme/infra#{n}") == t
    assert gh.fetch(f"https://github.com/acme/infra/issues/{n}") == t
    assert gh.fetch(f"other/repo#{n}") is None
    assert gh.fetch(f"https://github.com/other/repo/issues/{n}") is None
    assert gh.fetch("OPS-17") is None
    pr = rig.fake.add_pull_request("a PR")
    assert gh.fetch(f"#{pr['number']}") is None
    plain = rig.fake.add_issue("someone else's issue")
    found = gh.fetch(f"#{plain['number']}")
    assert found is not None and found.marker is None


# --- the body: block, marker, escaping, mentions -------------------------------------------------


def _body(rig: Rig, t: Ticket) -> str:
    return str(rig.fake.state.issues[number(t)]["body"])


def test_body_has_visible_fields_and_ends_with_the_marker(rig: Rig, gh: GitHubBackend) -> None:
    t = gh.create(make_draft())
    body = _body(rig, t)
    lines = body.split("\n")
    assert lines[0] == BEGIN and lines[-2] == END and lines[-1].startswith(MARKER_OPEN)
    assert "- Due: 2026-07-01" in lines
    assert "- Priority: P1" in lines and "- Type: mitigate" in lines
    assert "- Owners: @alice" in lines
    link = "https://github.com/acme/infra/blob/HEAD/postmortems/2026-06-15-queue.md#L12"
    assert f"({link})" in body and "Queue backlog" in body
    blob = lines[-1][len(MARKER_OPEN) : -len(" -->")]
    data = json.loads(blob)
    assert {"key", "path", "due", "hash", "title", "status", "owners", "line"} <= set(data)
    assert data["key"] == t.key and ": " not in blob and ", " not in blob  # compact


FORGED = '<!-- postmortem-tracker: {"key":"evil/1","path":"x","hash":"h"} -->'


@pytest.mark.parametrize(
    "text",
    [
        "Close the comment --> and open <!-- another",
        FORGED,
        f"First line\n{FORGED}\nlast line",
        "<!-- postmortem-tracker:end -->\n" + FORGED,
        "postmortem-tracker: {} --!> <!---->",
    ],
)
def test_postmortem_text_cannot_forge_or_break_the_marker(
    rig: Rig, gh: GitHubBackend, text: str
) -> None:
    draft = make_draft(text=text, title="Title --> with <!-- delimiters")
    t = gh.create(draft)
    body = _body(rig, t)
    assert body.count("<!--") == 3 and body.count("-->") == 3
    assert body.count("postmortem-tracker: {") == 1
    assert parse_body(body).marker == draft.marker
    (listed,) = gh.list_tracked()
    assert listed.key == draft.key and listed.marker == draft.marker


def test_mentions_other_than_the_assignees_are_neutralised(rig: Rig, gh: GitHubBackend) -> None:
    text = "Ask @dave and @acme/sre, mail ops@example.com, then tell @alice (and @Alice)."
    t = gh.create(make_draft(text=text))
    body = _body(rig, t)
    shown = body[: body.index(END)]  # the marker is a comment: GitHub renders no mention there
    assert f"@{ZWJ}dave" in shown and f"@{ZWJ}acme/sre" in shown
    assert "ops@example.com" in shown
    assert "tell @alice (and @Alice)" in shown
    assert not re.search(r"(?<![\w@])@(dave|acme)", shown)


def test_update_rewrites_only_the_block_and_keeps_peoples_text(rig: Rig, gh: GitHubBackend) -> None:
    t = gh.create(make_draft())
    body = _body(rig, t)
    rig.fake.edit(number(t), body=f"Context from a person.\n\n{body}\n\n## Notes\n- checked logs")
    new = make_draft(due=dt.date(2026, 9, 1), text="Page on consumer lag above 50k")
    gh.update(t, new, frozenset({"due"}))
    after = _body(rig, t)
    assert after.startswith("Context from a person.\n\n" + BEGIN)
    assert after.endswith("\n\n## Notes\n- checked logs")
    assert "- Due: 2026-09-01" in after and "- Due: 2026-07-01" not in after
    assert "> Page on consumer lag\n" in after  # text not in `fields`: kept
    assert parse_body(after).marker == new.marker
    assert after.count(MARKER_OPEN) == 1


def test_update_repairs_a_damaged_block_without_losing_text(rig: Rig, gh: GitHubBackend) -> None:
    t = gh.create(make_draft())
    damaged = _body(rig, t).replace(BEGIN + "\n", "").replace(END + "\n", "")
    rig.fake.edit(number(t), body="Person text.\n" + damaged)
    new = make_draft(priority="P0", labels=("postmortem", "priority:P0"))
    gh.update(t, new, frozenset({"priority"}))
    after = _body(rig, t)
    assert after.startswith("Person text.\n")
    assert after.count(MARKER_OPEN) == 1 and after.count(BEGIN) == 1
    assert parse_body(after).marker == new.marker


def test_update_without_changes_sends_no_write(rig: Rig, gh: GitHubBackend) -> None:
    draft = make_draft()
    t = gh.create(draft)
    writes = gh.writes
    again = gh.update(t, draft, frozenset({"title", "owners", "due", "priority", "type"}))
    assert gh.writes == writes and again == t


# --- labels and assignees ------------------------------------------------------------------------


def test_labels_are_created_once_per_run(rig: Rig, gh: GitHubBackend) -> None:
    gh.create(make_draft("pm-1/a"))
    gh.create(make_draft("pm-1/b"))
    posts = [r.body["name"] for r in rig.fake.requests("POST", r".*/labels")]
    assert posts == ["postmortem", "priority:P1"]
    assert len(rig.fake.requests("GET", r".*/labels")) == 1


def test_a_label_created_meanwhile_counts_as_created(rig: Rig, gh: GitHubBackend) -> None:
    gh._ensure_labels([], "x")  # nothing asked, nothing listed
    assert rig.fake.log == []
    gh._repo_labels = {}  # listed before someone created 'postmortem'
    rig.fake.add_label("postmortem")
    t = gh.create(make_draft(labels=("postmortem",)))
    (post,) = rig.fake.requests("POST", r".*/labels")
    assert post.status == 422 and "postmortem" in t.labels


def test_label_merge_keeps_peoples_labels_and_the_tracking_label(
    rig: Rig, gh: GitHubBackend
) -> None:
    t = gh.create(make_draft())
    rig.fake.edit(number(t), labels=["postmortem", "priority:P1", "customer-facing"])
    new = dataclasses.replace(
        make_draft(priority="P2", labels=("priority:P2",)),
        drop_labels=("priority:P1", "postmortem"),
    )
    got = gh.update(t, new, frozenset({"priority"}))
    assert sorted(got.labels) == ["customer-facing", "postmortem", "priority:P2"]
    assert got.priority == "P2"
    (patch,) = rig.fake.requests("PATCH")
    assert sorted(patch.body["labels"]) == ["customer-facing", "postmortem", "priority:P2"]


def test_unassignable_login_is_checked_once_named_in_the_body_and_reported(
    rig: Rig, gh: GitHubBackend
) -> None:
    d1 = make_draft("pm-1/a", owners=("Alice", "zed"), assignees=("alice", "zed"))
    d2 = make_draft("pm-1/b", owners=("zed",), assignees=("zed",))
    d3 = make_draft("pm-1/c", owners=("Jane Doe",), assignees=("Jane Doe",))
    t1, t2, t3 = gh.create(d1), gh.create(d2), gh.create(d3)
    checks = [r.path for r in rig.fake.requests("GET", r".*/assignees/.*")]
    assert checks == ["/repos/acme/infra/assignees/alice", "/repos/acme/infra/assignees/zed"]
    posts = [r.body["assignees"] for r in rig.fake.requests("POST", ISSUES)]
    assert posts == [["alice"], [], []]
    assert t1.owners == ("alice", "zed") and t2.owners == ("zed",)
    assert t3.owners == ("Jane Doe",)
    assert "zed (not assignable in this repository)" in _body(rig, t1)
    assert len(gh.notices) == 2
    assert "'zed' cannot be assigned in acme/infra" in gh.notices[0]
    assert gh.list_tracked()[0].owners == ("alice", "zed")


def test_assignee_merge_keeps_people_and_drops_only_ours(rig: Rig, gh: GitHubBackend) -> None:
    t = gh.create(make_draft())
    rig.fake.edit(number(t), assignees=["alice", "carol"])
    new = dataclasses.replace(
        make_draft(owners=("Bob",), assignees=("bob",)), drop_assignees=("alice",)
    )
    got = gh.update(t, new, frozenset({"owners"}))
    assert got.owners == ("carol", "bob")


def test_due_milestones_are_created_once_at_noon_utc(rig: Rig) -> None:
    gh = rig.backend(due_milestones=True)
    a = gh.create(make_draft("pm-1/a"))
    gh.create(make_draft("pm-1/b"))
    (post,) = rig.fake.requests("POST", r".*/milestones")
    assert post.body["title"] == "Due 2026-07-01"
    assert post.body["due_on"] == "2026-07-01T12:00:00Z"
    assert a.due == dt.date(2026, 7, 1)
    moved = gh.update(a, make_draft("pm-1/a", due=dt.date(2026, 8, 1)), frozenset({"due"}))
    assert moved.due == dt.date(2026, 8, 1)
    assert len(rig.fake.requests("POST", r".*/milestones")) == 2


# --- errors at the boundary ----------------------------------------------------------------------


def test_bad_token_is_an_auth_error_naming_the_variable(rig: Rig) -> None:
    gh = rig.backend(token="wrong-token-value")
    with pytest.raises(AuthError) as err:
        gh.list_tracked()
    assert "check that GITHUB_TOKEN" in str(err.value) and "wrong-token-value" not in str(err.value)


def test_read_only_token_is_permission_denied(rig: Rig, gh: GitHubBackend) -> None:
    rig.fake.read_only = True
    with pytest.raises(PermissionDenied, match="issues: write") as err:
        gh.create(make_draft())
    assert "fork" in str(err.value) and TOKEN not in str(err.value)
    assert rig.sleeps.waits == []  # a permission 403 is no rate limit


def test_missing_repository_is_not_found(rig: Rig) -> None:
    gh = rig.backend(repo="acme/nope")
    with pytest.raises(NotFound, match=r"no repository acme/nope .*github\.repo"):
        gh.list_tracked()


def test_disabled_issues_is_410(rig: Rig, gh: GitHubBackend) -> None:
    rig.fake.issues_enabled = False
    with pytest.raises(NotFound, match="disabled"):
        gh.list_tracked()


def test_validation_failed_carries_githubs_field_errors(rig: Rig, gh: GitHubBackend) -> None:
    error = {
        "message": "Validation Failed",
        "documentation_url": "https://docs.github.com/rest",
        "errors": [
            {
                "resource": "Issue",
                "field": "title",
                "code": "custom",
                "message": "title is too long",
            }
        ],
    }
    rig.fake.inject(Fault("reply", method="POST", path=ISSUES, status=422, body=error))
    with pytest.raises(ValidationFailed, match=r"\(422 Validation Failed\): title: custom") as err:
        gh.create(make_draft())
    assert "(title is too long)" in str(err.value)


# --- rate limits and faults ----------------------------------------------------------------------


def test_get_5xx_is_retried_with_bounded_backoff(rig: Rig, gh: GitHubBackend) -> None:
    rig.fake.inject(Fault("502", method="GET"), Fault("503", method="GET"))
    assert gh.list_tracked() == []
    assert rig.sleeps.waits == [1.0, 2.0] and gh.requests_made == 3
    rig.fake.inject(Fault("500", method="GET", times=10))
    with pytest.raises(BackendError, match="500"):
        gh.list_tracked()
    assert rig.sleeps.waits == [1.0, 2.0, 1.0, 2.0, 4.0]


@pytest.mark.parametrize("kind", ["500", "502", "503", "timeout", "drop"])
@pytest.mark.parametrize("after", [False, True])
def test_a_create_is_never_sent_twice(rig: Rig, gh: GitHubBackend, kind: str, after: bool) -> None:
    gh.list_tracked()
    rig.fake.inject(Fault(kind, method="POST", path=ISSUES, after=after))
    with pytest.raises(OutcomeUnknown, match="may or may not have happened"):
        gh.create(make_draft())
    assert len(rig.fake.requests("POST", ISSUES)) == 1
    found = gh.find("pm-1/abc123")
    assert (found is not None) == after
    assert len(rig.fake.issues()) == int(after)


def test_patch_5xx_is_outcome_unknown(rig: Rig, gh: GitHubBackend) -> None:
    t = gh.create(make_draft())
    rig.fake.inject(Fault("503", method="PATCH"))
    with pytest.raises(OutcomeUnknown):
        gh.close(t, "completed")
    assert len(rig.fake.requests("PATCH")) == 1


def test_429_retry_after_is_honoured_even_for_a_post(rig: Rig, gh: GitHubBackend) -> None:
    gh.list_tracked()
    rig.fake.inject(Fault("429", method="POST", path=ISSUES, retry_after=7))
    gh.create(make_draft())
    assert rig.sleeps.waits == [7.0]
    assert len(rig.fake.requests("POST", ISSUES)) == 2 and len(rig.fake.issues()) == 1


def test_secondary_limit_waits_a_minute_then_backs_off_on_patch(
    rig: Rig, gh: GitHubBackend
) -> None:
    t = gh.create(make_draft())
    rig.fake.inject(Fault("secondary", method="PATCH", times=2))
    closed = gh.close(t, "completed")
    assert closed.state == "done"
    assert rig.sleeps.waits == [60.0, 120.0]


def test_primary_limit_waits_until_the_reset(rig: Rig, gh: GitHubBackend) -> None:
    rig.fake.rate_limit = 3
    start = rig.clock.time()
    reset = int(start) + 3600
    for _ in range(3):
        gh.fetch("#1")  # the third answer says 0 remaining
    with pytest.raises(RateLimited, match="primary rate limit") as err:
        gh.fetch("#1")  # would wait past max_wait_s (120 s): deferred, nothing sent
    assert err.value.retry_after_s == pytest.approx(reset - start + 1)
    assert gh.requests_made == 3 and rig.sleeps.waits == []
    patient = rig.backend(max_wait_s=4000)
    assert patient.list_tracked() == []
    assert patient.requests_made == 2  # "API rate limit exceeded", then again after the wait
    assert rig.sleeps.waits == [pytest.approx(reset - start + 1)]


def test_a_wait_past_the_cap_raises_rate_limited(rig: Rig) -> None:
    gh = rig.backend(max_wait_s=10)
    rig.fake.inject(Fault("429", retry_after=30))
    with pytest.raises(RateLimited, match="max_wait_s") as err:
        gh.list_tracked()
    assert err.value.retry_after_s == 30 and rig.sleeps.waits == []


def test_rate_limits_give_up_after_bounded_waits(rig: Rig) -> None:
    gh = rig.backend(max_wait_s=10_000, rate_limit_retries=2)
    rig.fake.inject(Fault("secondary", times=5))
    with pytest.raises(RateLimited, match="after 2 waits"):
        gh.list_tracked()
    assert rig.sleeps.waits == [60.0, 120.0]


def test_writes_are_spaced_through_the_sleeper(rig: Rig) -> None:
    gh = rig.backend(write_spacing_s=1.0)
    gh.create(make_draft("pm-1/a"))
    gh.create(make_draft("pm-1/b"))
    # label POST, label POST, issue POST, issue POST: three gaps of one second each
    assert rig.sleeps.waits == [1.0, 1.0, 1.0]


def test_connection_refused_is_retried_even_for_posts_and_then_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    waits: list[float] = []
    gh = GitHubBackend(
        "acme/infra",
        TOKEN,
        api_url=f"http://127.0.0.1:{port}",
        sleeper=waits.append,
        write_spacing_s=0,
        http_timeout_s=1,
    )
    with pytest.raises(BackendError, match="cannot reach GitHub") as err:
        gh.comment(Ticket(ref="#1", url="", title="", state="open"), "hi")
    assert not isinstance(err.value, OutcomeUnknown)
    assert gh.requests_made == 4 and waits == [1.0, 2.0, 4.0]
    assert TOKEN not in str(err.value)


def test_requests_made_counts_every_request_including_failed_ones(
    rig: Rig, gh: GitHubBackend
) -> None:
    rig.fake.inject(Fault("502", method="GET"), Fault("drop", method="POST", path=ISSUES))
    gh.list_tracked()
    with pytest.raises(OutcomeUnknown):
        gh.create(make_draft())
    gh.find("pm-1/abc123")
    assert gh.requests_made == len(rig.fake.log) == len(rig.rsps.calls)
    assert gh.writes == len([r for r in rig.fake.log if r.method != "GET"])


# --- the spec ------------------------------------------------------------------------------------


def test_traffic_of_a_full_session_matches_the_spec(rig: Rig) -> None:
    require_specs()
    gh = rig.backend(due_milestones=True)
    t = gh.create(make_draft("pm-1/a", owners=("Alice", "zed"), assignees=("alice", "zed")))
    t = gh.update(t, make_draft("pm-1/a", due=None, title="New"), frozenset({"title", "due"}))
    t = gh.close(t, "not_planned", make_draft("pm-1/a", status="dropped").marker)
    t = gh.reopen(t, make_draft("pm-1/a").marker)
    gh.comment(t, "hello")
    gh.post_report("Report", "body", "2026-W10")
    gh.post_report("Report", "body 2", "2026-W10")
    gh.fetch("#9999")
    gh.find("pm-1/a")
    v = _validator()
    ops = {(o.method, o.template) for r in rig.fake.log if (o := v.operation(r.method, r.path))}
    assert len(ops) == 10, ops
    assert spec_problems(rig.fake.log) == []


def test_the_validator_catches_a_bad_request_and_a_bad_answer(rig: Rig) -> None:
    require_specs()
    v = _validator()
    assert v.check_request("POST", "/repos/a/b/issues", {}, {"labels": ["x"]})
    assert v.check_request("GET", "/repos/a/b/issues", {"per_page": ["many"]}, None)
    assert v.check_request("GET", "/search/issues", {}, None)  # q is required
    assert v.check_response("GET", "/repos/a/b/issues/1", 200, {"id": "1"})
    assert v.check_response("GET", "/repos/a/b/issues/1", 418, None)
    # and the fake's answers are real GitHub shapes, nullable milestone included
    issue = rig.fake._issue_json(rig.fake.add_issue("x"))
    assert v.check_response("GET", "/repos/a/b/issues/1", 200, issue) == []
    assert v.check_request("PATCH", "/repos/a/b/issues/1", {}, {"milestone": None}) == []


# --- limits of size and pace ---------------------------------------------------------------------


def test_rate_wait_reads_every_form_github_uses() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert rate_wait(429, {"retry-after": date}, None, 0, now) == 42
    assert rate_wait(403, {"retry-after": "5"}, {"message": "secondary rate limit"}, 3, now) == 5
    primary = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 10)}
    assert rate_wait(403, primary, {"message": "API rate limit exceeded"}, 0, now) == 11
    assert rate_wait(429, {}, None, 2, now) == 240
    denied = {"message": "Resource not accessible by integration"}
    assert rate_wait(403, {"x-ratelimit-remaining": "4999"}, denied, 0, now) is None
    assert rate_wait(404, {}, None, 0, now) is None


def test_the_fakes_secondary_limit_on_content_creation(rig: Rig) -> None:
    rig.fake.secondary_writes_per_minute = 4  # two labels, then two issues, then wait
    gh = rig.backend()
    for key in ("pm-1/a", "pm-1/b", "pm-1/c"):
        gh.create(make_draft(key))
    assert rig.sleeps.waits == [60.0]
    assert len(rig.fake.issues()) == 3


def test_a_huge_item_text_is_cut_to_the_body_limit(rig: Rig, gh: GitHubBackend) -> None:
    marker = make_draft().marker
    text = "\n".join(f"Line {n}: " + "detail " * 12 for n in range(1000))
    assert len(text) > 80_000
    t = gh.create(make_draft(text=text, marker=marker))
    body = _body(rig, t)
    assert len(body) <= 65_536 and body.endswith(" -->")
    assert parse_body(body).marker == marker and "…(cut: see the postmortem)" in body


def test_a_report_is_cut_at_a_line_to_fit(rig: Rig, gh: GitHubBackend) -> None:
    rows = "\n".join(f"| row {n} | " + "x" * 60 + " |" for n in range(2000))
    url = gh.post_report("Report", rows, "2026-W47")
    (issue,) = rig.fake.issues()
    body = issue["body"]
    assert url.endswith(f"/issues/{issue['number']}") and len(body) <= 65_536
    assert body.endswith('<!-- postmortem-tracker-report: {"week":"2026-W47"} -->')
    assert body.split("\n\n<!--")[0].endswith(" |")  # the last row kept is whole
