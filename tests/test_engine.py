"""End to end: real postmortem files in a temp folder, the local backend, `run_sync`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from tests.sync_harness import AS_OF, Crash, Repo, Wrapper
from tracker.backends.local import LocalBackend
from tracker.engine import SyncOutcome, status_rows
from tracker.model import Ticket
from tracker.sync import ItemResult, SyncPolicy

PM = """---
id: pm-queue
date: 2026-06-15
severity: SEV2
---
# Queue backlog

## Summary

A partner endpoint slowed down and retries filled the broker.

## Action items

- [ ] [mateo] Page on consumer lag above 50k messages. Due: 2026-07-01 (P1)
- [ ] [keisha] Cap webhook retries at five attempts. Due: 2026-07-15
- [oskar] Move webhook retries to a separate vhost (P2)
- [sam] Document how to find the producer filling a disk

## Follow-ups

| Item | Owner | Due | Status |
|---|---|---|---|
| Add a per-partner circuit breaker | mateo | 2026-08-01 | Open |
| Add a dashboard panel for publish rate | oskar | 2026-08-15 | In progress |
"""
TRACKED = re.compile(r" \(tracked: local:\d+\)")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path)
    r.write("postmortems/2026-06-15-queue.md", PM)
    return r


def edit(repo: Repo, old: str, new: str, rel: str = "postmortems/2026-06-15-queue.md") -> None:
    text = repo.read(rel)
    assert old in text, old
    repo.write(rel, text.replace(old, new, 1))


def counts(outcome: SyncOutcome) -> dict[str, int]:
    return {k: v for k, v in outcome.counts().items() if v}


def keys_to_refs(repo: Repo) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t in repo.tickets():
        out.setdefault(t.key or "", []).append(t.ref)
    return out


# --- first sync and the no-op re-sync ------------------------------------------------------------


def test_first_sync_creates_tickets_and_writes_refs_back(repo: Repo) -> None:
    out = repo.sync()
    assert counts(out) == {"created": 6}
    assert out.ok and out.files_written == ("postmortems/2026-06-15-queue.md",)
    text = repo.read("postmortems/2026-06-15-queue.md")
    assert "Due: 2026-07-01 (P1) (tracked: local:1)" in text
    assert "| Add a per-partner circuit breaker (tracked: local:5) |" in text
    t = repo.by_title("Page on consumer lag")
    assert (t.owners, t.due, t.priority, t.state) == (("mateo",), dt.date(2026, 7, 1), "P1", "open")
    assert t.marker is not None and t.marker.pm_date == "2026-06-15" and t.marker.severity == "SEV2"
    assert repo.by_title("dashboard panel").state == "in_progress"


def test_second_sync_without_changes_makes_no_write_and_one_request(repo: Repo) -> None:
    repo.sync()
    before = repo.read("postmortems/2026-06-15-queue.md")
    out = repo.sync()
    assert counts(out) == {"unchanged": 6}
    assert repo.writes == 0 and out.requests is None  # no HTTP on the local backend
    assert repo.last is not None and isinstance(repo.last.inner, LocalBackend)
    assert repo.last.inner.requests == 1  # one listing query
    assert out.files_written == ()
    assert repo.read("postmortems/2026-06-15-queue.md") == before


def test_to_json_has_exactly_the_documented_keys(repo: Repo) -> None:
    data = repo.sync().to_json()
    assert list(data) == [
        "created", "updated", "closed", "reopened", "unchanged", "orphaned", "conflicts",
        "failed", "deferred", "requests", "items",
    ]  # fmt: skip
    items = data["items"]
    assert isinstance(items, list)
    assert items[0] == {
        "key": items[0]["key"],
        "action": "create",
        "ticket": "local:1",
        "reason": "new item",
        "error": None,
    }


def test_dry_run_plans_without_writing(repo: Repo) -> None:
    out = repo.sync(dry_run=True)
    assert counts(out) == {"created": 6} and out.dry_run
    assert repo.writes == 0 and repo.tickets() == []
    assert repo.read("postmortems/2026-06-15-queue.md") == PM


# --- edits in the file ---------------------------------------------------------------------------


def test_owner_edit_updates_the_same_ticket(repo: Repo) -> None:
    repo.sync()
    ref = repo.by_title("Cap webhook").ref
    edit(repo, "[keisha] Cap", "[ines] Cap")
    out = repo.sync()
    assert counts(out) == {"updated": 1, "unchanged": 5}
    assert repo.writes == 1
    t = repo.ticket(ref)
    assert t.owners == ("ines",) and t.marker is not None and t.marker.owners == ("ines",)
    assert len(repo.tickets()) == 6
    assert repo.sync() and repo.writes == 0


def test_due_edit_in_a_table_updates_the_same_ticket(repo: Repo) -> None:
    repo.sync()
    ref = repo.by_title("circuit breaker").ref
    edit(repo, "| mateo | 2026-08-01 |", "| mateo | 2026-09-30 |")
    out = repo.sync()
    assert counts(out) == {"updated": 1, "unchanged": 5}
    assert repo.ticket(ref).due == dt.date(2026, 9, 30)
    repo.sync()
    assert repo.writes == 0


def test_text_edit_after_write_back_updates_the_same_ticket(repo: Repo) -> None:
    repo.sync()
    ref = repo.by_title("separate vhost").ref
    edit(repo, "Move webhook retries to a separate vhost", "Give webhook retries their own vhost")
    out = repo.sync()
    assert counts(out) == {"updated": 1, "unchanged": 5}
    t = repo.ticket(ref)
    assert t.title == "Give webhook retries their own vhost"
    assert t.key == next(r.key for r in out.items if r.action == "update")
    repo.sync()
    assert repo.writes == 0 and len(repo.tickets()) == 6


def test_text_edit_before_write_back_rebinds_to_the_same_ticket(repo: Repo) -> None:
    repo.sync(write_back="none")
    assert repo.read("postmortems/2026-06-15-queue.md") == PM
    ref = repo.by_title("Document how").ref
    edit(repo, "Document how to find the producer", "Document how to find which producer is")
    out = repo.sync(write_back="none")
    assert counts(out) == {"updated": 1, "unchanged": 5}
    upd = next(r for r in out.items if r.action == "update")
    assert upd.ticket is not None and upd.ticket.ref == ref and "rebound" in upd.reason
    assert len(repo.tickets()) == 6
    assert repo.ticket(ref).title == "Document how to find which producer is filling a disk"
    repo.sync(write_back="none")
    assert repo.writes == 0


def test_a_new_text_is_not_rebound_to_an_unrelated_orphan(repo: Repo) -> None:
    repo.sync(write_back="none")
    edit(repo, "[sam] Document how to find the producer filling a disk", "[sam] Rotate TLS keys")
    out = repo.sync(write_back="none")
    assert counts(out) == {"created": 1, "orphaned": 1, "unchanged": 5}


def test_reordering_items_changes_nothing(repo: Repo) -> None:
    repo.sync()
    text = repo.read("postmortems/2026-06-15-queue.md")
    lines = text.split("\n")
    items = [i for i, s in enumerate(lines) if s.startswith("- ")]
    rows = [i for i, s in enumerate(lines) if s.startswith("| Add")]
    for group in (items, rows):
        block = [lines[i] for i in group]
        for i, s in zip(group, reversed(block), strict=True):
            lines[i] = s
    repo.write("postmortems/2026-06-15-queue.md", "\n".join(lines))
    out = repo.sync()
    assert counts(out) == {"unchanged": 6} and repo.writes == 0


def test_done_in_the_file_closes_and_open_again_reopens(repo: Repo) -> None:
    repo.sync()
    ref = repo.by_title("Cap webhook").ref
    edit(repo, "- [ ] [keisha] Cap", "- [x] [keisha] Cap")
    out = repo.sync()
    assert counts(out) == {"closed": 1, "unchanged": 5} and repo.writes == 1
    t = repo.ticket(ref)
    assert t.state == "done" and t.marker is not None and t.marker.status == "done"
    repo.sync()
    assert repo.writes == 0
    edit(repo, "- [x] [keisha] Cap", "- [ ] [keisha] Cap")
    out = repo.sync()
    assert counts(out) == {"reopened": 1, "unchanged": 5}
    assert repo.ticket(ref).state == "open"
    repo.sync()
    assert repo.writes == 0


def test_dropped_in_a_status_cell_closes_as_not_planned(repo: Repo) -> None:
    repo.sync()
    edit(repo, "| 2026-08-01 | Open |", "| 2026-08-01 | Won't do |")
    out = repo.sync()
    assert counts(out) == {"closed": 1, "unchanged": 5}
    assert repo.by_title("circuit breaker").state == "dropped"


def test_done_and_owner_change_together(repo: Repo) -> None:
    repo.sync()
    edit(repo, "- [ ] [keisha] Cap", "- [x] [ines] Cap")
    out = repo.sync()
    assert counts(out) == {"closed": 1, "unchanged": 5} and repo.writes == 2
    t = repo.by_title("Cap webhook")
    assert t.state == "done" and t.owners == ("ines",)
    repo.sync()
    assert repo.writes == 0


# --- changes made in the tracker -----------------------------------------------------------------


def test_closed_in_tracker_for_a_plain_bullet_stays_closed(repo: Repo) -> None:
    repo.sync()
    t = repo.by_title("separate vhost")
    repo.local().edit(t.ref, state="done")
    before = repo.read("postmortems/2026-06-15-queue.md")
    for _ in range(2):
        out = repo.sync()
        assert counts(out) == {"unchanged": 6} and repo.writes == 0
        assert repo.ticket(t.ref).state == "done"
    assert repo.read("postmortems/2026-06-15-queue.md") == before


def test_closed_in_tracker_for_a_checkbox_ticks_it_in_the_file(repo: Repo) -> None:
    repo.sync()
    t = repo.by_title("Page on consumer lag")
    repo.local().edit(t.ref, state="done")
    before = repo.read("postmortems/2026-06-15-queue.md")
    out = repo.sync()
    assert repo.writes == 0 and counts(out) == {"unchanged": 6}
    after = repo.read("postmortems/2026-06-15-queue.md")
    assert after == before.replace("- [ ] [mateo] Page", "- [x] [mateo] Page")
    out = repo.sync()  # the file now says done: recorded once, never reopened
    assert counts(out) == {"updated": 1, "unchanged": 5} and repo.writes == 1
    out = repo.sync()
    assert repo.writes == 0 and repo.ticket(t.ref).state == "done"


def test_closed_in_tracker_for_a_status_cell_writes_done(repo: Repo) -> None:
    repo.sync()
    t = repo.by_title("circuit breaker")
    repo.local().edit(t.ref, state="done")
    repo.sync()
    assert "| mateo | 2026-08-01 | Done |" in repo.read("postmortems/2026-06-15-queue.md")
    repo.sync()
    repo.sync()
    assert repo.writes == 0 and repo.ticket(t.ref).state == "done"


def test_retitled_and_reassigned_in_tracker_are_not_reverted(repo: Repo) -> None:
    repo.sync()
    t = repo.by_title("Page on consumer lag")
    repo.local().edit(t.ref, title="Consumer lag pager (edited in tracker)", owners=("carol",))
    out = repo.sync()
    assert counts(out) == {"unchanged": 6} and repo.writes == 0
    edit(repo, "Due: 2026-07-01 (P1)", "Due: 2026-07-20 (P1)")
    out = repo.sync()
    assert counts(out) == {"updated": 1, "unchanged": 5}
    now = repo.ticket(t.ref)
    assert now.title == "Consumer lag pager (edited in tracker)"
    assert now.owners == ("carol",) and now.due == dt.date(2026, 7, 20)


def test_both_sides_changing_the_title_is_a_conflict(repo: Repo) -> None:
    repo.sync()
    t = repo.by_title("Page on consumer lag")
    repo.local().edit(t.ref, title="Tracker title")
    edit(repo, "Page on consumer lag above 50k", "Page on consumer lag above 80k")
    out = repo.sync()
    assert counts(out) == {"conflicts": 1, "unchanged": 5} and repo.writes == 0
    conflict = next(r for r in out.items if r.action == "conflict")
    assert "title" in conflict.reason and repo.ticket(t.ref).title == "Tracker title"


def test_an_owner_added_in_the_tracker_is_merged(repo: Repo) -> None:
    repo.sync()
    t = repo.by_title("Cap webhook")
    repo.local().edit(t.ref, owners=("keisha", "carol"))
    edit(repo, "[keisha] Cap", "[ines] Cap")
    out = repo.sync()
    assert counts(out) == {"updated": 1, "unchanged": 5}
    assert set(repo.ticket(t.ref).owners) == {"ines", "carol"}


def test_a_ticket_missing_from_the_listing_is_fetched_not_recreated(repo: Repo) -> None:
    repo.sync()
    t = repo.by_title("separate vhost")
    edit(repo, "Move webhook retries to a separate vhost", "Move the webhook retries elsewhere")
    w = Wrapper(repo.local(), hide_refs=frozenset({t.ref}))
    out = repo.sync(wrapper=w)
    assert counts(out) == {"updated": 1, "unchanged": 5}
    assert w.calls.count("fetch") == 1 and "create" not in w.calls
    assert len(repo.tickets()) == 6


def test_a_foreign_reference_is_a_plain_link(repo: Repo) -> None:
    edit(repo, "[sam] Document how", "[sam] See local:99 and #412: document how")
    out = repo.sync()
    assert counts(out) == {"created": 6}
    line = next(s for s in repo.read("postmortems/2026-06-15-queue.md").split("\n") if "#412" in s)
    assert line.endswith("(tracked: local:4)")


def test_two_items_claiming_one_ticket_is_a_conflict(repo: Repo) -> None:
    repo.sync()
    text = repo.read("postmortems/2026-06-15-queue.md")
    line = next(s for s in text.split("\n") if "separate vhost" in s)
    copy = line.replace("Move webhook retries to a separate vhost", "Split the broker disks")
    repo.write("postmortems/2026-06-15-queue.md", text.replace(line, f"{line}\n{copy}"))
    out = repo.sync()
    assert counts(out) == {"conflicts": 1, "unchanged": 6} and repo.writes == 0
    assert "claim" in next(r.reason for r in out.items if r.action == "conflict")


# --- removed items -------------------------------------------------------------------------------


def _remove_line(repo: Repo, words: str, rel: str = "postmortems/2026-06-15-queue.md") -> None:
    text = repo.read(rel)
    lines = [s for s in text.split("\n") if words not in s]
    repo.write(rel, "\n".join(lines))


def test_removed_item_is_reported_not_closed_by_default(repo: Repo) -> None:
    repo.sync()
    t = repo.by_title("separate vhost")
    _remove_line(repo, "separate vhost")
    out = repo.sync()
    assert counts(out) == {"orphaned": 1, "unchanged": 5} and repo.writes == 0
    assert repo.ticket(t.ref).state == "open"


def test_removed_item_is_closed_as_not_planned_with_close_removed(repo: Repo) -> None:
    repo.sync()
    t = repo.by_title("separate vhost")
    _remove_line(repo, "separate vhost")
    out = repo.sync(SyncPolicy(close_removed=True))
    assert counts(out) == {"closed": 1, "unchanged": 5} and repo.writes == 1
    assert repo.ticket(t.ref).state == "dropped"
    out = repo.sync(SyncPolicy(close_removed=True))
    assert repo.writes == 0 and counts(out) == {"unchanged": 6}


def test_max_closes_caps_closes_per_run(repo: Repo) -> None:
    repo.write("postmortems/2026-07-01-other.md", PM.replace("pm-queue", "pm-other"))
    repo.sync()
    for rel in ("postmortems/2026-06-15-queue.md", "postmortems/2026-07-01-other.md"):
        _remove_line(repo, "separate vhost", rel)
    policy = SyncPolicy(close_removed=True, max_closes=1)
    out = repo.sync(policy)
    assert counts(out) == {"closed": 1, "orphaned": 1, "unchanged": 10}
    out = repo.sync(policy)
    assert counts(out) == {"closed": 1, "unchanged": 11}


def test_losing_more_than_half_the_items_is_a_conflict(repo: Repo) -> None:
    repo.sync()
    for words in ("Page on", "Cap webhook", "separate vhost", "Document how"):
        _remove_line(repo, words)
    out = repo.sync(SyncPolicy(close_removed=True))
    assert counts(out) == {"conflicts": 4, "unchanged": 2} and repo.writes == 0


def test_a_vanished_action_section_is_a_conflict(repo: Repo) -> None:
    repo.sync()
    repo.write("postmortems/2026-06-15-queue.md", PM.split("## Action items", maxsplit=1)[0])
    out = repo.sync(SyncPolicy(close_removed=True))
    assert counts(out) == {"conflicts": 6} and repo.writes == 0


def test_files_the_run_does_not_cover_are_not_judged(repo: Repo) -> None:
    repo.sync()
    repo.remove("postmortems/2026-06-15-queue.md")
    out = repo.sync(SyncPolicy(close_removed=True))
    assert counts(out) == {} and repo.writes == 0


# --- policy --------------------------------------------------------------------------------------


def test_items_done_when_first_seen(tmp_path: Path) -> None:
    text = PM.replace("- [ ] [keisha]", "- [x] [keisha]")
    closed = Repo(tmp_path / "a")
    closed.write("pm.md", text)
    out = closed.sync()
    assert counts(out) == {"created": 6} and closed.writes == 7
    assert closed.by_title("Cap webhook").state == "done"
    closed.sync()
    assert closed.writes == 0
    skip = Repo(tmp_path / "b", SyncPolicy(done_items="skip"))
    skip.write("pm.md", text)
    out = skip.sync()
    assert counts(out) == {"created": 5, "unchanged": 1}
    assert "(tracked:" not in next(s for s in skip.read("pm.md").split("\n") if "Cap webhook" in s)


def test_done_on_is_kept_for_backfilled_items(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    repo.write("pm.md", PM.replace("| 2026-08-01 | Open |", "| 2026-08-01 | Done 2021-06-30 |"))
    repo.sync()
    m = repo.by_title("circuit breaker").marker
    assert m is not None and m.status == "done" and m.done_on == "2021-06-30"
    assert m.pm_date == "2026-06-15"


def test_default_due_by_priority_from_the_postmortem_date(tmp_path: Path) -> None:
    repo = Repo(tmp_path, SyncPolicy(default_due={"P2": 56, "default": 28}))
    repo.write("pm.md", PM)
    repo.sync()
    assert repo.by_title("separate vhost").due == dt.date(2026, 8, 10)  # P2: +56 days
    assert repo.by_title("Document how").due == dt.date(2026, 7, 13)  # default: +28
    assert repo.by_title("Page on").due == dt.date(2026, 7, 1)  # the file's own date wins


def test_since_skips_older_postmortems(tmp_path: Path) -> None:
    repo = Repo(tmp_path, SyncPolicy(since=dt.date(2026, 7, 1)))
    repo.write("old.md", PM)
    repo.write("new.md", PM.replace("pm-queue", "pm-new").replace("2026-06-15", "2026-07-02"))
    out = repo.sync()
    assert counts(out) == {"created": 6}
    assert {t.key.split("/")[0] for t in repo.tickets() if t.key} == {"pm-new"}


def test_owners_map_resolves_assignees(tmp_path: Path) -> None:
    repo = Repo(tmp_path, SyncPolicy(owners={"Mateo": "mateo-gh", "keisha": "kk"}))
    repo.write("pm.md", PM)
    repo.sync()
    assert repo.by_title("Page on").owners == ("mateo-gh",)
    t = repo.by_title("Cap webhook")
    assert t.owners == ("kk",) and t.marker is not None and t.marker.owners == ("keisha",)
    repo.sync()
    assert repo.writes == 0


# --- budget, failures, crashes -------------------------------------------------------------------


def test_budget_defers_the_rest_and_the_next_run_finishes(repo: Repo) -> None:
    policy = SyncPolicy(max_writes=4)
    out = repo.sync(policy)
    assert counts(out) == {"created": 4, "deferred": 2} and repo.writes == 4
    deferred = [r for r in out.items if r.action == "deferred"]
    assert all("write budget of 4" in r.reason for r in deferred)
    assert len(TRACKED.findall(repo.read("postmortems/2026-06-15-queue.md"))) == 4
    out = repo.sync(policy)
    assert counts(out) == {"created": 2, "unchanged": 4}
    assert len(TRACKED.findall(repo.read("postmortems/2026-06-15-queue.md"))) == 6
    assert all(len(refs) == 1 for refs in keys_to_refs(repo).values())
    repo.sync(policy)
    assert repo.writes == 0


def test_one_failing_item_does_not_stop_the_run(repo: Repo) -> None:
    out = repo.sync(dry_run=True)
    bad = out.items[1].key
    w = Wrapper(repo.local(), fail_keys=frozenset({bad}))
    out = repo.sync(wrapper=w)
    assert counts(out) == {"created": 5, "failed": 1} and not out.ok
    failed = next(r for r in out.items if r.action == "failed")
    assert failed.key == bad and failed.error == f"injected failure for {bad}"
    out = repo.sync()
    assert counts(out) == {"created": 1, "unchanged": 5} and out.ok


def test_a_lost_create_answer_is_looked_up_not_resent(repo: Repo) -> None:
    w = Wrapper(repo.local(), crash_after=2, crash_mode="lost")
    out = repo.sync(wrapper=w)
    # Every create after the second "loses" its answer; each is found by key, none doubled.
    assert counts(out) == {"created": 6}
    assert w.calls.count("find") == 4 and w.calls.count("create") == 6
    assert all(len(refs) == 1 for refs in keys_to_refs(repo).values())
    assert len(TRACKED.findall(repo.read("postmortems/2026-06-15-queue.md"))) == 6


CRASH_PM = PM.replace("- [oskar] Move", "- [x] [oskar] Move")  # one created closed: 2 writes


def _crash_repo(tmp_path: Path, second: bool) -> Repo:
    repo = Repo(tmp_path, SyncPolicy(close_removed=True))
    repo.write("pm.md", CRASH_PM)
    if second:  # a run that updates, closes, reopens and removes
        repo.sync()
        repo.local().edit(repo.by_title("Document how").ref, state="done")
        text = repo.read("pm.md")
        text = text.replace("- [ ] [keisha] Cap", "- [x] [ines] Cap")
        text = text.replace("- [x] [oskar] Move", "- [ ] [oskar] Move")
        text = text.replace("Due: 2026-07-01 (P1)", "Due: 2026-07-09 (P0)")
        text = "\n".join(s for s in text.split("\n") if "dashboard panel" not in s)
        repo.write("pm.md", text)
    return repo


def test_the_crash_scenarios_make_the_writes_the_loops_cover(tmp_path: Path) -> None:
    first = _crash_repo(tmp_path / "first", second=False)
    assert counts(first.sync()) == {"created": 6} and first.writes == 7
    later = _crash_repo(tmp_path / "later", second=True)
    out = later.sync()
    assert counts(out) == {"updated": 1, "closed": 2, "reopened": 1, "unchanged": 2}
    assert later.writes == 5


def _crash_then_recover(tmp_path: Path, k: int, mode: str, second: bool) -> None:
    repo = _crash_repo(tmp_path, second)
    w = Wrapper(repo.local(), crash_after=k, crash_mode=mode)
    try:
        repo.sync(wrapper=w)
    except Crash:
        assert mode == "before"
    else:
        assert mode == "lost" or k >= (5 if second else 7)
    out = repo.sync()
    assert out.ok, [r.to_json() for r in out.items if r.error]
    final = repo.sync()
    assert repo.writes == 0, [r.to_json() for r in final.items if r.action != "unchanged"]
    tickets = repo.tickets()
    by_key = keys_to_refs(repo)
    assert all(len(refs) == 1 for refs in by_key.values()), by_key
    assert len(tickets) == 6
    states = sorted((t.title.split()[0], t.state) for t in tickets)
    if second:
        assert states == [
            ("Add", "dropped"), ("Add", "open"), ("Cap", "done"), ("Document", "done"),
            ("Move", "open"), ("Page", "open"),
        ]  # fmt: skip
        assert repo.by_title("dashboard panel").state == "dropped"
        assert repo.by_title("Cap webhook").owners == ("ines",)
        assert repo.by_title("Move webhook").state == "open"
        assert repo.by_title("Page on").due == dt.date(2026, 7, 9)
    else:
        assert repo.by_title("Move webhook").state == "done"
        assert sum(t.state == "done" for t in tickets) == 1


@pytest.mark.parametrize("mode", ["before", "lost"])
def test_crash_after_every_write_of_a_first_sync_converges(tmp_path: Path, mode: str) -> None:
    for k in range(7):  # the first sync makes 7 writes (6 creates, 1 close)
        _crash_then_recover(tmp_path / f"{mode}{k}", k, mode, second=False)


@pytest.mark.parametrize("mode", ["before", "lost"])
def test_crash_after_every_write_of_a_later_sync_converges(tmp_path: Path, mode: str) -> None:
    for k in range(6):  # owner+close (2), reopen (1), due+priority (1), orphan close (1)
        _crash_then_recover(tmp_path / f"{mode}{k}", k, mode, second=True)


# --- write-back ----------------------------------------------------------------------------------


def test_write_back_leaves_every_other_byte_alone(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    raw = ("\ufeff" + PM.replace("Summary", "Summary  \t")).replace("\n", "\r\n").rstrip("\r\n")
    raw = raw.replace("Things", "Thïngs")
    repo.write("crlf.md", raw)
    out = repo.sync()
    assert counts(out) == {"created": 6}
    after = repo.read("crlf.md")
    assert after.count("\r\n") == raw.count("\r\n") and not after.endswith("\n")
    assert TRACKED.sub("", after) == raw
    assert "| Add a per-partner circuit breaker (tracked: local:5) |" in after
    assert len(TRACKED.findall(after)) == 6
    repo.sync()
    assert repo.read("crlf.md") == after


def test_refs_go_into_an_empty_ticket_cell(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    table = (
        "# PM\n\n## Action items\n\n| Item | Owner | Ticket |\n|:--|:--|:--|\n"
        "| Rotate the leaked key | ana | TBD |\n| Add a canary | bo | see #412 |\n"
    )
    repo.write("pm.md", table)
    repo.sync()
    assert repo.read("pm.md") == table.replace("| TBD |", "| local:1 |").replace(
        "| see #412 |", "| see #412 (tracked: local:2) |"
    )
    out = repo.sync()
    assert counts(out) == {"unchanged": 2} and repo.writes == 0


def test_write_back_refuses_a_file_changed_since_parse(repo: Repo) -> None:
    rel = "postmortems/2026-06-15-queue.md"
    edited = PM + "\nA late edit.\n"

    def meddle(done: int, total: int, result: ItemResult) -> None:
        if done == total:
            repo.write(rel, edited)

    out = repo.sync(progress=meddle)
    assert counts(out) == {"created": 6} and not out.ok
    assert out.write_back_errors and "changed since it was parsed" in out.write_back_errors[0]
    assert all(r.error and "changed since" in r.error for r in out.items)
    assert repo.read(rel) == edited
    out = repo.sync()
    assert counts(out) == {"unchanged": 6} and repo.writes == 0 and out.ok
    assert len(TRACKED.findall(repo.read(rel))) == 6


def test_an_unreadable_file_is_a_failed_item(repo: Repo, tmp_path: Path) -> None:
    files = [*repo.files(), (tmp_path / "missing.md", "missing.md")]
    from tracker.engine import run_sync

    out = run_sync(files, repo.local(), SyncPolicy(), as_of=AS_OF)
    assert counts(out) == {"created": 6, "failed": 1}
    assert out.items[0].key == "missing.md" and out.items[0].error


# --- tracker status ------------------------------------------------------------------------------


def _t(ref: str, due: dt.date | None, owners: tuple[str, ...] = ("a",), **kw: Any) -> Ticket:
    created = dt.datetime(2026, 9, 1, 23, 30, tzinfo=dt.timezone.utc)
    return dataclasses.replace(
        Ticket(ref=ref, url=ref, title=ref, state="open", owners=owners, due=due),
        created_at=created,
        **kw,
    )


def test_status_rows_order_and_filters(repo: Repo) -> None:
    tickets = [
        _t("local:1", dt.date(2026, 10, 20)),
        _t("local:2", None, ("Bob",)),
        _t("local:3", dt.date(2026, 9, 1)),
        _t("local:4", dt.date(2026, 8, 1), state="done"),
        _t("local:5", dt.date(2026, 9, 20), ("bob",)),
        _t("local:6", dt.date(2026, 10, 1)),
    ]
    rows = status_rows(tickets, AS_OF)
    assert [r.ref for r in rows] == ["local:3", "local:5", "local:6", "local:1", "local:2"]
    assert [r.overdue for r in rows] == [True, True, False, False, False]
    assert rows[0].age_days == 30
    assert [r.ref for r in status_rows(tickets, AS_OF, owner="@BOB")] == ["local:5", "local:2"]
    assert [r.ref for r in status_rows(tickets, AS_OF, overdue_only=True)] == ["local:3", "local:5"]
    berlin = dt.timezone(dt.timedelta(hours=2))
    assert status_rows(tickets, AS_OF, tz=berlin)[0].age_days == 29  # created 2 Sep there


def test_status_rows_from_a_synced_repo(repo: Repo) -> None:
    repo.sync()
    rows = status_rows(repo.tickets(), AS_OF, postmortem="pm-queue")
    assert [r.title for r in rows[:2]] == [
        "Page on consumer lag above 50k messages.",
        "Cap webhook retries at five attempts.",
    ]
    assert len(rows) == 6 and rows[0].to_json()["ticket"] == "local:1"
    assert status_rows(repo.tickets(), AS_OF, postmortem="postmortems/2026-06-15-queue.md")
    assert status_rows(repo.tickets(), AS_OF, postmortem="nope") == []
