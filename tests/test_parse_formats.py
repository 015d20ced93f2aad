"""Focused tests of the formats real postmortems use (one behaviour per test)."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.model import ActionItem, Postmortem
from tracker.parse import ParseOptions, parse_postmortem


def parse(text: str | bytes, path: str = "postmortems/2026-06-15-db.md") -> Postmortem:
    return parse_postmortem(text, path)


def items(text: str | bytes) -> list[ActionItem]:
    return list(parse(text).items)


def one(text: str) -> ActionItem:
    found = items(text)
    assert len(found) == 1, [i.title for i in found]
    return found[0]


# --- metadata ----------------------------------------------------------------------------------


def test_front_matter_metadata_and_id() -> None:
    pm = parse("---\nid: PM-7\ntitle: DB down\ndate: 2026-06-15\nseverity: SEV1\n---\n# Other\n")
    assert (pm.id, pm.title, pm.date, pm.severity) == (
        "PM-7",
        "DB down",
        dt.date(2026, 6, 15),
        "SEV1",
    )


def test_header_lines_and_h1() -> None:
    pm = parse("# Checkout outage\n\n- Date: 2026-06-15\n**Severity:** SEV2\nStatus: Draft\n")
    assert pm.title == "Checkout outage"
    assert pm.date == dt.date(2026, 6, 15)
    assert pm.severity == "SEV2"
    assert pm.status == "Draft"


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("postmortems/2026-01-02-x.md", "2026-01-02-x"),
        ("postmortems/2026-01-02-x/README.md", "2026-01-02-x"),
        ("README.md", "README"),
    ],
)
def test_postmortem_id_from_path(path: str, want: str) -> None:
    assert parse("# t\n", path).id == want


def test_broken_front_matter_is_a_problem_not_a_crash() -> None:
    pm = parse("---\ntitle: [unclosed\n---\n## Action items\n- Fix it\n")
    assert [p.code for p in pm.problems] == ["PM023"]
    assert [i.title for i in pm.items] == ["Fix it"]


# --- sections ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "heading",
    [
        "## Action items",
        "## Action Points",
        "### Follow-ups",
        "## Follow-up improvements",
        "## Corrective actions",
        "## Corrective and preventative measures",
        "## Remediation",
        "## Next steps",
        "## Future improvements",
        "## What could be done to avoid this in future?",
        "## 5. Action Items",
        "## **Action items**",
        "## Action Items (should be achievable in short-medium term):",
        "**Action Items:**",
        "Action Items",
        "- **Review actions**:",
    ],
)
def test_section_names(heading: str) -> None:
    doc = f"# T\n\nIntro.\n\n{heading}\n\n- Rotate the key\n\n## Timeline\n\n- 10:00 paged\n"
    assert [i.title for i in items(doc)] == ["Rotate the key"]


def test_distractor_sections_are_not_items() -> None:
    doc = (
        "# T\n## Timeline\n| Time | Event |\n|---|---|\n| 10:00 | paged |\n"
        "## Lessons learned\n- Alerts work\n## What went well\n- Fast rollback\n"
        "## Action items\n- Add alert\n### What went wrong\n- not an item\n"
    )
    assert [i.title for i in items(doc)] == ["Add alert"]


def test_subsection_heading_carries_status_and_horizon() -> None:
    doc = (
        "## Remediation\n### Immediate Actions (Completed)\n- Roll back\n"
        "### Long-term (Q4 2025 - Q1 2026)\n- Rewrite the cache\n"
    )
    a, b = items(doc)
    assert (a.status, a.due_text) == ("done", None)
    assert (b.status, b.due_text) == ("open", "Q4 2025 - Q1 2026")
    assert b.section == "Long-term (Q4 2025 - Q1 2026)"


def test_bold_pseudo_heading_sets_status() -> None:
    doc = "## Action items\n\n**In progress (next 2 weeks):**\n\n- Shard the table\n"
    item = one(doc)
    assert (item.status, item.due_text) == ("in_progress", "next 2 weeks")


def test_section_ends_at_same_level_heading() -> None:
    doc = "## Action items\n- A1\n### Sub\n- A2\n## Appendix\n- not an item\n"
    assert [i.title for i in items(doc)] == ["A1", "A2"]


def test_headings_inside_code_fences_are_ignored() -> None:
    doc = "## Action items\n```\n## Timeline\n```\n- Real item\n"
    assert [i.title for i in items(doc)] == ["Real item"]


def test_custom_section_pattern() -> None:
    doc = "## Homework\n- Do it\n"
    assert parse_postmortem(doc, "x.md").items == ()
    opts = ParseOptions(section_patterns=("homework",))
    assert [i.title for i in parse_postmortem(doc, "x.md", opts).items] == ["Do it"]


# --- tables ------------------------------------------------------------------------------------


def test_seed_table() -> None:
    doc = (
        "## Action items\n\n| Item | Owner | Due | Ticket |\n|------|-------|-----|--------|\n"
        "| Add alert | @ann | 2026-07-01 | #12 |\n| Fix pool | bob, cy | Jun 20, 2026 | |\n"
    )
    a, b = items(doc)
    assert (a.title, a.owners, a.due, a.tickets, a.line) == (
        "Add alert",
        ("ann",),
        dt.date(2026, 7, 1),
        ("#12",),
        5,
    )
    assert (b.owners, b.due, b.source) == (("bob", "cy"), dt.date(2026, 6, 20), "table")


@pytest.mark.parametrize(
    "header",
    [
        "| Action Item | Type | Owner | Bug |",
        "|**Task**|**Who**|**Deadline**|**Issue #**|",
        "| Description | DRI | ETA | Tracking |",
        "| Action | Assignee | Target date | Jira |",
    ],
)
def test_table_header_synonyms(header: str) -> None:
    cols = header.count("|") - 1
    delim = "|" + ":-|" * cols
    row = (
        "| Add alert | ann | 2026-07-01 | OPS-7 |"
        if "Type" not in header
        else ("| Add alert | prevent | ann | OPS-7 |")
    )
    item = one(f"## Action items\n{header}\n{delim}\n{row}\n")
    assert item.title == "Add alert"
    assert item.owners == ("ann",)
    assert item.tickets == ("OPS-7",)


def test_table_quirks_crlf_bom_trailing_spaces_empty_rows() -> None:
    doc = (
        "\ufeff## Action items\r\n|Item|Owner|Due|\r\n|:-|:-:|-:|   \r\n|  |  |  |\r\n"
        "|Add alert|ann|2026-07-01|   \r\n"
    ).encode()
    item = one(doc)  # type: ignore[arg-type]
    assert (item.title, item.owners, item.line) == ("Add alert", ("ann",), 5)


def test_irregular_delimiter_row_still_reads_the_table() -> None:
    doc = "## Action items\n| Item | Owner | Due |\n|---|---|\n| Add alert | ann | 2026-07-01 |\n"
    assert one(doc).owners == ("ann",)


def test_escaped_pipes_and_code_span_pipes_stay_in_the_cell() -> None:
    doc = "## Action items\n| Item | Owner |\n|---|---|\n| Split `a|b` and a \\| b | ann |\n"
    item = one(doc)
    assert item.title == "Split a|b and a | b"
    assert item.owners == ("ann",)


def test_status_packed_into_bug_cell() -> None:
    doc = (
        "## Action items\n| Action Item | Type | Owner | Bug |\n|---|---|---|---|\n"
        "| Add alert | detect | ann | Bug 5554823 **TODO** |\n"
        "| Fix pool | prevent | bob | n/a **DONE** |\n"
        "| Shard | mitigate | cy | https://github.com/a/b/issues/9 |\n"
    )
    a, b, c = items(doc)
    assert (a.status, a.tickets, a.type) == ("open", ("bug 5554823",), "detect")
    assert (b.status, b.tickets) == ("done", ())
    assert c.tickets == ("https://github.com/a/b/issues/9",)


def test_url_where_status_should_be() -> None:
    doc = (
        "## Action items\n| Item | Status |\n|---|---|\n"
        "| Add alert | https://github.com/a/b/pull/3 |\n| Fix | DONE |\n"
    )
    a, b = items(doc)
    assert (a.status, a.tickets) == ("open", ("https://github.com/a/b/pull/3",))
    assert b.status == "done"


def test_several_tables_and_lists_beside_a_table() -> None:
    doc = (
        "## Action items\n* P0: must do\n* P1: should do\n\n"
        "| Item | Priority |\n|---|---|\n| A | P0 |\n\n| Item | Priority |\n|---|---|\n| B | P1 |\n"
    )
    a, b = items(doc)
    assert (a.title, a.priority, b.title, b.priority) == ("A", "P0", "B", "P1")


def test_malformed_row_is_a_problem() -> None:
    pm = parse("## Action items\n| Item | Owner |\n|---|---|\n| A | ann | extra | more |\n")
    assert [p.code for p in pm.problems] == ["PM010"]
    assert pm.items[0].title == "A"


def test_id_column_gives_the_key() -> None:
    item = one("## Action items\n| ID | Item |\n|---|---|\n| AI-3 | Add alert |\n")
    assert item.key == "2026-06-15-db/AI-3"


# --- lists -------------------------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["-", "*", "+", "1.", "2)"])
def test_list_markers(marker: str) -> None:
    assert one(f"## Action items\n\n{marker} Add alert\n").title == "Add alert"


def test_lazily_numbered_list() -> None:
    doc = "## Action items\n1. A\n1. B\n1. C\n"
    assert [i.title for i in items(doc)] == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("box", "status"),
    [("[ ]", "open"), ("[x]", "done"), ("[X]", "done"), ("[]", "open"), ("[*]", "done")],
)
def test_checkboxes(box: str, status: str) -> None:
    item = one(f"## Action items\n- {box} Add alert\n")
    assert (item.title, item.status, item.checkbox) == ("Add alert", status, True)


def test_child_with_only_a_link_belongs_to_the_parent() -> None:
    doc = "## Action items\n- Add alert\n  - https://github.com/a/b/pull/7\n  - See [doc](https://x.io/d)\n"
    item = one(doc)
    assert item.tickets == ("https://github.com/a/b/pull/7", "https://x.io/d")


def test_lead_in_parent_yields_children() -> None:
    doc = "## Action items\n- [ ] Ensure alerting is in place for:\n  - [ ] Warp Speed\n  - [x] Claims\n"
    a, b = items(doc)
    assert (a.title, a.status, a.line, b.status) == ("Warp Speed", "open", 3, "done")


def test_continuation_and_blank_line_separated_items() -> None:
    doc = "## Action items\n\n- Add alert for\n  disk usage\n\n- Fix pool\n"
    a, b = items(doc)
    assert (a.title, a.line, b.title, b.line) == ("Add alert for disk usage", 3, "Fix pool", 6)


def test_bold_title_items() -> None:
    item = one("## Action items\n- **Alerting**: page on disk at 80%\n")
    assert item.title == "Alerting: page on disk at 80%"


def test_pseudo_nesting_with_double_asterisk_is_a_continuation() -> None:
    doc = "## Action items\n* Add alert\n** for disk usage\n* Fix pool\n"
    assert [i.title for i in items(doc)] == ["Add alert for disk usage", "Fix pool"]


# --- owners ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "owners", "title"),
    [
        ("[jhford] Fix the provisioner", ("jhford",), "Fix the provisioner"),
        ("[garndt?] Fix the provisioner", ("garndt",), "Fix the provisioner"),
        ("(tc, cloudops) Fix it", ("tc", "cloudops"), "Fix it"),
        ("Dana: fix the pool", ("Dana",), "fix the pool"),
        ("Mateo + Keisha: add a breaker", ("Mateo", "Keisha"), "add a breaker"),
        ("Fix the pool. Owner: @lucas", ("lucas",), "Fix the pool."),
        ("Fix the pool. Owners: @a, @b", ("a", "b"), "Fix the pool."),
        ("Fix the pool (@lucas)", ("lucas",), "Fix the pool"),
        ("Ed and Caroline to write a list", ("Ed", "Caroline"), "Ed and Caroline to write a list"),
        ("Hypha will rotate keys", ("Hypha",), "Hypha will rotate keys"),
        ("We will rotate keys", (), "We will rotate keys"),
        ("Migrate to the new cluster", (), "Migrate to the new cluster"),
        ("Speak to AWS about notices", (), "Speak to AWS about notices"),
        ("Monitoring: add a disk alert", (), "Monitoring: add a disk alert"),
    ],
)
def test_owner_forms(text: str, owners: tuple[str, ...], title: str) -> None:
    item = one(f"## Action items\n- {text}\n")
    assert (item.owners, item.title) == (owners, title)


def test_owner_cell_without_spaces() -> None:
    item = one("## Action items\n| Item | Owner |\n|---|---|\n| A | ann,bob |\n")
    assert item.owners == ("ann", "bob")


# --- status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("✅ Add alert", "done"),
        ("DONE: Add alert", "done"),
        ("[DONE] Add alert", "done"),
        ("Add alert **DONE**", "done"),
        ("Add alert (done)", "done"),
        ("Add alert **(Done as of 2021-06-30)**", "done"),
        ("Add alert (in progress)", "in_progress"),
        ("ONGOING: Add alert", "in_progress"),
        ("Add alert - WONTFIX", "dropped"),
        ("TODO: Add alert", "open"),
        ("Add alert", "open"),
    ],
)
def test_status_forms(text: str, status: str) -> None:
    item = one(f"## Action items\n- {text}\n")
    assert item.status == status
    assert item.title == "Add alert"


def test_status_column_keeps_raw_text() -> None:
    item = one("## Action items\n| Item | Status |\n|---|---|\n| A | In Progress |\n")
    assert (item.status, item.status_text) == ("in_progress", "In Progress")


# --- due dates and priority --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "date", "text"),
    [
        ("2026-07-01", dt.date(2026, 7, 1), None),
        ("Jun 20, 2026", dt.date(2026, 6, 20), None),
        ("20 June 2026", dt.date(2026, 6, 20), None),
        ("2026-07-01T10:00:00Z", dt.date(2026, 7, 1), None),
        ("06/07/2026", None, "06/07/2026"),
        ("25/07/2026", dt.date(2026, 7, 25), None),
        ("Q3", None, "Q3"),
        ("next 2 weeks", None, "next 2 weeks"),
        ("Wednesday Feb 12", None, "Wednesday Feb 12"),
    ],
)
def test_due_cell(due: str, date: dt.date | None, text: str | None) -> None:
    item = one(f"## Action items\n| Item | Due |\n|---|---|\n| A | {due} |\n")
    assert (item.due, item.due_text) == (date, text)


def test_ambiguous_date_warns() -> None:
    pm = parse("## Action items\n- Add alert. Due: 06/07/2026\n")
    assert pm.items[0].due_text == "06/07/2026"
    assert [p.code for p in pm.problems] == ["PM005"]


def test_due_inside_list_item() -> None:
    item = one("## Action items\n- [ ] Add alert. Owner: @ann Due: 2026-06-01\n")
    assert (item.title, item.owners, item.due) == ("Add alert.", ("ann",), dt.date(2026, 6, 1))


def test_vague_horizon_in_text() -> None:
    item = one("## Action items\n- (aki) start a runbook in H1\n")
    assert (item.title, item.due_text) == ("start a runbook", "in H1")


@pytest.mark.parametrize(
    ("text", "prio"),
    [("(P1) Add alert", "P1"), ("Add alert [P0]", "P0"), ("Add alert (high priority)", "High")],
)
def test_priority_forms(text: str, prio: str) -> None:
    item = one(f"## Action items\n- {text}\n")
    assert (item.priority, item.title) == (prio, "Add alert")


# --- tickets -----------------------------------------------------------------------------------


def test_ticket_reference_forms() -> None:
    doc = (
        "## Action items\n- Add alert #12 acme/infra#34 OPS-56 Bug 1234567 "
        "https://example.com/t/9. CVE-2021-29492 SEV-1\n"
    )
    assert one(doc).tickets == (
        "https://example.com/t/9",
        "#12",
        "acme/infra#34",
        "OPS-56",
        "bug 1234567",
    )


def test_reference_style_links_resolve() -> None:
    doc = "## Action items\n- Add alert ([#294][issue-294])\n\n[issue-294]: https://github.com/a/b/issues/294\n"
    item = one(doc)
    assert item.tickets == ("https://github.com/a/b/issues/294",)
    assert item.title == "Add alert"


def test_link_text_reference_counts_once() -> None:
    item = one("## Action items\n- Add alert ([#11956](https://github.com/k/t/issues/11956))\n")
    assert item.tickets == ("https://github.com/k/t/issues/11956",)


def test_whole_item_is_a_link() -> None:
    item = one("## Action items\n- [Document the guide.](https://github.com/o/r/issues/153)\n")
    assert (item.title, item.tickets) == (
        "Document the guide.",
        ("https://github.com/o/r/issues/153",),
    )


def test_leading_tracking_link_is_a_tag() -> None:
    item = one("## Action items\n- [bug 1537907](https://bugzil.la/1537907) Reconsider scopes\n")
    assert (item.title, item.tickets) == ("Reconsider scopes", ("https://bugzil.la/1537907",))


def test_tracked_reference_written_back_is_read_and_hidden() -> None:
    item = one("## Action items\n- Add alert (tracked: local:17)\n")
    assert (item.title, item.tickets) == ("Add alert", ("local:17",))


# --- inline markers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("para", "status"),
    [
        ("Action point: create a mailing list.", "open"),
        ("Action item: create a mailing list.", "open"),
        ("**Action item:** create a mailing list.", "open"),
        ("**TODO**: create a mailing list.", "open"),
        ("**DONE**: create a mailing list.", "done"),
        ("**DOING** create a mailing list.", "in_progress"),
    ],
)
def test_inline_markers(para: str, status: str) -> None:
    doc = f"# T\n\n## Lessons\n\nSome prose.\n\n{para}\n\nMore prose.\n"
    item = one(doc)
    assert (item.title, item.status, item.source, item.line) == (
        "create a mailing list.",
        status,
        "inline",
        7,
    )


def test_inline_marker_mid_paragraph_is_not_an_item() -> None:
    assert items("# T\n\nWe said\nAction point: later.\n") == []


# --- keys and robustness -----------------------------------------------------------------------


def test_keys_ignore_order_emphasis_status_and_owner() -> None:
    a = items("## Action items\n- [ ] Add *disk* alert. Owner: @ann\n- Fix pool\n")
    b = items(
        "## Action items\n- Fix   pool\n- [x] Add **disk** alert. Owner: @bob (tracked: #4)\n"
    )
    assert {i.key for i in a} == {i.key for i in b}


def test_duplicate_items_get_distinct_keys_and_a_problem() -> None:
    pm = parse("## Action items\n- Add alert\n- Add alert\n")
    assert len({i.key for i in pm.items}) == 2
    assert [p.code for p in pm.problems] == ["PM012"]


def test_a_file_that_is_not_utf8_is_refused_with_its_byte_offset() -> None:
    # Latin-1 "josé": guessing would silently give "jos" or mojibake
    pm = parse("## Action items\n- Ask jos\u00e9 to rotate the key\n".encode("latin-1"))
    assert pm.items == ()
    (problem,) = pm.problems
    assert problem.code == "PM020" and problem.severity == "error"
    assert "offset 25" in problem.message and problem.line == 2


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32"])
def test_a_byte_order_mark_names_the_encoding(encoding: str) -> None:
    text = "## Action items\n- Ask jos\u00e9 to rotate the key\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    pm = parse(data)
    assert [i.title for i in pm.items] == ["Ask jos\u00e9 to rotate the key"]
    assert pm.problems == ()


def test_files_over_10_mb_are_skipped() -> None:
    pm = parse(b"## Action items\n" + b"- x\n" * (3 * 1024 * 1024))
    assert pm.items == ()
    assert [p.code for p in pm.problems] == ["PM021"]


def test_no_action_section() -> None:
    pm = parse("# T\n\nNothing to do.\n")
    assert (pm.items, pm.has_action_section) == ((), False)


def test_status_in_a_cell_survives_a_written_back_reference() -> None:
    doc = (
        "## Action items\n| Action Item | Owner | Bug |\n|---|---|---|\n"
        "| Fix pool | bob | n/a **DONE** (tracked: local:2) |\n"
        "| Add alert | ann | Bug 5554823 **TODO** (tracked: local:3) |\n"
    )
    a, b = items(doc)
    assert (a.status, a.tickets) == ("done", ("local:2",))
    assert (b.status, b.tickets) == ("open", ("bug 5554823", "local:3"))
