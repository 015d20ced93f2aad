"""The history of the postmortem files, from one `git log` per run (tracker.report.history
reads it)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from tracker.errors import TrackerError
from tracker.report.history import LOG_FORMAT, GitHistory, parse_log


class HistoryError(TrackerError):
    """git could not be read."""


def _folders(paths: Iterable[str]) -> list[str]:
    """The distinct folders of `paths`, without those inside another (short command lines)."""
    folders = sorted({str(PurePosixPath(p).parent) for p in paths})
    out: list[str] = []
    for f in folders:
        if f == ".":
            return ["."]
        if not any(f == o or f.startswith(o + "/") for o in out):
            out.append(f)
    return out


def read_history(root: Path, paths: Iterable[str], *, ref: str = "HEAD") -> GitHistory:
    """The history of the postmortem files `paths` (relative to `root`), one `git log` run.

    Returns an empty history when `root` is not inside a git work tree or `git` is missing.

    Raises:
        HistoryError: git ran but failed (a bad `report.history_ref`, a corrupt repository).
    """
    folders = _folders(paths)
    if not folders:
        return GitHistory()
    cmd = [
        "git", "-C", str(root), "-c", "core.quotePath=false", "log", ref, "--first-parent",
        "--diff-merges=first-parent", "--no-renames", "--relative", "-p", "--unified=0",
        "--no-color", "--no-ext-diff", f"--format={LOG_FORMAT}", "--", *folders,
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, check=False)
    except FileNotFoundError:
        return GitHistory()
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        if "not a git repository" in err or "does not have any commits" in err:
            return GitHistory()
        first = err.splitlines()[0] if err else f"exit status {proc.returncode}"
        raise HistoryError(
            f"{root}: cannot read the history of the postmortems with git ({first}): check "
            "report.history_ref in .tracker.yml, or set report.git_history: false"
        )
    return parse_log(proc.stdout.decode("utf-8", "replace"))
