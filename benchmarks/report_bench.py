"""Report over 10,000 tickets: metrics and every rendering, best of 3 (budget: under 2 s in all).

    python benchmarks/report_bench.py [--tickets N] [--repeat R]

Prints a Markdown table; exits 1 when the total is over budget.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from collections.abc import Callable

from tracker.model import STATUSES, Marker, Ticket
from tracker.report import compute, split_markdown, to_csv, to_json, to_markdown

AS_OF = dt.date(2026, 5, 13)
BUDGET_S = 2.0
UTC = dt.timezone.utc


def snapshot(n: int, seed: int = 7) -> list[Ticket]:
    """`n` tickets over ~n/8 postmortems and ~n/40 owners, a year of history, GitHub-like."""
    rnd = random.Random(seed)
    start = dt.datetime(2025, 5, 1, tzinfo=UTC)
    out: list[Ticket] = []
    for i in range(n):
        pm = f"{2025 + i % 2}-{1 + i % 12:02d}-{1 + i % 28:02d}-incident-{i // 8}"
        state = rnd.choices(STATUSES, weights=(30, 10, 50, 10))[0]
        created = start + dt.timedelta(minutes=rnd.randrange(365 * 24 * 60))
        updated = created + dt.timedelta(minutes=rnd.randrange(60 * 24 * 60))
        closed = updated if state in ("done", "dropped") else None
        due = (created + dt.timedelta(days=rnd.choice((14, 28, 56)))).date()
        backfilled = rnd.random() < 0.1
        marker = Marker(
            key=f"{pm}/{i:05x}",
            path=f"postmortems/{pm}.md",
            hash=f"{i:08x}",
            status=state,
            priority=rnd.choice(("P0", "P1", "P2", None)),
            severity=rnd.choice(("SEV1", "SEV2", "SEV3", None)),
            pm_date=(created - dt.timedelta(days=30)).date().isoformat() if backfilled else None,
            done_on=closed.date().isoformat() if backfilled and closed else None,
        )
        owners = tuple(
            f"owner-{rnd.randrange(n // 40 + 1)}" for _ in range(rnd.choice((0, 1, 1, 2)))
        )
        out.append(
            Ticket(
                ref=f"#{i + 1}",
                url=f"https://github.com/acme/ops/issues/{i + 1}",
                title=f"Follow-up {i}: add an alert for the {rnd.choice(('db', 'cdn', 'dns'))} "
                "path | and write the runbook *before* the next on-call rotation",
                state=state,
                owners=owners,
                due=due if rnd.random() < 0.85 else None,
                marker=marker,
                created_at=created,
                updated_at=updated,
                closed_at=closed,
            )
        )
    return out


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    tickets = snapshot(args.tickets)
    report = compute(tickets, AS_OF, tz="Europe/Berlin")
    body = to_markdown(report, nudge=True)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("compute (tz Europe/Berlin)", lambda: compute(tickets, AS_OF, tz="Europe/Berlin")),
        ("to_markdown", lambda: to_markdown(report, nudge=True)),
        ("to_json + json.dumps", lambda: json.dumps(to_json(report))),
        ("to_csv", lambda: to_csv(report)),
        ("split_markdown (65,536)", lambda: split_markdown(body)),
    ]
    rows = [(name, best_of(args.repeat, fn)) for name, fn in steps]
    total = sum(t for _, t in rows)
    print(f"Report over {args.tickets:,} tickets ({report.totals.open:,} open, "
          f"{report.totals.overdue:,} overdue; Markdown {len(body):,} characters in "
          f"{len(split_markdown(body))} parts), best of {args.repeat}, Python "
          f"{sys.version.split()[0]}\n")  # fmt: skip
    print("| step | seconds |")
    print("|---|---:|")
    for name, t in rows:
        print(f"| {name} | {t:.3f} |")
    verdict = "within" if total < BUDGET_S else "OVER"
    print(f"| **total** | **{total:.3f}** ({verdict} the {BUDGET_S:g} s budget) |")
    return 0 if total < BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
