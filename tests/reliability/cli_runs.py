"""`tracker sync` as a child process: environment, start, and a kill at a seeded point of its run."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracker.parse import parse_postmortem

TRACKED_RE = re.compile(rb" \(tracked: ([^()\s]+)\)")
_PROGRESS_RE = re.compile(r"applying (\d+)/(\d+)")


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment without GitHub Actions or tracker variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "TRACKER_"))}
    env.update(extra)
    return env


def sync_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tracker", "sync", "--as-of", "2026-03-01", *args]


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sync_cmd(*args), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@dataclass(frozen=True)
class Kill:
    """Where a run is killed: after `after_progress` tenths of the applying phase (0: not
    waiting for progress), then `delay_s` more."""

    after_progress: int
    delay_s: float

    @classmethod
    def draw(cls, rng: random.Random, max_delay_s: float, max_extra_s: float = 0.05) -> Kill:
        if rng.random() < 0.3:  # by time alone: start-up, listing, planning, early writes
            return cls(0, rng.uniform(0.05, max_delay_s))
        # a seeded tenth of the writes (10: all written, the write-back under way)
        return cls(rng.randint(1, 10), rng.uniform(0.0, max_extra_s))


@dataclass(frozen=True)
class Killed:
    """What happened to one run that was to be killed."""

    kill: Kill
    killed: bool  # False: the run finished before its kill point
    returncode: int
    progress: int  # tenths of the applying phase seen before the kill
    stderr: str


def run_and_kill(
    cwd: Path,
    env: dict[str, str],
    kill: Kill,
    *,
    limit_s: float = 30.0,
    on_start: Callable[[int], None] | None = None,
) -> Killed:
    """Start `tracker sync`, SIGKILL it at `kill` (a progress line, then a delay).

    `on_start` gets the child's pid (a fake server may kill it itself, mid-request).
    """
    proc = subprocess.Popen(
        sync_cmd(),
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    if on_start is not None:
        on_start(proc.pid)
    lines: list[str] = []
    reached = threading.Event()
    seen = [0]

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            m = _PROGRESS_RE.search(line)
            if m:
                done, total = int(m.group(1)), int(m.group(2))
                seen[0] = 10 * done // max(total, 1)
                if kill.after_progress and seen[0] >= kill.after_progress:
                    reached.set()
        reached.set()  # end of output: the process is finishing

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.monotonic()
    if kill.after_progress:
        reached.wait(limit_s)
    killed = False
    try:
        proc.wait(timeout=kill.delay_s)  # the only real waiting: the child is running
    except subprocess.TimeoutExpired:
        proc.kill()  # SIGKILL: no cleanup handler, no atexit, no flush
        killed = True
    rc = proc.wait(timeout=max(1.0, limit_s - (time.monotonic() - started)))
    killed = killed or rc == -signal.SIGKILL
    reader.join(timeout=5)
    return Killed(kill, killed, rc, seen[0], "".join(lines))


def strip_refs(data: bytes) -> tuple[bytes, list[bytes]]:
    """The bytes without ` (tracked: REF)` tags, and the refs removed."""
    refs = [m.group(1) for m in TRACKED_RE.finditer(data)]
    return TRACKED_RE.sub(b"", data), refs


def check_files(
    originals: dict[Path, bytes], rel_of: dict[Path, str], key_of_ref: dict[str, str | None]
) -> int:
    """Every file is its original bytes plus whole ` (tracked: REF)` tags naming the item's own
    ticket, and parses with the same keys; returns the number of refs found."""
    refs_found = 0
    for path, original in originals.items():
        data = path.read_bytes()
        bare, refs = strip_refs(data)
        assert bare == original, f"{path} is neither the original nor the original plus refs"
        before = parse_postmortem(original, rel_of[path])
        after = parse_postmortem(data, rel_of[path])
        assert [i.key for i in after.items] == [i.key for i in before.items], path
        for item in after.items:
            for ref in item.tickets:
                assert key_of_ref.get(ref) == item.key, (path, item.key, ref)
        refs_found += len(refs)
    return refs_found


def leftovers(root: Path, names: Sequence[str]) -> list[Path]:
    """Temporary files an interrupted atomic write left beside the postmortems."""
    return [p for p in root.rglob(".*.tmp") if any(p.name.startswith(f".{n}.") for n in names)]
