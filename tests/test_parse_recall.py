"""Recall on documents written the way real teams write them (issue: sections named in other
words, lists beside tables, owners as sentences, status in prose, templates, nesting, encoding).

Each case is one of our own small documents in tests/recall/ with its expected items; every case
failed before the parser read sections by meaning and every block of a section.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.lint import LintSettings, lint_postmortem
from tracker.model import Postmortem
from tracker.parse import parse_postmortem
from tracker.parse.document import Step

RECALL = Path(__file__).parent / "recall"


def parse(name: str) -> Postmortem:
    return parse_postmortem((RECALL / name).read_bytes(), name)


def rows(pm: Postmortem) -> list[tuple[int, str, list[str], str]]:
    return [(i.line, i.title, list(i.owners), i.status) for i in pm.items]


def test_sections_named_in_other_words_lead_ins_and_tables_anywhere() -> None:
    pm = parse("sections.md")
    lines = [i.line for i in pm.items]
    # Looking forward, What we're doing about it, a question heading, a mixed lessons heading,
    # a lead-in sentence, an action table under "Notes", a "Moving forward:" label in lessons,
    # a one-sentence paragraph under an action subsection
    assert lines == [5, 6, 10, 14, 15, 19, 34, 35, 41, 46, 52]
    table = pm.items[8]
    assert (table.title, table.owners, table.due, table.tickets) == (
        "Rotate the replication credentials",
        ("sven",),
        __import__("datetime").date(2026, 12, 1),
        ("OPS-12",),
    )
    assert pm.items[-1].source == "paragraph"
    # the timeline and the root cause are not read
    assert not any(20 <= i.line <= 28 for i in pm.items)


def test_every_list_and_every_table_of_a_section_is_read() -> None:
    pm = parse("mixed.md")
    assert [i.line for i in pm.items] == [5, 6, 7, 11, 13, 14, 18]
    assert [i.source for i in pm.items] == ["list"] * 3 + ["table"] + ["list"] * 2 + ["table"]
    assert pm.items[-1].owners == ("bo",)  # "Responsible" is an owner column


OWNERS = [
    (5, "Platform team to add replica lag alerting", ["amara"], "open"),
    (6, "Rotate the DB credentials", ["sven"], "open"),
    (7, "Add a lag dashboard", ["amara"], "open"),
    (8, "Tune the autovacuum settings", ["amara"], "open"),
    (9, "Review the failover script", ["alice"], "open"),
    (10, "Ed to write the runbook", ["Ed"], "open"),
    (11, "schedule the drill", ["Ed", "Caroline"], "open"),
    (12, "Alex to fix the pager routing", ["Alex"], "done"),
    (13, "Inventory: list every service that reads the replica", [], "open"),
    (14, "Continue the migration to the new cluster", [], "open"),
    (15, "Work with the vendor on the driver bug", [], "open"),
    (16, "Also check the staging replica", [], "open"),
    (17, "(Longer-term) Split the database per tenant", [], "open"),
    (18, "TBD: decide the retention period", [], "open"),
    (19, "Everyone: read the new runbook", [], "open"),
    (23, "Add synthetic checks", ["Payments"], "open"),
    (27, "Drop the unused index", ["mia"], "open"),
    (31, "Draft the capacity plan", ["noor"], "open"),
]


def test_owners_written_as_people_write_them() -> None:
    pm = parse("owners.md")
    assert rows(pm) == OWNERS
    dues = {i.line: i.due.isoformat() for i in pm.items if i.due}
    assert dues[5] == dues[7] == "2026-11-15"


def test_status_in_prose_strikethrough_and_priority_tags() -> None:
    pm = parse("status.md")
    got = [(i.line, i.status, i.priority, i.title) for i in pm.items]
    assert got == [
        (5, "done", None, "Removed the legacy health check"),
        (6, "done", None, "Changes have been made to the retry policy"),
        (7, "done", None, "We have added a lag alert"),
        (8, "done", None, "Fixed in #12"),
        (9, "done", None, "rotate the credentials"),
        (10, "dropped", None, "Migrate to the new queue"),  # struck through: dropped
        (11, "done", None, "Write the runbook"),  # struck through and says done
        (12, "open", "High", "Add rate limiting to the login endpoint"),
        (13, "open", "P0", "Restore the backup job"),
        (14, "open", "P1", "Split the worker pool"),
        (15, "open", "High", "Add a retry budget"),
        (16, "done", None, "Document the failover"),
        (17, "open", None, "Review the alert thresholds"),
    ]


def test_tickets_in_any_cell_and_in_the_text() -> None:
    pm = parse("tickets.md")
    assert [list(i.tickets) for i in pm.items] == [
        ["https://github.com/acme/db/pull/7"],
        ["https://github.com/acme/q/issues/9"],
        ["https://github.com/acme/q/pull/10"],
    ]


def test_template_placeholders_and_author_checklists_are_not_items() -> None:
    trace: list[Step] = []
    pm = parse_postmortem((RECALL / "template.md").read_bytes(), "template.md", trace=trace)
    assert [(i.line, i.title) for i in pm.items] == [
        (11, "Rotate the leaked key"),
        (18, "Add a lag alert for the replica"),
    ]
    skipped = {s.line for s in trace if s.verdict == "skipped"}
    assert {7, 8, 9, 10, 15, 16, 17} <= skipped


def test_detail_bullets_belong_to_their_item_and_data_lists_are_not_items() -> None:
    pm = parse("nesting.md")
    assert [(i.line, i.title) for i in pm.items] == [
        (5, "Harden the failover script"),  # a bold title that is work: children describe it
        (9, "Add a lag alert"),  # a bold category: its children are the items
        (10, "Add a promotion dashboard"),
        (12, "Fix db-1 config"),  # a lead-in ending with ':'
        (13, "Fix db-2 config"),
        (14, "Tune the exporters for these metrics"),
        (22, "Reindex the orders table"),  # host names beside it are data
    ]


def test_an_unrecognised_follow_up_section_is_a_warning_naming_the_line() -> None:
    doc = (
        "# Outage\n\n## Lessons\n\n- Add an alert on queue depth\n"
        "- Rotate the broker credentials\n\n## Timeline\n\n- 10:00 paged\n"
    )
    pm = parse_postmortem(doc, "x.md")
    assert pm.items == ()
    problems = lint_postmortem(pm, LintSettings())
    pm014 = [p for p in problems if p.code == "PM014"]
    assert [p.line for p in pm014] == [3]
    assert "sections.patterns" in pm014[0].message and pm014[0].severity == "warning"


def test_an_action_section_that_gives_no_item_is_a_warning() -> None:
    pm = parse_postmortem("## Action items\n\nThe items are on the board, see the list:\n", "x.md")
    assert pm.items == ()
    assert [p.code for p in pm.problems] == ["PM014"]


def test_explain_gives_a_verdict_for_every_heading_and_block() -> None:
    trace: list[Step] = []
    parse_postmortem((RECALL / "sections.md").read_bytes(), "sections.md", trace=trace)
    verdicts = {(s.line, s.verdict) for s in trace}
    assert (21, "not a section") in verdicts  # Timeline: vetoed
    assert (4, "section") in verdicts  # Looking forward
    assert any(s.verdict == "item" and s.line == 52 for s in trace)
    timeline = next(s for s in trace if s.line == 21)
    assert "timeline" in timeline.reason


@pytest.mark.parametrize(
    "heading",
    [
        "Looking forward",
        "What we're doing about it",
        "Resolving actions",
        "Preventative and corrective actions",
        "Preventive / Detective / Response action items",
        "Improvements",
        "Work items",
        "Remediations",
        "Going forward",
        "How are we preventing it from happening again?",
        "Lessons learned and future improvements",
        "Remediation and architectural lessons",
    ],
)
def test_headings_named_in_other_words(heading: str) -> None:
    pm = parse_postmortem(f"# X\n\n## {heading}\n\n- Add an alert on lag\n", "x.md")
    assert [i.line for i in pm.items] == [5]


@pytest.mark.parametrize(
    "heading",
    [
        "Timeline",
        "Follow-up timeline",
        "What went well",
        "Root cause",
        "Impact",
        "Lessons learned",
        "Responders",
        "Actions taken",
    ],
)
def test_headings_about_the_past_are_not_sections(heading: str) -> None:
    pm = parse_postmortem(f"# X\n\n## {heading}\n\n- Paged the on-call\n", "x.md")
    assert pm.items == ()
