"""Which vanished postmortems git says were removed: one `git log` a run, through a subprocess.

A postmortem missing from a run is "removed" only when its file is gone from git (the newest
commit touching the path deleted it). A file that is still on disk but no longer matched by
`paths:` / `exclude:`, or deleted here but not in git, or never committed, is not removed:
its tickets are left as they are and the run says so.
"""

from __future__ import annotations

import subprocess
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tracker.model import Ticket

GIT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Removal:
    """The commit that deleted a postmortem file."""

    path: str
    commit: str  # full hash
    subject: str = ""

    @property
    def short(self) -> str:
        return self.commit[:12]


@dataclass(frozen=True)
class Vanished:
    """Postmortems that tickets point at and this run did not see, sorted out."""

    removed: dict[str, Removal] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)  # path -> why its tickets stay as they are

    def notices(self, counts: dict[str, int]) -> list[str]:
        """One line per postmortem left alone, with its ticket count."""
        out = []
        for path, why in sorted(self.kept.items()):
            n = counts.get(path, 0)
            out.append(f"{path}: {n} ticket{'s' if n != 1 else ''} left as they are: {why}")
        return out


def missing_paths(
    tickets: Sequence[Ticket], covered_paths: Collection[str], covered_ids: Collection[str]
) -> dict[str, int]:
    """Marker paths of tickets whose postmortem the run did not see -> their ticket count."""
    out: dict[str, int] = {}
    for t in tickets:
        m = t.marker
        if m is None or m.path in covered_paths or m.key.rsplit("/", 1)[0] in covered_ids:
            continue
        out[m.path] = out.get(m.path, 0) + 1
    return out


def _git_log(root: Path, paths: Sequence[str]) -> str | None:
    """`git log` of the paths, newest first, with each commit's status per path."""
    cmd = [
        "git",
        "-c",
        "core.quotepath=off",
        "log",
        "--no-renames",  # a rename is a deletion of the old path here
        "--relative",  # names relative to `root`, as the markers write them
        "--name-status",
        "--format=%x00%H%x00%s",
        "HEAD",
        "--",
        *paths,
    ]
    try:
        done = subprocess.run(
            cmd, cwd=root, capture_output=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


def _newest_status(log: str) -> dict[str, tuple[str, str, str]]:
    """path -> (status letter, commit, subject) of the newest commit touching it."""
    out: dict[str, tuple[str, str, str]] = {}
    commit = subject = ""
    for line in log.splitlines():
        if line.startswith("\x00"):
            _, commit, subject = ([*line.split("\x00", 2), "", ""])[:3]
            continue
        status, _, path = line.partition("\t")
        if path and path not in out:
            out[path] = (status[:1], commit, subject)
    return out


def sort_out(root: Path | None, missing: Collection[str], *, full_run: bool) -> Vanished:
    """Removed postmortems (gone from git) and those left alone, with the reason.

    `full_run`: the run covers every configured postmortem, so a file still on disk was
    excluded by the configuration (said); on a run of named files it is simply not covered.
    """
    if root is None or not missing:
        return Vanished()
    kept: dict[str, str] = {}
    ask: list[str] = []
    for path in sorted(missing):
        if (root / path).exists():
            if full_run:
                kept[path] = (
                    "the file is there but `paths:` / `exclude:` no longer select it "
                    "(a changed glob is not a removal)"
                )
            continue
        ask.append(path)
    if not ask:
        return Vanished({}, kept)
    log = _git_log(root, ask)
    if log is None:
        for path in ask:
            kept[path] = "the file is missing and git could not say whether it was removed"
        return Vanished({}, kept)
    newest = _newest_status(log)
    removed: dict[str, Removal] = {}
    for path in ask:
        status, commit, subject = newest.get(path, ("", "", ""))
        if status == "D" and commit:
            removed[path] = Removal(path, commit, subject)
        elif status:
            kept[path] = "the file is missing here but still in git (deleted and not committed?)"
        else:
            kept[path] = "the file is missing and git never had it"
    return Vanished(removed, kept)
