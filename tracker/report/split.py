"""Cut a long Markdown report into parts that fit GitHub's issue and comment body limit."""

from __future__ import annotations

import re
from dataclasses import dataclass

GITHUB_BODY_LIMIT = 65536  # characters, for issue bodies and comments alike

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_DELIMITER = re.compile(r" {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*")
_HEADING = re.compile(r" {0,3}#{1,6}(\s|$)")


@dataclass(frozen=True)
class _Unit:
    """Lines never cut apart: one line, one fenced block, or a table row (the first with the
    table's header, the others carrying the header to repeat when a part starts with them)."""

    text: str
    header: str | None = None
    heading: bool = False
    blank: bool = False


def _units(body: str) -> list[_Unit]:
    lines = body.splitlines(keepends=True)
    units: list[_Unit] = []
    heading: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            mark = fence.group(1)
            j = i + 1
            while j < len(lines) and not re.match(
                rf" {{0,3}}{re.escape(mark[0])}{{{len(mark)},}}\s*$", lines[j]
            ):
                j += 1
            units.append(_Unit("".join(lines[i : j + 1])))
            i = j + 1
            continue
        if (
            line.lstrip().startswith("|")
            and i + 1 < len(lines)
            and _DELIMITER.fullmatch(lines[i + 1].rstrip("\r\n"))
        ):
            header = line + lines[i + 1]
            j = i + 2
            rows: list[str] = []
            while j < len(lines) and lines[j].strip():
                rows.append(lines[j])
                j += 1
            context = f"{heading.rstrip()} (continued)\n\n" if heading else ""
            units.append(_Unit(header + (rows[0] if rows else "")))
            units.extend(_Unit(r, header=context + header) for r in rows[1:])
            i = j
            continue
        is_heading = bool(_HEADING.match(line))
        if is_heading:
            heading = line
        units.append(_Unit(line, heading=is_heading, blank=not line.strip()))
        i += 1
    return units


def _hard_cut(text: str, limit: int) -> list[str]:
    """Last resort for one unit longer than the limit: cut at line ends, else anywhere."""
    pieces: list[str] = []
    cur = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if cur:
                pieces.append(cur)
                cur = ""
            pieces.append(line[:limit])
            line = line[limit:]
        if len(cur) + len(line) > limit:
            pieces.append(cur)
            cur = ""
        cur += line
    if cur:
        pieces.append(cur)
    return pieces


def split_markdown(body: str, limit: int = GITHUB_BODY_LIMIT) -> list[str]:
    """`body` in parts of at most `limit` characters, cut between lines and never inside a table
    row or a fenced (mermaid) block; a table continued in the next part repeats its header,
    under its section heading marked "(continued)". Headings stay with what follows them.
    The first part is the issue body, the others its comments.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    if len(body) <= limit:
        return [body]
    parts: list[str] = []
    cur: list[_Unit] = []
    size = 0

    def flush() -> None:
        nonlocal size
        text = "".join(u.text for u in cur)
        if text.strip():
            parts.append(text)
        cur.clear()
        size = 0

    for unit in _units(body):
        if size + len(unit.text) <= limit:
            cur.append(unit)
            size += len(unit.text)
            continue
        # Headings at the end of a part (and the blank lines among them) move on with what
        # they introduce, unless nothing else would be left.
        keep = len(cur)
        while keep and (cur[keep - 1].heading or cur[keep - 1].blank):
            keep -= 1
        while keep < len(cur) and cur[keep].blank:
            keep += 1
        carry = cur[keep:] if keep else []
        del cur[len(cur) - len(carry) :]
        flush()
        if unit.blank and not carry:
            continue  # the cut itself separates the blocks
        prefix = ""
        if unit.header is not None and not carry:
            header_only = unit.header.split("\n\n", 1)[-1]
            for candidate in (unit.header, header_only):
                if len(candidate) + len(unit.text) <= limit:
                    prefix = candidate
                    break
        head = prefix + "".join(u.text for u in carry)
        if len(head) + len(unit.text) > limit:
            if head:
                parts.extend(_hard_cut(head, limit))
            pieces = _hard_cut(unit.text, limit)
            parts.extend(pieces[:-1])
            cur.append(_Unit(pieces[-1]))
            size = len(pieces[-1])
            continue
        cur.append(_Unit(head + unit.text))
        size = len(head) + len(unit.text)
    flush()
    return parts
