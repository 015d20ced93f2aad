"""The contract every backend passes; a backend's test module subclasses `BackendContract`.

A subclass provides the fixtures `backend` (a fresh, empty backend) and `missing_ref` (a reference
in the backend's own form that names no ticket), and may override `person_edit` to change a
ticket the way a person would in the tracker's UI (tests needing it skip otherwise).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from tracker.backends.base import (
    MAX_TITLE,
    Backend,
    Field,
    TicketDraft,
    cut_title,
    marker_hash,
)
from tracker.errors import NotFound
from tracker.model import Marker, Status, Ticket

UNICODE_TITLE = "Überwachung 🚨 für 東京 — «Zitat» <b>&amp; `code` -->"


def make_draft(key: str = "pm-1/abc123", **changes: Any) -> TicketDraft:
    """A complete draft with a consistent marker; keyword arguments replace draft fields."""
    base = TicketDraft(
        key=key,
        title="Page on consumer lag",
        text="Page on consumer lag",
        owners=("Alice",),
        assignees=("alice",),
        due=dt.date(2026, 7, 1),
        priority="P1",
        type="mitigate",
        severity="SEV2",
        labels=("postmortem", "priority:P1"),
        path="postmortems/2026-06-15-queue.md",
        line=12,
        status="open",
        marker=Marker(key=key, path="", hash=""),
        postmortem_title="Queue backlog",
        postmortem_date=dt.date(2026, 6, 15),
    )
    draft = dataclasses.replace(base, **changes)
    if "marker" in changes:
        return draft
    m = Marker(
        key=draft.key,
        path=draft.path,
        hash="",
        title=draft.text,
        status=draft.status,
        owners=draft.owners,
        due=draft.due.isoformat() if draft.due else None,
        priority=draft.priority,
        type=draft.type,
        pm_date="2026-06-15",
        severity=draft.severity,
        line=draft.line,
    )
    return draft.with_marker(dataclasses.replace(m, hash=marker_hash(m)))


def _only(backend: Backend, ref: str) -> Ticket:
    found = [t for t in backend.list_tracked() if t.ref == ref]
    assert len(found) == 1, f"{ref} listed {len(found)} times"
    return found[0]


def _fold(names: tuple[str, ...]) -> set[str]:
    return {n.casefold() for n in names}


class BackendContract:
    """Round trips through the Backend protocol; no test here knows which backend it runs on."""

    def person_edit(self, backend: Backend, ticket: Ticket, **changes: Any) -> Ticket:
        """Change `ticket` as a person would (title, owners, labels, state)."""
        pytest.skip("this backend's tests provide no way to edit as a person")

    # --- listing and creating ----------------------------------------------------------------

    def test_fresh_backend_lists_nothing(self, backend: Backend) -> None:
        assert backend.list_tracked() == []

    def test_create_round_trips_through_the_listing(self, backend: Backend) -> None:
        draft = make_draft()
        created = backend.create(draft)
        listed = _only(backend, created.ref)
        assert listed.ref == created.ref and listed.url
        assert listed.title == draft.title
        assert listed.state == "open"
        assert listed.marker == draft.marker
        assert listed.key == draft.key
        assert _fold(listed.owners) == _fold(draft.assignees)
        assert set(draft.labels) <= set(listed.labels)
        if backend.capabilities.native_due_date:
            assert listed.due == draft.due
        assert listed == created

    def test_each_create_is_a_new_ticket(self, backend: Backend) -> None:
        a = backend.create(make_draft("pm-1/a"))
        b = backend.create(make_draft("pm-1/b"))
        assert a.ref != b.ref
        assert {t.key for t in backend.list_tracked()} == {"pm-1/a", "pm-1/b"}

    def test_unicode_title_and_marker_survive(self, backend: Backend) -> None:
        draft = make_draft(title=UNICODE_TITLE, text=UNICODE_TITLE, owners=("Zoë",))
        created = backend.create(draft)
        listed = _only(backend, created.ref)
        assert listed.title == UNICODE_TITLE
        assert listed.marker == draft.marker
        assert listed.marker is not None and listed.marker.owners == ("Zoë",)

    def test_long_titles(self, backend: Backend) -> None:
        long = "Rotate every credential " + "x" * 276
        assert len(long) == 300
        cut = backend.create(make_draft("pm-1/cut", title=cut_title(long), text=long))
        assert len(cut_title(long)) <= MAX_TITLE
        assert _only(backend, cut.ref).title == cut_title(long)
        raw = backend.create(make_draft("pm-1/raw", title=long, text=long))
        listed = _only(backend, raw.ref)
        assert listed.title == raw.title and long.startswith(listed.title[:200])
        assert listed.marker is not None and listed.marker.title == long

    # --- fetch and find ------------------------------------------------------------------------

    def test_fetch_and_find(self, backend: Backend, missing_ref: str) -> None:
        created = backend.create(make_draft())
        assert backend.fetch(created.ref) == created
        assert backend.fetch(missing_ref) is None
        assert backend.fetch("https://example.com/not/a/ticket") is None
        assert backend.find(created.key or "") == created
        assert backend.find("pm-1/no-such-key") is None

    # --- update --------------------------------------------------------------------------------

    def test_update_writes_only_the_named_fields(self, backend: Backend) -> None:
        created = backend.create(make_draft())
        new = make_draft(title="Page on lag above 50k", owners=("Bob",), assignees=("bob",))
        new = dataclasses.replace(new, drop_assignees=("alice",))
        updated = backend.update(created, new, frozenset({"owners"}))
        listed = _only(backend, created.ref)
        assert listed == updated
        assert listed.title == "Page on consumer lag"  # not named: untouched
        assert _fold(listed.owners) == {"bob"}
        assert listed.marker == new.marker  # the marker is always recorded

    def test_update_with_no_fields_records_the_marker_only(self, backend: Backend) -> None:
        created = backend.create(make_draft())
        moved = make_draft(path="postmortems/renamed.md", title="ignored title")
        backend.update(created, moved, frozenset())
        listed = _only(backend, created.ref)
        assert listed.title == created.title
        assert listed.marker == moved.marker

    def test_update_is_idempotent(self, backend: Backend) -> None:
        created = backend.create(make_draft())
        new = make_draft(title="New title", priority="P0", labels=("postmortem", "priority:P0"))
        new = dataclasses.replace(new, drop_labels=("priority:P1",))
        fields: frozenset[Field] = frozenset({"title", "priority", "owners", "due"})
        first = backend.update(created, new, fields)
        second = backend.update(first, new, fields)
        for t in (first, second):
            assert t.title == "New title"
            assert sorted(t.labels) == sorted(set(t.labels))  # no label twice
            assert "priority:P1" not in t.labels and "priority:P0" in t.labels
        assert dataclasses.replace(second, updated_at=None) == dataclasses.replace(
            first, updated_at=None
        )

    def test_update_merges_what_people_added(self, backend: Backend) -> None:
        created = backend.create(make_draft())
        edited = self.person_edit(
            backend, created, labels=(*created.labels, "customer-facing"), owners=("alice", "carol")
        )
        new = make_draft(
            owners=("Bob",),
            assignees=("bob",),
            priority="P2",
            labels=("postmortem", "priority:P2"),
        )
        new = dataclasses.replace(new, drop_labels=("priority:P1",), drop_assignees=("alice",))
        updated = backend.update(edited, new, frozenset({"owners", "priority"}))
        assert "customer-facing" in updated.labels
        assert "priority:P2" in updated.labels and "priority:P1" not in updated.labels
        assert _fold(updated.owners) == {"bob", "carol"}

    def test_update_never_touches_a_title_a_person_changed(self, backend: Backend) -> None:
        created = backend.create(make_draft())
        self.person_edit(backend, created, title="Renamed by a person")
        backend.update(created, make_draft(title="From the file"), frozenset({"due"}))
        assert _only(backend, created.ref).title == "Renamed by a person"

    def test_status_field_sets_in_progress(self, backend: Backend) -> None:
        if not backend.capabilities.in_progress_state:
            pytest.skip("no in-progress state")
        created = backend.create(make_draft())
        moved = backend.update(created, make_draft(status="in_progress"), frozenset({"status"}))
        assert moved.state == "in_progress"
        assert _only(backend, created.ref).state == "in_progress"

    # --- close and reopen ----------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("reason", "state"),
        [("completed", "done"), ("not_planned", "dropped"), ("duplicate", "dropped")],
    )
    def test_close_and_reopen_round_trip(
        self, backend: Backend, reason: Any, state: Status
    ) -> None:
        created = backend.create(make_draft())
        closed = backend.close(created, reason)
        assert closed.state == state
        listed = _only(backend, created.ref)
        assert listed.state == state and listed.closed_at is not None
        assert listed.marker == created.marker  # no marker given: kept
        reopened = backend.reopen(listed)
        assert reopened.state == "open"
        assert _only(backend, created.ref).state == "open"

    def test_close_and_reopen_record_a_marker(self, backend: Backend) -> None:
        created = backend.create(make_draft())
        done = make_draft(status="done")
        assert backend.close(created, "completed", done.marker).marker == done.marker
        assert _only(backend, created.ref).marker == done.marker
        again = make_draft(status="open", owners=("Alice", "Bob"))
        assert backend.reopen(created, again.marker).marker == again.marker
        assert _only(backend, created.ref).marker == again.marker

    def test_closing_twice_is_harmless(self, backend: Backend) -> None:
        created = backend.create(make_draft())
        first = backend.close(created, "completed")
        second = backend.close(first, "completed")
        assert second.state == "done"
        assert len(backend.list_tracked()) == 1

    # --- comments and reports ----------------------------------------------------------------

    def test_comment(self, backend: Backend) -> None:
        created = backend.create(make_draft())
        backend.comment(created, "Overdue since 2026-07-01 — @alice, any news? ✅")
        assert _only(backend, created.ref).state == "open"

    def test_post_report_is_one_per_week(self, backend: Backend) -> None:
        url = backend.post_report("Action items, 2026-W47", "| a | b |\n|---|---|", "2026-W47")
        assert isinstance(url, str) and url
        again = backend.post_report("Action items, 2026-W47", "updated", "2026-W47")
        assert again == url
        other = backend.post_report("Action items, 2026-W48", "next", "2026-W48")
        assert other != url

    # --- errors --------------------------------------------------------------------------------

    def _ghost(self, missing_ref: str) -> Ticket:
        return Ticket(ref=missing_ref, url=missing_ref, title="ghost", state="open")

    def test_update_of_a_missing_ticket_is_not_found(
        self, backend: Backend, missing_ref: str
    ) -> None:
        with pytest.raises(NotFound):
            backend.update(self._ghost(missing_ref), make_draft(), frozenset({"title"}))

    def test_close_reopen_comment_of_a_missing_ticket_are_not_found(
        self, backend: Backend, missing_ref: str
    ) -> None:
        ghost = self._ghost(missing_ref)
        with pytest.raises(NotFound):
            backend.close(ghost, "completed")
        with pytest.raises(NotFound):
            backend.reopen(ghost)
        with pytest.raises(NotFound):
            backend.comment(ghost, "hello")

    def test_requests_made(self, backend: Backend) -> None:
        before = backend.requests_made
        backend.list_tracked()
        after = backend.requests_made
        if backend.capabilities.counts_requests:
            assert isinstance(before, int) and isinstance(after, int) and after > before
        else:
            assert after is None or isinstance(after, int)
