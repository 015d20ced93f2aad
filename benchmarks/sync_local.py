"""Sync 1,000 generated postmortems (10,000 items) to the local backend: first run and no-op re-run.

Each phase runs in a fresh process so its peak RSS is its own; a second pass under tracemalloc
gives the peak of Python allocations (its overhead would distort the wall time, so it is separate).

    python benchmarks/sync_local.py [--postmortems 1000] [--items 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

AS_OF = dt.date(2026, 11, 20)
OWNERS = ["ana", "bo", "cy", "di", "eve", "femi", "gus", "hana", "ivo", "jun"]
VERBS = ["Add", "Alert on", "Document", "Automate", "Test", "Rotate", "Cap", "Monitor", "Page on"]
THINGS = [
    "consumer lag for settlement-events",
    "webhook retry volume per partner",
    "certificate expiry of the public ingress",
    "replication delay of the ledger replica",
    "DNS resolver error rates",
    "connection pool saturation in checkout-api",
    "disk usage of the shared RabbitMQ broker",
    "rollback steps for resolver changes",
    "the deploy freeze calendar",
    "credentials pasted into incident channels",
]


def _item_text(rng: random.Random, n: int) -> str:
    return f"{rng.choice(VERBS)} {rng.choice(THINGS)} (step {n})"


def postmortem(i: int, items: int) -> str:
    """One postmortem: list, checkbox or table action items, owners, dates and priorities."""
    rng = random.Random(i)
    date = dt.date(2024, 1, 1) + dt.timedelta(days=i % 900)
    head = f"---\nid: pm-{i:04d}\ndate: {date.isoformat()}\nseverity: SEV{1 + i % 3}\n---\n"
    head += f"# Incident {i}\n\n## Summary\n\nSomething broke in service {i % 37}.\n\n"
    kind = i % 3
    if kind == 2:
        rows = ["| Item | Owner | Due | Status |", "|---|---|---|---|"]
        for n in range(items):
            due = date + dt.timedelta(days=7 * (1 + n))
            status = "Done" if n % 7 == 0 else "Open"
            rows.append(f"| {_item_text(rng, n)} | {rng.choice(OWNERS)} | {due} | {status} |")
        return head + "## Action items\n\n" + "\n".join(rows) + "\n"
    lines = []
    for n in range(items):
        owner = rng.choice(OWNERS)
        box = ("[x] " if n % 7 == 0 else "[ ] ") if kind == 1 else ""
        due = date + dt.timedelta(days=7 * (1 + n))
        lines.append(f"- {box}[{owner}] {_item_text(rng, n)}. Due: {due} (P{n % 3})")
    return head + "## Action items\n\n" + "\n".join(lines) + "\n"


def generate(root: Path, count: int, items: int) -> None:
    for i in range(count):
        (root / f"{i:04d}.md").write_text(postmortem(i, items), encoding="utf-8")


def _phase(root: str, db: str, trace: bool, out: Any) -> None:
    """Child process: one sync run; report wall time, peak RSS and counts."""
    from tracker.backends.local import LocalBackend
    from tracker.engine import run_sync
    from tracker.sync import SyncPolicy

    start_clock = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)
    files = [(p, p.name) for p in sorted(Path(root).glob("*.md"))]
    backend = LocalBackend(db, now=lambda: start_clock)
    policy = SyncPolicy(max_writes=1_000_000)
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    outcome = run_sync(files, backend, policy, as_of=AS_OF)
    wall = time.perf_counter() - t0
    peak_py = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    # Parsing alone, timed apart (outside the run, after the peak was taken): the share of the
    # wall time that belongs to the parser rather than to listing, planning and writing.
    from tracker.parse import parse_postmortem

    t1 = time.perf_counter()
    for path, rel in files:
        parse_postmortem(path.read_bytes(), rel)
    parse_s = time.perf_counter() - t1
    counts = outcome.counts()
    out.send(
        {
            "wall": wall,
            "parse": parse_s,
            "rss_mb": rss_kb / 1024 if sys.platform != "darwin" else rss_kb / 1024 / 1024,
            "py_mb": peak_py / 1024 / 1024,
            "requests": backend.requests,  # SQLite queries (no HTTP: outcome.requests is None)
            "writes": backend.writes,
            "items": len(outcome.items),
            "counts": {k: v for k, v in counts.items() if v},
            "files": len(outcome.files_written),
        }
    )


def run_phase(root: Path, db: Path, trace: bool) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_phase, args=(str(root), str(db), trace, child))
    proc.start()
    result: dict[str, Any] = parent.recv()
    proc.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--postmortems", type=int, default=1000)
    ap.add_argument("--items", type=int, default=10)
    ap.add_argument("--keep", type=Path, default=None, help="work in DIR and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    rows = []
    try:
        # Timed runs first, on one copy; the same runs again under tracemalloc on a fresh copy.
        results: dict[str, dict[str, Any]] = {}
        for trace in (False, True):
            root = work / ("traced" if trace else "timed")
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            generate(root, args.postmortems, args.items)
            db = root / ".tracker" / "local.db"
            for phase in ("first sync", "no-op re-sync"):
                r = run_phase(root, db, trace)
                if trace:
                    results[phase]["py_mb"] = r["py_mb"]
                    results[phase]["wall_traced"] = r["wall"]
                else:
                    results[phase] = r
        for phase, r in results.items():
            rows.append(
                f"| {phase} | {args.postmortems:,} | {r['items']:,} | {r['wall']:.2f} | "
                f"{r['parse']:.2f} | "
                f"{r['rss_mb']:.0f} | {r['py_mb']:.0f} | {r['requests']:,} | {r['writes']:,} | "
                f"{r['files']:,} | {r['counts']} |"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        "| phase | postmortems | items | wall s | of which parsing s | peak RSS MB "
        "| peak Python MB (tracemalloc) "
        "| backend requests | backend writes | files written | outcome |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    print(f"\nPython {sys.version.split()[0]}, {sys.platform}; as_of {AS_OF}; fixed clock.")


if __name__ == "__main__":
    main()
