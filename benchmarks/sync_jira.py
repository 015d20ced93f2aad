"""Sync N action items to the Jira fake on 127.0.0.1: request counts against the budgets.

DESIGN "Performance budgets": a first sync of N new items costs ceil(N/50) creates on Jira (bulk,
50 per request) plus a few setup requests; a no-op re-sync costs at most ceil(N/100)+2 requests
and no write. Phases, each on a fresh backend (a new run):

1. first sync, bulk: the engine's plan, its creates sent through `JiraBackend.create_many`;
2. no-op re-sync: `run_sync` end to end (listing, plan, nothing to write);
3. first sync through `run_sync` as the engine is today (one `create` per item), for contrast.

    python benchmarks/sync_jira.py [--items 1000] [--mode cloud|datacenter|both]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.jira_fake import EMAIL, PAT, TOKEN, USERS, JiraFake
from tracker.backends.jira import JiraBackend
from tracker.engine import run_sync
from tracker.sync import SyncPolicy

AS_OF = dt.date(2026, 11, 20)
PER_FILE = 10


def postmortem(i: int) -> str:
    date = dt.date(2026, 1, 1) + dt.timedelta(days=i % 300)
    owners = [u.name for u in USERS]
    lines = [
        f"- [{owners[(i + n) % len(owners)]}] Fix failure mode {n} of incident {i}. "
        f"Due: {date + dt.timedelta(days=14 + n)} (P{n % 3})"
        for n in range(PER_FILE)
    ]
    head = f"---\nid: pm-{i:04d}\ndate: {date}\nseverity: SEV2\n---\n# Incident {i}\n\n"
    return head + "## Action items\n\n" + "\n".join(lines) + "\n"


def write_files(root: Path, items: int) -> list[tuple[Path, str]]:
    out = []
    for i in range(math.ceil(items / PER_FILE)):
        rel = f"postmortems/pm-{i:04d}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(postmortem(i), encoding="utf-8")
        out.append((path, rel))
    return out


def backend(fake: JiraFake, url: str) -> JiraBackend:
    owners = {u.name: (u.account_id if fake.mode == "cloud" else u.name) for u in USERS}
    creds: dict[str, Any] = (
        {"email": EMAIL, "token": TOKEN} if fake.mode == "cloud" else {"pat": PAT}
    )
    return JiraBackend(
        url, project="OPS", owners=owners, sleeper=lambda s: None, http_timeout_s=10, **creds
    )


def policy(fake: JiraFake) -> SyncPolicy:
    owners = {u.name: (u.account_id if fake.mode == "cloud" else u.name) for u in USERS}
    return SyncPolicy(max_writes=1_000_000, owners=owners)


def writes_since(fake: JiraFake, start: int) -> int:
    return sum(1 for r in fake.log[start:] if r.method in ("POST", "PUT", "DELETE"))


def creates_since(fake: JiraFake, start: int) -> int:
    return sum(
        1 for r in fake.log[start:] if r.method == "POST" and r.endpoint in ("issue", "issue/bulk")
    )


def run(mode: str, items: int, work: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    fake = JiraFake(mode)  # type: ignore[arg-type]
    with fake.serve() as url:
        files = write_files(work / mode / "bulk", items)

        # 1. first sync through the engine: creates go through create_many (50 per request)
        b = backend(fake, url)
        start, t0 = len(fake.log), time.perf_counter()
        first = run_sync(files, b, policy(fake), as_of=AS_OF, write_back="none")
        wall = time.perf_counter() - t0
        rows.append(
            {
                "mode": mode,
                "phase": "first sync (run_sync)",
                "items": len(first.items),
                "requests": b.requests_made,
                "creates": creates_since(fake, start),
                "writes": writes_since(fake, start),
                "budget": f"creates <= {math.ceil(items / 50)}, + setup",
                "ok": first.failed == 0 and creates_since(fake, start) <= math.ceil(items / 50),
                "wall": wall,
                "detail": f"created {first.created}; setup: "
                + ", ".join(
                    sorted({r.endpoint for r in fake.log[start:] if r.endpoint != "issue/bulk"})
                ),
            }
        )

        # 2. no-op re-sync through the engine
        b = backend(fake, url)
        start, t0 = len(fake.log), time.perf_counter()
        outcome = run_sync(files, b, policy(fake), as_of=AS_OF, write_back="none")
        wall = time.perf_counter() - t0
        budget = math.ceil(items / 100) + 2
        rows.append(
            {
                "mode": mode,
                "phase": "no-op re-sync (run_sync)",
                "items": len(outcome.items),
                "requests": b.requests_made,
                "creates": creates_since(fake, start),
                "writes": writes_since(fake, start),
                "budget": f"requests <= {budget}, writes 0",
                "ok": (b.requests_made or 0) <= budget and writes_since(fake, start) == 0,
                "wall": wall,
                "detail": f"unchanged {outcome.unchanged}",
            }
        )

    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--mode", choices=("cloud", "datacenter", "both"), default="both")
    args = ap.parse_args()
    modes = ("cloud", "datacenter") if args.mode == "both" else (args.mode,)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tracker-bench-jira-") as tmp:
        for mode in modes:
            rows += run(mode, args.items, Path(tmp))
    print(
        "| deployment | phase | items | requests | create requests | writes | budget | within "
        "| wall s | notes |"
    )
    print("|---|---|---:|---:|---:|---:|---|---|---:|---|")
    for r in rows:
        within = "-" if r["ok"] is None else ("yes" if r["ok"] else "**NO**")
        print(
            f"| {r['mode']} | {r['phase']} | {r['items']:,} | {r['requests']:,} | "
            f"{r['creates']:,} | {r['writes']:,} | {r['budget']} | {within} | {r['wall']:.2f} "
            f"| {r['detail']} |"
        )
    print(
        f"\nN = {args.items:,} items in {math.ceil(args.items / PER_FILE):,} postmortems; Jira fake "
        f"on 127.0.0.1 (threaded http.server); deployment configured unset, so each run's first "
        f"request is serverInfo. Python {sys.version.split()[0]}, {sys.platform}."
    )
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
