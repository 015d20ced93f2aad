"""Rendered reports: golden Markdown/JSON/CSV, escaping, mentions, and cutting long bodies."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console

from tests.test_report_metrics import AS_OF, SNAPSHOT, at, ticket
from tracker.model import Ticket
from tracker.report import (
    compute,
    render_text,
    split_markdown,
    summary_line,
    to_csv,
    to_json,
    to_markdown,
)
from tracker.report.metrics import Report
from tracker.report.render import CSV_COLUMNS

GOLDEN = Path(__file__).parent / "golden" / "report"
TITLE = "Postmortem action items, 2026-W20"

# The hand-computed snapshot, with titles and owners that try to break out of a table cell,
# format, embed HTML, typeset math, mention people or run as a spreadsheet formula.
HOSTILE = {
    "#1": "Add a `| pipe |` column **now** <script>alert(1)</script>",
    "#2": "Page @oncall-team and cc @mallory about [the runbook](http://evil.example)",
    "#3": "Budget $5 and $10 ~~not~~ _maybe_ ![img](x.png)",
    "#5": '=HYPERLINK("http://evil.example")',
    "#11": "Rotate keys\nacross <b>all</b> regions & zones # now",
}


def golden_snapshot() -> list[Ticket]:
    out = [replace(t, title=HOSTILE.get(t.ref, t.title)) for t in SNAPSHOT]
    out[10] = replace(out[10], owners=("frank", "ops|team", "x@example.com"))
    # Titles #1 and #3 stale (not overdue), so that they are rendered too.
    out[0] = replace(out[0], updated_at=at("2026-04-02"))
    out[2] = replace(out[2], updated_at=at("2026-04-20"))
    # A local ticket: its reference is not a web link.
    out.append(
        replace(
            ticket(13, "open", "2026-04-27-queue", due="2026-05-16", created=at("2026-04-02"),
                   updated=at("2026-04-10"), owners=("gail",)),
            ref="local:13", url="local:13",
        )
    )  # fmt: skip
    return out


def report() -> Report:
    return compute(golden_snapshot(), AS_OF)


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/report/<name>; UPDATE_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        pytest.skip(f"UPDATE_GOLDEN=1: rewrote {path.relative_to(GOLDEN.parents[1])}")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review the diff"
    assert text == path.read_bytes().decode("utf-8"), (
        f"{name} differs from the golden file; if the change is intended, run "
        "UPDATE_GOLDEN=1 python -m pytest tests/test_report_render.py and review the diff"
    )


def test_golden_markdown() -> None:
    check_golden("report.md", to_markdown(report(), title=TITLE))


def test_golden_markdown_nudge() -> None:
    check_golden("report-nudge.md", to_markdown(report(), nudge=True))


def test_golden_json() -> None:
    check_golden("report.json", json.dumps(to_json(report()), indent=2, ensure_ascii=False) + "\n")


def test_golden_csv() -> None:
    check_golden("report.csv", to_csv(report()))


# --- Markdown structure ---------------------------------------------------------------------

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def tokens_of(md: str, kind: str) -> list[str]:
    out = []
    for tok in MD.parse(md):
        for t in [tok, *(tok.children or [])]:
            if t.type == kind:
                out.append(t.content or str(t.attrs.get("href", "")))
    return out


def strip_code(md: str) -> str:
    return re.sub(r"```.*?```|`[^`\n]*`", "", md, flags=re.S)


def test_summary_comes_first() -> None:
    md = to_markdown(report())
    assert md.splitlines()[0] == (
        "**6 open** (2 overdue, 5 stale) · completion 45% · on time 50% · median 22 days to close"
    )
    assert md.splitlines()[0] == summary_line(report())
    assert to_markdown(report(), title=TITLE).startswith(f"# {TITLE}\n\n**6 open**")


def test_titles_cannot_format_link_embed_or_break_tables() -> None:
    md = to_markdown(report())
    assert not tokens_of(md, "html_inline") and not tokens_of(md, "html_block")
    assert not tokens_of(md, "image") and not tokens_of(md, "s_open")
    links = tokens_of(md, "link_open")
    assert links and all(h.startswith("https://github.com/acme/ops/issues/") for h in links)
    assert "local:13" in md and "(local:13)" not in md
    # Bold only in the summary line; no emphasis from titles.
    assert len(tokens_of(md, "strong_open")) == 1
    names = ("_(no owner)_", "_nobody_", "_(no team)_", "_(none)_")
    assert len(tokens_of(md, "em_open")) == sum(md.count(n) for n in names)
    # Every table row has as many cells as its header.
    for table in re.findall(r"(?m)(?:^\|.*\|\n)+", md):
        lines = table.splitlines()
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in lines}
        assert len(widths) == 1, table
    assert "$" not in md.replace("\\$", "")


def test_no_mentions_without_nudge() -> None:
    md = to_markdown(report())
    assert not re.search(r"@[A-Za-z0-9]", strip_code(md))
    assert "`bob`" in md and "`ops\\|team`" in md


def test_nudge_mentions_only_owners_of_overdue_items() -> None:
    md = to_markdown(report(), nudge=True)
    mentioned = set(re.findall(r"(?<![\w`])@([A-Za-z0-9-]+)", strip_code(md)))
    assert mentioned == {"bob", "frank"}  # B (bob), K (frank; the others are not logins)
    overdue = md.split("### Overdue", 1)[1].split("###", 1)[0]
    assert "@bob" in overdue and "@frank" in overdue and "`ops\\|team`" in overdue
    assert "@&#8203;mallory" in md  # a mention in a title stays neutralised


def test_needs_a_push_order_and_charts() -> None:
    md = to_markdown(report())
    overdue = md.split("### Overdue (2)", 1)[1].split("###", 1)[0]
    assert overdue.index("#2") < overdue.index("#11")  # 12 days overdue before 1 day
    # Stale items that are overdue too are listed once, above, marked stale.
    stale = md.split("### Stale (3): no human activity for more than 14 days, not overdue", 1)[1]
    stale = stale.split("##", 1)[0]
    assert "| 42 (stale) |" in overdue
    assert [re.match(r"\| \[?([^\]| ]+)", r).group(1) for r in table_rows(stale)] == [
        "#1",
        "local:13",
        "#3",
    ]  # 41, 33, 23 days since update
    assert md.count("```mermaid") == 3
    assert "pie showData" in md and '"In progress" : 1' in md and '"Dropped" : 2' in md
    assert "xychart-beta" in md and 'x-axis ["W09", "W10"' in md
    # 1/2 H done; W14: 1/8 (A B D E K and local:13 opened) = 12.5% shown as 13%; W18: 4/11
    assert "    line [0, 0, 0, 50, 50, 13, 11, 11, 10, 36, 40, 40]" in md


def test_stale_items_not_overdue_get_their_own_table() -> None:
    quiet = ticket(20, "open", "pm", created=at("2026-03-01"), updated=at("2026-04-01"))
    md = to_markdown(compute([quiet], AS_OF))
    assert "### Stale (1): no human activity for more than 14 days, not overdue" in md
    assert "| [#20](https://github.com/acme/ops/issues/20) | Item 20 | _nobody_ | – | 42 |" in md


def test_empty_report_renders() -> None:
    r = compute([], AS_OF)
    md = to_markdown(r)
    assert md.startswith("**0 open** (0 overdue, 0 stale) · completion n/a · on time n/a\n")
    assert "pie" not in md and "xychart-beta" in md
    assert to_csv(r) == ",".join(CSV_COLUMNS) + "\n"
    assert to_json(r)["items"] == []


# --- JSON and CSV ---------------------------------------------------------------------------


def test_json_shape() -> None:
    data = to_json(report())
    for key in ("as_of", "totals", "completion_rate", "on_time_rate", "median_days_to_close",
                "median_open_age_days", "by_postmortem", "by_owner", "by_severity",
                "by_priority", "trend", "items"):  # fmt: skip
        assert key in data
    assert set(data["trend"][0]) >= {"week", "opened", "closed", "completion_rate"}
    assert set(data["items"][0]) >= {"key", "ticket", "title", "owners", "due", "state",
                                     "overdue", "stale"}  # fmt: skip
    assert json.loads(json.dumps(data)) == data


def test_csv_rows_and_formula_guard() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(report()))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + 13
    by_ticket = {r[1]: dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert by_ticket["#5"]["title"] == '\'=HYPERLINK("http://evil.example")'
    assert by_ticket["#11"]["owners"] == "frank; ops|team; x@example.com"
    assert by_ticket["#11"]["title"] == "Rotate keys\nacross <b>all</b> regions & zones # now"
    assert (by_ticket["#2"]["overdue"], by_ticket["#2"]["days_overdue"]) == ("true", "12")


def test_render_text() -> None:
    console = Console(file=io.StringIO(), width=140, record=True, color_system=None)
    render_text(report(), console)
    out = console.export_text()
    assert out.startswith("6 open (2 overdue, 5 stale) · completion 45% · on time 50%")
    for heading in ("Needs a push", "Trend", "By owner"):
        assert heading in out
    assert "<script>alert(1)</script>" in out  # printed as text, not interpreted


def test_render_text_prints_titles_literally_and_caps_rows() -> None:
    rows = [
        replace(ticket(n, "open", "pm", due="2026-05-01", created=at("2026-04-01")),
                title="[bold red]boom[/] \\[x]")
        for n in range(1, 8)
    ]  # fmt: skip
    console = Console(file=io.StringIO(), width=140, record=True, color_system=None)
    render_text(compute(rows, AS_OF), console, limit=5)
    out = console.export_text()
    assert out.count("[bold red]boom[/] \\[x]") == 5
    assert "... and 2 more: see the CSV or JSON output" in out


# --- splitting for GitHub's body limit ------------------------------------------------------


def big_snapshot(n: int) -> list[Ticket]:
    out = []
    for i in range(n):
        out.append(
            ticket(i, "open" if i % 3 else "done", f"2026-{1 + i % 4:02d}-{1 + i % 28:02d}-pm{i % 90}",
                   due=(AS_OF - dt.timedelta(days=1 + i % 40)).isoformat(),
                   created=at("2026-01-05") + dt.timedelta(days=i % 100),
                   updated=at("2026-03-01") + dt.timedelta(days=i % 70),
                   closed=at("2026-04-20") + dt.timedelta(days=i % 20) if i % 3 == 0 else None,
                   owners=(f"owner{i % 150}",))
        )  # fmt: skip
    return [replace(t, title=f"Follow-up {t.ref}: " + "make the thing more robust " * 4)
            for t in out]  # fmt: skip


def table_rows(md: str) -> list[str]:
    """Body rows of every table (header and delimiter rows left out)."""
    out: list[str] = []
    for table in re.findall(r"(?m)(?:^\|.*\|\n)+", md):
        out += table.splitlines()[2:]
    return out


def check_parts(body: str, parts: list[str], limit: int) -> None:
    assert all(len(p) <= limit for p in parts)
    # Every row of the report is in exactly one part, in order; a part that starts inside a
    # table repeats its header (else its first rows would be taken as one).
    assert [r for p in parts for r in table_rows(p)] == table_rows(body)
    for p in parts:
        assert p.count("```") % 2 == 0  # no mermaid block cut open
        assert not re.search(r"(?m)^#.*\n*\Z", p)  # no heading left at the end of a part
    # Apart from repeated table headers (and their "(continued)" headings) and blank lines
    # at the cuts, the parts are the report.
    assert [line for p in parts for line in skeleton(p)] == skeleton(body)


def skeleton(md: str) -> list[str]:
    """Non-blank lines outside tables, without "(continued)" headings."""
    md = re.sub(r"(?m)(?:^\|.*\|\n)+", "", md)
    return [x for x in md.splitlines() if x.strip() and not x.endswith("(continued)")]


def test_split_200kb_report() -> None:
    body = to_markdown(compute(big_snapshot(2500), AS_OF), nudge=True)
    assert len(body) > 200_000
    parts = split_markdown(body)
    assert len(parts) >= 4
    check_parts(body, parts, 65536)
    assert sum("(continued)" in p.split("\n", 1)[0] for p in parts[1:]) >= 1
    for p in parts:  # each part parses into proper tables
        assert MD.parse(p)


def test_split_small_limits_keep_blocks_whole() -> None:
    body = to_markdown(report(), title=TITLE)
    for limit in (700, 1000, 1500, 2500):
        parts = split_markdown(body, limit)
        assert len(parts) > 1
        check_parts(body, parts, limit)
        mermaid = [p for p in parts if "```mermaid" in p]
        assert sum(p.count("```mermaid") for p in mermaid) == 3


def test_split_short_body_is_one_part() -> None:
    assert split_markdown("hello\n") == ["hello\n"]


def test_split_oversized_line_is_cut_hard() -> None:
    body = "# t\n\n" + "x" * 250 + "\n"
    parts = split_markdown(body, 100)
    assert all(len(p) <= 100 for p in parts)
    assert "".join(parts).replace("\n", "") == body.replace("\n", "")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["## A", "### B", "text line", ""]),
                  st.integers(0, 30), st.integers(3, 60)),
        min_size=1, max_size=8,
    ),
    st.integers(400, 3000),
)  # fmt: skip
def test_split_property(sections: list[tuple[str, int, int]], limit: int) -> None:
    lines: list[str] = []
    for n, (lead, rows, width) in enumerate(sections):
        lines += [lead, "", "| Col | Val |", "|---|---:|"]
        lines += [f"| r{n}-{i} {'y' * width} | {i} |" for i in range(rows)]
        lines += ["", "```mermaid", "pie", '    "a" : 1', "```", ""]
    body = "\n".join(lines) + "\n"
    check_parts(body, split_markdown(body, limit), limit)
