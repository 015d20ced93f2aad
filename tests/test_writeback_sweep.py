"""Write-back in one pass per file: the same bytes as edit-by-edit, one read of each table.

A first sync of one postmortem with 1,600 items once took 50 s because every edit re-read the
file, re-scanned it and re-read its whole table (quadratic). These tests pin the one-pass shape
by counting the work (not timing it): benchmarks/writeback_bench.py has the figures.
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO, corpus_files
from tracker import safe_edit, writeback
from tracker.model import Postmortem
from tracker.parse import DEFAULT_OPTIONS, parse_postmortem
from tracker.safe_edit import Edit, apply_checked
from tracker.writeback import FileEditor, append_reference, set_checkbox, set_status_cell

EXAMPLES = sorted((REPO / "examples" / "postmortems").glob("*.md"))
LAYOUTS = ("list", "checkbox", "table")


def generated_postmortem(layout: str, items: int) -> str:
    """One postmortem of `items` items: a table (Status and Ticket cells) or a list."""
    head = "---\nid: pm-1\ndate: 2026-01-05\n---\n# Incident 1\n\n## Action items\n\n"
    if layout == "table":
        rows = ["| Item | Owner | Due | Status | Ticket |", "|---|---|---|---|---|"]
        rows += [f"| Fix failure mode {n} | @ann | 2026-02-01 | Open | |" for n in range(items)]
        return head + "\n".join(rows) + "\n"
    box = "[ ] " if layout == "checkbox" else ""
    lines = [f"- {box}Fix failure mode {n}. Owner: @ann Due: 2026-02-01" for n in range(items)]
    return head + "\n".join(lines) + "\n"


def first_sync_edits(pm: Postmortem) -> list[Edit]:
    out: list[Edit] = []
    for n, item in enumerate(pm.items, 1):
        out.append(Edit(item, "ref", f"#{n}"))
        if n % 2 and any(c.name == "status" for c in item.cells):
            out.append(Edit(item, "status", "Done"))
        elif n % 2 and item.checkbox:
            out.append(Edit(item, "checkbox", "x"))
    return out


def one_by_one(data: bytes, edits: list[Edit]) -> bytes:
    """The edits through the one-edit functions, each reading the whole file again."""
    for e in edits:
        try:
            if e.kind == "ref":
                data = append_reference(data, e.item, e.value)
            elif e.kind == "status":
                data = set_status_cell(data, e.item, e.value)
            else:
                data = set_checkbox(data, e.item, True)
        except writeback.WriteBackError:
            continue
    return data


def in_one_sweep(data: bytes, edits: list[Edit]) -> bytes:
    ed = FileEditor(data)
    for e in edits:
        try:
            if e.kind == "ref":
                ed.append_reference(e.item, e.value)
            elif e.kind == "status":
                ed.set_status_cell(e.item, e.value)
            else:
                ed.set_checkbox(e.item, True)
        except writeback.WriteBackError:
            continue
    return ed.data()


DOCS = {p.name: p.read_bytes() for p in [*EXAMPLES, *corpus_files()]}
DOCS.update(
    {f"generated {k}": generated_postmortem(k, 40).encode() for k in LAYOUTS},
)
DOCS["crlf, BOM, no final newline"] = (
    b"\xef\xbb\xbf# T\r\n\r\n## Action items\r\n\r\n| Item | Owner | Status | Ticket |\r\n"
    b"|---|---|---|---|\r\n| Add an alert | @ann | Open | |\r\n| Shard it | @bob | open | TBD |"
)


@pytest.mark.parametrize("name", list(DOCS))
def test_one_sweep_writes_the_bytes_that_edit_by_edit_writes(name: str) -> None:
    data = DOCS[name]
    pm = parse_postmortem(data, f"postmortems/{name}")
    edits = first_sync_edits(pm)
    assert in_one_sweep(data, edits) == one_by_one(data, edits)


def test_a_sweep_with_nothing_to_change_returns_the_very_bytes() -> None:
    data = generated_postmortem("table", 5).encode()
    pm = parse_postmortem(data, "postmortems/pm.md")
    once, _ = apply_checked(data, pm, first_sync_edits(pm), DEFAULT_OPTIONS)
    again = parse_postmortem(once, "postmortems/pm.md")
    ed = FileEditor(once)
    for n, item in enumerate(again.items, 1):
        ed.append_reference(item, f"#{n}")
    assert ed.data() is once and not ed.touched


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_write_back_reads_each_table_once_and_parses_the_file_once(
    layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = generated_postmortem(layout, 300).encode()
    pm = parse_postmortem(data, "postmortems/pm.md")
    calls = {"read_table": 0, "scan": 0, "parse": 0}

    def counted(name: str, fn: object, module: object) -> None:
        def wrapper(*args: object, **kwargs: object) -> object:
            calls[name] += 1
            return fn(*args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(module, fn.__name__, wrapper)  # type: ignore[attr-defined]

    counted("read_table", writeback.read_table, writeback)
    counted("scan", writeback.scan, writeback)
    counted("parse", safe_edit.parse_postmortem, safe_edit)
    out, refused = apply_checked(data, pm, first_sync_edits(pm), DEFAULT_OPTIONS)
    assert not refused and out.count(b"#") >= 300
    assert calls["parse"] == 1  # one read-back for the whole file
    assert calls["scan"] <= 1  # code fences found once, not once per item
    # One table: read once; a list item reads the tables inside its own lines only (none here).
    assert calls["read_table"] == (1 if layout == "table" else 0)


def test_a_misplaced_edit_among_many_costs_only_itself() -> None:
    good = [f"- Add alert number {n} on db-{n}. Owner: @ann Due: 2026-07-01" for n in range(40)]
    doc = "## Action items\n\n" + "\n".join(good[:20]) + "\n- Fix it\n  +\n" + "\n".join(good[20:])
    data = (doc + "\n").encode()
    pm = parse_postmortem(data, "postmortems/pm.md")
    edits = [Edit(item, "ref", f"#{n}") for n, item in enumerate(pm.items, 1)]
    bad = next(n for n, e in enumerate(edits) if "Fix it" in e.item.title)
    out, refused = apply_checked(data, pm, edits, DEFAULT_OPTIONS)
    assert list(refused) == [bad]
    assert "would change how the postmortem reads" in refused[bad]
    again = parse_postmortem(out, "postmortems/pm.md")
    for n, (before, after) in enumerate(zip(pm.items, again.items, strict=True)):
        assert (after.key, after.title) == (before.key, before.title)
        assert (f"#{n + 1}" in after.tickets) == (n != bad)


def test_generated_documents_exist_for_every_layout() -> None:
    # The generator the benchmark uses makes the layouts these tests claim to cover.
    sources = {k: {i.source for i in parse_postmortem(v, "p.md").items} for k, v in DOCS.items()}
    assert sources["generated table"] == {"table"}
    assert sources["generated list"] == sources["generated checkbox"] == {"list"}
    assert all(i.checkbox for i in parse_postmortem(DOCS["generated checkbox"], "p.md").items)
