"""Sync N generated action items to the GitHub fake on 127.0.0.1: first sync and no-op re-sync.

Counts HTTP requests and writes (what the fake received, and what the backend counted) against
the budgets in DESIGN.md, with write spacing off (the 1 s spacing would make a first sync of
1,000 items take over 16 minutes; it is a sleep, not work). The fake runs in a thread of the
same process, so the wall time includes the fake's own work.

    python benchmarks/sync_github.py [--items 1000] [--per-postmortem 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes

from tests.fakes.github_fake import FakeClock, FakeServer, GitHubFake
from tracker.backends.github import GitHubBackend
from tracker.engine import run_sync
from tracker.sync import SyncPolicy

AS_OF = dt.date(2026, 11, 20)
TOKEN = "bench-token"
OWNERS = ("ana", "bo", "cy", "di", "eve", "femi", "gus", "hana", "ivo", "jun")
TEMPLATES = ("priority:{priority}",)


def postmortem(i: int, items: int) -> str:
    date = dt.date(2025, 1, 1) + dt.timedelta(days=i % 600)
    lines = [
        f"- [{OWNERS[(i + n) % len(OWNERS)]}] Alert on failure mode {n} of incident {i}. "
        f"Due: {date + dt.timedelta(days=7 * (1 + n))} (P{n % 3})"
        for n in range(items)
    ]
    head = f"---\nid: pm-{i:04d}\ndate: {date}\nseverity: SEV{1 + i % 3}\n---\n# Incident {i}\n\n"
    return head + "## Action items\n\n" + "\n".join(lines) + "\n"


def phase(files: list[tuple[Path, str]], server: FakeServer, fake: GitHubFake) -> dict[str, Any]:
    before = len(fake.log)
    gh = GitHubBackend(
        "acme/infra",
        TOKEN,
        api_url=server.url,
        write_spacing_s=0,
        http_timeout_s=30,
        label_templates=TEMPLATES,
    )
    policy = SyncPolicy(max_writes=1_000_000, label_templates=TEMPLATES)
    t0 = time.perf_counter()
    outcome = run_sync(files, gh, policy, as_of=AS_OF)
    wall = time.perf_counter() - t0
    log = fake.log[before:]
    writes = [r for r in log if r.method != "GET"]
    return {
        "wall": wall,
        "requests": len(log),
        "counted": gh.requests_made,
        "writes": len(writes),
        "creates": sum(1 for r in writes if r.method == "POST" and r.path.endswith("/issues")),
        "labels": sum(1 for r in writes if r.path.endswith("/labels") and r.status == 201),
        "counts": {k: v for k, v in outcome.counts().items() if v},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--per-postmortem", type=int, default=10)
    args = ap.parse_args()
    n, per = args.items, args.per_postmortem
    work = Path(tempfile.mkdtemp(prefix="tracker-gh-bench-"))
    try:
        files = []
        for i in range(math.ceil(n / per)):
            path = work / f"pm-{i:04d}.md"
            path.write_text(postmortem(i, min(per, n - i * per)), encoding="utf-8")
            files.append((path, path.name))
        fake = GitHubFake(clock=FakeClock(tick=1), token=TOKEN, assignable=OWNERS)
        with FakeServer(fake) as server:
            first = phase(files, server, fake)
            again = phase(files, server, fake)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    noop_budget = math.ceil(n / 100) + 2
    write_budget = n + 2 + first["labels"]
    checks = {
        "first sync": (
            first["creates"] == n and first["writes"] <= write_budget,
            f"{n} creates + <= {2 + first['labels']} other writes",
        ),
        "no-op re-sync": (
            again["requests"] <= noop_budget and again["writes"] == 0,
            f"<= {noop_budget} requests, 0 writes",
        ),
    }
    print(
        "| phase | items | requests (fake saw / backend counted) | writes | of which creates "
        "| labels created | wall s | budget | within |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for name, r in (("first sync", first), ("no-op re-sync", again)):
        ok, budget = checks[name]
        print(
            f"| {name} | {n:,} | {r['requests']:,} / {r['counted']:,} | {r['writes']:,} | "
            f"{r['creates']:,} | {r['labels']} | {r['wall']:.2f} | {budget} | "
            f"{'yes' if ok else 'NO'} |"
        )
    print(f"\nOutcomes: first {first['counts']}; re-sync {again['counts']}.")
    print(f"Python {sys.version.split()[0]}, {sys.platform}; write spacing off; fake on 127.0.0.1.")
    if not all(ok for ok, _ in checks.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
