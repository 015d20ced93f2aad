"""Large adversarial documents, generated here: the parser must finish each inside a generous bound.

BOUND_S is not a performance budget. It only catches catastrophic (quadratic or exponential)
behaviour, which turns these inputs from a fraction of a second into hours. The real budget (parsing
at most 1.3x the time markdown-it-py takes to tokenise the same files, see DESIGN.md) is measured by
`benchmarks/parse_bench.py`, not by timed tests.

Each case runs in a child process with a hard deadline, so a catastrophic regression fails its test
instead of hanging CI. The time is measured in the child with time.perf_counter around
parse_postmortem only (building the document is not counted).
"""

from __future__ import annotations

import multiprocessing as mp
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import pytest

from tracker.parse import parse_postmortem

pytestmark = pytest.mark.slow

BOUND_S = 20.0
HARD_DEADLINE_S = BOUND_S + 5.0  # time to fork and build the document on top of the bound
MIB = 1024 * 1024
HEAD = "# Outage\n\nSome prose before the section.\n\n## Action items\n\n"
TAIL = "\n\n## Timeline\n\n- 10:00 paged\n"

WORDS = (
    "add cap rotate page route split tune replace rewrite pin limit expose archive shard throttle "
    "webhook retries consumer lag broker disk certificate expiry queue backlog replication "
    "checkout latency failover runbook paging policy rate limiter canary schema migration pool "
    "circuit breaker budget quota cache warmup balancer health check dashboard panel alert the "
    "for in on with across after per of and to"
).split()
ACTION_NAMES = ["Action items", "Follow-ups", "Corrective actions", "Remediation", "Next steps"]
OTHER_NAMES = [
    "Summary",
    "Timeline",
    "Impact",
    "Root cause",
    "Lessons learned",
    "Detection",
    "Notes",
]


def prose(rng: random.Random, size: int) -> str:
    out: list[str] = []
    n = 0
    while n < size:
        w = rng.choice(WORDS)
        out.append(w)
        n += len(w) + 1
    return " ".join(out)[:size]


def in_section(body: str) -> str:
    return HEAD + body + TAIL


def rows_table(rows: list[str]) -> str:
    return "\n".join(["| Item | Owner | Due | Status |", "|---|---|---|---|", *rows])


# --- the documents ------------------------------------------------------------------------------


def deep_list_one_line() -> str:
    return in_section("- " * 10_000 + "[ ] Rotate the signing key")


def deep_quote_one_line() -> str:
    return in_section("> " * 10_000 + "- [ ] Rotate the signing key")


def deep_quote_no_spaces() -> str:
    return in_section(">" * 10_000 + " Rotate the signing key")


def deep_mixed_one_line() -> str:
    return in_section("> - 1. " * 3_334 + "Rotate the signing key")


def deep_list_staircase() -> str:
    # 1,000 levels, one per line: 2 spaces more each time (about 1 MB; deeper would pass 10 MB).
    return in_section("\n".join("  " * d + f"- [ ] level {d} item" for d in range(1_000)))


def deep_quote_staircase() -> str:
    return in_section("\n".join(">" * d + f" - level {d} item" for d in range(1, 1_400)))


def pipes_line() -> str:
    return in_section("|" * 100_000)


def pipes_header() -> str:
    return in_section("|" * 100_000 + "\n|---|---|\n| Rotate the key | @alice |")


def pipes_row() -> str:
    return in_section("| Item | Owner |\n|---|---|\n| Rotate the key " + "|" * 100_000)


def pipes_delimiter() -> str:
    return in_section("| Item | Owner |\n" + "|---" * 50_000 + "|\n| Rotate the key | @alice |")


def escaped_pipes_cell() -> str:
    return in_section("| Item | Owner |\n|---|---|\n| Rotate " + "\\|" * 50_000 + " | @alice |")


def code_span_pipes_cell() -> str:
    return in_section("| Item | Owner |\n|---|---|\n| Rotate " + "`|`" * 33_333 + " | @alice |")


def mb_list_item() -> str:
    return in_section("- [ ] " + prose(random.Random(1), MIB) + " @alice")


def mb_table_cell() -> str:
    return in_section(
        rows_table([f"| {prose(random.Random(2), MIB)} | @alice | 2026-06-20 | open |"])
    )


def mb_inline_marker() -> str:
    return "# Outage\n\nAction item: " + prose(random.Random(3), MIB) + "\n"


def mb_heading() -> str:
    # "Action Items (should be achievable...)": a parenthesis after the name still opens the section
    return (
        "# Outage\n\n## Action items (" + prose(random.Random(4), MIB) + ")\n\n- Rotate the key\n"
    )


def mb_no_spaces() -> str:
    return in_section("- " + "x" * MIB)


def mb_emphasis_delimiters() -> str:
    return in_section("- Rotate " + "**a " * (MIB // 4))


def rows_5000_unique() -> str:
    rng = random.Random(5)
    rows = [
        f"| {prose(rng, 60)} {k} | @user{k % 17} | 2026-{1 + k % 12:02d}-{1 + k % 28:02d} | "
        f"{rng.choice(['open', 'done', 'in progress', ''])} |"
        for k in range(5_000)
    ]
    return in_section(rows_table(rows))


def rows_5000_duplicates() -> str:
    return in_section(
        rows_table(["| Rotate the signing key | @alice | 2026-06-20 | open |"] * 5_000)
    )


def rows_5000_ragged() -> str:
    rng = random.Random(6)
    rows = [
        "|" + "|".join(prose(rng, 12) for _ in range(rng.randint(0, 9))) + rng.choice(["|", ""])
        for _ in range(5_000)
    ]
    return in_section(rows_table(rows))


def brackets_1mb() -> str:
    return in_section("- " + "[" * MIB)


def parens_1mb() -> str:
    return in_section("- " + "(" * MIB)


def backticks_1mb() -> str:
    return in_section("- " + "`" * MIB)


def brackets_parens_backticks_1mb() -> str:
    rng = random.Random(7)
    return in_section("- " + "".join(rng.choice("[(`") for _ in range(MIB)))


def headings_20000_mixed() -> str:
    rng = random.Random(8)
    parts = []
    for k in range(20_000):
        name = rng.choice(OTHER_NAMES) + f" {k}"
        parts.append(f"{'#' * rng.randint(1, 6)} {name}\n\n{prose(rng, 40)}\n")
    return "\n".join(parts)


def headings_20000_in_one_section() -> str:
    rng = random.Random(9)
    parts = ["# Action items\n"]
    for k in range(20_000):
        name = rng.choice(ACTION_NAMES + OTHER_NAMES)
        parts.append(f"{'#' * rng.randint(2, 6)} {name} {k}\n\n- [ ] {prose(rng, 30)} {k}\n")
    return "\n".join(parts)


def headings_20000_bare() -> str:
    rng = random.Random(10)
    return "\n".join("#" * rng.randint(1, 7) for _ in range(20_000)) + "\n"


def headings_20000_action_sections() -> str:
    # One item and a ten-line paragraph per section: cheap to parse, but every short line is
    # checked against every region found before it.
    rng = random.Random(11)
    parts = []
    for k in range(20_000):
        para = "\n".join(prose(rng, 30) for _ in range(10))
        parts.append(f"## {rng.choice(ACTION_NAMES)}\n\n- [ ] {prose(rng, 30)} {k}\n\n{para}\n")
    return "\n".join(parts)


def headings_20000_inline_markers() -> str:
    return "".join(f"## Section {k}\n\nAction item: rotate key {k}\n\n" for k in range(20_000))


# --- the checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    build: Callable[[], str]
    check: Callable[[dict[str, Any]], None] = lambda out: None


def at_most_one_item(out: dict[str, Any]) -> None:
    assert out["items"] <= 1, out


def one_item(out: dict[str, Any]) -> None:
    assert out["items"] == 1, out


def items(n: int) -> Callable[[dict[str, Any]], None]:
    def check(out: dict[str, Any]) -> None:
        assert out["items"] == n, out
        assert out["unique_keys"] == n, out

    return check


def ragged_warns(out: dict[str, Any]) -> None:
    assert out["problems"].get("PM010", 0) > 0, out


def duplicates_warn(out: dict[str, Any]) -> None:
    items(5_000)(out)
    assert out["problems"].get("PM012") == 4_999, out


CASES: dict[str, Case] = {
    "10,000-deep list, one line": Case(deep_list_one_line, at_most_one_item),
    "10,000-deep blockquote, one line": Case(deep_quote_one_line, at_most_one_item),
    "10,000 '>' without spaces": Case(deep_quote_no_spaces),
    "10,000-deep quote/list/ordered mix": Case(deep_mixed_one_line, at_most_one_item),
    "1,000-deep list staircase": Case(deep_list_staircase, one_item),
    "1,400-deep blockquote staircase": Case(deep_quote_staircase),
    "100,000 pipes, one line": Case(pipes_line),
    "100,000-pipe table header": Case(pipes_header, items(0)),
    "100,000-pipe table row": Case(pipes_row, one_item),
    "50,000-cell delimiter row": Case(pipes_delimiter),
    "50,000 escaped pipes in a cell": Case(escaped_pipes_cell, one_item),
    "33,333 code-span pipes in a cell": Case(code_span_pipes_cell, one_item),
    "1 MB list item": Case(mb_list_item, one_item),
    "1 MB table cell": Case(mb_table_cell, one_item),
    "1 MB inline 'Action item:' paragraph": Case(mb_inline_marker, one_item),
    "1 MB heading": Case(mb_heading, one_item),
    "1 MB word without spaces": Case(mb_no_spaces, one_item),
    "5,000 table rows": Case(rows_5000_unique, items(5_000)),
    "5,000 identical table rows": Case(rows_5000_duplicates, duplicates_warn),
    "5,000 ragged table rows": Case(rows_5000_ragged, ragged_warns),
    "1 MB of backticks": Case(backticks_1mb),
    "20,000 headings, mixed levels": Case(headings_20000_mixed, items(0)),
    "20,000 headings inside one Action items section": Case(headings_20000_in_one_section),
    "20,000 bare '#' lines": Case(headings_20000_bare, items(0)),
}

# Inputs that were catastrophically slow once (quadratic scans, found by these tests).
CASES.update(
    {
        "1 MB of '['": Case(brackets_1mb, one_item),
        "1 MB of '('": Case(parens_1mb, one_item),
        "1 MB mix of '[', '(' and backticks": Case(brackets_parens_backticks_1mb, one_item),
        "1 MB of unmatched '**' emphasis": Case(mb_emphasis_delimiters, one_item),
        "20,000 headings with an 'Action item:' paragraph each": Case(
            headings_20000_inline_markers, items(20_000)
        ),
        "20,000 Action items sections": Case(headings_20000_action_sections, items(20_000)),
    }
)


# --- running a case in a child process ----------------------------------------------------------


def _child(name: str, conn: Connection) -> None:
    try:
        case = CASES[name]
        doc = case.build()
        start = time.perf_counter()
        pm = parse_postmortem(doc, "postmortems/2026-06-15-adversarial.md")
        elapsed = time.perf_counter() - start
        conn.send(
            {
                "elapsed": elapsed,
                "bytes": len(doc.encode("utf-8")),
                "items": len(pm.items),
                "unique_keys": len({i.key for i in pm.items}),
                "problems": dict(Counter(p.code for p in pm.problems)),
                "error": None,
            }
        )
    except BaseException:  # report anything, even RecursionError or MemoryError, to the parent
        conn.send({"error": traceback.format_exc()})
    finally:
        conn.close()


class Run:
    """One case parsing in a child process, killed at the hard deadline."""

    def __init__(self, name: str) -> None:
        # fork is fast and needs nothing importable; elsewhere spawn re-imports this module.
        ctx = mp.get_context("fork" if sys.platform == "linux" else "spawn")
        self.name = name
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(name, send), daemon=True)
        self._started = time.monotonic()
        self._proc.start()
        send.close()

    def outcome(self) -> dict[str, Any]:
        remaining = HARD_DEADLINE_S - (time.monotonic() - self._started)
        try:
            if self._recv.poll(max(0.0, remaining)):
                return dict(self._recv.recv())
            return {"error": f"did not finish within {HARD_DEADLINE_S:.0f} s (killed)"}
        except EOFError:
            self._proc.join(5)
            return {"error": f"child process died (exit code {self._proc.exitcode})"}
        finally:
            self.stop()

    def stop(self) -> None:
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(5)


def assert_outcome(name: str, case: Case, out: dict[str, Any]) -> None:
    assert out["error"] is None, f"{name}: {out['error']}"
    assert out["elapsed"] < BOUND_S, f"{name}: {out['elapsed']:.1f} s for {out['bytes']:,} bytes"
    case.check(out)


@pytest.mark.parametrize("name", list(CASES))
def test_adversarial_input_parses_in_bounded_time(name: str) -> None:
    assert_outcome(name, CASES[name], Run(name).outcome())
