"""The Jira backend against the in-process fake: the shared contract (Cloud and Data Center),
auth, screens, workflows, bulk creates, error mapping, rate limits and lost answers.

Every request the backend sends, and every answer the fake gives, is checked against the Jira
Cloud OpenAPI subset in ../shared/specs when it is there (see `spec_problems`).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import email.utils
import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from tests.backends.contract import BackendContract, _fold, _only, make_draft
from tests.conftest import SPECS, require_specs
from tests.fakes.jira_fake import (
    CLASSIC,
    EMAIL,
    PAT,
    TOKEN,
    USERS,
    JiraFake,
    Logged,
    Mode,
)
from tests.fakes.openapi import SpecValidator
from tracker.backends.base import Backend, TicketDraft
from tracker.backends.jira import BULK_SIZE, LIST_FIELDS, JiraBackend, from_config
from tracker.backends.jira_rest import wait_for
from tracker.backends.jira_text import TRACKED_LABEL, key_label, read_marker
from tracker.config import JiraConfig
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

T0 = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.timezone.utc)
TIMES = ("created_at", "updated_at", "closed_at")


class Sleeps(list[float]):
    """The injected sleeper: records every wait, never sleeps."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def owners_map(mode: Mode) -> dict[str, str]:
    return {u.name: (u.account_id if mode == "cloud" else u.name) for u in USERS}


def make_backend(fake: JiraFake, **kw: Any) -> JiraBackend:
    creds: dict[str, Any] = (
        {"email": EMAIL, "token": TOKEN} if fake.mode == "cloud" else {"pat": PAT}
    )
    args: dict[str, Any] = {
        "project": fake.project,
        "owners": owners_map(fake.mode),
        "sleeper": Sleeps(),
        "clock": lambda: T0,
        **creds,
        **kw,
    }
    return JiraBackend(fake.base_url, **args)


@functools.cache
def validator() -> SpecValidator:
    return SpecValidator(SPECS / "jira-cloud-subset.json")


def spec_problems(log: list[Logged]) -> list[str]:
    """Requests and 2xx answers that do not match the Jira Cloud OpenAPI subset."""
    problems: list[str] = []
    for r in log:
        problems += validator().check_request(r.method, r.path, _exploded(r), r.body)
        if r.fault or r.status is None or not 200 <= r.status < 300 or r.status == 204:
            continue  # injected faults; the 204s are declared with a body (specs README)
        problems += validator().check_response(r.method, r.path, r.status, r.response)
    return sorted(set(problems))


def _exploded(r: Logged) -> dict[str, Any]:
    """The query with array parameters as lists: Jira reads `fields=a,b` as [a, b] (the
    shared validator checks the last value of each parameter as it comes)."""
    op = validator().operation(r.method, r.path)
    arrays = {
        p["name"]
        for p in (op.parameters if op else ())
        if p.get("in") == "query" and p.get("schema", {}).get("type") == "array"
    }
    return {
        k: [[x for v in vals for x in v.split(",")]] if k in arrays else vals
        for k, vals in r.query.items()
    }


@pytest.fixture(params=["cloud", "datacenter"])
def mode(request: pytest.FixtureRequest) -> Mode:
    value: Mode = request.param
    return value


@pytest.fixture
def fake(mode: Mode) -> Iterator[JiraFake]:
    f = JiraFake(mode)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        f.install(rsps)
        yield f
    if SPECS.is_dir():  # every test doubles as a check of the traffic against the spec
        assert spec_problems(f.log) == []


def with_times(written: Ticket, listed: Ticket) -> Ticket:
    """`written` with the timestamps it could not know (None) taken from the listing.

    Jira answers a create with id and key only and an edit or a transition with 204, so a
    write's Ticket carries no server timestamps unless it is read back (a request per write).
    """
    fill = {n: getattr(listed, n) for n in TIMES if getattr(written, n) is None}
    return dataclasses.replace(written, **fill)


class TestJiraContract(BackendContract):
    @pytest.fixture
    def backend(self, fake: JiraFake) -> JiraBackend:
        return make_backend(fake)

    @pytest.fixture
    def missing_ref(self) -> str:
        return "OPS-987654"

    def person_edit(self, backend: Backend, ticket: Ticket, **changes: Any) -> Ticket:
        assert isinstance(backend, JiraBackend)
        fake: JiraFake = self._fake
        edits: dict[str, Any] = {}
        if "title" in changes:
            edits["summary"] = changes["title"]
        if "labels" in changes:
            edits["labels"] = list(changes["labels"])
        if "owners" in changes:  # Jira has one assignee: the last one named
            names = [n for n in changes["owners"] if n]
            edits["assignee"] = names[-1] if names else None
        if "state" in changes:
            edits["status"] = {"open": "To Do", "in_progress": "In Progress"}.get(
                changes["state"], "Done"
            )
        fake.edit(ticket.ref, **edits)
        found = backend.fetch(ticket.ref)
        assert found is not None
        return found

    @pytest.fixture(autouse=True)
    def _keep_fake(self, fake: JiraFake) -> None:
        self._fake = fake

    # Jira's writes answer without timestamps; these contract tests compare a write's Ticket
    # with the listing exactly, so they are restated with `with_times` (see the report).

    def test_create_round_trips_through_the_listing(self, backend: Backend) -> None:
        draft = make_draft()
        created = backend.create(draft)
        listed = _only(backend, created.ref)
        assert listed.ref == created.ref and listed.url
        assert listed.title == draft.title
        assert listed.state == "open"
        assert listed.marker == draft.marker
        assert _fold(listed.owners) == _fold(draft.assignees)
        assert set(draft.labels) <= set(listed.labels)
        assert listed.due == draft.due
        assert listed == with_times(created, listed)

    def test_fetch_and_find(self, backend: Backend, missing_ref: str) -> None:
        created = backend.create(make_draft())
        fetched = backend.fetch(created.ref)
        assert fetched is not None and fetched == with_times(created, fetched)
        assert backend.fetch(missing_ref) is None
        assert backend.fetch("https://example.com/not/a/ticket") is None
        assert backend.find(created.key or "") == fetched
        assert backend.find("pm-1/no-such-key") is None

    def test_update_writes_only_the_named_fields(self, backend: Backend) -> None:
        created = backend.create(make_draft())
        new = make_draft(title="Page on lag above 50k", owners=("Bob",), assignees=("bob",))
        new = dataclasses.replace(new, drop_assignees=("alice",))
        updated = backend.update(created, new, frozenset({"owners"}))
        listed = _only(backend, created.ref)
        assert listed == with_times(updated, listed)
        assert listed.title == "Page on consumer lag"
        assert _fold(listed.owners) == {"bob"}
        assert listed.marker == new.marker

    def test_update_merges_what_people_added(self, backend: Backend) -> None:
        # Jira has one assignee, so "people added carol" cannot sit beside the file's owner:
        # labels merge; the assignee is the file's (the contract's version expects two).
        created = backend.create(make_draft())
        edited = self.person_edit(
            backend, created, labels=(*created.labels, "customer-facing"), owners=("carol",)
        )
        new = make_draft(
            owners=("Bob",), assignees=("bob",), priority="P2", labels=("postmortem", "priority:P2")
        )
        new = dataclasses.replace(new, drop_labels=("priority:P1",), drop_assignees=("alice",))
        updated = backend.update(edited, new, frozenset({"owners", "priority"}))
        assert "customer-facing" in updated.labels
        assert "priority:P2" in updated.labels and "priority:P1" not in updated.labels
        assert _fold(updated.owners) == {"bob"}
        assert _only(backend, created.ref) == with_times(updated, _only(backend, created.ref))


# --- construction, configuration, authentication --------------------------------------------


def test_constructor_does_no_io(fake: JiraFake) -> None:
    b = make_backend(fake)
    assert fake.log == [] and b.requests_made == 0 and b._jira is None


def config(**kw: Any) -> JiraConfig:
    return JiraConfig(**{"url": "https://acme.atlassian.net", "project": "OPS", **kw})


def test_from_config_names_what_is_missing() -> None:
    with pytest.raises(ConfigError, match=r"jira\.url and jira\.project"):
        from_config(JiraConfig(), {}, email=None, token=None, pat=None)
    with pytest.raises(ConfigError, match=r"JIRA_EMAIL.*JIRA_API_TOKEN.*JIRA_PAT"):
        from_config(config(), {}, email=None, token=None, pat=None)
    with pytest.raises(ConfigError, match="JIRA_API_TOKEN not set"):
        from_config(config(deployment="cloud"), {}, email="a@b.c", token=None, pat="x")
    with pytest.raises(ConfigError, match="MY_PAT"):
        from_config(
            config(deployment="datacenter", pat_env="MY_PAT"), {}, email=None, token=None, pat=None
        )


def test_from_config_builds_the_backend() -> None:
    cfg = config(
        deployment="datacenter",
        transitions={"done": "Closed"},
        fields={"x": 1},
        priority_map={"P1": "Major"},
    )
    b = from_config(cfg, {"Alice": "alice"}, email=None, token=None, pat="p")
    assert (b.project, b.transitions, b.extra_fields) == ("OPS", {"done": "Closed"}, {"x": 1})
    assert b.priority_map == {"P1": "Major"} and b.owners == {"Alice": "alice"}
    assert b.requests_made == 0


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_auth_headers(fake: JiraFake, mode: Mode) -> None:
    make_backend(fake, deployment=mode).list_tracked()
    sent = fake.log[0].headers.get("Authorization") or fake.log[0].headers.get("authorization")
    if mode == "cloud":
        assert sent == "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    else:
        assert sent == f"Bearer {PAT}"


def test_deployment_is_detected_once_and_lazily(fake: JiraFake) -> None:
    b = make_backend(fake)
    b.list_tracked()
    b.list_tracked()
    assert [r.endpoint for r in fake.log].count("serverInfo") == 1
    assert b.deployment() == fake.mode
    listing = "search/jql" if fake.mode == "cloud" else "search"
    assert [r.endpoint for r in fake.log[1:]] == [listing, listing]
    assert all(r.version == ("3" if fake.mode == "cloud" else "2") for r in fake.log[1:])


def test_listing_asks_only_the_fields_it_reads(fake: JiraFake) -> None:
    make_backend(fake).list_tracked()
    (search,) = [r for r in fake.log if r.endpoint.startswith("search")]
    assert search.query["fields"] == [",".join(LIST_FIELDS)]
    assert search.query["jql"] == [
        f'project = "OPS" AND labels = "{TRACKED_LABEL}" ORDER BY key ASC'
    ]


def test_a_wrong_deployment_meets_the_removed_search() -> None:
    fake = JiraFake("cloud")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        with pytest.raises(BackendError, match=r"removed \(410\).*deployment: cloud"):
            make_backend(fake, deployment="datacenter").list_tracked()


# --- creates, screens, owners ---------------------------------------------------------------


def test_create_sends_native_fields_in_one_request(fake: JiraFake) -> None:
    b = make_backend(fake, deployment=fake.mode)
    b.list_tracked()
    before = len(fake.log)
    b.create(make_draft())
    posts = [r for r in fake.log[before:] if r.method == "POST"]
    assert [r.endpoint for r in posts] == ["issue"]
    f = posts[0].body["fields"]
    alice = USERS[0].account_id if fake.mode == "cloud" else "alice"
    assert f["duedate"] == "2026-07-01" and f["priority"] == {"name": "High"}
    assert f["assignee"] == ({"accountId": alice} if fake.mode == "cloud" else {"name": alice})
    assert f["project"] == {"key": "OPS"} and f["issuetype"] == {"id": "10001"}
    assert TRACKED_LABEL in f["labels"] and key_label("pm-1/abc123") in f["labels"]
    assert isinstance(f["description"], str) and "{noformat}pmt-marker " in f["description"]
    # createmeta once per run, however many creates
    b.create(make_draft("pm-1/b"))
    assert len(fake.requests("GET", r"issue/createmeta/.*")) == 2


@pytest.mark.parametrize("missing", ["duedate", "priority"])
def test_a_field_missing_from_the_screen_goes_to_the_description(missing: str) -> None:
    fake = JiraFake("cloud", screen_without=(missing,))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        b = make_backend(fake)
        made = [b.create(make_draft(f"pm-1/{n}")) for n in range(3)]
        assert (
            len(b.notices) == 1
            and f"no {'due date' if missing == 'duedate' else missing}" in (b.notices[0])
        )
        for t in made:
            stored = fake.issues[t.ref]["fields"]
            assert missing not in {k for k, v in fake.log[-1].body["fields"].items()}
            text = stored["description"]
            assert ("*Due:* 2026-07-01" if missing == "duedate" else "*Priority:* P1") in text
        listed = b.list_tracked()
        assert [t.due for t in listed] == [dt.date(2026, 7, 1)] * 3
        assert [t.priority for t in listed] == ["P1"] * 3
        assert [t == with_times(c, t) for t, c in zip(listed, made, strict=True)] == [True] * 3


def test_required_custom_fields_come_from_config() -> None:
    fake = JiraFake("datacenter", required_fields={"customfield_10050": "Team"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        b = make_backend(fake)
        with pytest.raises(ValidationFailed, match="Team is required"):
            b.create(make_draft())
        assert any("customfield_10050" in n for n in b.notices)
        ok = make_backend(fake, fields={"customfield_10050": "SRE"})
        t = ok.create(make_draft())
        assert fake.issues[t.ref]["fields"]["customfield_10050"] == "SRE"
        assert ok.notices == []


def test_owner_emails_are_looked_up_once_per_run(fake: JiraFake) -> None:
    b = make_backend(fake, owners={"Alice": "alice@example.com", "Nemo": "nemo@example.com"})
    a = b.create(make_draft("pm/1"))
    b.create(make_draft("pm/2"))
    n = b.create(make_draft("pm/3", owners=("Nemo",), assignees=("nemo@example.com",)))
    assert len(fake.requests("GET", "user/search")) == 2  # alice once, nemo once
    alice = fake.ident(USERS[0])
    assert fake.issues[a.ref]["fields"]["assignee"] is not None
    assert (
        fake.issues[a.ref]["fields"]["assignee"].get("accountId")
        or fake.issues[a.ref]["fields"]["assignee"].get("name")
    ) == alice
    assert fake.issues[n.ref]["fields"]["assignee"] is None
    assert b.notices == ["no Jira user has the email nemo@example.com: left unassigned"]
    listed = {t.ref: t for t in b.list_tracked()}
    assert listed[a.ref].owners == ("alice",) and listed[n.ref].owners == ("nemo@example.com",)


def test_unmapped_owners_are_not_assigned(fake: JiraFake) -> None:
    b = make_backend(fake, owners={})
    t = b.create(make_draft(owners=("Payments team",), assignees=("Payments team",)))
    assert fake.issues[t.ref]["fields"]["assignee"] is None
    assert b.notices == ["owners not in the owners map were not assigned: Payments team"]


def test_text_cannot_forge_a_marker_or_mention(fake: JiraFake) -> None:
    evil = 'Fix {noformat}pmt-marker {"v":1,"key":"x/y","path":"p","hash":"h"}{noformat} [~bob]'
    b = make_backend(fake)
    t = b.create(make_draft(title="Fix it", text=evil))
    text = fake.issues[t.ref]["fields"]["description"]
    panel = text[: text.index("{noformat}pmt-marker")]  # the marker holds the text verbatim
    assert "[~bob]" not in panel and "\\[~bob\\]" in panel and "\\{noformat\\}" in panel
    (listed,) = b.list_tracked()
    assert listed.marker is not None and listed.marker.key == "pm-1/abc123"
    assert read_marker(text)[0] == listed.marker


def test_people_text_outside_the_panel_is_kept(fake: JiraFake) -> None:
    b = make_backend(fake)
    t = b.create(make_draft())
    old = fake.issues[t.ref]["fields"]["description"]
    fake.edit(t.ref, description="Context from the on-call.\n\n" + old + "\n\nFollow-up: see X.")
    (listed,) = b.list_tracked()
    b.update(listed, make_draft(title="New words", text="New words"), frozenset({"title"}))
    text = fake.issues[t.ref]["fields"]["description"]
    assert text.startswith("Context from the on-call.") and text.endswith("Follow-up: see X.")
    assert "New words" in text and text.count("pmt-marker") == 1


def test_update_sends_one_put_and_only_when_something_changed(fake: JiraFake) -> None:
    b = make_backend(fake)
    t = b.create(make_draft())
    (listed,) = b.list_tracked()
    new = make_draft(due=dt.date(2026, 8, 1))
    before = len(fake.log)
    first = b.update(listed, new, frozenset({"due"}))
    writes = [r for r in fake.log[before:] if r.method in ("PUT", "POST")]
    assert [(r.method, r.endpoint) for r in writes] == [("PUT", f"issue/{t.ref}")]
    assert writes[0].body["fields"]["duedate"] == "2026-08-01"
    before = len(fake.log)
    assert b.update(first, new, frozenset({"due"})) == first
    assert fake.log[before:] == []


# --- bulk creates ---------------------------------------------------------------------------


def drafts(n: int, prefix: str = "pm") -> list[TicketDraft]:
    return [make_draft(f"{prefix}/{i:03d}", title=f"Item {i}", text=f"Item {i}") for i in range(n)]


def test_bulk_creates_in_chunks_of_50_with_per_item_errors(fake: JiraFake) -> None:
    fake.reject = lambda f: (
        "refused by a validator" if f["summary"] in ("Item 7", "Item 60") else None
    )
    b = make_backend(fake)
    ds = drafts(120)
    out = b.create_many(ds)
    assert b.capabilities.bulk_create
    bulk = fake.requests("POST", "issue/bulk")
    assert [len(r.body["issueUpdates"]) for r in bulk] == [BULK_SIZE, BULK_SIZE, 20]
    assert [i for i, r in enumerate(out) if isinstance(r, BackendError)] == [7, 60]
    assert isinstance(out[7], ValidationFailed) and "refused by a validator" in str(out[7])
    listed = {t.ref: t for t in b.list_tracked()}
    assert len(listed) == 118
    for d, r in zip(ds, out, strict=True):
        if isinstance(r, Ticket):
            assert listed[r.ref].key == d.key and listed[r.ref] == with_times(r, listed[r.ref])


def test_bulk_all_refused_is_per_item(fake: JiraFake) -> None:
    fake.reject = lambda f: "no"
    out = make_backend(fake).create_many(drafts(3))
    assert all(isinstance(r, ValidationFailed) for r in out)


def test_bulk_lost_answer_is_never_resent(fake: JiraFake) -> None:
    b = make_backend(fake)
    fake.fail("502", method="POST", path="issue/bulk", after=True)
    out = b.create_many(drafts(60))
    assert [type(r).__name__ for r in out[:50]] == ["OutcomeUnknown"] * 50
    assert all(isinstance(r, Ticket) for r in out[50:])
    assert len(fake.requests("POST", "issue/bulk")) == 2
    assert len(fake.issues) == 60  # the first chunk landed; the engine finds its keys
    found = b.find("pm/000")
    assert found is not None and found.key == "pm/000"


def test_bulk_stops_after_an_error_every_chunk_would_meet(fake: JiraFake) -> None:
    fake.forbid.add("create")
    b = make_backend(fake)
    out = b.create_many(drafts(120))
    assert all(isinstance(r, PermissionDenied) for r in out)
    assert fake.requests("POST", "issue/bulk") == []  # createmeta said so first


# --- transitions ----------------------------------------------------------------------------


@pytest.fixture
def classic() -> Iterator[JiraFake]:
    fake = JiraFake("datacenter", workflow=CLASSIC)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield fake
    if SPECS.is_dir():
        assert spec_problems(fake.log) == []


CLASSIC_NAMES = {"done": "Closed", "dropped": "Won't Do", "reopen": "Open"}


def test_close_takes_two_steps_and_learns_the_path(classic: JiraFake) -> None:
    b = make_backend(classic, transitions=CLASSIC_NAMES)
    a, c = b.create(make_draft("pm/a")), b.create(make_draft("pm/c"))
    closed = b.close(a, "completed")
    assert closed.state == "done"
    moves = [r.body["transition"]["id"] for r in classic.requests("POST", r"issue/.*/transitions")]
    assert moves == ["4", "701"]  # Start Progress, then Close Issue
    assert classic.issues[a.ref]["fields"]["status"]["name"] == "Closed"
    reads = len(classic.requests("GET", r"issue/.*/transitions"))
    b.close(c, "completed")  # the path is known now: no transitions read again
    assert len(classic.requests("GET", r"issue/.*/transitions")) == reads
    assert [t.state for t in b.list_tracked()] == ["done", "done"]


def test_drop_and_reopen_with_configured_statuses(classic: JiraFake) -> None:
    b = make_backend(classic, transitions=CLASSIC_NAMES)
    t = b.create(make_draft())
    assert b.close(t, "not_planned").state == "dropped"
    assert _only(b, t.ref).state == "dropped"
    assert b.reopen(t).state == "open"
    assert classic.issues[t.ref]["fields"]["status"]["name"] == "Open"


def test_a_missing_transition_names_what_jira_offers(classic: JiraFake) -> None:
    b = make_backend(classic, transitions={"done": "Archived"})
    t = b.create(make_draft())
    with pytest.raises(ValidationFailed) as err:
        b.close(t, "completed")
    text = str(err.value)
    assert "'Archived'" in text and "'Stop Progress' (to Open)" in text and "and back" in text
    assert classic.issues[t.ref]["fields"]["status"]["name"] == "Open"


def test_a_status_changed_by_a_person_is_read_again(classic: JiraFake) -> None:
    b = make_backend(classic, transitions=CLASSIC_NAMES)
    t = b.create(make_draft())
    (listed,) = b.list_tracked()
    classic.edit(t.ref, status="In Progress")
    assert b.close(listed, "completed").state == "done"
    assert classic.issues[t.ref]["fields"]["status"]["name"] == "Closed"


def test_in_progress_round_trip(fake: JiraFake) -> None:
    b = make_backend(fake)
    t = b.create(make_draft())
    moved = b.update(t, make_draft(status="in_progress"), frozenset({"status"}))
    assert moved.state == "in_progress" and _only(b, t.ref).state == "in_progress"
    back = b.update(moved, make_draft(status="open"), frozenset({"status"}))
    assert back.state == "open" and _only(b, t.ref).state == "open"


def test_items_in_progress_are_created_in_progress(fake: JiraFake) -> None:
    b = make_backend(fake)
    many = b.create_many([make_draft(f"pm/{n}", status="in_progress") for n in (1, 2)])
    one = b.create(make_draft("pm/3", status="in_progress"))
    assert one.state == "in_progress" and all(
        isinstance(t, Ticket) and t.state == "in_progress" for t in many
    )
    assert {t.state for t in b.list_tracked()} == {"in_progress"}
    # the first issue teaches the initial status and its transitions; the others just move
    assert len(fake.requests("GET", r"issue/OPS-\d+")) == 1
    assert len(fake.requests("POST", r"issue/.*/transitions")) == 3


def test_resolution_won_t_do_reads_as_dropped(fake: JiraFake) -> None:
    b = make_backend(fake)
    t = b.create(make_draft())
    fake.edit(t.ref, status="Done", resolution="Won't Do")
    assert _only(b, t.ref).state == "dropped"
    fake.edit(t.ref, status="Done", resolution="Done")
    assert _only(b, t.ref).state == "done"


# --- errors, rate limits, lost answers ------------------------------------------------------


def test_401_names_the_credential_and_deployment_never_its_value(fake: JiraFake) -> None:
    creds: dict[str, Any] = (
        {"email": EMAIL, "token": "wrong-token-value"}
        if fake.mode == "cloud"
        else {"pat": "wrong-pat-value"}
    )
    b = make_backend(fake, deployment=fake.mode, **creds)
    with pytest.raises(AuthError) as err:
        b.list_tracked()
    text = str(err.value)
    if fake.mode == "cloud":
        assert "Jira Cloud" in text and "JIRA_EMAIL / JIRA_API_TOKEN" in text
    else:
        assert "Jira Data Center" in text and "JIRA_PAT" in text
    assert "wrong-" not in text and "(401)" in text and err.value.__cause__ is None


def test_403_404_400_are_mapped(fake: JiraFake) -> None:
    b = make_backend(fake)
    with pytest.raises(NotFound, match="NOPE"):
        make_backend(fake, project="NOPE").create(make_draft())
    t = b.create(make_draft())
    fake.forbid.add("edit")
    with pytest.raises(PermissionDenied, match=r"\(403\).*permission to edit"):
        b.update(t, make_draft(title="x"), frozenset({"title"}))
    fake.forbid.clear()
    with pytest.raises(ValidationFailed, match="summary: refused"):
        fake.reject = lambda f: "refused"
        b.create(make_draft("pm/x"))
    assert b.fetch("OPS-424242") is None


def test_rate_limit_waits_with_the_injected_sleeper(fake: JiraFake) -> None:
    sleeps = Sleeps()
    b = make_backend(fake, sleeper=sleeps)
    fake.fail("429", path="/search", retry_after="7")
    fake.fail("503", method="POST", path="/issue$", retry_after="3")
    assert b.list_tracked() == []
    b.create(make_draft())
    assert sleeps == [7.0, 3.0]
    assert len(fake.issues) == 1  # a 503 with Retry-After was refused, not processed


def test_rate_limit_headers_other_than_seconds(fake: JiraFake) -> None:
    sleeps = Sleeps()
    b = make_backend(fake, sleeper=sleeps)
    when = email.utils.format_datetime(T0 + dt.timedelta(seconds=30), usegmt=True)
    fake.fail("429", path="/search", retry_after=when)
    fake.fail("429", path="/search", retry_after=None)
    b.list_tracked()
    assert sleeps == [30.0, 10.0]  # the HTTP date against the injected clock; then backoff


def test_a_wait_past_the_cap_is_rate_limited(fake: JiraFake) -> None:
    sleeps = Sleeps()
    b = make_backend(fake, sleeper=sleeps, max_wait_s=60)
    fake.fail("429", path="/search", retry_after="3600")
    with pytest.raises(RateLimited, match="3600 s, over the limit of 60 s") as err:
        b.list_tracked()
    assert err.value.retry_after_s == 3600 and sleeps == []


def test_rate_limit_reset_header_and_attempt_cap(fake: JiraFake) -> None:
    sleeps = Sleeps()
    b = make_backend(fake, sleeper=sleeps)
    fake.fail("429", path="/search", retry_after=None, times=99)
    with pytest.raises(RateLimited, match="6 times in a row"):
        b.list_tracked()
    assert sleeps == [5.0, 10.0, 20.0, 40.0, 60.0]  # backoff without headers, capped
    resp = requests.Response()
    resp.headers["X-RateLimit-Reset"] = "2026-10-01T08:00:42Z"
    assert wait_for(resp, 1, T0) == 42.0  # Cloud's reset time against the injected clock


@pytest.mark.parametrize("kind", ["500", "502", "timeout", "drop"])
def test_a_lost_create_answer_is_outcome_unknown_and_found(fake: JiraFake, kind: Any) -> None:
    b = make_backend(fake)
    fake.fail(kind, method="POST", path="/issue$", after=True)
    with pytest.raises(OutcomeUnknown, match="not sent again"):
        b.create(make_draft())
    assert len(fake.requests("POST", "issue")) == 1 and len(fake.issues) == 1
    found = b.find("pm-1/abc123")
    assert found is not None and found.ref == "OPS-1"


def test_a_create_refused_before_processing_is_absent(fake: JiraFake) -> None:
    b = make_backend(fake)
    fake.fail("500", method="POST", path="/issue$")
    with pytest.raises(OutcomeUnknown):
        b.create(make_draft())
    assert b.find("pm-1/abc123") is None and fake.issues == {}


def test_find_waits_for_a_lagging_search_index(fake: JiraFake) -> None:
    sleeps = Sleeps()
    b = make_backend(fake, sleeper=sleeps)
    fake.search_lag = 3
    fake.fail("drop", method="POST", path="/issue$", after=True)
    with pytest.raises(OutcomeUnknown):
        b.create(make_draft())
    found = b.find("pm-1/abc123")
    assert found is not None and sleeps == [2.0, 4.0]


def test_reads_are_retried_writes_are_not(fake: JiraFake) -> None:
    sleeps = Sleeps()
    b = make_backend(fake, sleeper=sleeps)
    fake.fail("502", path="/search", times=2)
    assert b.list_tracked() == []
    assert sleeps == [1.0, 2.0]
    t = b.create(make_draft())
    fake.fail("500", method="PUT")
    with pytest.raises(OutcomeUnknown):
        b.update(t, make_draft(title="x"), frozenset({"title"}))
    assert len(fake.requests("PUT")) == 1


def test_no_credential_in_any_message(fake: JiraFake) -> None:
    b = make_backend(fake)
    texts: list[str] = []
    for kind in ("500", "timeout", "drop", "429"):
        fake.fail(kind, method="POST", retry_after="999")  # type: ignore[arg-type]
        try:
            b.create(make_draft())
        except BackendError as exc:
            texts.append(str(exc))
    assert len(texts) == 4
    for t in texts:
        assert TOKEN not in t and PAT not in t and EMAIL not in t


def test_requests_are_counted_at_the_transport(fake: JiraFake) -> None:
    b = make_backend(fake)
    fake.fail("timeout", path="/search")
    b.list_tracked()
    b.create(make_draft())
    assert b.requests_made == len(fake.log)


def test_listing_pages(fake: JiraFake) -> None:
    b = make_backend(fake, deployment=fake.mode)
    b.create_many(drafts(230))
    before = b.requests_made or 0
    assert len(b.list_tracked()) == 230
    assert (b.requests_made or 0) - before == 3
    pages = [r for r in fake.log if r.endpoint.startswith("search")][-3:]
    if fake.mode == "cloud":
        assert [r.query.get("nextPageToken") for r in pages] == [None, ["page-100"], ["page-200"]]
    else:
        assert [r.query["startAt"] for r in pages] == [["0"], ["100"], ["200"]]


def test_post_report_is_one_issue_per_week(fake: JiraFake) -> None:
    b = make_backend(fake)
    url = b.post_report("Action items, 2026-W47", "| a | b |", "2026-W47")
    assert url.endswith("/browse/OPS-1")
    assert b.post_report("again", "{noformat} body", "2026-W47") == url
    assert b.list_tracked() == []  # reports are not tracked items
    f = fake.issues["OPS-1"]["fields"]
    assert f["summary"] == "again" and f["description"].count("{noformat}") == 2


def test_comment_goes_to_the_issue(fake: JiraFake) -> None:
    b = make_backend(fake)
    t = b.create(make_draft())
    b.comment(t, "Overdue — any news? ✅")
    assert fake.comments[t.ref] == ["Overdue — any news? ✅"]


# --- the spec ---------------------------------------------------------------------------------


def test_traffic_matches_the_spec(fake: JiraFake) -> None:
    require_specs()
    b = make_backend(fake)
    made = b.create_many(drafts(55))
    t = made[0]
    assert isinstance(t, Ticket)
    b.create(make_draft("pm/single"))
    b.update(t, make_draft("pm/000", title="new"), frozenset({"title", "owners", "due"}))
    b.close(t, "completed", make_draft("pm/000", status="done").marker)
    b.reopen(t)
    b.comment(t, "hi")
    b.find("pm/000")
    b.fetch(t.ref)
    b.post_report("r", "b", "2026-W01")
    make_backend(fake, owners={"alice": "alice@example.com"}).create(make_draft("pm/mail"))
    assert {r.endpoint.split("/")[0] for r in fake.log} >= {"issue", "search", "user"}
    assert spec_problems(fake.log) == []


def test_the_validator_catches_a_bad_request() -> None:
    require_specs()
    bad = Logged("GET", "/rest/api/3/search/jql", {"nextPagetoken": ["x"]}, {}, None)
    assert any("nextPagetoken" in p for p in spec_problems([bad]))
    body = Logged("POST", "/rest/api/2/issue/bulk", {}, {}, {"issueUpdates": {"fields": 1}})
    assert spec_problems([body])


def test_fake_answers_match_the_spec_in_both_modes(fake: JiraFake) -> None:
    require_specs()
    b = make_backend(fake)
    b.create(make_draft())
    answers = [r for r in fake.log if r.status and 200 <= r.status < 300 and r.response]
    assert answers and spec_problems(fake.log) == []
    assert json.dumps(answers[-1].response)
