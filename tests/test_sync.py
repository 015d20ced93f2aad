"""`plan` (pure) and `apply` (against the local backend and wrappers that fail)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.sync_harness import AS_OF, Clock, Crash, Repo, Wrapper
from tracker.backends.base import (
    cut_title,
    marker_from_json,
    marker_hash,
    marker_to_json,
    render_labels,
    resolve_owners,
)
from tracker.backends.local import LocalBackend
from tracker.drafts import build_draft, effective_due
from tracker.errors import BackendError, OutcomeUnknown, RateLimited
from tracker.model import ActionItem, Postmortem, Problem, Status, Ticket
from tracker.parse import parse_postmortem
from tracker.sync import ItemResult, PlanEntry, SyncPlan, SyncPolicy, apply, plan

DOC = """---
id: pm-dns
date: 2026-05-09
---
# DNS cutover

## Action items

- [ ] [ana] Lower the TTL of every record before a cutover. Due: 2026-06-01 (P1)
- [bo] Add a synthetic check that resolves through each resolver (P2)
- [cy] Write the rollback runbook for resolver changes
- [di] Alert when NXDOMAIN rates double within 10 minutes
"""
POLICY = SyncPolicy()


def parsed(text: str = DOC, path: str = "pm/dns.md") -> Postmortem:
    return parse_postmortem(text, path)


def ticket_for(
    item: ActionItem, pm: Postmortem, ref: str, state: Status = "open", **changes: Any
) -> Ticket:
    """The ticket a previous sync of `item` left behind."""
    draft = build_draft(item, pm, POLICY)
    t = Ticket(
        ref=ref,
        url=ref,
        title=draft.title,
        state=state,
        owners=draft.assignees,
        due=draft.due,
        priority=draft.priority,
        labels=draft.labels,
        marker=draft.marker,
    )
    return dataclasses.replace(t, **changes)


def synced(pm: Postmortem) -> list[Ticket]:
    return [ticket_for(i, pm, f"local:{n}") for n, i in enumerate(pm.items, 1)]


def actions(p: SyncPlan) -> list[str]:
    return [e.action for e in p.entries]


# --- plan ------------------------------------------------------------------------------------------


def test_plan_is_pure_and_deterministic() -> None:
    pm = parsed()
    tickets = synced(pm)[:2]
    first = plan([pm], tickets, POLICY, AS_OF)
    assert first == plan([pm], tickets, POLICY, AS_OF)
    assert actions(first) == ["unchanged", "unchanged", "create", "create"]
    assert first.writes == 2 and first.as_of == AS_OF
    assert first.counts()["created"] == 2 and first.counts()["unchanged"] == 2


def test_only_our_markers_bind_a_reference() -> None:
    pm = parsed(DOC.replace("(P2)", "(P2) (tracked: local:9)"))
    stranger = Ticket(ref="local:9", url="local:9", title="not ours", state="open")
    p = plan([pm], [stranger], POLICY, AS_OF)
    e = p.entries[1]
    assert e.action == "conflict" and "has no marker" in e.reason
    assert p.entries[0].action == "create"


def test_a_reference_to_our_ticket_binds_even_with_a_new_key() -> None:
    old = parsed()
    tickets = synced(old)
    new = parsed(
        DOC.replace("[cy] Write the rollback runbook", "[cy] Rewrite it all (tracked: local:3)")
    )
    p = plan([new], tickets, POLICY, AS_OF)
    e = p.entries[2]
    assert e.action == "update" and e.ticket is not None and e.ticket.ref == "local:3"
    assert e.fields == {"title"} and "bound by its reference local:3" in e.reason
    assert e.draft is not None and e.draft.marker.key == new.items[2].key
    assert not e.write_ref


def test_a_younger_ticket_for_one_key_is_closed_as_a_duplicate() -> None:
    pm = parsed()
    tickets = synced(pm)
    twin = dataclasses.replace(tickets[0], ref="local:99", url="local:99")
    p = plan([pm], [twin, *tickets], POLICY, AS_OF)  # listing order does not pick the keeper
    assert actions(p) == ["unchanged"] * 4 + ["close"]
    dup = p.entries[-1]
    assert dup.ticket is not None and dup.ticket.ref == "local:99"
    assert dup.close_reason == "duplicate" and "duplicate of local:1" in dup.reason
    assert dup.comment is not None and "local:1" in dup.comment
    assert p.writes == 2 and p.counts()["closed"] == 1  # the close and its comment
    closed = dataclasses.replace(twin, state="dropped")
    again = plan([pm], [*tickets, closed], POLICY, AS_OF)
    assert actions(again) == ["unchanged"] * 5 and again.writes == 0


def test_rebinding_pairs_the_most_similar_texts() -> None:
    old = parsed()
    tickets = synced(old)
    text = DOC.replace(
        "Write the rollback runbook for resolver", "Write a rollback runbook for resolver"
    )
    text = text.replace("Alert when NXDOMAIN rates double", "Alert when the NXDOMAIN rate doubles")
    p = plan([parsed(text)], tickets, POLICY, AS_OF)
    bound = {e.item.title: e.ticket.ref for e in p.entries if e.item and e.ticket}
    assert bound["Write a rollback runbook for resolver changes"] == "local:3"
    assert bound["Alert when the NXDOMAIN rate doubles within 10 minutes"] == "local:4"
    assert actions(p) == ["unchanged", "unchanged", "update", "update"]


def test_no_orphans_from_a_file_with_parse_errors() -> None:
    pm = parsed()
    tickets = synced(pm)
    shorter = parsed("\n".join(s for s in DOC.split("\n") if "[di]" not in s))
    assert actions(plan([shorter], tickets, POLICY, AS_OF))[-1] == "orphaned"
    broken = dataclasses.replace(shorter, problems=(Problem("PM021", "error", "too big"),))
    assert broken.has_errors
    assert (
        actions(plan([broken], tickets, SyncPolicy(close_removed=True), AS_OF)) == ["unchanged"] * 3
    )


def test_since_leaves_older_postmortems_alone() -> None:
    pm = parsed()
    assert plan([pm], [], SyncPolicy(since=dt.date(2026, 6, 1)), AS_OF).entries == ()
    undated = dataclasses.replace(pm, date=None)
    assert len(plan([undated], [], SyncPolicy(since=dt.date(2026, 6, 1)), AS_OF).entries) == 4


def test_file_moving_to_in_progress_sets_the_state() -> None:
    pm = parsed()
    tickets = synced(pm)
    moved = parsed(DOC.replace("- [ ] [ana]", "- [-] [ana]"))
    e = plan([moved], tickets, POLICY, AS_OF).entries[0]
    assert e.action == "update" and e.fields == {"status"}


def test_file_reopening_what_the_tracker_closed_meanwhile_is_a_conflict() -> None:
    pm = parsed()
    tickets = synced(pm)
    tickets[0] = dataclasses.replace(tickets[0], state="done")
    moved = parsed(DOC.replace("- [ ] [ana]", "- [-] [ana]"))
    e = plan([moved], tickets, POLICY, AS_OF).entries[0]
    assert e.action == "conflict" and "status (file: in_progress, tracker: done)" in e.reason


def test_a_change_the_tracker_already_made_is_only_recorded() -> None:
    pm = parsed()
    tickets = synced(pm)
    tickets[1] = dataclasses.replace(tickets[1], owners=("eve",))
    moved = parsed(DOC.replace("[bo] Add", "[eve] Add"))
    e = plan([moved], tickets, POLICY, AS_OF).entries[1]
    assert e.action == "update" and e.fields == frozenset() and e.writes == 1


def test_entry_costs() -> None:
    pm = parsed()
    item = pm.items[0]
    t = ticket_for(item, pm, "local:1")
    draft = build_draft(item, pm, POLICY)
    assert PlanEntry("k", "create", "", draft=draft).writes == 1
    assert PlanEntry("k", "create", "", draft=draft, close_reason="completed").writes == 2
    assert PlanEntry("k", "close", "", ticket=t, close_reason="completed").writes == 1
    assert PlanEntry("k", "close", "", ticket=t, fields=frozenset({"owners"})).writes == 2
    assert PlanEntry("k", "reopen", "", ticket=t).writes == 1
    assert PlanEntry("k", "update", "", ticket=t).writes == 1
    for action in ("unchanged", "orphaned", "conflict"):
        assert PlanEntry("k", action, "").writes == 0


# --- drafts and markers ------------------------------------------------------------------------


def test_marker_json_round_trip_and_lenient_reading() -> None:
    pm = parsed()
    m = build_draft(pm.items[0], pm, POLICY).marker
    assert marker_from_json(marker_to_json(m)) == m
    assert marker_from_json({"key": "a/b", "path": "p", "hash": "h", "status": "bogus"}) is not None
    assert marker_from_json({"key": "a/b"}) is None
    assert marker_from_json(["not", "a", "dict"]) is None
    assert marker_hash(dataclasses.replace(m, line=99)) == m.hash


def test_helpers() -> None:
    assert cut_title("x " * 200).endswith("…") and len(cut_title("x " * 200)) == 250
    assert cut_title("  a\n b ") == "a b"
    assert resolve_owners(("@Ana", "bo", "ana"), {"ana": "ana-gh"}) == ("ana-gh", "bo")
    assert render_labels(
        ("pm",), ("priority:{priority}", "sev:{severity}"), {"priority": "P1"}
    ) == (
        "pm",
        "priority:P1",
    )


def test_effective_due() -> None:
    pm = parsed(DOC.replace("(P2)", "(P2) Due: Q3"))
    policy = SyncPolicy(default_due={"P1": 14, "default": 56})
    due = [effective_due(i, pm, policy) for i in pm.items]
    assert due == [dt.date(2026, 6, 1), None, dt.date(2026, 7, 4), dt.date(2026, 7, 4)]
    assert effective_due(pm.items[2], dataclasses.replace(pm, date=None), policy) is None


# --- apply -----------------------------------------------------------------------------------------


def local(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "l.db", now=Clock())


def test_apply_reports_progress_per_entry(tmp_path: Path) -> None:
    seen: list[tuple[int, int, str]] = []

    def progress(done: int, total: int, r: ItemResult) -> None:
        seen.append((done, total, r.action))

    p = plan([parsed()], [], POLICY, AS_OF)
    result = apply(p, local(tmp_path), progress=progress)
    assert seen == [(n, 4, "create") for n in range(1, 5)]
    assert result.writes == 4 and result.counts()["created"] == 4


def test_create_closed_goes_through_an_open_marker(tmp_path: Path) -> None:
    pm = parsed(DOC.replace("- [ ] [ana]", "- [x] [ana]"))
    b = local(tmp_path)
    w = Wrapper(b, crash_after=1)
    p = plan([pm], [], POLICY, AS_OF)
    with pytest.raises(Crash, match="crash before write 2"):
        apply(p, w)
    (t,) = b.list_tracked()
    assert t.state == "open" and t.marker is not None and t.marker.status == "open"
    again = plan([pm], b.list_tracked(), POLICY, AS_OF)
    assert again.entries[0].action == "close"


def test_rate_limit_defers_every_later_write(tmp_path: Path) -> None:
    class Limited(Wrapper):
        def create(self, draft):  # type: ignore[no-untyped-def]
            if self.writes == 1:
                raise RateLimited("secondary rate limit, retry after 3600 s", 3600)
            return super().create(draft)

    w = Limited(local(tmp_path))
    result = apply(plan([parsed()], [], POLICY, AS_OF), w)
    assert [r.action for r in result.items] == ["create", "deferred", "deferred", "deferred"]
    assert "rate limited" in result.items[1].reason and "rate limited" in result.items[3].reason


def test_outcome_unknown_then_absent_creates_once_more(tmp_path: Path) -> None:
    class Lost(Wrapper):
        lost = 0

        def create(self, draft):  # type: ignore[no-untyped-def]
            if self.lost == 0:
                self.lost += 1
                raise OutcomeUnknown("read timeout")  # and the request never landed
            return super().create(draft)

    w = Lost(local(tmp_path))
    result = apply(plan([parsed()], [], POLICY, AS_OF), w)
    assert [r.action for r in result.items] == ["create"] * 4
    assert w.calls.count("find") == 1 and len(w.inner.list_tracked()) == 4


def test_outcome_unknown_twice_is_a_failure_not_a_loop(tmp_path: Path) -> None:
    class Lost(Wrapper):
        def create(self, draft):  # type: ignore[no-untyped-def]
            raise OutcomeUnknown("connection reset")

    result = apply(plan([parsed()], [], POLICY, AS_OF), Lost(local(tmp_path)))
    assert [r.action for r in result.items] == ["failed"] * 4
    assert result.items[0].error == "connection reset"


def test_a_failed_lookup_of_a_reference_never_creates(tmp_path: Path) -> None:
    class Down(Wrapper):
        def fetch(self, ref: str) -> Ticket | None:
            raise BackendError("503 from the tracker")

    repo = Repo(tmp_path)
    repo.write("dns.md", DOC.replace("(P2)", "(P2) (tracked: local:7)"))
    out = repo.sync(wrapper=Down(repo.local()))
    assert [r.action for r in out.items] == ["create", "failed", "create", "create"]
    assert out.items[1].error is not None and "could not look up local:7" in out.items[1].error
    assert "(tracked: local:7)" in repo.read("dns.md")


def test_orphan_close_keeps_the_marker(tmp_path: Path) -> None:
    repo = Repo(tmp_path, SyncPolicy(close_removed=True))
    repo.write("dns.md", DOC)
    repo.sync()
    before = repo.by_title("NXDOMAIN").marker
    repo.write("dns.md", "\n".join(s for s in repo.read("dns.md").split("\n") if "[di]" not in s))
    out = repo.sync()
    assert out.counts()["closed"] == 1
    t = repo.by_title("NXDOMAIN")
    assert t.state == "dropped" and t.marker == before


def test_label_templates_follow_priority_changes(tmp_path: Path) -> None:
    policy = SyncPolicy(label_templates=("priority:{priority}",))
    repo = Repo(tmp_path, policy)
    repo.write("dns.md", DOC)
    repo.sync()
    t = repo.by_title("synthetic check")
    assert set(t.labels) == {"postmortem", "priority:P2"}
    repo.local().edit(t.ref, labels=(*t.labels, "team-dns"))
    repo.write("dns.md", repo.read("dns.md").replace("(P2)", "(P0)"))
    repo.sync()
    assert set(repo.ticket(t.ref).labels) == {"postmortem", "priority:P0", "team-dns"}
    assert repo.ticket(t.ref).priority == "P0"
