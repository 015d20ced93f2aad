"""Owners as people and teams, due dates by policy, and what changed this week."""

from __future__ import annotations

import datetime as dt

from tests.test_report_metrics import at, ticket
from tracker.config import config_from_mapping
from tracker.model import ActionItem, Marker
from tracker.report import compute, compute_for_config, to_json, to_markdown
from tracker.report.owners import OwnerRules

AS_OF = dt.date(2026, 5, 13)  # Wednesday; the week before ends on 6 May


def test_placeholders_are_nobody_teams_are_teams_people_fold() -> None:
    rules = OwnerRules()
    assert [rules.kind(n) for n in ("TBD", "Everyone", "SRE team", "Mateo", "@the team")] == [
        "placeholder", "placeholder", "team", "person", "placeholder",
    ]  # fmt: skip
    tickets = [
        ticket(1, "open", "pm", owners=("TBD",), created=at("2026-05-01")),
        ticket(2, "open", "pm", owners=("Everyone",), created=at("2026-05-01")),
        ticket(3, "open", "pm", owners=("SRE team",), created=at("2026-05-01")),
        ticket(4, "open", "pm", owners=("Mateo",), created=at("2026-05-01")),
        ticket(5, "done", "pm", owners=("mateo", "@Mateo"), created=at("2026-05-01"),
               closed=at("2026-05-04")),
        ticket(6, "open", "pm", owners=("dana",), created=at("2026-05-01")),
    ]  # fmt: skip
    config = config_from_mapping({"report": {"teams": {"Dana": "Payments", "mateo": "Ledger"}}})
    report = compute_for_config(tickets, AS_OF, config)
    owners = {b.name: (b.tracked, b.open) for b in report.by_owner}
    assert owners == {"Mateo": (2, 1), "dana": (1, 1), "(no owner)": (3, 3)}
    teams = {b.name: b.tracked for b in report.by_team}
    assert teams == {"Ledger": 2, "Payments": 1, "SRE team": 1, "(no team)": 2}
    assert report.totals.no_owner == 3  # TBD, Everyone and a team are nobody to push
    md = to_markdown(report)
    for placeholder in ("`TBD`", "`Everyone`", "`SRE team`"):
        table = md.split("## By owner", 1)[1].split("## By team", 1)[0]
        assert placeholder not in table
    assert all("TBD" not in i["owners"] for i in to_json(report)["items"])


def test_due_by_policy_is_marked_and_left_out_of_on_time() -> None:
    policy = ticket(1, "done", "pm", due="2026-04-30", created=at("2026-04-01"),
                    closed=at("2026-05-05"))  # fmt: skip
    promised = ticket(2, "done", "pm", due="2026-05-10", created=at("2026-04-01"),
                      closed=at("2026-05-05"))  # fmt: skip
    late = ticket(3, "open", "pm", due="2026-05-01", created=at("2026-04-01"))
    items = {
        "pm/item-1": ActionItem(key="pm/item-1", title="Item 1"),  # no due in the file
        "pm/item-2": ActionItem(key="pm/item-2", title="Item 2", due=dt.date(2026, 5, 10)),
        "pm/item-3": ActionItem(key="pm/item-3", title="Item 3"),
    }
    report = compute([policy, promised, late], AS_OF, file_items=items)
    flags = {i.key: i.due_by_policy for i in report.items}
    assert flags == {"pm/item-1": True, "pm/item-2": False, "pm/item-3": True}
    # One committed date, met: 100%, where counting the policy date would say 50%.
    assert (report.on_time, report.done_with_due, report.on_time_rate) == (1, 1, 1.0)
    assert report.totals.due_by_policy == 1
    assert "| 2026-05-01 (policy) |" in to_markdown(report)
    assert compute([policy, promised, late], AS_OF).on_time_rate == 0.5  # without the file


def test_week_over_week_newly_overdue_and_closed_this_week() -> None:
    done_by = Marker(key="pm/item-4", path="postmortems/pm.md", hash="h", status="done")
    tickets = [
        # overdue since 1 May: overdue a week ago too
        ticket(1, "open", "pm", due="2026-05-01", created=at("2026-04-01")),
        # due 8 May: became overdue this week
        ticket(2, "open", "pm", due="2026-05-08", created=at("2026-04-01")),
        # opened this week: not there a week ago
        ticket(3, "open", "pm", created=at("2026-05-11")),
        # closed on 12 May: open a week ago, done now
        ticket(4, "done", "pm", created=at("2026-04-01"), closed=at("2026-05-12")),
        # closed 1 May: done in both
        ticket(5, "done", "pm", created=at("2026-04-01"), closed=at("2026-05-01")),
    ]
    tickets[3] = tickets[3].__class__(**{**tickets[3].__dict__, "marker": done_by,
                                         "extra": {"closed_by": "kofi"}})  # fmt: skip
    report = compute(tickets, AS_OF)
    assert report.now is not None and report.week_before is not None
    assert (report.week_before.open, report.week_before.overdue, report.week_before.done) == (
        3,
        1,
        1,
    )
    assert (report.now.open, report.now.overdue, report.now.done) == (3, 2, 2)
    assert [i.key for i in report.newly_overdue] == ["pm/item-2"]
    assert [(i.key, i.closed_by) for i in report.closed_this_week] == [("pm/item-4", "kofi")]
    data = to_json(report)["changes"]
    assert data["delta"] == {"open": 0, "overdue": 1, "completion_rate": 0.15}  # 1/4 -> 2/5
    md = to_markdown(report)
    assert "open 3 (→ 0) · overdue 2 (↑ +1) · completion 40% (↑ +15 pts)" in md
    assert "### Became overdue (1)" in md and "### Closed this week (1)" in md
    assert "| done | 2026-05-12 | `kofi` |" in md
