"""The files a pull request or a push changes, from git (Actions payloads do not list them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tracker.errors import ConfigError

_FETCH_HINT = (
    "the runner's clone needs that commit: use actions/checkout with `fetch-depth: 0`, "
    "or drop --changed-since (changed-only: false in the action) to check every postmortem"
)


def changed_files(root: Path, base: str, head: str = "HEAD") -> list[str]:
    """Files added, copied, modified or renamed on `head` since it left `base` (`base...head`).

    Paths are relative to `root`, with `/`, limited to files below it. The three-dot form
    compares with the merge base, as GitHub's pull request diff does; for a push, `before` is
    an ancestor of `after`, so it is the same as `before..after`.

    Raises:
        ConfigError: git is missing, `root` is not in a repository, or a commit is unknown.
    """
    cmd = [
        "git",
        "-c",
        "core.quotepath=off",
        "diff",
        "--name-only",
        "-z",
        "--find-renames",
        "--diff-filter=ACMR",
        "--relative",
        f"{base}...{head}",
        "--",
    ]
    try:
        done = subprocess.run(
            cmd, cwd=root, capture_output=True, text=True, encoding="utf-8", check=False
        )
    except FileNotFoundError:
        raise ConfigError(
            "git is not installed: it is needed to list the changed postmortems "
            f"(--changed-since {base})"
        ) from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["git diff failed"])[0]
        raise ConfigError(f"cannot list the files changed since {base}: {why}; {_FETCH_HINT}")
    return sorted(name for name in done.stdout.split("\0") if name)
