"""The pure pieces: stage schedule, markers, due policy (business days, holidays), quiet hours,
the journal's claims (parallel runs, leases, dead processes, budget) and the config keys."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from tracker.config import config_from_mapping
from tracker.drafts import SyncPolicy, build_draft, effective_due
from tracker.errors import ConfigError
from tracker.model import ActionItem, Postmortem
from tracker.notify.due_policy import DuePolicy, add_business_days
from tracker.notify.remind import quiet
from tracker.notify.stages import Stages, marker_text, owed, read_marks, sent_stages
from tracker.notify.state import Journal

DUE = dt.date(2026, 3, 10)


def day(offset: int) -> dt.date:
    return DUE + dt.timedelta(days=offset)


@pytest.mark.parametrize(
    ("offset", "stages"),
    [
        (-4, ()),
        (-3, ("due_soon",)),
        (-1, ("due_soon",)),
        (0, ("due",)),
        (1, ("overdue.0",)),
        (7, ("overdue.0",)),
        (8, ("overdue.1",)),
        (13, ("overdue.1",)),
        (14, ("overdue.1", "escalate")),
        (15, ("overdue.2", "escalate")),
    ],
)
def test_owed_stages_by_day(offset: int, stages: tuple[str, ...]) -> None:
    assert owed(DUE, day(offset), Stages()) == stages


def test_disabled_stages_and_no_escalation() -> None:
    schedule = Stages(escalate_after_days=None, enabled=frozenset({"overdue", "escalate"}))
    assert owed(DUE, day(-1), schedule) == ()
    assert owed(DUE, day(30), schedule) == ("overdue.4",)


def test_marker_round_trip_and_only_for_its_key_and_due() -> None:
    key = "2026-01 db outage/a b"
    text = marker_text(key, DUE, ("overdue.1", "escalate"))
    assert (
        text
        == "pmt-remind v1 due=2026-03-10 stages=overdue.1,escalate key=2026-01%20db%20outage/a%20b"
    )
    bodies = ["hello", f"x <!-- {text} --> y", "pmt-remind v1 due=2026-13-40 stages=due key=x"]
    [mark] = read_marks(bodies)
    assert (mark.key, mark.due, mark.stages) == (key, DUE, ("overdue.1", "escalate"))
    assert sent_stages(bodies, key, DUE) == {"overdue.1", "escalate"}
    assert sent_stages(bodies, key, day(1)) == frozenset()  # a new due date re-arms
    assert sent_stages(bodies, "other", DUE) == frozenset()


def test_business_days_skip_weekends_and_holidays() -> None:
    friday = dt.date(2026, 3, 6)
    assert add_business_days(friday, 1, frozenset()) == dt.date(2026, 3, 9)
    assert add_business_days(friday, 5, frozenset()) == dt.date(2026, 3, 13)
    holidays = frozenset({dt.date(2026, 3, 9), dt.date(2026, 3, 10)})
    assert add_business_days(friday, 1, holidays) == dt.date(2026, 3, 11)
    assert add_business_days(dt.date(2026, 3, 7), 0, frozenset()) == dt.date(2026, 3, 9)


def test_due_policy_strictest_rule_wins_and_is_recorded() -> None:
    policy = DuePolicy(severity={"SEV1": 14}, priority={"P0": 7}, default=30)
    assert policy.days_for("SEV1", "P0") == (7, "P0")
    assert policy.days_for("sev1", None) == (14, "sev1")
    assert policy.days_for("SEV3", "P2") == (30, "default")
    pm = Postmortem(path="postmortems/a.md", id="a", date=dt.date(2026, 3, 2), severity="SEV1")
    sync = SyncPolicy(due_policy=policy, default_due={"default": 99})
    item = ActionItem(key="a/1", title="Fix it", priority="P0")
    assert effective_due(item, pm, sync) == dt.date(2026, 3, 9)
    draft = build_draft(item, pm, sync)
    assert draft.due == dt.date(2026, 3, 9)
    assert draft.marker.due_by == "policy: P0: 7 days"
    written = ActionItem(key="a/2", title="Fix it", due=dt.date(2026, 4, 1))
    assert build_draft(written, pm, sync).marker.due_by is None
    vague = ActionItem(key="a/3", title="Fix it", due_text="Q3")
    assert effective_due(vague, pm, sync) is None  # the file's own (vague) choice
    only_default = SyncPolicy(default_due={"default": 10})
    assert build_draft(item, pm, only_default).marker.due_by == "default_due"


def test_due_by_is_not_part_of_the_hash() -> None:
    pm = Postmortem(path="postmortems/a.md", id="a", date=dt.date(2026, 3, 2))
    item = ActionItem(key="a/1", title="Fix it")
    a = build_draft(item, pm, SyncPolicy(default_due={"default": 7})).marker
    b = build_draft(item, pm, SyncPolicy(due_policy=DuePolicy(default=7))).marker
    assert a.due == b.due and a.due_by != b.due_by and a.hash == b.hash


@pytest.mark.parametrize(
    ("when", "window", "weekends", "held"),
    [
        (dt.datetime(2026, 3, 10, 21, 0), "20:00-08:00", False, True),
        (dt.datetime(2026, 3, 10, 7, 59), "20:00-08:00", False, True),
        (dt.datetime(2026, 3, 10, 8, 0), "20:00-08:00", False, False),
        (dt.datetime(2026, 3, 10, 12, 30), "12:00-13:00", False, True),
        (dt.datetime(2026, 3, 14, 12, 0), None, True, True),  # Saturday
        (dt.datetime(2026, 3, 14, 12, 0), None, False, False),
    ],
)
def test_quiet_hours_and_weekends(
    when: dt.datetime, window: str | None, weekends: bool, held: bool
) -> None:
    assert (quiet(when, window, weekends) is not None) is held


NOW = dt.datetime(2026, 3, 10, 9, tzinfo=dt.timezone.utc)


def test_journal_claims_once_and_respects_a_live_claim(tmp_path: Path) -> None:
    a = Journal(tmp_path / "j.db", "run-a")
    b = Journal(tmp_path / "j.db", "run-b")
    assert a.claim("k", DUE, ("due",), "#1", NOW, DUE, 10) == ("due",)
    assert b.claim("k", DUE, ("due",), "#1", NOW, DUE, 10) is None  # a holds it
    later = NOW + dt.timedelta(minutes=11)
    assert b.claim("k", DUE, ("due",), "#1", later, DUE, 10) == ("due",)  # lease expired
    b.mark("k", DUE, ("due",), "sent")
    assert a.sent("k", DUE) == {"due"}
    assert a.claim("k", DUE, ("due",), "#1", later, DUE, 10) == ()


def test_journal_takes_over_a_claim_of_a_dead_process(tmp_path: Path) -> None:
    dead = Journal(tmp_path / "j.db", "host:1:x")
    dead.claim("k", DUE, ("due",), "#1", NOW, DUE, 10)
    alive = Journal(tmp_path / "j.db", "host:2:y", alive=lambda run: run != "host:1:x")
    assert alive.claim("k", DUE, ("due",), "#1", NOW, DUE, 10) == ("due",)


def test_journal_daily_budget(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db", "run")
    assert j.claim("a", DUE, ("due",), "#1", NOW, DUE, 2) == ("due",)
    assert j.claim("b", DUE, ("due",), "#2", NOW, DUE, 2) == ("due",)
    assert j.claim("c", DUE, ("due",), "#3", NOW, DUE, 2) is None
    assert j.budget_left(DUE, 2) == 0
    j.release("b", DUE, ("due",), DUE)  # not sent: the claim and its budget come back
    assert j.budget_left(DUE, 2) == 1
    assert j.claim("c", DUE, ("due",), "#3", NOW, DUE, 2) == ("due",)
    assert j.claim("d", day(1), ("due",), "#4", NOW, day(1), 2) == ("due",)  # a new day


def test_parallel_claims_on_one_journal_let_exactly_one_through(tmp_path: Path) -> None:
    results: list[object] = []
    barrier = threading.Barrier(8)

    def claim(i: int) -> None:
        j = Journal(tmp_path / "j.db", f"run-{i}")
        barrier.wait()
        results.append(j.claim("k", DUE, ("due",), "#1", NOW, DUE, 50))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)) == ["('due',)"] + ["None"] * 7


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"remind": {"quiet_hours": "late"}}, "'late' is not a time window"),
        ({"remind": {"stages": ["sooner"]}}, "remind.stages[0]: Input should be"),
        ({"notify": {"slack": {"webhook_env": "https://hooks.slack.com/x"}}}, "not an environment"),
        ({"sync": {"due_policy": {"severity": {"SEV1": -1}}}}, "SEV1: -1 days"),
        ({"sync": {"due_policy": {"days": "weekdays"}}}, "sync.due_policy.days"),
        ({"notify": {"email": {"port": 0}}}, "notify.email.port: Input should be greater"),
    ],
)
def test_config_errors_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data)
    assert message in str(info.value)


def test_two_lines_turn_it_on() -> None:
    cfg = config_from_mapping(
        {"remind": {"escalate_to": ["@acme/sre-leads"]}, "notify": {"slack": {}}}
    )
    assert cfg.remind is not None and cfg.remind.due_soon_days == 3
    assert cfg.notify.slack is not None and cfg.notify.slack.webhook_env == "SLACK_WEBHOOK_URL"
