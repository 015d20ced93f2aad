"""Write-back: byte-exact edits of ticket references, Status cells and checkboxes."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import corpus_files
from tracker.errors import WriteBackError
from tracker.model import ActionItem, Postmortem
from tracker.parse import parse_postmortem
from tracker.parse.table import split_row
from tracker.writeback import (
    append_reference,
    apply_edits,
    set_cell,
    set_checkbox,
    set_status_cell,
    tracked_refs,
)

BOM = b"\xef\xbb\xbf"


def build(lines: list[str], eol: str = "\n", *, bom: bool = False, final: bool = True) -> bytes:
    """A document from lines; `eol` "mixed" cycles through CRLF, LF and CR."""
    endings = ["\r\n", "\n", "\r"] if eol == "mixed" else [eol]
    out = "".join(line + endings[i % len(endings)] for i, line in enumerate(lines))
    if not final:
        out = out[: -len(endings[(len(lines) - 1) % len(endings)])]
    return (BOM if bom else b"") + out.encode("utf-8")


def changed_lines(old: bytes, new: bytes) -> list[int]:
    """1-based numbers of the lines that differ (ending included); the line count must not change."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    assert len(a) == len(b), "an edit added or removed a line"
    return [n + 1 for n, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def line_of(data: bytes, line: int) -> bytes:
    """Line `line` (1-based) without its ending and without a BOM."""
    return data.removeprefix(BOM).splitlines()[line - 1]


def endings(data: bytes) -> list[bytes]:
    return [x[len(x.rstrip(b"\r\n")) :] for x in data.splitlines(keepends=True)]


def parse(data: bytes) -> Postmortem:
    return parse_postmortem(data, "postmortems/2026-06-15-db.md")


def item_at(data: bytes, line: int) -> ActionItem:
    found = [i for i in parse(data).items if i.line == line]
    assert len(found) == 1, [(i.line, i.title) for i in parse(data).items]
    return found[0]


def same_item(pm: Postmortem, item: ActionItem) -> ActionItem:
    found = [i for i in pm.items if i.key == item.key]
    assert len(found) == 1, f"item {item.key} ({item.title!r}) lost after the edit"
    return found[0]


# name -> (line ending, BOM, final newline)
LAYOUTS: dict[str, tuple[str, bool, bool]] = {
    "lf": ("\n", False, True),
    "crlf": ("\r\n", False, True),
    "cr": ("\r", False, True),
    "mixed": ("mixed", False, True),
    "bom": ("\n", True, True),
    "bom-crlf-no-final-newline": ("\r\n", True, False),
    "no-final-newline": ("\n", False, False),
}


def build_as(lines: list[str], layout: str) -> bytes:
    eol, bom, final = LAYOUTS[layout]
    return build(lines, eol, bom=bom, final=final)


# --- set_cell ----------------------------------------------------------------------------------

TABLE = [
    "# Database failover   ",
    "Trailing spaces here   ",
    "",
    "## Action items",
    "",
    "| Item              | Owner | Ticket   | Status |",
    "|-------------------|-------|----------|--------|",
    "| Add alerts        | bob   |          | open   |",
    "| Fix `a|b` x \\| y  | carol | #12      | done   |",
    "| Short row | dan |",
    "| No closing pipe | erin | | open",
    "Text after the table  \t",
]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_set_cell_changes_only_that_cell(layout: str) -> None:
    data = build_as(TABLE, layout)
    out = set_cell(data, 8, 2, "#412")
    assert changed_lines(data, out) == [8]
    assert line_of(out, 8) == b"| Add alerts        | bob   | #412     | open   |"
    assert endings(out) == endings(data)
    assert out.startswith(BOM) == data.startswith(BOM)
    assert out.endswith((b"\n", b"\r")) == data.endswith((b"\n", b"\r"))
    # every other byte is where it was
    a, b = data.splitlines(keepends=True), out.splitlines(keepends=True)
    assert [x for i, x in enumerate(a) if i != 7] == [x for i, x in enumerate(b) if i != 7]


def test_set_cell_on_the_last_line_without_final_newline() -> None:
    data = build(TABLE[:8], "\r\n", final=False)
    out = set_cell(data, 8, 3, "done")
    assert out == data[: -len("| open   |")] + b"| done   |"


def test_set_cell_longer_than_the_padding_keeps_one_space_each_side() -> None:
    data = build(TABLE)
    out = set_cell(data, 8, 2, "https://github.com/acme/infra/issues/412")
    assert line_of(out, 8) == (
        b"| Add alerts        | bob   | https://github.com/acme/infra/issues/412 | open   |"
    )
    assert changed_lines(data, out) == [8]


def test_set_cell_to_its_current_value_is_the_identity() -> None:
    data = build(TABLE, "\r\n")
    for line in (8, 9, 10, 11):
        for col, cell in enumerate(split_row(line_of(data, line).decode())):
            assert set_cell(data, line, col, cell.text) is data


def test_set_cell_escapes_pipes_in_the_value() -> None:
    data = build(TABLE)
    out = set_cell(data, 8, 3, "blocked | see #9")
    assert line_of(out, 8) == b"| Add alerts        | bob   |          | blocked \\| see #9 |"
    cells = split_row(line_of(out, 8).decode())
    assert [c.text for c in cells] == ["Add alerts", "bob", "", "blocked \\| see #9"]
    # an already escaped pipe is not escaped twice (that would end the cell)
    out2 = set_cell(data, 8, 3, "a\\|b")
    assert split_row(line_of(out2, 8).decode())[3].text == "a\\|b"


def test_escaped_and_code_span_pipes_in_other_cells_are_kept() -> None:
    data = build(TABLE)
    row = line_of(data, 9)
    out = set_cell(data, 9, 3, "open")
    assert line_of(out, 9) == row.replace(b"| done   |", b"| open   |")
    assert changed_lines(data, out) == [9]
    out = set_cell(data, 9, 1, "dave")
    assert line_of(out, 9) == b"| Fix `a|b` x \\| y  | dave  | #12      | done   |"
    before = [c.text for c in split_row(row.decode())]
    after = [c.text for c in split_row(line_of(out, 9).decode())]
    assert after == [before[0], "dave", *before[2:]]


def test_row_with_missing_cells_gets_empty_cells_up_to_the_column() -> None:
    data = build(TABLE)
    out = set_cell(data, 10, 3, "done")
    assert line_of(out, 10) == b"| Short row | dan |  | done |"
    assert [c.text for c in split_row(line_of(out, 10).decode())] == [
        "Short row",
        "dan",
        "",
        "done",
    ]
    # a row without a closing pipe stays without one
    out = set_cell(data, 11, 4, "P1")
    assert line_of(out, 11) == b"| No closing pipe | erin | | open | P1"
    # a tight table stays tight
    tight = build(["|a|b|", "|-|-|", "|x|"])
    assert line_of(set_cell(tight, 3, 2, "z"), 3) == b"|x||z|"
    # an empty value for a missing cell needs no edit
    assert set_cell(data, 10, 5, "") is data


def test_set_cell_errors_say_what_is_wrong() -> None:
    data = build(TABLE)
    with pytest.raises(WriteBackError, match="line 0 is out of range"):
        set_cell(data, 0, 1, "x")
    with pytest.raises(WriteBackError, match="line 13 is out of range"):
        set_cell(data, 13, 1, "x")
    with pytest.raises(WriteBackError, match="line 12: the line is not a table row"):
        set_cell(data, 12, 1, "x")
    with pytest.raises(WriteBackError, match="not a cell index"):
        set_cell(data, 8, -1, "x")
    with pytest.raises(WriteBackError, match="spans lines"):
        set_cell(data, 8, 2, "a\nb")
    # a lone backtick would open a code span that swallows the next pipes
    with pytest.raises(WriteBackError, match="other cells"):
        set_cell(build(["| a | b | c |", "|-|-|-|", "| x | y | `z` |"]), 3, 0, "`")


@settings(max_examples=300, deadline=None)
@given(
    value=st.text(
        st.characters(
            codec="utf-8",
            exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
        ),
        max_size=30,
    ),
    column=st.integers(min_value=0, max_value=5),
)
def test_set_cell_property_one_cell_changes(value: str, column: int) -> None:
    data = build(TABLE, "mixed")
    before = [c.text for c in split_row(line_of(data, 9).decode())]
    try:
        out = set_cell(data, 9, column, value)
    except WriteBackError:
        return  # refused (backticks, trailing backslash): nothing written
    assert set(changed_lines(data, out)) <= {9}
    after = [c.text for c in split_row(line_of(out, 9).decode())]
    want = before + [""] * (column + 1 - len(before))
    want[column] = re.sub(r"(?<!\\)((?:\\\\)*)\|", r"\1\\|", value.strip())
    assert after + [""] * (len(want) - len(after)) == want  # a missing cell is an empty one
    assert endings(out) == endings(data)


def test_set_status_cell_is_read_back_by_the_parser() -> None:
    data = build(TABLE, "\r\n", bom=True)
    item = item_at(data, 8)
    out = set_status_cell(data, item, "Done")
    assert changed_lines(data, out) == [8]
    again = same_item(parse(out), item)
    assert (again.status, again.title, again.line) == ("done", item.title, 8)
    with pytest.raises(WriteBackError, match="no Status cell"):
        set_status_cell(LIST_DOC, item_at(LIST_DOC, 5), "done")


# --- append_reference: list and inline items --------------------------------------------------

LIST_LINES = [
    "# Queue backlog",
    "",
    "## Action items",
    "",
    "- Add an alert on queue depth @alice",  # 5: single line
    "- Rotate the credentials that leaked in the logs,",  # 6: wrapped
    "  then audit who used them",
    "  over the last month",  # 8
    "- Harden the deploy pipeline",  # 9: nested children
    "  so that it fails closed",  # 10
    "  - add a dry-run check",
    "  - add an automatic rollback",
    "- [ ] Write the runbook for failover",  # 13: checkbox
    "- [x] Page the secondary on-call too",  # 14
    "- Move the cron jobs off the primary",  # 15: a second paragraph
    "",
    "  Notes on how, not part of the title.",
    "- Document the retry budget",  # 18: "2." cannot interrupt a paragraph
    "  2. per client, not per host",
    "- Replace the legacy exporter   ",  # 20: trailing spaces
    "",
    "Action point: publish a status page template",  # 22: inline, two lines
    "for the support team.",
]
LIST_DOC = build(LIST_LINES)

# item line -> (line the reference goes on, that line after the edit)
LIST_CASES = {
    5: (5, "- Add an alert on queue depth @alice (tracked: #412)"),
    6: (8, "  over the last month (tracked: #412)"),
    9: (10, "  so that it fails closed (tracked: #412)"),
    13: (13, "- [ ] Write the runbook for failover (tracked: #412)"),
    14: (14, "- [x] Page the secondary on-call too (tracked: #412)"),
    15: (15, "- Move the cron jobs off the primary (tracked: #412)"),
    18: (19, "  2. per client, not per host (tracked: #412)"),
    20: (20, "- Replace the legacy exporter (tracked: #412)   "),
    22: (23, "for the support team. (tracked: #412)"),
}


def test_the_list_fixture_has_the_items_the_cases_expect() -> None:
    got = {i.line: i.source for i in parse(LIST_DOC).items}
    assert got == {**dict.fromkeys(list(LIST_CASES)[:-1], "list"), 22: "inline"}


@pytest.mark.parametrize("layout", ["lf", "crlf", "mixed", "bom-crlf-no-final-newline"])
@pytest.mark.parametrize("line", list(LIST_CASES))
def test_append_reference_to_list_and_inline_items(line: int, layout: str) -> None:
    data = build_as(LIST_LINES, layout)
    item = item_at(data, line)
    out = append_reference(data, item, "#412")
    where, text = LIST_CASES[line]
    assert changed_lines(data, out) == [where]
    assert line_of(out, where) == text.encode()
    assert endings(out) == endings(data)
    assert out.startswith(BOM) == data.startswith(BOM)
    # idempotent, with the stale item or a fresh parse
    assert append_reference(out, item, "#412") is out
    assert append_reference(out, same_item(parse(out), item), "#412") is out
    # the parser reads the reference back and nothing else about the item changes
    again = same_item(parse(out), item)
    assert "#412" in again.tickets
    assert again.title == item.title
    assert again.to_json() | {"tickets": []} == item.to_json() | {"tickets": []}
    others = [i.to_json() for i in parse(out).items if i.key != item.key]
    assert others == [i.to_json() for i in parse(data).items if i.key != item.key]


def test_nested_children_stay_below_the_reference() -> None:
    out = append_reference(LIST_DOC, item_at(LIST_DOC, 9), "OPS-17")
    assert out.splitlines()[8:12] == [
        b"- Harden the deploy pipeline",
        b"  so that it fails closed (tracked: OPS-17)",
        b"  - add a dry-run check",
        b"  - add an automatic rollback",
    ]
    # a child item gets its own reference on its own line
    child = [i for i in parse(LIST_DOC).items if i.line == 9]
    assert child and child[0].end_line == 12


def test_a_different_tracked_reference_is_replaced() -> None:
    item = item_at(LIST_DOC, 6)
    once = append_reference(LIST_DOC, item, "local:17")
    twice = append_reference(once, item, "#412")
    assert line_of(twice, 8) == b"  over the last month (tracked: #412)"
    assert tracked_refs(twice, item) == ("#412",)
    assert tracked_refs(LIST_DOC, item) == ()
    assert "local:17" not in same_item(parse(twice), item).tickets


def test_reference_in_a_fenced_block_item_goes_after_the_text() -> None:
    data = build(
        ["## Action items", "", "- Tune the pool size", "  ```", "  pool: 20", "  ```", "- Next"]
    )
    out = append_reference(data, item_at(data, 3), "#5")
    assert changed_lines(data, out) == [3]
    assert line_of(out, 3) == b"- Tune the pool size (tracked: #5)"


def test_references_that_would_not_read_back_are_refused() -> None:
    item = item_at(LIST_DOC, 5)
    for bad in ("", "two words", "a(b)", "x|y", "a\\b"):
        with pytest.raises(WriteBackError, match="ticket reference"):
            append_reference(LIST_DOC, item, bad)


def test_stale_item_lines_are_refused() -> None:
    item = item_at(LIST_DOC, 5)
    moved = ActionItem(key=item.key, title=item.title, line=99, end_line=99)
    with pytest.raises(WriteBackError, match="out of range"):
        append_reference(LIST_DOC, moved, "#1")
    not_a_list = ActionItem(key=item.key, title=item.title, line=3, end_line=3)
    with pytest.raises(WriteBackError, match="does not start a list item"):
        append_reference(LIST_DOC, not_a_list, "#1")


# --- append_reference: table items ------------------------------------------------------------

ROWS = [
    "## Follow-ups",
    "",
    "| Action                    | Owner | Status |",
    "|---------------------------|-------|--------|",
    "| Add alerts                | bob   | open   |",
    "| Fix `a|b` parsing \\| x | carol | open   |",
    "|Tight|dan|open|",
]


def test_table_without_ticket_cell_gets_the_marker_in_the_item_cell() -> None:
    data = build(ROWS, "\r\n")
    out = data
    for line in (5, 6, 7):
        out = append_reference(out, item_at(data, line), "#412")
    assert changed_lines(data, out) == [5, 6, 7]
    assert line_of(out, 5) == b"| Add alerts (tracked: #412) | bob   | open   |"
    assert line_of(out, 6) == b"| Fix `a|b` parsing \\| x (tracked: #412) | carol | open   |"
    assert line_of(out, 7) == b"|Tight (tracked: #412)|dan|open|"
    short = append_reference(data, item_at(data, 5), "#4")
    assert line_of(short, 5) == b"| Add alerts (tracked: #4)  | bob   | open   |"  # padding kept
    for line in (5, 6, 7):
        item = item_at(data, line)
        assert append_reference(out, item, "#412") is out
        again = same_item(parse(out), item)
        assert (again.title, again.tickets, again.status) == (item.title, ("#412",), "open")


TICKETS = [
    "## Action items",
    "",
    "| Item           | Owner | Ticket  | Status |",
    "|----------------|-------|---------|--------|",
    "| Add alerts     | bob   |         | open   |",
    "| Fix paging     | carol | TBD     | open   |",
    "| Rotate keys    | dan   | #12     | open   |",
    "| Audit access   | erin  |",
]


def test_table_ticket_cell_gets_the_reference() -> None:
    data = build(TICKETS)
    expected = {
        5: b"| Add alerts     | bob   | #412    | open   |",
        6: b"| Fix paging     | carol | #412    | open   |",
        7: b"| Rotate keys    | dan   | #12 (tracked: #412) | open   |",
        8: b"| Audit access   | erin  | #412 |",
    }
    for line, want in expected.items():
        item = item_at(data, line)
        out = append_reference(data, item, "#412")
        assert changed_lines(data, out) == [line]
        assert line_of(out, line) == want
        assert append_reference(out, item, "#412") is out
        again = same_item(parse(out), item)
        assert "#412" in again.tickets
        assert (again.title, again.status) == (item.title, item.status)
    # a ticket the cell already lists is not written again
    assert append_reference(data, item_at(data, 7), "#12") is data


def test_reference_the_ticket_cell_would_not_read_goes_to_the_item_cell() -> None:
    data = build(TICKETS)
    item = item_at(data, 5)
    out = append_reference(data, item, "acme-42")
    assert line_of(out, 5) == b"| Add alerts (tracked: acme-42) | bob   |         | open   |"
    assert "acme-42" in same_item(parse(out), item).tickets


# --- set_checkbox ------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_set_checkbox_both_ways(eol: str) -> None:
    data = build(LIST_LINES, eol)
    open_item, done_item = item_at(data, 13), item_at(data, 14)
    ticked = set_checkbox(data, open_item, True)
    assert changed_lines(data, ticked) == [13]
    assert line_of(ticked, 13) == b"- [x] Write the runbook for failover"
    assert same_item(parse(ticked), open_item).status == "done"
    cleared = set_checkbox(data, done_item, False)
    assert changed_lines(data, cleared) == [14]
    assert line_of(cleared, 14) == b"- [ ] Page the secondary on-call too"
    assert same_item(parse(cleared), done_item).status == "open"
    assert set_checkbox(data, open_item, False) is data
    assert set_checkbox(data, done_item, True) is data
    assert set_checkbox(set_checkbox(ticked, open_item, False), open_item, True) == ticked


def test_set_checkbox_keeps_other_done_marks_and_in_progress() -> None:
    data = build(["## Action items", "", "- [X] Upper", "- [*] Star", "- [-] Doing", "- [] Empty"])
    upper, star, doing, empty = (item_at(data, n) for n in (3, 4, 5, 6))
    assert set_checkbox(data, upper, True) is data
    assert set_checkbox(data, star, True) is data
    assert line_of(set_checkbox(data, upper, False), 3) == b"- [ ] Upper"
    assert set_checkbox(data, doing, False) is data
    assert line_of(set_checkbox(data, doing, True), 5) == b"- [x] Doing"
    assert line_of(set_checkbox(data, empty, True), 6) == b"- [x] Empty"


def test_set_checkbox_in_a_table_cell_and_refusals() -> None:
    data = build(["## Action items", "", "| Item | Owner |", "|--|--|", "| [ ] Add alerts | bob |"])
    item = item_at(data, 5)
    assert item.checkbox
    out = set_checkbox(data, item, True)
    assert line_of(out, 5) == b"| [x] Add alerts | bob |"
    assert same_item(parse(out), item).status == "done"
    with pytest.raises(WriteBackError, match="line 5 has no checkbox"):
        set_checkbox(LIST_DOC, item_at(LIST_DOC, 5), True)


# --- apply_edits -------------------------------------------------------------------------------


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_apply_edits_writes_atomically_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "pm.md"
    path.write_bytes(LIST_DOC)
    path.chmod(0o640)
    inode = path.stat().st_ino
    item = item_at(LIST_DOC, 5)
    digest = parse_postmortem(LIST_DOC, "pm.md").digest
    assert apply_edits(path, digest, lambda b: append_reference(b, item, "#1")) is True
    assert path.read_bytes() == append_reference(LIST_DOC, item, "#1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert os.listdir(tmp_path) == ["pm.md"]


def test_apply_edits_with_nothing_to_change_does_not_touch_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pm.md"
    path.write_bytes(LIST_DOC)
    before = path.stat()
    assert apply_edits(path, sha(LIST_DOC), lambda b: b) is False
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_apply_edits_refuses_a_file_changed_since_the_parse(tmp_path: Path) -> None:
    path = tmp_path / "pm.md"
    digest = sha(LIST_DOC)
    edited = LIST_DOC.replace(b"queue depth", b"queue age")
    path.write_bytes(edited)
    calls: list[bytes] = []

    def edit(b: bytes) -> bytes:
        calls.append(b)
        return b + b"x"

    with pytest.raises(WriteBackError) as err:
        apply_edits(path, digest, edit)
    assert str(path) in str(err.value)
    assert "changed since it was parsed" in str(err.value)
    assert "commit your edits and re-run" in str(err.value)
    assert calls == []
    assert path.read_bytes() == edited
    assert os.listdir(tmp_path) == ["pm.md"]


def test_apply_edits_names_the_file_when_the_edit_is_impossible(tmp_path: Path) -> None:
    path = tmp_path / "pm.md"
    path.write_bytes(LIST_DOC)
    with pytest.raises(WriteBackError, match=r"pm\.md: line 99 is out of range"):
        apply_edits(path, sha(LIST_DOC), lambda b: set_cell(b, 99, 0, "x"))
    assert path.read_bytes() == LIST_DOC
    with pytest.raises(WriteBackError, match="cannot read"):
        apply_edits(tmp_path / "missing.md", sha(b""), lambda b: b)


def test_apply_edits_leaves_no_temporary_file_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "pm.md"
    path.write_bytes(LIST_DOC)

    def fail(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(WriteBackError, match=r"cannot write .*pm\.md: Permission denied"):
        apply_edits(path, sha(LIST_DOC), lambda b: b + b"more\n")
    assert os.listdir(tmp_path) == ["pm.md"]
    assert path.read_bytes() == LIST_DOC


def test_apply_edits_refuses_an_edit_made_while_it_wrote(tmp_path: Path) -> None:
    path = tmp_path / "pm.md"
    path.write_bytes(LIST_DOC)

    def edit(b: bytes) -> bytes:
        path.write_bytes(b + b"someone else\n")  # lands between our read and our rename
        return b + b"ours\n"

    with pytest.raises(WriteBackError, match="changed since it was parsed"):
        apply_edits(path, sha(LIST_DOC), edit)
    assert path.read_bytes() == LIST_DOC + b"someone else\n"
    assert os.listdir(tmp_path) == ["pm.md"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_apply_edits_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_bytes(LIST_DOC)
    link = tmp_path / "link.md"
    link.symlink_to(real)
    assert apply_edits(link, sha(LIST_DOC), lambda b: b + b"x\n")
    assert link.is_symlink()
    assert real.read_bytes() == LIST_DOC + b"x\n"
    assert sorted(os.listdir(tmp_path)) == ["link.md", "real.md"]


# --- the real corpus ---------------------------------------------------------------------------

CORPUS_NAMES = [p.name for p in corpus_files()] or ["(corpus missing)"]


def corpus_variants(data: bytes) -> dict[str, bytes]:
    """The document as published, and re-saved with CRLF, and with a BOM, CR lines and no EOL."""
    crlf = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    cr = BOM + data.replace(b"\r\n", b"\n").replace(b"\n", b"\r").rstrip(b"\r")
    return {"as-is": data, "crlf": crlf, "bom-cr-no-final-newline": cr}


def _json_without_tickets(item: ActionItem) -> dict[str, object]:
    return item.to_json() | {"tickets": None}


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_write_back_with_nothing_to_change_is_byte_identical(
    corpus_dir: Path, name: str
) -> None:
    for variant, data in corpus_variants((corpus_dir / name).read_bytes()).items():
        pm = parse(data)
        for item in pm.items:
            where = f"{name} ({variant}) line {item.line}"
            row = line_of(data, item.line).decode()
            for cell in item.cells:
                cells = split_row(row)
                current = cells[cell.column].text if cell.column < len(cells) else ""
                assert set_cell(data, item.line, cell.column, current) is data, where
            if item.checkbox:
                state = set_checkbox(data, item, True)
                assert set_checkbox(state, item, True) is state, where
            once = append_reference(data, item, "local:4242")
            assert append_reference(once, item, "local:4242") is once, where
            for ticket in item.tickets[:1]:
                if re.fullmatch(r"[^\s()|\\`<>\[\]]+", ticket):  # writable as a reference
                    with_ticket = append_reference(data, item, ticket)
                    assert append_reference(with_ticket, item, ticket) is with_ticket, where


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_write_back_changes_only_the_item(corpus_dir: Path, name: str) -> None:
    for variant, data in corpus_variants((corpus_dir / name).read_bytes()).items():
        pm = parse(data)
        for item in pm.items:
            where = f"{name} ({variant}) line {item.line}"
            out = append_reference(data, item, "local:4242")
            changed = changed_lines(data, out)
            assert len(changed) == 1, where
            assert item.line <= changed[0] <= max(item.end_line, item.line), where
            assert endings(out) == endings(data), where
            assert out.startswith(BOM) == data.startswith(BOM), where
            again = parse(out)
            got = same_item(again, item)
            assert "local:4242" in got.tickets, where
            assert set(got.tickets) == {*item.tickets, "local:4242"}, where
            assert _json_without_tickets(got) == _json_without_tickets(item), where
            assert [i.to_json() for i in again.items if i.key != item.key] == [
                i.to_json() for i in pm.items if i.key != item.key
            ], where
            for cell in item.cells:
                out = set_cell(data, item.line, cell.column, "Done")
                assert changed_lines(data, out) in ([item.line], []), where
            if item.checkbox:
                flipped = set_checkbox(data, item, item.status != "done")
                assert changed_lines(data, flipped) == [item.line], where


def test_bom_before_an_edited_first_line_stays_and_is_not_content() -> None:
    table = build(["| Item | Status |", "|--|--|", "| a | open |"], "\r\n", bom=True)
    out = set_cell(table, 1, 1, "State")
    assert out == BOM + b"| Item | State  |\r\n|--|--|\r\n| a | open |\r\n"
    inline = build(["Action point: [ ] publish the template"], "\r", bom=True, final=False)
    item = item_at(inline, 1)
    assert item.source == "inline" and item.checkbox
    ticked = set_checkbox(inline, item, True)
    assert ticked == BOM + b"Action point: [x] publish the template"
    tracked = append_reference(ticked, item, "#3")
    assert tracked == BOM + b"Action point: [x] publish the template (tracked: #3)"
    assert same_item(parse(tracked), item).tickets == ("#3",)


def test_a_table_inside_a_list_item_is_not_part_of_its_text() -> None:
    # The parser blanks tables out before reading lists, so the item's text ends above the table.
    data = build(
        [
            "## Action items",
            "",
            "- Add the latency dashboard",
            "  | Metric | Goal   |",
            "  |--------|--------|",
            "  | p99    | 200 ms |",
            "- Next item",
        ]
    )
    item = item_at(data, 3)
    out = append_reference(data, item, "#8")
    assert changed_lines(data, out) == [3]
    assert line_of(out, 3) == b"- Add the latency dashboard (tracked: #8)"
    assert same_item(parse(out), item).tickets == ("#8",)


def test_deeply_indented_child_items() -> None:
    data = build(
        [
            "## Action items",
            "",
            "- Make sure we alert on:",
            "    - disk usage above 80%",
            "      on every database host",
            "        - (sub-note, not the title)",
            "    - replication lag",
            "\t- tab-indented child",
        ],
        "\r\n",
    )
    expected = {
        4: (5, b"      on every database host (tracked: OPS-9)"),
        7: (7, b"    - replication lag (tracked: OPS-9)"),
        8: (8, b"\t- tab-indented child (tracked: OPS-9)"),
    }
    assert {i.line for i in parse(data).items} == set(expected)
    for line, (where, text) in expected.items():
        item = item_at(data, line)
        out = append_reference(data, item, "OPS-9")
        assert changed_lines(data, out) == [where]
        assert line_of(out, where) == text
        assert "OPS-9" in same_item(parse(out), item).tickets
