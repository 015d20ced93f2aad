"""Write-back cost per item as one postmortem grows: it must stay flat (linear in items).

    python benchmarks/writeback_bench.py [--sizes 100,400,1600] [--repeat N] [--no-sync]

For each size N and each layout (table with a Ticket cell, checkbox list, plain list) one
postmortem of N items is generated (benchmarks/sync_local.py's generator). Two measurements:

- `apply_checked`: what a first sync writes back (every item's reference, Done on every fifth),
  applied and read back as the engine does (tracker/safe_edit.py), best of --repeat rounds;
- `tracker sync`: a first sync of that one file to a fresh local backend, with write-back and
  without (`write_back="none"`), in the same run; the difference is the write-back's share.

Per-item figures are in microseconds; "vs 100" is the per-item cost relative to the smallest
size, which DESIGN.md's budget wants within 2x. Timings on a shared machine are noisy: compare
the ratios within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.sync_local import AS_OF, postmortem  # noqa: E402
from tracker.backends.local import LocalBackend  # noqa: E402
from tracker.engine import WriteBack, run_sync  # noqa: E402
from tracker.parse import DEFAULT_OPTIONS, parse_postmortem  # noqa: E402
from tracker.safe_edit import Edit, apply_checked  # noqa: E402
from tracker.sync import SyncPolicy  # noqa: E402

LAYOUTS = {"table": 2, "checkbox list": 1, "plain list": 0}  # sync_local.postmortem(i % 3)
CLOCK = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)


def best_of(rounds: int, fn: Callable[[], object]) -> float:
    best = math.inf
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def first_sync_edits(data: bytes) -> list[Edit]:
    pm = parse_postmortem(data, "postmortems/bench.md")
    out: list[Edit] = []
    for n, item in enumerate(pm.items, 1):
        out.append(Edit(item, "ref", f"local:{n}"))
        if n % 5 == 0 and any(c.name == "status" for c in item.cells):
            out.append(Edit(item, "status", "Done"))
        elif n % 5 == 0 and item.checkbox:
            out.append(Edit(item, "checkbox", "x"))
    return out


def time_apply(data: bytes, rounds: int) -> tuple[float, int, int]:
    pm = parse_postmortem(data, "postmortems/bench.md")
    edits = first_sync_edits(data)
    out, refused = apply_checked(data, pm, edits, DEFAULT_OPTIONS)  # warm-up, and a check
    assert not refused, refused
    assert out.count(b"local:") == len(pm.items), "every reference must land"
    return (
        best_of(rounds, lambda: apply_checked(data, pm, edits, DEFAULT_OPTIONS)),
        len(pm.items),
        len(edits),
    )


def time_sync(text: str, write_back: WriteBack) -> float:
    with tempfile.TemporaryDirectory(prefix="tracker-wb-bench-") as tmp:
        path = Path(tmp) / "bench.md"
        path.write_text(text, encoding="utf-8")
        backend = LocalBackend(Path(tmp) / "local.db", now=lambda: CLOCK)
        start = time.perf_counter()
        outcome = run_sync(
            [(path, "bench.md")],
            backend,
            SyncPolicy(max_writes=1_000_000),
            as_of=AS_OF,
            write_back=write_back,
        )
        elapsed = time.perf_counter() - start
        assert outcome.ok, outcome.write_back_errors
        return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes", default="100,200,400,800,1600", help="items per file, comma-separated"
    )
    ap.add_argument("--repeat", type=int, default=3, metavar="N", help="rounds, best kept")
    ap.add_argument("--no-sync", action="store_true", help="skip the end-to-end sync runs")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"python {platform.python_version()} · {platform.machine()}\n")
    print(
        "| Layout | Items | Edits | apply_checked (s) | µs/item | vs smallest "
        "| sync with write-back (s) | sync without (s) | write-back µs/item | vs smallest |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst = 0.0
    for layout, kind in LAYOUTS.items():
        base_apply = base_sync = None
        for size in sizes:
            text = postmortem(kind, size)
            data = text.encode("utf-8")
            secs, items, edits = time_apply(data, args.repeat)
            per = secs / items * 1e6
            base_apply = base_apply or per
            cells = [layout, f"{items:,}", f"{edits:,}", f"{secs:.3f}", f"{per:.0f}"]
            cells.append(f"{per / base_apply:.2f}x")
            worst = max(worst, per / base_apply)
            if args.no_sync:
                cells += ["-"] * 4
            else:
                with_wb = min(time_sync(text, "file") for _ in range(args.repeat))
                without = min(time_sync(text, "none") for _ in range(args.repeat))
                wb_per = max(with_wb - without, 0.0) / items * 1e6
                base_sync = base_sync or wb_per or 1.0
                cells += [f"{with_wb:.3f}", f"{without:.3f}", f"{wb_per:.0f}"]
                cells.append(f"{wb_per / base_sync:.2f}x")
            print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\nworst apply_checked per-item cost relative to {sizes[0]} items: {worst:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
