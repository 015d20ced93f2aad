"""Deep nesting never loses items silently: they are read, or the line where reading stopped is
reported.

markdown-it-py stops at its nesting limit and drops the rest of the text without a word (the
commonmark preset allows 20 open blocks: a list nested 10 deep). A large nested document once
gave 1 item and no problem.
"""

from __future__ import annotations

from tracker.parse import parse_postmortem
from tracker.parse.markdown import MAX_NESTING

HEAD = "# Outage\n\n## Action items\n\n"


def lead_in_staircase(depth: int) -> tuple[str, int]:
    """`depth` nested lead-ins ("... for:"), two items at the bottom, one item after the list.

    Returns the document and the 1-based line of the deepest lead-in.
    """
    lines = [f"{'  ' * d}- Ensure alerting covers tier {d}:" for d in range(depth)]
    pad = "  " * depth
    lines += [
        f"{pad}- Add a disk alert on db-1. Owner: @ann Due: 2026-07-01",
        f"{pad}- Add a lag alert on the ledger. Owner: @bob Due: 2026-07-02",
        "- Rotate the signing key. Owner: @cy Due: 2026-07-03",
    ]
    return HEAD + "\n".join(lines) + "\n", HEAD.count("\n") + depth


def test_a_list_nested_12_levels_yields_its_items_and_those_after_it() -> None:
    doc, _ = lead_in_staircase(12)
    pm = parse_postmortem(doc, "postmortems/deep.md")
    assert [i.title for i in pm.items] == [
        "Add a disk alert on db-1.",
        "Add a lag alert on the ledger.",
        "Rotate the signing key.",
    ]
    assert [(i.owners, i.due.isoformat() if i.due else None) for i in pm.items] == [
        (("ann",), "2026-07-01"),
        (("bob",), "2026-07-02"),
        (("cy",), "2026-07-03"),
    ]
    assert pm.problems == ()


def test_a_list_nested_past_the_limit_is_reported_at_the_line_where_reading_stopped() -> None:
    levels = MAX_NESTING // 2 + 20
    doc, _ = lead_in_staircase(levels)
    pm = parse_postmortem(doc, "postmortems/deep.md")
    (problem,) = [p for p in pm.problems if p.code == "PM022"]
    # List level k (1-based) opens block number 2k; the one at the limit gets no content.
    stopped = HEAD.count("\n") + MAX_NESTING // 2
    assert problem.line == stopped
    assert f"reading stopped at line {stopped}" in problem.message
    assert problem.severity == "error"  # items are missing: never judge removals on this file
    assert pm.has_errors
    assert pm.items == ()  # the leaves sit below the cut; the item after it shares the list


def test_deep_quotes_within_the_limit_keep_their_items() -> None:
    body = "\n".join(">" * d + " context" for d in range(1, 60))
    doc = HEAD + body + "\n\n- Rotate the signing key. Owner: @cy Due: 2026-07-03\n"
    pm = parse_postmortem(doc, "postmortems/quotes.md")
    assert [i.title for i in pm.items] == ["Rotate the signing key."]
    assert not [p for p in pm.problems if p.code == "PM022"]
