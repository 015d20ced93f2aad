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
        ConfigError: git is missing, `root` is not in a repository, a commit is unknown, or a
            ref starts with '-' (git would read it as an option, e.g. `--output=FILE`).
    """
    for ref in (base, head):
        if not ref.strip() or ref.startswith("-"):
            raise ConfigError(
                f"--changed-since {ref!r}: not a commit or branch name (a ref cannot start "
                "with '-' or be empty); pass a commit SHA or a branch such as origin/main"
            )
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
        "--end-of-options",  # git >= 2.24: nothing after this is an option, whatever it says
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


def head_commit(root: Path) -> str | None:
    """The commit checked out at `root` (40 hex digits), or None outside a repository."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            cwd=root,
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
        )
    except (FileNotFoundError, NotADirectoryError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and len(sha) == 40 else None


def default_branch(root: Path) -> str | None:
    """The repository's default branch: the remote's HEAD (origin/HEAD), else the branch checked
    out (also before the first commit), else None (not a repository, or git is missing)."""
    for cmd in (
        ["git", "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"],
        ["git", "symbolic-ref", "--quiet", "--short", "HEAD"],
    ):
        try:
            done = subprocess.run(
                cmd, cwd=root, capture_output=True, text=True, encoding="utf-8", check=False
            )
        except (FileNotFoundError, NotADirectoryError):
            return None
        name = done.stdout.strip()
        if done.returncode == 0 and name:
            return name.removeprefix("origin/")
    return None
