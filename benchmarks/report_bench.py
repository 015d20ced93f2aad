"""Report over 10,000 tickets with git history and program metrics (budget: under 2 s for the
metrics and every rendering; the listing costs ceil(N/100) requests and a few).

    python benchmarks/report_bench.py [--tickets N] [--repeat R]

Builds N/8 postmortems (front matter with incident times, an SLO and services; eight checkbox
items each, owners mixing people, "TBD" and "SRE team") in a git repository whose history adds
each postmortem on its own day and marks 40% of the items done two weeks later; the tickets
sit in the GitHub fake served on 127.0.0.1. Measures: the listing (requests counted by the
fake), reading the sources (parse + one `git log` + program metrics), then `compute` with
history and each rendering, best of R. Prints a Markdown table; exits 1 when over budget.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes

from tests.fakes.github_fake import FakeClock, FakeServer, GitHubFake
from tracker.backends.github import GitHubBackend
from tracker.backends.github_body import BodyContext, new_body
from tracker.config import config_from_mapping
from tracker.discover import discover
from tracker.drafts import build_draft
from tracker.gitlog import read_history
from tracker.parse import parse_postmortem
from tracker.report import compute_for_config, split_markdown, to_csv, to_json, to_markdown
from tracker.report.sources import gather
from tracker.sync import SyncPolicy

AS_OF = dt.date(2026, 5, 13)
BUDGET_S = 2.0
UTC = dt.timezone.utc
TOKEN = "bench-token"
ITEMS = 8
PEOPLE = tuple(f"owner{n}" for n in range(50))
FIRST = dt.date(2025, 5, 1)


def postmortem(i: int, done: bool) -> tuple[dt.date, str]:
    day = FIRST + dt.timedelta(days=(i * 7) % 360)
    start = dt.datetime.combine(day, dt.time(10), UTC)
    lines = []
    for k in range(ITEMS):
        owner = ("TBD", "SRE team", "Mateo", "mateo")[k] if k < 4 else PEOPLE[(i + k) % 50]
        box = "x" if done and (i + k) % 5 < 2 else " "
        due = f" Due: {day + dt.timedelta(days=14 + 7 * k)}" if k % 4 else ""
        lines.append(f"- [{box}] Follow-up {k} of incident {i}: alert on failure mode {k}. "
                     f"Owner: {owner}{due} (P{k % 3})")  # fmt: skip
    front = (
        f"---\nid: pm-{i:05d}\ndate: {day}\nseverity: SEV{1 + i % 3}\n"
        f"started: {start.isoformat()}\ndetected: {(start + dt.timedelta(minutes=3 + i % 9)).isoformat()}\n"
        f"resolved: {(start + dt.timedelta(minutes=40 + i % 50)).isoformat()}\nslo: 99.9%\n"
        f"services: [svc-{i % 40}]\n---\n"
    )  # fmt: skip
    return day, front + f"# Incident {i}\n\n## Action items\n\n" + "\n".join(lines) + "\n"


def git(repo: Path, *args: str, when: dt.date | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.com"}  # fmt: skip
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{when.isoformat()}T12:00:00+00:00"
    subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True)


def build(root: Path, n_pms: int, fake: GitHubFake, clock: FakeClock) -> None:
    """The repository (history by day) and one issue per item in the fake."""
    git(root, "init", "-q", "-b", "main")
    by_day: dict[dt.date, list[int]] = {}
    for i in range(n_pms):
        by_day.setdefault(postmortem(i, False)[0], []).append(i)
    for day in sorted(by_day):
        for i in by_day[day]:
            path = root / f"postmortems/pm-{i:05d}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(postmortem(i, False)[1], encoding="utf-8")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"postmortems of {day}", when=day)
    for day in sorted(by_day):
        for i in by_day[day]:
            (root / f"postmortems/pm-{i:05d}.md").write_text(postmortem(i, True)[1], "utf-8")
        git(root, "commit", "-q", "-am", "done items", when=day + dt.timedelta(days=14))
    ctx = BodyContext(owners_map={}, assignable=frozenset(), source_url=None)
    policy = SyncPolicy(default_due={"default": 56})
    clock.now = dt.datetime(2026, 5, 1, 9, tzinfo=UTC)  # the tool arrives: backfill
    for i in range(n_pms):
        rel = f"postmortems/pm-{i:05d}.md"
        pm = parse_postmortem((root / rel).read_bytes(), rel)
        for item in pm.items:
            draft = build_draft(item, pm, policy)
            issue = fake.add_issue(draft.title, new_body(draft, ctx), labels=["postmortem"])
            if item.status == "done":
                fake.edit(issue["number"], state="closed", state_reason="completed")


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
    n_pms = math.ceil(args.tickets / ITEMS)
    config = config_from_mapping(
        {"timezone": "Europe/Berlin", "report": {"teams": {"owner1": "Payments"}}}
    )
    clock = FakeClock(tick=0)
    fake = GitHubFake(clock=clock, token=TOKEN)
    with tempfile.TemporaryDirectory(prefix="tracker-report-bench-") as d:
        root = Path(d)
        t0 = time.perf_counter()
        build(root, n_pms, fake, clock)
        setup = time.perf_counter() - t0
        with FakeServer(fake) as server:
            gh = GitHubBackend("acme/infra", TOKEN, api_url=server.url, write_spacing_s=0)
            before = len(fake.log)
            t0 = time.perf_counter()
            tickets = gh.list_tracked()
            listing = time.perf_counter() - t0
            requests = len(fake.log) - before
        files = discover((), root, config.paths, config.exclude)
        t0 = time.perf_counter()
        inputs = gather(root, files, config, lambda p: read_history(root, p))
        sources = time.perf_counter() - t0

        def compute() -> object:
            return compute_for_config(tickets, AS_OF, config, history=inputs.history,
                                      file_items=inputs.file_items, program=inputs.program)  # fmt: skip

        t0 = time.perf_counter()
        report = compute_for_config(tickets, AS_OF, config, history=inputs.history,
                                    file_items=inputs.file_items, program=inputs.program)  # fmt: skip
        cold = time.perf_counter() - t0  # the history's lines are normalised once, here
        body = to_markdown(report, nudge=True)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("compute again (history, owners, program; tz Europe/Berlin)", compute),
            ("to_markdown", lambda: to_markdown(report, nudge=True)),
            ("to_json + json.dumps", lambda: json.dumps(to_json(report))),
            ("to_csv", lambda: to_csv(report)),
            ("split_markdown (65,536)", lambda: split_markdown(body)),
        ]
        rows = [(name, best_of(args.repeat, fn)) for name, fn in steps]
    total = sum(t for _, t in rows) - rows[0][1] + max(rows[0][1], cold)
    budget = math.ceil(len(tickets) / 100) + 2
    t = report.totals
    print(f"Report over {len(tickets):,} tickets from {n_pms:,} postmortems ({t.open:,} open, "
          f"{t.overdue:,} overdue, {t.backfilled:,} backfilled, {t.due_by_policy:,} due by "
          f"policy; Markdown {len(body):,} characters in {len(split_markdown(body))} parts), "
          f"best of {args.repeat}, Python {sys.version.split()[0]}; fixture built in "
          f"{setup:.0f} s\n")  # fmt: skip
    print("| step | figure |")
    print("|---|---:|")
    verdict = "within" if requests <= budget else "OVER"
    print(f"| listing (GitHub fake on 127.0.0.1) | {requests} requests, {listing:.2f} s "
          f"({verdict} ceil(N/100)+2 = {budget}) |")  # fmt: skip
    print(f"| sources: parse {len(files):,} files + one `git log` + program metrics | "
          f"{sources:.2f} s |")  # fmt: skip
    print(f"| compute, first run (history lines normalised once) | {cold:.3f} s |")
    for name, sec in rows:
        print(f"| {name} | {sec:.3f} s |")
    verdict = "within" if total < BUDGET_S else "OVER"
    print(
        f"| **metrics and rendering** | **{total:.3f} s** ({verdict} the {BUDGET_S:g} s budget) |"
    )
    return 0 if total < BUDGET_S and requests <= budget else 1


if __name__ == "__main__":
    sys.exit(main())
