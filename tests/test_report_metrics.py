"""Report figures: one snapshot computed by hand, time zones, and invariants (hypothesis)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.config import config_from_mapping
from tracker.model import STATUSES, Marker, Status, Ticket
from tracker.report import Report, compute, compute_for_config, to_json

AS_OF = dt.date(2026, 5, 13)  # a Wednesday in ISO week 2026-W20 (Mon 11 May to Sun 17 May)
UTC = dt.timezone.utc


def at(day: str, time: str = "12:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


def ticket(
    n: int,
    state: Status,
    pm: str,
    *,
    due: str | None = None,
    created: dt.datetime | None = None,
    updated: dt.datetime | None = None,
    closed: dt.datetime | None = None,
    owners: tuple[str, ...] = (),
    severity: str | None = None,
    priority: str | None = None,
    marker_priority: str | None = None,
    pm_date: str | None = None,
    done_on: str | None = None,
    labels: tuple[str, ...] = (),
) -> Ticket:
    marker = Marker(
        key=f"{pm}/item-{n}",
        path=f"postmortems/{pm}.md",
        hash="h",
        status=state,
        priority=marker_priority,
        severity=severity,
        pm_date=pm_date,
        done_on=done_on,
    )
    return Ticket(
        ref=f"#{n}",
        url=f"https://github.com/acme/ops/issues/{n}",
        title=f"Item {n}",
        state=state,
        owners=owners,
        due=dt.date.fromisoformat(due) if due else None,
        priority=priority,
        labels=labels,
        marker=marker,
        created_at=created,
        updated_at=updated if updated is not None else None,
        closed_at=closed,
    )


DB, CDN, DNS, QUEUE = "2026-04-01-db", "2026-04-20-cdn", "2026-03-02-dns", "2026-04-27-queue"

# Each ticket says what it exercises; the figures in test_hand_computed are worked out from here.
SNAPSHOT = [
    # A: due on as_of: not overdue, due soon.
    ticket(1, "open", DB, due="2026-05-13", created=at("2026-04-01"), updated=at("2026-05-10"),
           owners=("alice",), severity="SEV1", priority="P1"),
    # B: overdue by 12 days; last update 23 days ago: stale.
    ticket(2, "open", DB, due="2026-05-01", created=at("2026-04-01"), updated=at("2026-04-20"),
           owners=("bob",), severity="SEV1", marker_priority="P0"),
    # C: in progress, due on as_of + 7 (due soon, bound included); updated exactly 14 days ago:
    # not stale (stale is *more* than 14 days). Ticket priority wins over the marker's.
    ticket(3, "in_progress", DB, due="2026-05-20", created=at("2026-04-10"),
           updated=at("2026-04-29"), owners=("alice", "bob"), severity="SEV1", priority="P2",
           marker_priority="P1"),
    # D: done on its due date (on time); 29 days to close.
    ticket(4, "done", DB, due="2026-04-30", created=at("2026-04-01"), updated=at("2026-04-30"),
           closed=at("2026-04-30", "15:00"), owners=("carol",), severity="SEV1"),
    # E: done a day late; 26 days to close.
    ticket(5, "done", CDN, due="2026-04-30", created=at("2026-04-05"), updated=at("2026-05-01"),
           closed=at("2026-05-01", "09:00"), owners=("carol",), severity="SEV2"),
    # F: dropped after its due date: neither overdue nor in the completion rate.
    ticket(6, "dropped", CDN, due="2026-05-01", created=at("2026-04-20"),
           updated=at("2026-05-05"), closed=at("2026-05-05"), owners=("dave",), severity="SEV2"),
    # G: dropped, no close date, no owner.
    ticket(7, "dropped", CDN, created=at("2026-04-22"), updated=at("2026-04-22"), severity="SEV2"),
    # H: backfilled, done: opened on pm_date, closed on done_on (not on created/closed_at),
    # 4 days after its due date: late; 18 days to close.
    ticket(8, "done", DNS, due="2026-03-16", created=at("2026-05-02"), updated=at("2026-05-02"),
           closed=at("2026-05-02"), owners=("erin",), pm_date="2026-03-02", done_on="2026-03-20"),
    # I: backfilled, open, no owner, no due date: 72 days old (from pm_date).
    ticket(9, "open", DNS, created=at("2026-05-02"), updated=at("2026-05-02"),
           pm_date="2026-03-02"),
    # J: done with no close date at all: counts as done, left out of medians and on-time.
    ticket(10, "done", DNS, due="2026-05-05", created=at("2026-04-15"), owners=("alice",)),
    # K: no updated_at: stale from created_at (42 days); overdue by one day.
    ticket(11, "open", CDN, due="2026-05-12", created=at("2026-04-01"), owners=("frank",),
           severity="SEV2"),
    # L: done Sunday 3 May 23:30 UTC, due that day: on time in UTC (and New York), but Monday
    # 4 May in Tokyo: late, and in the next ISO week. Owner written with '@'.
    ticket(12, "done", QUEUE, due="2026-05-03", created=at("2026-04-27", "09:00"),
           updated=at("2026-05-03", "23:30"), closed=at("2026-05-03", "23:30"), owners=("@bob",),
           severity="SEV1"),
]  # fmt: skip


def rows(items: list[dict[str, object]]) -> dict[object, tuple[object, ...]]:
    return {
        d["name"]: (d["tracked"], d["open"], d["done"], d["dropped"], d["overdue"],
                    d["completion_rate"])
        for d in items
    }  # fmt: skip


def test_hand_computed() -> None:
    report = compute(SNAPSHOT, AS_OF, stale_after_days=14, due_soon_days=7, trend_weeks=12)
    assert report.week == "2026-W20"
    data = to_json(report)
    json.dumps(data)  # serialisable as is
    assert data["as_of"] == "2026-05-13"
    assert data["totals"] == {
        "tracked": 12,
        "open": 5,  # A B C I K (C in progress)
        "in_progress": 1,
        "done": 5,  # D E H J L
        "dropped": 2,  # F G
        "overdue": 2,  # B K; A is due on as_of
        "due_soon": 2,  # A C
        "stale": 2,  # B K; C was updated exactly 14 days ago
        "no_owner": 1,  # I (G is dropped)
        "no_due": 1,  # I
        "due_by_policy": 0,  # no file items given
        "backfilled": 1,  # H: done_on before its ticket was created
    }
    assert data["completion_rate"] == 0.5  # 5 / (5 + 5); dropped left out
    assert data["on_time_rate"] == 0.5  # D L on time; E H late; J has no close date
    assert (data["on_time"], data["done_with_due"]) == (2, 4)
    assert data["median_days_to_close"] == 22.0  # L 6, H 18, E 26, D 29
    assert data["median_open_age_days"] == 42.0  # C 33, A 42, B 42, K 42, I 72

    assert [d["name"] for d in data["by_postmortem"]] == [DNS, DB, CDN, QUEUE]
    assert rows(data["by_postmortem"]) == {
        DNS: (3, 1, 2, 0, 0, 0.6667),
        DB: (4, 3, 1, 0, 1, 0.25),
        CDN: (4, 1, 1, 2, 1, 0.5),
        QUEUE: (1, 0, 1, 0, 0, 1.0),
    }
    assert data["by_postmortem"][0]["path"] == f"postmortems/{DNS}.md"
    # Most overdue work first, then most open work, then by name; "(no owner)" last.
    assert [d["name"] for d in data["by_owner"]] == [
        "bob", "frank", "alice", "carol", "dave", "erin", "(no owner)"
    ]  # fmt: skip
    assert rows(data["by_owner"]) == {
        "bob": (3, 2, 1, 0, 1, 0.3333),  # B, C, L ("@bob")
        "frank": (1, 1, 0, 0, 1, 0.0),
        "alice": (3, 2, 1, 0, 0, 0.3333),  # A, C, J
        "carol": (2, 0, 2, 0, 0, 1.0),
        "dave": (1, 0, 0, 1, 0, None),
        "erin": (1, 0, 1, 0, 0, 1.0),
        "(no owner)": (2, 1, 0, 1, 0, 0.0),  # G, I
    }
    assert rows(data["by_severity"]) == {
        "SEV1": (5, 3, 2, 0, 1, 0.4),  # A B C D L
        "SEV2": (4, 1, 1, 2, 1, 0.5),  # E F G K
        "(none)": (3, 1, 2, 0, 0, 0.6667),  # H I J
    }
    assert rows(data["by_priority"]) == {
        "P0": (1, 1, 0, 0, 1, 0.0),  # B, from the marker
        "P1": (1, 1, 0, 0, 0, 0.0),  # A
        "P2": (1, 1, 0, 0, 0, 0.0),  # C: the ticket's priority, not the marker's P1
        "(none)": (9, 2, 5, 2, 1, 0.7143),
    }

    trend = {w["week"]: (w["opened"], w["closed"], w["dropped"], w["completion_rate"])
             for w in data["trend"]}  # fmt: skip
    assert list(trend) == [f"2026-W{n:02d}" for n in range(9, 21)]
    assert trend == {
        "2026-W09": (0, 0, 0, None),  # nothing opened yet
        "2026-W10": (2, 0, 0, 0.0),  # H I (pm_date 2 Mar)
        "2026-W11": (0, 0, 0, 0.0),
        "2026-W12": (0, 1, 0, 0.5),  # H done 20 Mar
        "2026-W13": (0, 0, 0, 0.5),
        "2026-W14": (5, 0, 0, 0.1429),  # A B D K E; D E closed later: open then
        "2026-W15": (1, 0, 0, 0.125),  # C
        "2026-W16": (1, 0, 0, 0.125),  # J: done at an unknown date, left out
        "2026-W17": (2, 0, 0, 0.1111),  # F (dropped later: open then), G (unknown: left out)
        "2026-W18": (1, 3, 0, 0.4),  # L; D E L done: H D E L / + I A B K C F
        "2026-W19": (0, 0, 1, 0.4444),  # F dropped 5 May
        "2026-W20": (0, 0, 0, 0.4444),
    }
    assert data["trend"][-1]["start"] == "2026-05-11"
    assert data["trend"][-1]["end"] == "2026-05-17"

    items = {d["ticket"]: d for d in data["items"]}
    # By key, numbers in natural order.
    assert [d["ticket"] for d in data["items"]][:5] == ["#8", "#9", "#10", "#1", "#2"]
    a, b, c = items["#1"], items["#2"], items["#3"]
    assert (a["overdue"], a["days_overdue"], a["due_soon"], a["stale"]) == (
        False,
        None,
        True,
        False,
    )
    assert (b["overdue"], b["days_overdue"], b["stale"], b["days_since_human_activity"]) == (
        True,
        12,
        True,
        23,
    )
    assert (c["state"], c["due_soon"], c["stale"], c["days_since_human_activity"]) == (
        "in_progress",
        True,
        False,
        14,
    )
    assert items["#11"]["days_since_human_activity"] == 42  # from created_at
    assert items["#11"]["days_overdue"] == 1
    assert items["#6"]["overdue"] is False  # dropped
    assert (items["#8"]["opened_on"], items["#8"]["closed_on"]) == ("2026-03-02", "2026-03-20")
    assert items["#10"]["closed_on"] is None
    assert items["#12"]["owners"] == ["bob"]
    assert items["#12"]["postmortem"] == QUEUE
    assert items["#1"]["url"] == "https://github.com/acme/ops/issues/1"


@pytest.mark.parametrize(
    ("tz", "closed_on", "week", "on_time"),
    [
        ("UTC", "2026-05-03", "2026-W18", 1.0),
        ("America/New_York", "2026-05-03", "2026-W18", 1.0),  # Sunday 19:30
        ("Asia/Tokyo", "2026-05-04", "2026-W19", 0.0),  # Monday 08:30: next week, a day late
    ],
)
def test_week_and_close_date_follow_the_time_zone(
    tz: str, closed_on: str, week: str, on_time: float
) -> None:
    sunday_night = SNAPSHOT[-1]
    data = to_json(compute([sunday_night], AS_OF, tz=tz))
    assert data["items"][0]["closed_on"] == closed_on
    assert [w["week"] for w in data["trend"] if w["closed"]] == [week]
    assert data["on_time_rate"] == on_time
    assert data["timezone"] == tz


def test_stale_uses_the_time_zone_of_the_update() -> None:
    # Updated 28 Apr 23:00 UTC: 15 days before as_of in UTC (stale), 14 in Tokyo (29 Apr: not).
    t = ticket(1, "open", DB, created=at("2026-04-01"), updated=at("2026-04-28", "23:00"))
    assert compute([t], AS_OF).totals.stale == 1
    assert compute([t], AS_OF, tz="Asia/Tokyo").totals.stale == 0


def test_naive_datetimes_are_utc() -> None:
    aware = ticket(1, "done", DB, created=at("2026-04-01"), closed=at("2026-05-03", "23:30"))
    naive = ticket(1, "done", DB, created=dt.datetime(2026, 4, 1, 12),
                   closed=dt.datetime(2026, 5, 3, 23, 30))  # fmt: skip
    for tz in ("UTC", "Asia/Tokyo"):
        assert compute([aware], AS_OF, tz=tz) == compute([naive], AS_OF, tz=tz)


def test_wont_do_states_turn_done_into_dropped() -> None:
    t = ticket(1, "done", DB, created=at("2026-04-01"), closed=at("2026-04-02"),
               labels=("WontFix",))  # fmt: skip
    assert compute([t], AS_OF).totals.done == 1
    r = compute([t], AS_OF, wont_do_states=["wontfix"])
    assert (r.totals.done, r.totals.dropped, r.completion_rate) == (0, 1, None)


def test_compute_for_config_reads_the_report_section() -> None:
    cfg = config_from_mapping(
        {"timezone": "Asia/Tokyo", "report": {"stale_after_days": 30, "trend_weeks": 4}}
    )
    r = compute_for_config(SNAPSHOT, AS_OF, cfg)
    assert (r.timezone, r.stale_after_days, len(r.trend)) == ("Asia/Tokyo", 30, 4)
    assert r.totals.stale == 1  # K only: 42 days
    assert r == compute(SNAPSHOT, AS_OF, tz="Asia/Tokyo", stale_after_days=30, trend_weeks=4)


def test_empty_snapshot() -> None:
    r = compute([], AS_OF)
    assert r.totals.tracked == 0
    assert (r.completion_rate, r.on_time_rate, r.median_days_to_close) == (None, None, None)
    assert len(r.trend) == 12
    assert all(w.completion_rate is None for w in r.trend)


def test_ticket_without_marker() -> None:
    bare = Ticket(ref="#5", url="https://x/5", title="t", state="open")
    item = compute([bare], AS_OF).items[0]
    assert (item.key, item.postmortem, item.opened_on, item.stale) == (
        "#5", "(no postmortem)", None, False
    )  # fmt: skip


# --- invariants -----------------------------------------------------------------------------

DAY = dt.timedelta(days=1)
ZONES = ("UTC", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati")


@st.composite
def tickets(draw: st.DrawFn, state: Status | None = None) -> Ticket:
    n = draw(st.integers(1, 10_000))
    state = state or draw(st.sampled_from(STATUSES))
    created = at("2026-05-13", "00:00") + dt.timedelta(
        minutes=draw(st.integers(-200 * 24 * 60, 2 * 24 * 60))
    )
    later = st.timedeltas(dt.timedelta(0), dt.timedelta(days=120))
    updated = draw(st.none() | later.map(lambda d: created + d))
    closed = (
        draw(st.none() | later.map(lambda d: created + d)) if state in ("done", "dropped") else None
    )
    day = st.dates(dt.date(2025, 10, 1), dt.date(2026, 8, 1))
    due = draw(st.none() | day)
    pm_date = draw(st.none() | day.map(dt.date.isoformat))
    done_on = draw(st.none() | day.map(dt.date.isoformat)) if state == "done" else None
    owners = draw(st.lists(st.sampled_from(["alice", "@bob", "Bob", "carol"]), max_size=3))
    pm = draw(st.sampled_from(["pm-a", "pm-b", "pm-c"]))
    return ticket(n, state, pm, due=due.isoformat() if due else None, created=created,
                  updated=updated, closed=closed, owners=tuple(owners), pm_date=pm_date,
                  done_on=done_on, severity=draw(st.sampled_from([None, "SEV1", "SEV2"])))  # fmt: skip


def check_rates(r: Report) -> None:
    data = to_json(r)
    rates = [data["completion_rate"], data["on_time_rate"]]
    for group in ("by_postmortem", "by_owner", "by_severity", "by_priority", "trend"):
        rates += [d["completion_rate"] for d in data[group]]  # type: ignore[attr-defined]
    assert all(x is None or 0.0 <= x <= 1.0 for x in rates)


@settings(max_examples=150, deadline=None)
@given(st.lists(tickets(), max_size=40), st.sampled_from(ZONES), st.integers(1, 30),
       st.integers(0, 14), st.integers(1, 20))  # fmt: skip
def test_invariants(
    snapshot: list[Ticket], tz: str, stale_days: int, soon_days: int, weeks: int
) -> None:
    r = compute(snapshot, AS_OF, tz=tz, stale_after_days=stale_days, due_soon_days=soon_days,
                trend_weeks=weeks)  # fmt: skip
    t = r.totals
    check_rates(r)
    assert t.tracked == len(snapshot)
    assert t.open + t.done + t.dropped == t.tracked
    assert t.in_progress <= t.open
    assert max(t.overdue, t.due_soon, t.stale, t.no_owner, t.no_due) <= t.open
    assert t.overdue + t.due_soon <= t.open  # overdue and due soon never overlap
    assert r.on_time <= r.done_with_due <= t.done
    assert sum(b.tracked for b in r.by_postmortem) == t.tracked
    assert sum(b.tracked for b in r.by_severity) == t.tracked
    assert sum(b.overdue for b in r.by_priority) == t.overdue
    assert sum(b.tracked for b in r.by_owner) >= t.tracked
    assert sum(w.opened for w in r.trend) <= t.tracked
    assert sum(w.closed for w in r.trend) <= t.done
    assert len(r.trend) == weeks and r.trend[-1].start <= AS_OF <= r.trend[-1].end
    timed = [i for i in r.items if i.state == "done" and i.due and i.closed_on]
    # closed after its due date: never on time; on or before it: on time
    assert r.on_time == sum(1 for i in timed if i.closed_on and i.due and i.closed_on <= i.due)
    assert r.done_with_due == len(timed)
    for i in r.items:
        assert i.overdue == (i.is_open and i.due is not None and i.due < AS_OF)
        assert (i.days_overdue is not None) == i.overdue


@settings(max_examples=100, deadline=None)
@given(st.lists(tickets(), max_size=30), tickets(state="done"), st.sampled_from(ZONES))
def test_adding_a_done_item_never_lowers_done_or_completion(
    snapshot: list[Ticket], extra: Ticket, tz: str
) -> None:
    before = compute(snapshot, AS_OF, tz=tz)
    after = compute([*snapshot, extra], AS_OF, tz=tz)
    assert after.totals.done == before.totals.done + 1
    assert after.completion_rate is not None
    assert before.completion_rate is None or after.completion_rate >= before.completion_rate


@settings(max_examples=100, deadline=None)
@given(tickets(state="done"), st.integers(1, 60), st.sampled_from(ZONES))
def test_closed_after_due_is_never_on_time(t: Ticket, late_by: int, tz: str) -> None:
    closed_on = compute([t], AS_OF, tz=tz).items[0].closed_on
    if closed_on is None:
        return
    late = Ticket(**{**t.__dict__, "due": closed_on - late_by * DAY})
    r = compute([late], AS_OF, tz=tz)
    assert (r.on_time, r.done_with_due, r.on_time_rate) == (0, 1, 0.0)
    on_day = Ticket(**{**t.__dict__, "due": closed_on})
    assert compute([on_day], AS_OF, tz=tz).on_time_rate == 1.0
