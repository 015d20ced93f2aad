"""The fault matrix: 200-item syncs to the GitHub and Jira fakes on 127.0.0.1 with seeded faults.

One *run* is a fresh fake and 200 postmortem items (20 files of 10): a first sync with faults on
seeded creates and reads, clean re-runs until a run has nothing left to do, then edits in the
files (new due dates, items ticked done) synced with faults on the update and close writes, and
clean re-runs again. Every fault that fires is one *trial*. Per run it measures what the task
cares about: no key stored twice, no tracker ticket duplicated, no item missing or left stale, and
the runs needed to converge; per fault kind, what happened to the keys its faults hit.

Used by tests/reliability/test_fault_matrix.py (asserts the invariants) and by
benchmarks/reliability_figures.py (prints the table for the README). Nothing sleeps: rate-limit
waits go to a recording sleeper; only the client's socket timeout (0.2-0.3 s) is real time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes import github_fake as gh
from tests.fakes import jira_fake as jf
from tracker.backends.base import Backend, Capabilities
from tracker.backends.github import GitHubBackend
from tracker.backends.github_body import parse_body
from tracker.backends.jira import JiraBackend
from tracker.backends.jira_text import read_marker
from tracker.engine import SyncOutcome, run_sync
from tracker.errors import BackendError
from tracker.parse import parse_postmortem
from tracker.sync import SyncPolicy

AS_OF = dt.date(2026, 3, 1)
GH_TOKEN = "t0ken-matrix"
OWNERS = ("alice", "bob", "carol")
POSTMORTEMS, ITEMS = 20, 10
TOTAL = POSTMORTEMS * ITEMS
MAX_RUNS = 6  # a run that has not converged after this many syncs is a failure


@dataclass(frozen=True)
class Kind:
    """One row of the matrix: a fault the fake can inject, and where."""

    name: str
    fault: str  # the fake's fault kind
    after: bool = False  # the request is applied first, then its answer is lost
    reads: bool = True  # also injected on GET requests (a lost answer to a GET is a plain error)


GITHUB_KINDS = (
    Kind("500", "500"),
    Kind("502", "502"),
    Kind("503", "503"),
    Kind("429 + Retry-After", "429"),
    Kind("403 secondary limit", "secondary"),
    Kind("timeout", "timeout"),
    Kind("dropped connection", "drop"),
    Kind("lost answer: 502 after the write", "502", after=True, reads=False),
    Kind("lost answer: timeout after the write", "timeout", after=True, reads=False),
    Kind("lost answer: drop after the write", "drop", after=True, reads=False),
)
JIRA_KINDS = (
    Kind("500", "500"),
    Kind("502", "502"),
    Kind("503 + Retry-After", "503"),
    Kind("429 + Retry-After", "429"),
    Kind("timeout", "timeout"),
    Kind("dropped connection", "drop"),
    Kind("lost answer: 502 after the write", "502", after=True, reads=False),
    Kind("lost answer: timeout after the write", "timeout", after=True, reads=False),
    Kind("lost answer: drop after the write", "drop", after=True, reads=False),
)


def postmortem(i: int) -> str:
    date = dt.date(2026, 1, 1) + dt.timedelta(days=i)
    lines = [
        f"- [ ] [{OWNERS[(i + n) % len(OWNERS)]}] Fix failure mode {n} of incident {i}. "
        f"Due: {date + dt.timedelta(days=14 + n)} (P{n % 3})"
        for n in range(ITEMS)
    ]
    head = f"---\nid: pm-{i:03d}\ndate: {date}\nseverity: SEV2\n---\n# Incident {i}\n\n"
    return head + "## Action items\n\n" + "\n".join(lines) + "\n"


def write_files(root: Path) -> list[tuple[Path, str]]:
    out = []
    for i in range(POSTMORTEMS):
        rel = f"postmortems/pm-{i:03d}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(postmortem(i), encoding="utf-8")
        out.append((path, rel))
    return out


def edit_files(files: Sequence[tuple[Path, str]], rng: random.Random) -> tuple[int, int]:
    """Move the due date of a quarter of the items and tick an eighth done: (moved, ticked)."""
    picks = rng.sample(range(TOTAL), TOTAL // 4 + TOTAL // 8)
    moved, ticked = set(picks[: TOTAL // 4]), set(picks[TOTAL // 4 :])
    for i, (path, _) in enumerate(files):
        lines = path.read_text(encoding="utf-8").split("\n")
        for k, line in enumerate(lines):
            m = re.search(r"Fix failure mode (\d+) of", line)
            if not m:
                continue
            n = i * ITEMS + int(m.group(1))
            if n in moved:
                line = re.sub(
                    r"Due: (\d{4}-\d{2}-\d{2})",
                    lambda d: "Due: " + str(dt.date.fromisoformat(d.group(1)) + dt.timedelta(7)),
                    line,
                )
            if n in ticked:
                line = line.replace("- [ ]", "- [x]", 1)
            lines[k] = line
        path.write_text("\n".join(lines), encoding="utf-8")
    return len(moved), len(ticked)


# --- what one run measures ---------------------------------------------------------------------


@dataclass
class KindFigures:
    """One fault kind over every run: trials, and what happened to the keys its faults hit."""

    fired: int = 0
    on_creates: int = 0
    on_edits: int = 0
    on_reads: int = 0
    max_sends_per_hit_key: int = 0  # create requests sent for one key its faults hit
    max_stored_per_hit_key: int = 0  # creates the fake stored for such a key


@dataclass
class RunFigures:
    """One 200-item run: both phases, all faults."""

    backend: str
    seed: int
    fired: int = 0
    faults_by_kind: Counter[str] = field(default_factory=Counter)
    create_requests: int = 0
    max_stored_per_key: int = 0
    blind_resends: int = 0  # keys sent again without an answer proving the first was not stored
    duplicates: int = 0  # tracked tickets beyond one per key
    missing: int = 0  # items with no ticket
    stale: int = 0  # items whose ticket disagrees with the file after the edits converged
    runs_first: int = 0  # syncs until the first import converged
    runs_edits: int = 0  # syncs until the edits converged
    waits: list[float] = field(default_factory=list)
    kinds: dict[str, KindFigures] = field(default_factory=dict)


def _keys_in_files(files: Sequence[tuple[Path, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for disk, rel in files:
        for item in parse_postmortem(disk.read_bytes(), rel).items:
            out[item.key] = item
    return out


def _noop(out: SyncOutcome) -> bool:
    c = out.counts()
    return c["unchanged"] == TOTAL and sum(c.values()) == TOTAL and not out.files_written


def _converge(sync: Callable[[], SyncOutcome]) -> int:
    """Clean syncs until one has nothing to do; returns the syncs that still did work."""
    for n in range(MAX_RUNS):
        try:
            out = sync()
        except BackendError:
            continue
        if _noop(out):
            return n
    raise AssertionError(f"no convergence after {MAX_RUNS} clean runs")


def _check_state(fig: RunFigures, files: Sequence[tuple[Path, str]], backend: Backend) -> None:
    items = _keys_in_files(files)
    tickets = backend.list_tracked()
    per_key = Counter(t.key for t in tickets)
    fig.duplicates = max(fig.duplicates, sum(n - 1 for n in per_key.values() if n > 1))
    fig.missing = max(fig.missing, sum(1 for k in items if k not in per_key))
    stale = 0
    for t in tickets:
        item = items.get(t.key or "")
        if item is None:
            continue
        closed = t.state in ("done", "dropped")
        if t.due != item.due or closed != (item.status == "done"):
            stale += 1
    fig.stale = max(fig.stale, stale)


# --- GitHub --------------------------------------------------------------------------------------

GH_CREATE = r"/repos/acme/infra/issues"
GH_EDIT = r"/repos/acme/infra/issues/\d+"


def _gh_key(r: gh.Logged) -> str | None:
    body = r.body.get("body") if isinstance(r.body, dict) else None
    marker = parse_body(body).marker
    return marker.key if marker else None


def _gh_schedule(rng: random.Random, kinds: Sequence[Kind], phase: str) -> list[gh.Fault]:
    faults = []
    for k in kinds:
        if phase == "first":
            for skip in rng.sample(range(TOTAL), 2):
                faults.append(
                    gh.Fault(k.fault, "POST", GH_CREATE, after=k.after, skip=skip, delay_s=0.6)
                )
            if k.reads:
                faults.append(gh.Fault(k.fault, "GET", skip=rng.randrange(30), delay_s=0.6))
        else:
            skip = rng.randrange(TOTAL // 4)
            faults.append(
                gh.Fault(k.fault, "PATCH", GH_EDIT, after=k.after, skip=skip, delay_s=0.6)
            )
    return faults


def _gh_tally(
    fig: RunFigures, fake: gh.GitHubFake, kinds: Sequence[Kind], faults: Sequence[gh.Fault]
) -> None:
    creates = fake.requests("POST", GH_CREATE)
    sent = Counter(_gh_key(r) for r in creates)
    stored = Counter(_gh_key(r) for r in creates if r.applied)
    unapplied = Counter(_gh_key(r) for r in creates if not r.applied)
    fig.create_requests = len(creates)
    fig.max_stored_per_key = max(stored.values(), default=0)
    fig.blind_resends = sum(1 for k, n in sent.items() if n > 1 + unapplied[k])
    by_fault = {(k.fault, k.after): k.name for k in kinds}
    for f in faults:
        name = by_fault[(f.kind, f.after)]
        kf = fig.kinds.setdefault(name, KindFigures())
        kf.fired += f.fired
        fig.fired += f.fired
        fig.faults_by_kind[name] += f.fired
        if f.method == "GET":
            kf.on_reads += f.fired
        elif f.method == "PATCH":
            kf.on_edits += f.fired
        else:
            kf.on_creates += f.fired
    for r in creates:
        if r.fault is None:
            continue
        key = _gh_key(r)
        after = r.applied
        name = by_fault.get((r.fault, after)) or by_fault.get((r.fault, False))
        if name is None:
            continue
        kf = fig.kinds[name]
        kf.max_sends_per_hit_key = max(kf.max_sends_per_hit_key, sent[key])
        kf.max_stored_per_hit_key = max(kf.max_stored_per_hit_key, stored[key])


def run_github(seed: int, root: Path, kinds: Sequence[Kind] = GITHUB_KINDS) -> RunFigures:
    """One 200-item run against the GitHub fake on 127.0.0.1."""
    rng = random.Random(seed)
    fig = RunFigures("github", seed)
    files = write_files(root)
    fake = gh.GitHubFake(clock=gh.FakeClock(tick=1), token=GH_TOKEN, assignable=OWNERS)
    with gh.FakeServer(fake) as server:

        def backend() -> GitHubBackend:
            return GitHubBackend(
                "acme/infra",
                GH_TOKEN,
                api_url=server.url,
                write_spacing_s=0,
                http_timeout_s=0.2,
                sleeper=fig.waits.append,
                label_templates=("priority:{priority}",),
            )

        def sync() -> SyncOutcome:
            policy = SyncPolicy(max_writes=10_000, label_templates=("priority:{priority}",))
            return run_sync(files, backend(), policy, as_of=AS_OF)

        all_faults: list[gh.Fault] = []
        for phase in ("first", "edits"):
            if phase == "edits":
                edit_files(files, rng)
            faults = _gh_schedule(rng, kinds, phase)
            all_faults += faults
            fake.inject(*faults)
            with suppress(BackendError):  # the listing itself failed: the next run starts over
                sync()
            fake.faults.clear()
            runs = 1 + _converge(sync)
            if phase == "first":
                fig.runs_first = runs
            else:
                fig.runs_edits = runs
            _check_state(fig, files, backend())
        _gh_tally(fig, fake, kinds, all_faults)
    return fig


# --- Jira ----------------------------------------------------------------------------------------

JIRA_CREATE = r"/issue$"
JIRA_EDIT = r"/issue/[^/]+(/transitions)?$"


class OneByOne(JiraBackend):
    """The Jira backend with bulk create off, so faults hit single creates."""

    @property
    def capabilities(self) -> Capabilities:
        return dataclasses.replace(super().capabilities, bulk_create=False)


def _jira_owners(mode: jf.Mode) -> dict[str, str]:
    return {u.name: (u.account_id if mode == "cloud" else u.name) for u in jf.USERS}


def _jira_keys(r: jf.Logged) -> list[str]:
    if not isinstance(r.body, dict):
        return []
    if r.endpoint == "issue/bulk":
        bodies = [u.get("fields", {}) for u in r.body.get("issueUpdates", [])]
    else:
        bodies = [r.body.get("fields", {})]
    out = []
    for fields in bodies:
        marker = read_marker(fields.get("description"))[0]
        if marker is not None:
            out.append(marker.key)
    return out


def _jira_stored(r: jf.Logged) -> list[str]:
    """Keys the fake stored for a create request (per item for a bulk one)."""
    if not r.applied or r.status not in (201, 400):
        return []
    keys = _jira_keys(r)
    if r.endpoint == "issue":
        return keys if r.status == 201 else []
    failed = {e["failedElementNumber"] for e in (r.response or {}).get("errors", [])}
    return [k for n, k in enumerate(keys) if n not in failed]


def _jira_schedule(
    rng: random.Random, kinds: Sequence[Kind], phase: str, bulk: bool
) -> list[jf.Fault]:
    faults = []
    for k in kinds:
        kind: Any = k.fault
        if phase == "first":
            if bulk:  # four chunks of 50: one fault on one of them per kind
                path = r"/issue/bulk$"
                faults.append(jf.Fault(kind, "POST", path, after=k.after, skip=0, retry_after="3"))
            else:
                for skip in rng.sample(range(TOTAL), 2):
                    faults.append(
                        jf.Fault(
                            kind, "POST", JIRA_CREATE, after=k.after, skip=skip, retry_after="3"
                        )
                    )
            if k.reads:
                faults.append(jf.Fault(kind, "GET", skip=rng.randrange(30), retry_after="3"))
        else:
            method = rng.choice(("PUT", "POST"))
            skip = rng.randrange(TOTAL // 8)
            faults.append(
                jf.Fault(kind, method, JIRA_EDIT, after=k.after, skip=skip, retry_after="3")
            )
    rng.shuffle(faults)
    return faults


def run_jira(
    seed: int,
    root: Path,
    mode: jf.Mode = "cloud",
    *,
    bulk: bool = False,
    kinds: Sequence[Kind] = JIRA_KINDS,
) -> RunFigures:
    """One 200-item run against the Jira fake on 127.0.0.1 (single or bulk creates)."""
    rng = random.Random(seed)
    fig = RunFigures(f"jira {mode}{' bulk' if bulk else ''}", seed)
    files = write_files(root)
    fake = jf.JiraFake(mode, hang_s=0.6)
    owners = _jira_owners(mode)
    with fake.serve() as url:

        def backend() -> JiraBackend:
            creds: dict[str, Any] = (
                {"email": jf.EMAIL, "token": jf.TOKEN} if mode == "cloud" else {"pat": jf.PAT}
            )
            return (JiraBackend if bulk else OneByOne)(
                url,
                project="OPS",
                deployment=mode,
                owners=owners,
                http_timeout_s=0.3,
                sleeper=fig.waits.append,
                clock=lambda: dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
                **creds,
            )

        def sync() -> SyncOutcome:
            return run_sync(
                files, backend(), SyncPolicy(max_writes=10_000, owners=owners), as_of=AS_OF
            )

        all_faults: list[jf.Fault] = []
        for phase in ("first", "edits"):
            if phase == "edits":
                edit_files(files, rng)
            faults = _jira_schedule(rng, kinds, phase, bulk)
            all_faults += faults
            fake.faults.extend(faults)
            with suppress(BackendError):
                sync()
            fake.calm()
            runs = 1 + _converge(sync)
            if phase == "first":
                fig.runs_first = runs
            else:
                fig.runs_edits = runs
            _check_state(fig, files, backend())
        _jira_tally(fig, fake, kinds, all_faults)
    return fig


def _jira_tally(
    fig: RunFigures, fake: jf.JiraFake, kinds: Sequence[Kind], faults: Sequence[jf.Fault]
) -> None:
    creates = fake.requests("POST", r"issue(/bulk)?")
    sent = Counter(k for r in creates for k in _jira_keys(r))
    stored = Counter(k for r in creates for k in _jira_stored(r))
    unapplied = Counter(k for r in creates if not r.applied for k in _jira_keys(r))
    fig.create_requests = len(creates)
    fig.max_stored_per_key = max(stored.values(), default=0)
    fig.blind_resends = sum(1 for k, n in sent.items() if n > 1 + unapplied[k])
    by_fault = {(k.fault, k.after): k.name for k in kinds}
    for f in faults:
        name = by_fault[(f.kind, f.after)]
        kf = fig.kinds.setdefault(name, KindFigures())
        kf.fired += f.fired
        fig.fired += f.fired
        fig.faults_by_kind[name] += f.fired
        if f.method == "GET":
            kf.on_reads += f.fired
        elif f.path in (JIRA_CREATE, r"/issue/bulk$"):
            kf.on_creates += f.fired
        else:
            kf.on_edits += f.fired
    for r in creates:
        if r.fault is None:
            continue
        after = r.fault.endswith(" after")
        name = by_fault.get((r.fault.removesuffix(" after"), after))
        if name is None:
            continue
        kf = fig.kinds[name]
        for key in _jira_keys(r):
            kf.max_sends_per_hit_key = max(kf.max_sends_per_hit_key, sent[key])
            kf.max_stored_per_hit_key = max(kf.max_stored_per_hit_key, stored[key])


# --- the whole matrix ----------------------------------------------------------------------------

# (backend, seed, mode, bulk): four GitHub runs, three single-create Jira runs (both deployments)
# and one bulk-create Jira run (the default path: 50 issues a request).
PLAN: tuple[tuple[str, int, jf.Mode, bool], ...] = (
    ("github", 1, "cloud", False),
    ("github", 2, "cloud", False),
    ("github", 3, "cloud", False),
    ("github", 4, "cloud", False),
    ("jira", 1, "cloud", False),
    ("jira", 2, "datacenter", False),
    ("jira", 3, "cloud", False),
    ("jira", 4, "datacenter", True),
)


@contextmanager
def _tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fault-matrix-") as d:
        yield Path(d)


def run_one(backend: str, seed: int, mode: jf.Mode, bulk: bool) -> RunFigures:
    with _tmp() as root:
        if backend == "github":
            return run_github(seed, root)
        return run_jira(seed, root, mode, bulk=bulk)


def run_matrix(plan: Sequence[tuple[str, int, jf.Mode, bool]] = PLAN) -> list[RunFigures]:
    return [run_one(*p) for p in plan]


def markdown(runs: Sequence[RunFigures]) -> str:
    """Two tables: per fault kind (trials and the keys they hit), per run (the invariants)."""
    lines = [
        "| backend | fault | trials | on creates | on edits | on reads | creates sent for a hit key (max) | stored per hit key (max) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    totals: dict[tuple[str, str], KindFigures] = {}
    for r in runs:
        family = r.backend.split()[0]
        for name, k in r.kinds.items():
            t = totals.setdefault((family, name), KindFigures())
            t.fired += k.fired
            t.on_creates += k.on_creates
            t.on_edits += k.on_edits
            t.on_reads += k.on_reads
            t.max_sends_per_hit_key = max(t.max_sends_per_hit_key, k.max_sends_per_hit_key)
            t.max_stored_per_hit_key = max(t.max_stored_per_hit_key, k.max_stored_per_hit_key)
    order = [("github", k.name) for k in GITHUB_KINDS] + [("jira", k.name) for k in JIRA_KINDS]
    for family, name in order:
        k = totals.get((family, name)) or KindFigures()
        if (family, name) not in totals:
            continue
        lines.append(
            f"| {family} | {name} | {k.fired} | {k.on_creates} | {k.on_edits} | {k.on_reads} "
            f"| {k.max_sends_per_hit_key} | {k.max_stored_per_hit_key} |"
        )
    lines += [
        "",
        "| run | seed | items | faults fired | create requests | stored per key (max) | duplicates | missing | stale after edits | runs to converge (import / edits) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.backend} | {r.seed} | {TOTAL} | {r.fired} | {r.create_requests} "
            f"| {r.max_stored_per_key} | {r.duplicates} | {r.missing} | {r.stale} "
            f"| {r.runs_first} / {r.runs_edits} |"
        )
    fired = sum(r.fired for r in runs)
    lines += ["", f"{fired} faults fired in {len(runs)} runs of {TOTAL} items."]
    return "\n".join(lines)
