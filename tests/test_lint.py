"""Lint rules: one behaviour per test, on small documents."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.lint import RULES, LintSettings, is_vague, lint_postmortem, lint_repository
from tracker.parse import parse_postmortem

SETTINGS = LintSettings(placeholder_owners=frozenset({"tbd", "team", "everyone", "ops"}))


def codes(doc: str, settings: LintSettings = SETTINGS, as_of: dt.date | None = None) -> list[str]:
    pm = parse_postmortem(doc, "pm.md")
    return [p.code for p in lint_postmortem(pm, settings, as_of)]


GOOD = "## Action items\n- Add a disk alert at 80% on db-1. Owner: @ann Due: 2026-07-01\n"


def test_good_item_has_no_problem() -> None:
    assert codes(GOOD) == []


def test_missing_owner_and_due_are_errors() -> None:
    pm = parse_postmortem("## Action items\n- Add a disk alert at 80% on db-1\n", "pm.md")
    problems = lint_postmortem(pm, SETTINGS)
    assert [(p.code, p.severity, p.line) for p in problems] == [
        ("PM001", "error", 2),
        ("PM004", "error", 2),
    ]


def test_done_items_are_not_asked_for_owner_or_due() -> None:
    assert codes("## Action items\n- [x] Add a disk alert at 80% on db-1\n") == []


@pytest.mark.parametrize("owner", ["SRE team", "ops"])
def test_team_or_placeholder_owner(owner: str) -> None:
    doc = f"## Action items\n| Item | Owner | Due |\n|-|-|-|\n| Add db-1 alert | {owner} | 2026-07-01 |\n"
    assert codes(doc) == ["PM002"]


@pytest.mark.parametrize("owner", ["TBD", "everyone", "?", "n/a"])
def test_a_placeholder_owner_is_no_owner(owner: str) -> None:
    # the parser never records a placeholder as an owner, so the item has none
    doc = f"## Action items\n| Item | Owner | Due |\n|-|-|-|\n| Add db-1 alert | {owner} | 2026-07-01 |\n"
    assert codes(doc) == ["PM001"]


def test_several_owners() -> None:
    doc = "## Action items\n| Item | Owner | Due |\n|-|-|-|\n| Add db-1 alert | ann, bob | 2026-07-01 |\n"
    assert codes(doc) == ["PM003"]


def test_vague_and_ambiguous_due() -> None:
    assert codes("## Action items\n- Add db-1 alert. Owner: @ann Due: Q3\n") == ["PM005"]
    assert codes("## Action items\n- Add db-1 alert. Owner: @ann Due: 06/07/2026\n") == [
        "PM005",
        "PM005",
    ]


def test_past_due_only_with_as_of_and_only_when_open() -> None:
    assert codes(GOOD, as_of=dt.date(2026, 7, 1)) == []
    assert codes(GOOD, as_of=dt.date(2026, 7, 2)) == ["PM006"]
    done = GOOD.replace("- Add", "- [x] Add")
    assert codes(done, as_of=dt.date(2026, 7, 2)) == []


def test_too_many_items_points_at_the_first_extra_item() -> None:
    body = "".join(
        f"- Add alert number {n} on db-{n}. Owner: @ann Due: 2026-07-01\n" for n in range(12)
    )
    pm = parse_postmortem("## Action items\n" + body, "pm.md")
    problems = lint_postmortem(pm, LintSettings(max_items=10))
    assert [(p.code, p.line) for p in problems] == [("PM007", 12)]


@pytest.mark.parametrize(
    ("title", "vague"),
    [
        ("Improve monitoring", True),
        ("Better alerting", True),
        ("Investigate the outage", True),
        ("Investigate why db-1 lost its replica at 03:00", False),
        ("Add a disk alert at 80% on db-1", False),
        ("Improve `pg_bouncer` pool sizing", False),
    ],
)
def test_vague_items(title: str, vague: bool) -> None:
    assert is_vague(title) is vague


def test_no_action_section() -> None:
    assert codes("# Title\n\nJust prose.\n") == ["PM009"]


def test_owner_not_in_map_only_when_a_map_is_configured() -> None:
    assert codes(GOOD, LintSettings(owners_map={"bob": "bob-gh"})) == ["PM011"]
    assert codes(GOOD, LintSettings(owners_map={"@ann": "ann-gh"})) == []
    assert codes(GOOD, LintSettings(owners_map=None)) == []


def test_severity_overrides_and_off() -> None:
    doc = "## Action items\n- Add a disk alert at 80% on db-1\n"
    pm = parse_postmortem(doc, "pm.md")
    settings = LintSettings(severity={"PM001": "warning", "PM004": "off"})
    assert [(p.code, p.severity) for p in lint_postmortem(pm, settings)] == [("PM001", "warning")]


def test_duplicate_postmortem_ids_across_files() -> None:
    a = parse_postmortem("---\nid: PM-1\n---\n" + GOOD, "a.md")
    b = parse_postmortem("---\nid: PM-1\n---\n" + GOOD, "b.md")
    result = lint_repository([a, b], SETTINGS)
    assert result["a.md"] == []
    assert [p.code for p in result["b.md"]] == ["PM013"]
    assert "a.md" in result["b.md"][0].message


def test_every_rule_has_a_summary_and_known_severity() -> None:
    for code, rule in RULES.items():
        assert code.startswith("PM") and rule.summary and rule.severity in ("error", "warning")


def test_team_written_after_an_owner_label() -> None:
    doc = (
        "## Action items\n- Add a disk alert at 80% on db-1. Owner: Payments team Due: 2026-07-01\n"
    )
    pm = parse_postmortem(doc, "pm.md")
    assert pm.items[0].owners == ("Payments team",)
    assert codes(doc) == ["PM002"]


DATED = "---\ndate: 2026-05-10\n---\n## Action items\n"


def test_missing_due_is_info_when_sync_fills_it_in() -> None:
    doc = DATED + "- Add a disk alert at 80% on db-1. Owner: @ann Priority: P1\n"
    pm = parse_postmortem(doc, "pm.md")
    filled = LintSettings(default_due={"P0": 14, "P1": 28})
    [problem] = lint_postmortem(pm, filled)
    assert (problem.code, problem.severity) == ("PM004", "info")
    assert "sync sets 2026-06-07 (sync.default_due)" in problem.message
    # No rule for this priority and no `default`: sync sets nothing, so it stays an error.
    p2 = parse_postmortem(doc.replace("P1", "P2"), "pm.md")
    assert [(p.code, p.severity) for p in lint_postmortem(p2, filled)] == [("PM004", "error")]
    # A postmortem without a date gets no default due date from sync either.
    undated = parse_postmortem(doc.replace("date: 2026-05-10", "title: T"), "pm.md")
    assert [p.severity for p in lint_postmortem(undated, filled)] == ["error"]


def test_due_before_the_postmortem_date_is_flagged() -> None:
    doc = DATED + "- Add a disk alert at 80% on db-1. Owner: @ann Due: 2025-05-20\n"
    pm = parse_postmortem(doc, "pm.md")
    [problem] = lint_postmortem(pm, SETTINGS)
    assert (problem.code, problem.severity) == ("PM015", "warning")
    assert "due 2025-05-20 is before the postmortem's date 2026-05-10" in problem.message
    later = parse_postmortem(doc.replace("2025-05-20", "2026-05-20"), "pm.md")
    assert lint_postmortem(later, SETTINGS) == []
