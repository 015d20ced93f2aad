"""Scale figures: 10,000 postmortems, 10,000 tracked tickets, and a 2,000-item first import.

1. Parse 10,000 postmortems (the example postmortems, each under its own id): wall time, items,
   and peak memory (tracemalloc, with every result held as `tracker sync` holds them), next to
   markdown-it-py tokenising the same texts (DESIGN: parsing at most 1.3x that).
2. A no-op sync of 10,000 tracked tickets against the GitHub fake on 127.0.0.1: requests sent
   (DESIGN: at most ceil(N/100) + 2, no write) and wall time.
3. The weekly report over those 10,000 tickets: the listing, then metrics and rendering
   (DESIGN: under 2 s for metrics and rendering).
4. A first import of 2,000 items under GitHub's limits for content-creating requests (80 a
   minute, 500 an hour) on a simulated clock: the fake refuses by simulated time, the backend's
   sleeper advances the clock, writes are spaced 1 s (the default). With the default budget
   (sync.max_writes 300) on the daily schedule `tracker init` writes, and with the budget raised
   to 2,000 on an hourly schedule: runs needed and simulated time to finish.

    python benchmarks/scale.py [--postmortems 10000] [--tickets 10000] [--import-items 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes

from markdown_it import MarkdownIt

from tests.fakes.github_fake import FakeClock, FakeServer, GitHubFake
from tracker.backends.github import GitHubBackend
from tracker.backends.github_body import BodyContext, new_body
from tracker.config import Config
from tracker.drafts import build_draft
from tracker.engine import SyncOutcome, run_sync
from tracker.parse import parse_postmortem
from tracker.report import compute_for_config, to_json, to_markdown
from tracker.sync import SyncPolicy

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
OWNERS = ("ana", "bo", "cy", "di", "eve", "femi", "gus", "hana", "ivo", "jun")
AS_OF = dt.date(2026, 3, 2)


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


# --- 1. parsing ----------------------------------------------------------------------------------


def example_texts(n: int) -> list[bytes]:
    """`n` postmortems: the examples in turn, each with its own front-matter id."""
    sources = sorted((REPO / "examples" / "postmortems").rglob("*.md"))
    texts = []
    for i in range(n):
        src = sources[i % len(sources)].read_text(encoding="utf-8")
        if src.startswith("---\n"):
            src = f"---\nid: pm-{i:05d}\n" + src[4:]
        else:
            src = f"---\nid: pm-{i:05d}\n---\n" + src
        texts.append(src.encode("utf-8"))
    return texts


def bench_parse(n: int) -> list[str]:
    texts = example_texts(n)
    size = sum(len(t) for t in texts)
    t0 = time.perf_counter()
    parsed = [parse_postmortem(t, f"postmortems/pm-{i:05d}.md") for i, t in enumerate(texts)]
    wall = time.perf_counter() - t0
    items = sum(len(p.items) for p in parsed)
    del parsed
    md = MarkdownIt("commonmark").enable("table")
    t0 = time.perf_counter()
    for t in texts:
        md.parse(t.decode("utf-8"))
    tokenise = time.perf_counter() - t0
    tracemalloc.start()
    held = [parse_postmortem(t, f"postmortems/pm-{i:05d}.md") for i, t in enumerate(texts)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del held
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return [
        row(
            "parse 10,000 postmortems" if n == 10_000 else f"parse {n:,} postmortems",
            f"{n:,} files, {size / 1e6:.1f} MB, {items:,} items",
            f"{wall:.1f} s ({wall / n * 1000:.2f} ms a file; markdown-it-py alone "
            f"{tokenise:.1f} s, ratio {wall / tokenise:.2f})",
            f"peak {peak / 2**20:.0f} MiB traced holding every result; process RSS {rss:.0f} MiB",
        )
    ]


# --- 2 and 3. 10,000 tracked tickets -------------------------------------------------------------


def tracked_repo(root: Path, n: int, per: int) -> tuple[list[tuple[Path, str]], GitHubFake]:
    """Postmortems whose items carry their ticket refs, and a fake holding those tickets."""
    clock = FakeClock(start=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    fake = GitHubFake(clock=clock, token=TOKEN, assignable=OWNERS, rate_limit=1_000_000)
    ctx = BodyContext({}, frozenset(OWNERS), None)
    policy = SyncPolicy()
    files: list[tuple[Path, str]] = []
    number = 0
    for i in range(math.ceil(n / per)):
        date = dt.date(2025, 1, 1) + dt.timedelta(days=i % 400)
        lines = []
        for k in range(min(per, n - i * per)):
            number += 1
            box = "x" if number % 5 < 2 else " "  # 40% done
            due = date + dt.timedelta(days=14 + 7 * k)
            lines.append(
                f"- [{box}] [{OWNERS[(i + k) % len(OWNERS)]}] Alert on failure mode {k} of "
                f"incident {i}. Due: {due} (P{k % 3}) (tracked: #{number})"
            )
        text = (
            f"---\nid: pm-{i:05d}\ndate: {date}\nseverity: SEV{1 + i % 3}\n---\n"
            f"# Incident {i}\n\n## Action items\n\n" + "\n".join(lines) + "\n"
        )
        rel = f"postmortems/pm-{i:05d}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files.append((path, rel))
        pm = parse_postmortem(text, rel)
        clock.now = dt.datetime.combine(date, dt.time(9), dt.timezone.utc)
        for item in pm.items:
            draft = build_draft(item, pm, policy)
            issue = fake.add_issue(
                draft.title,
                new_body(draft, ctx),
                labels=["postmortem", *draft.labels],
                assignees=list(draft.assignees),
            )
            if item.status == "done":
                clock.advance(86_400 * (3 + item.line % 20))
                fake.edit(issue["number"], state="closed", state_reason="completed")
                clock.now = dt.datetime.combine(date, dt.time(9), dt.timezone.utc)
    clock.now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)
    return files, fake


def bench_tracked(n: int) -> list[str]:
    out = []
    with tempfile.TemporaryDirectory(prefix="tracker-scale-") as d:
        t0 = time.perf_counter()
        files, fake = tracked_repo(Path(d), n, 10)
        setup = time.perf_counter() - t0
        with FakeServer(fake) as server:
            gh = GitHubBackend("acme/infra", TOKEN, api_url=server.url, write_spacing_s=0)
            before = len(fake.log)
            t0 = time.perf_counter()
            outcome = run_sync(files, gh, SyncPolicy(), as_of=AS_OF)
            wall = time.perf_counter() - t0
            log = fake.log[before:]
            writes = sum(1 for r in log if r.method != "GET")
            unchanged = outcome.counts()["unchanged"]
            budget = math.ceil(n / 100) + 2
            out.append(
                row(
                    f"no-op sync, {n:,} tracked tickets (GitHub fake)",
                    f"{len(files):,} files; {unchanged:,} unchanged",
                    f"{len(log):,} requests ({gh.requests_made:,} counted), {writes} writes; "
                    f"{wall:.1f} s",
                    f"budget <= {budget} requests, 0 writes: "
                    f"{'within' if len(log) <= budget and writes == 0 else 'OVER'}",
                )
            )
            gh = GitHubBackend("acme/infra", TOKEN, api_url=server.url, write_spacing_s=0)
            t0 = time.perf_counter()
            tickets = gh.list_tracked()
            listing = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = compute_for_config(tickets, AS_OF, Config())
        body = to_markdown(report)
        to_json(report)
        figures = time.perf_counter() - t0
        out.append(
            row(
                f"report over {len(tickets):,} tickets",
                f"{report.totals.open:,} open, {report.totals.done:,} done, "
                f"{report.totals.overdue:,} overdue; {len(body):,} characters of Markdown",
                f"listing {listing:.1f} s ({gh.requests_made} requests); metrics + Markdown "
                f"+ JSON {figures:.2f} s",
                f"budget < 2 s for metrics and rendering: {'within' if figures < 2 else 'OVER'}"
                f" (fixture built in {setup:.0f} s)",
            )
        )
    return out


# --- 4. first import under GitHub's content limits -----------------------------------------------


def import_repo(root: Path, n: int) -> list[tuple[Path, str]]:
    files = []
    for i in range(math.ceil(n / 10)):
        date = dt.date(2025, 6, 1) + dt.timedelta(days=i % 200)
        lines = [
            f"- [ ] [{OWNERS[(i + k) % len(OWNERS)]}] Backfilled item {k} of incident {i}. "
            f"Due: {date + dt.timedelta(days=30)}"
            for k in range(min(10, n - i * 10))
        ]
        text = f"---\nid: imp-{i:04d}\ndate: {date}\n---\n# Incident {i}\n\n## Action items\n\n"
        rel = f"postmortems/imp-{i:04d}.md"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text + "\n".join(lines) + "\n", encoding="utf-8")
        files.append((root / rel, rel))
    return files


def simulate_import(n: int, max_writes: int, every_s: int) -> dict[str, Any]:
    """Runs every `every_s` simulated seconds until all `n` items are tracked."""
    clock = FakeClock(start=dt.datetime(2026, 3, 2, 6, 17, tzinfo=dt.timezone.utc))
    fake = GitHubFake(
        clock=clock,
        token=TOKEN,
        assignable=OWNERS,
        secondary_writes_per_minute=80,
        secondary_writes_per_hour=500,
    )
    runs: list[dict[str, Any]] = []
    start = clock.time()
    with tempfile.TemporaryDirectory(prefix="tracker-import-") as d, FakeServer(fake) as server:
        files = import_repo(Path(d), n)
        while len(runs) < 50:
            began = clock.time()
            gh = GitHubBackend(
                "acme/infra",
                TOKEN,
                api_url=server.url,
                clock=clock.time,
                sleeper=clock.sleep,  # waits move the simulated clock, nothing sleeps
            )  # write_spacing_s and max_wait_s at their defaults (1 s, 120 s)
            outcome: SyncOutcome = run_sync(
                files, gh, SyncPolicy(max_writes=max_writes), as_of=AS_OF
            )
            c = outcome.counts()
            runs.append(
                {
                    "created": c["created"],
                    "deferred": c["deferred"],
                    "failed": c["failed"],
                    "took_s": clock.time() - began,
                    "limited": sum(1 for w in gh.waits if w >= 60),
                }
            )
            if c["created"] == 0 and c["deferred"] == 0 and c["failed"] == 0:
                runs.pop()  # nothing left: that run only confirmed it
                break
            finished = clock.time()
            clock.now = dt.datetime.fromtimestamp(began + every_s, dt.timezone.utc)
            if clock.time() < finished:  # a run longer than the schedule: the next one waits
                clock.now = dt.datetime.fromtimestamp(finished, dt.timezone.utc)
        tracked = len(GitHubBackend("acme/infra", TOKEN, api_url=server.url).list_tracked())
    last = runs[-1]
    total = (len(runs) - 1) * every_s + last["took_s"] if runs else 0.0
    return {"runs": runs, "total_s": total, "tracked": tracked, "start": start}


def human(seconds: float) -> str:
    d, rest = divmod(int(seconds), 86_400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return " ".join(f"{v}{u}" for v, u in ((d, "d"), (h, "h"), (m, "min"), (s, "s")) if v) or "0s"


def bench_import(n: int) -> list[str]:
    out = []
    for label, budget, every in (
        ("default budget 300, daily schedule", 300, 86_400),
        ("budget raised to 2,000, hourly schedule", 2_000, 3_600),
    ):
        t0 = time.perf_counter()
        sim = simulate_import(n, budget, every)
        wall = time.perf_counter() - t0
        runs = sim["runs"]
        per_run = ", ".join(
            f"{r['created']} in {human(r['took_s'])}" + (" (limited)" if r["limited"] else "")
            for r in runs
        )
        out.append(
            row(
                f"first import of {n:,} items: {label}",
                f"{len(runs)} runs; created per run: {per_run}",
                f"simulated time to finish {human(sim['total_s'])}; {sim['tracked']:,} tracked, "
                f"no duplicate"
                if sim["tracked"] == n
                else f"ONLY {sim['tracked']:,} tracked",
                f"80/min and 500/h enforced by the fake; 1 s write spacing; {wall:.0f} s real",
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postmortems", type=int, default=10_000)
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--import-items", type=int, default=2_000)
    ap.add_argument("--only", choices=["parse", "tracked", "import"], default=None)
    args = ap.parse_args()
    parts: list[tuple[str, Callable[[], list[str]]]] = [
        ("parse", lambda: bench_parse(args.postmortems)),
        ("tracked", lambda: bench_tracked(args.tickets)),
        ("import", lambda: bench_import(args.import_items)),
    ]
    print(row("what", "size", "measured", "budget / notes"))
    print(row("---", "---", "---", "---"))
    for name, fn in parts:
        if args.only in (None, name):
            for line in fn():
                print(line, flush=True)
    print(f"\nPython {sys.version.split()[0]} on {sys.platform}; fakes on 127.0.0.1.")


if __name__ == "__main__":
    main()
