"""Find postmortem files: explicit paths, or the configured globs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from tracker.errors import ConfigError


@lru_cache(maxsize=64)
def _glob_re(pattern: str) -> re.Pattern[str]:
    """A glob with `**` (any number of folders), `*`, `?` and `[...]` as a regex on posix paths."""
    out = ""
    i = 0
    p = pattern.replace("\\", "/").lstrip("./") if pattern.startswith("./") else pattern
    while i < len(p):
        if p.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif p.startswith("**", i):
            out += ".*"
            i += 2
        elif p[i] == "*":
            out += "[^/]*"
            i += 1
        elif p[i] == "?":
            out += "[^/]"
            i += 1
        elif p[i] == "[":
            j = p.find("]", i + 1)
            body = p[i + 1 : j] if j != -1 else ""
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body:  # no closing ']', or '[]' / '[!]': a literal '['
                out += re.escape(p[i])
                i += 1
            else:  # a class: only '-' keeps its meaning inside (ranges)
                inner = "".join(c if c == "-" else re.escape(c) for c in body)
                out += "[" + ("^" if negate else "") + inner + "]"
                i = j + 1
        else:
            out += re.escape(p[i])
            i += 1
    try:
        return re.compile(out + r"\Z")
    except re.error as exc:  # e.g. a reversed range such as [z-a]
        raise ConfigError(f"'{pattern}' is not a valid glob: {exc}") from None


def glob_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be a glob of `paths` / `exclude`, or None if it can."""
    norm = pattern.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in norm.split("/"):
        return (
            f"'{pattern}' reaches outside the repository: use a path relative to the folder "
            "of .tracker.yml, without '..'"
        )
    try:
        _glob_re(pattern)
    except ConfigError as exc:
        return str(exc)
    return None


def matches_any(rel: str, patterns: Sequence[str]) -> bool:
    return any(_glob_re(p).match(rel) for p in patterns)


def check_inside(patterns: Sequence[str], what: str) -> None:
    """Globs must stay inside the repository (no absolute paths, no `..`) and be valid.

    Raises:
        ConfigError: naming `what` and the pattern.
    """
    for p in patterns:
        problem = glob_problem(p)
        if problem:
            raise ConfigError(f"{what}: {problem}")


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def discover(
    args: Sequence[str], root: Path, paths: Sequence[str], exclude: Sequence[str]
) -> list[tuple[Path, str]]:
    """(file on disk, path as shown and recorded) for every postmortem to read, sorted.

    With no arguments the `paths` globs are matched under `root`. A directory argument means
    every `*.md` file below it; a file argument is read as it is. `exclude` applies to both.

    Raises:
        ConfigError: an argument does not exist.
    """
    check_inside(paths, "paths")
    check_inside(exclude, "exclude")
    found: dict[str, Path] = {}
    if not args:
        real_root = root.resolve()
        for f in sorted(root.rglob("*.md")):
            if any(part.startswith(".") for part in f.relative_to(root).parts[:-1]):
                continue
            if not f.resolve().is_relative_to(real_root):
                continue  # a symlink out of the repository: never read, never written back
            rel = _rel(f, root)
            if matches_any(rel, paths) and not matches_any(rel, exclude):
                found[rel] = f
        return sorted(((p, r) for r, p in found.items()), key=lambda t: t[1])
    for arg in args:
        p = Path(arg)
        if not p.is_absolute() and not p.exists():
            p = root / arg if (root / arg).exists() else p
        if not p.exists():
            raise ConfigError(f"{arg}: no such file or directory")
        if p.is_dir():
            for f in sorted(p.rglob("*.md")):
                rel = _rel(f, root)
                if not matches_any(rel, exclude) and not matches_any(f.name, exclude):
                    found[rel] = f
        else:
            found[_rel(p, root)] = p
    return sorted(((p, r) for r, p in found.items()), key=lambda t: t[1])
