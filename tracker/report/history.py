"""The true history of postmortems and their action items, from one `git log` per run.

`tracker.gitlog.read_history` runs a single `git log -p` over the folders that hold the
postmortems (the first-parent line of the branch checked out, which is the default branch where
the weekly report runs); `parse_log` here keeps, per file, the lines each commit added (pure).
`GitHistory.item` then answers, for an item's text: the commit that added it, the first commit
that marked it done, and the last commit that changed it (a human edit: ticket links the tool
writes back do not count).

Commits at the edge of a shallow clone ("grafted") are history that is missing: what they add
is not known to have been added then, so callers fall back to the postmortem date.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_RS, _US = "\x1e", "\x1f"
LOG_FORMAT = f"{_RS}%H{_US}%cI{_US}%an{_US}%D"
_NEEDLE_CHARS = 60  # an item's text is matched by its first normalised characters
_MARKUP = re.compile(r"[*_~`\\]+")
_SPACE = re.compile(r"\s+")
# Ticket references the tool writes back: "(tracked: #412)", "#412", "OPS-17", "local:17".
_REFS = re.compile(r"\(tracked:[^)]*\)|(?<![\w/])#\d+\b|\b[A-Z][A-Z0-9]{1,9}-\d+\b|\blocal:\d+\b")
_CHECKED = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\[[xX✓✔]\]")
_DONE_WORD = re.compile(
    r"^(?:done|closed|complete[d]?|fixed|resolved|shipped|finished|merged|implemented|✅|✔️?)"
    r"(?:\b|\s|$)",
    re.IGNORECASE,
)
# "**DONE**", "[done]", "(fixed)", "✅" anywhere on the line
_MARKED_DONE = re.compile(
    r"(?:\*\*|__)\s*(?:done|closed|complete[d]?|fixed|resolved|shipped)\s*(?:\*\*|__)"
    r"|[\[(]\s*(?:done|closed|complete[d]?|fixed|resolved|shipped)\s*[\])]|✅",
    re.IGNORECASE,
)
_STATUS_LABEL = re.compile(
    r"\bstatus\s*[:=]\s*\**\s*(done|closed|complete[d]?|fixed|resolved|shipped|finished)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Commit:
    sha: str
    when: dt.datetime  # committer date: when it landed on the branch
    author: str
    grafted: bool = False  # the edge of a shallow clone: older history is missing


@dataclass(frozen=True)
class Change:
    commit: Commit
    added: tuple[str, ...]  # the lines this commit added to the file


@dataclass(frozen=True)
class ItemHistory:
    added: Commit | None = None  # None: not found, or only in a grafted commit
    done: Commit | None = None  # the first commit where the item's line reads as done
    edited: Commit | None = None  # the last commit that changed the item (by a person)


def normalise(text: str) -> str:
    """Text compared across versions: markup, ticket links, case and spacing ignored."""
    if "#" in text or "-" in text or "local:" in text or "(tracked" in text:
        text = _REFS.sub(" ", text)
    return _SPACE.sub(" ", _MARKUP.sub("", text)).strip().casefold()


def line_is_done(line: str) -> bool:
    """A postmortem line that marks its item done: `[x]`, a done status cell, `Status: done`,
    or struck through."""
    if _CHECKED.match(line) or _STATUS_LABEL.search(line) or _MARKED_DONE.search(line):
        return True
    stripped = line.strip()
    if stripped.startswith("|"):
        cells = [c.strip().strip("*_ ") for c in stripped.strip("|").split("|")]
        return any(_DONE_WORD.match(c) and len(c) <= 24 for c in cells)
    return bool(re.search(r"~~\S[^~]*~~", stripped))


@dataclass(frozen=True)
class _Scan:
    """One change of a file, normalised once: the added lines joined, and where each starts."""

    commit: Commit
    lines: tuple[str, ...]
    norms: tuple[str, ...]  # `lines`, normalised
    dones: tuple[bool, ...]  # `lines` that mark their item done
    blob: str
    starts: tuple[int, ...]

    def find(self, needle: str, length: int) -> range:
        """Indexes of the added lines the item spans (an item may wrap over several lines)."""
        pos = self.blob.find(needle)
        if pos < 0:
            return range(0)
        first = bisect.bisect_right(self.starts, pos) - 1
        last = bisect.bisect_right(self.starts, pos + max(length, len(needle)) - 1) - 1
        return range(first, last + 1)


def _scan(change: Change) -> _Scan:
    starts: list[int] = []
    parts: list[str] = []
    at = 0
    for line in change.added:
        starts.append(at)
        norm = normalise(line)
        parts.append(norm)
        at += len(norm) + 1
    dones = tuple(line_is_done(line) for line in change.added)
    return _Scan(change.commit, change.added, tuple(parts), dones, " ".join(parts), tuple(starts))


@dataclass(frozen=True)
class GitHistory:
    """Per file (repository-relative posix path, as the postmortem's `path`), oldest first."""

    files: Mapping[str, tuple[Change, ...]] = field(default_factory=dict)
    _scans: dict[str, list[_Scan]] = field(default_factory=dict, compare=False, repr=False)

    def published(self, path: str) -> Commit | None:
        """The commit that first put `path` on the branch (None: unknown or history missing)."""
        changes = self.files.get(path)
        if not changes or changes[0].commit.grafted:
            return None
        return changes[0].commit

    def _scanned(self, path: str) -> list[_Scan]:
        scans = self._scans.get(path)
        if scans is None:
            scans = self._scans[path] = [_scan(c) for c in self.files.get(path, ())]
        return scans

    def item(self, path: str, text: str) -> ItemHistory:
        full = normalise(text)
        needle = full[:_NEEDLE_CHARS]
        if not needle:
            return ItemHistory()
        added: Commit | None = None
        done: Commit | None = None
        edited: Commit | None = None
        seen = False
        last_sig: str | None = None
        for scan in self._scanned(path):
            span = scan.find(needle, len(full))
            if not span:
                continue
            commit = scan.commit
            if not seen:
                seen = True
                added = None if commit.grafted else commit
            if done is None and any(scan.dones[n] for n in span):
                done = None if commit.grafted else commit
            sig = "\n".join(scan.norms[n] for n in span)
            if sig != last_sig:
                edited = None if commit.grafted else commit
                last_sig = sig
        return ItemHistory(added, done, edited)


def parse_log(output: str) -> GitHistory:
    """Read `git log -p --unified=0 --format=<LOG_FORMAT>` output (newest commit first)."""
    per_file: dict[str, list[Change]] = {}
    for record in output.split(_RS):
        if not record.strip():
            continue
        head, _, body = record.partition("\n")
        parts = head.split(_US)
        if len(parts) < 4:
            continue
        sha, when, author, refs = parts[0], parts[1], parts[2], parts[3]
        try:
            moment = dt.datetime.fromisoformat(when.strip())
        except ValueError:
            continue
        grafted = "grafted" in (r.strip() for r in refs.split(","))
        commit = Commit(sha, moment, author, grafted)
        path: str | None = None
        added: dict[str, list[str]] = {}
        for line in body.split("\n"):
            if line.startswith("+++ "):
                target = line[4:].strip()
                path = target[2:] if target.startswith("b/") else None
                if path is not None:
                    added.setdefault(path, [])
            elif line.startswith("diff --git "):
                path = None
            elif path is not None and line.startswith("+"):
                added[path].append(line[1:])
        for name, lines in added.items():
            per_file.setdefault(name, []).append(Change(commit, tuple(lines)))
    return GitHistory({p: tuple(reversed(c)) for p, c in per_file.items()})
