"""Never silent: the places of a document that look like follow-up work but yielded no item.

An item the tool misses silently is worse than no tool: the team believes it is tracked. These
checks run on the cheap line scan (no tokenising) and turn each such place into a PM014 warning
naming the line and the fix, and, for `tracker parse --explain`, into steps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.model import Problem
from tracker.parse import values as v
from tracker.parse.markdown import Outline
from tracker.parse.sections import Decision, Region, heading_words

_TOP_ITEM_RE = re.compile(r"^ {0,3}(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX*]?\]\s*)?(?P<t>\S.*)$")
_MODAL_RE = re.compile(
    r"\b(?:will|should|must|need(?:s)? to|to be|plan(?:s)? to|going to|TODO)\b", re.IGNORECASE
)
_SUBJECT_TO_RE = re.compile(r"^(?:@?[A-Z][\w.-]*(?:\s+(?:and|&|\+)\s+@?[A-Z][\w.-]*)*)\s+to\s+\w")


@dataclass(frozen=True)
class Place:
    """A place that looks like follow-up work but gave no item."""

    line: int  # 0-based
    end: int
    message: str


def looks_like_work(text: str) -> bool:
    """An imperative ("Add alerting"), a commitment ("X will ..."), or "Name to ..."."""
    t = v.visible_text(text).strip()
    if not t:
        return False
    first = re.sub(r"^[\W_]+", "", t).split(" ", 1)[0].casefold()
    return first in v.IMPERATIVE_VERBS or bool(_MODAL_RE.search(t) or _SUBJECT_TO_RE.match(t))


def _list_texts(outline: Outline, start: int, end: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for i in range(start, end):
        if outline.in_code[i]:
            continue
        m = _TOP_ITEM_RE.match(outline.lines[i])
        if m:
            out.append((i, m.group("t")))
    return out


def _worklike(texts: Sequence[tuple[int, str]]) -> bool:
    if not texts:
        return False
    hits = sum(1 for _, t in texts if looks_like_work(t))
    return hits * 2 >= len(texts)


def unread_places(
    outline: Outline,
    regions: Sequence[Region],
    decisions: Sequence[tuple[int, str, Decision]],
    item_lines: Sequence[int],
) -> list[Place]:
    """Headings that scored near the threshold over a list of work, work lists after a colon
    outside any section, and action sections that gave no item."""
    covered = bytearray(len(outline.lines))
    for r in regions:
        covered[r.start : r.end] = b"\x01" * (r.end - r.start)
    no_items = not item_lines
    places: list[Place] = []
    index = {h.line: k for k, h in enumerate(outline.headings)}
    for line, text, d in decisions:
        if d.accepted or d.rule == "veto" or line not in index or covered[line]:
            continue
        near = d.score >= 1 or any(not t.startswith("-") for t in d.terms)
        if not (near or no_items):
            continue
        k = index[line]
        # the heading's own text, up to its first subheading (those are decided on their own)
        end = outline.headings[k + 1].line if k + 1 < len(outline.headings) else len(outline.lines)
        texts = [(i, t) for i, t in _list_texts(outline, line + 1, end) if not covered[i]]
        if _worklike(texts):
            places.append(
                Place(
                    line,
                    end,
                    f"heading '{heading_words(text)}' is not read as an action-item section "
                    f"({d.explain()}), but the list under it looks like follow-up work: rename "
                    "the heading (for example 'Action items') or add it to sections.patterns "
                    "in .tracker.yml",
                )
            )
    if no_items:
        places.extend(_colon_lists(outline, covered))
    return places


def _colon_lists(outline: Outline, covered: bytearray) -> list[Place]:
    """A sentence ending with ':' followed by a list of work, outside any section."""
    out: list[Place] = []
    lines = outline.lines
    for i in range(outline.body_start, len(lines) - 1):
        line = lines[i]
        if covered[i] or outline.in_code[i] or not line.rstrip().rstrip("*_ ").endswith(":"):
            continue
        if _TOP_ITEM_RE.match(line) or line.lstrip().startswith("#"):
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        k = j
        while k < len(lines) and lines[k].strip():
            k += 1
        texts = _list_texts(outline, j, k)
        if texts and texts[0][0] == j and _worklike(texts) and not covered[j]:
            out.append(
                Place(
                    i,
                    k,
                    "the list after this sentence looks like follow-up work but is outside any "
                    "action-item section: put it under a heading such as '## Action items' (or "
                    "add the section's name to sections.patterns in .tracker.yml)",
                )
            )
    return out


def empty_section(outline: Outline, region: Region) -> Place | None:
    """An action-item section with content that gave no item."""
    content = [
        i
        for i in range(region.start, region.end)
        if outline.lines[i].strip() and not outline.in_code[i]
    ]
    heading_only = all(outline.lines[i].lstrip().startswith("#") for i in content)
    if not content or heading_only:
        return None
    text = " ".join(v.visible_text(outline.lines[i]) for i in content[:3]).strip()
    if re.fullmatch(r"(?:tba|tbd|tbc|n/?a|none|nothing(?: yet)?|-)\.?", text, re.IGNORECASE):
        return None
    line = region.label_line if region.label_line is not None else max(region.start - 1, 0)
    return Place(
        line,
        region.end,
        f"section '{region.title}' is an action-item section but no item was read from it: "
        "write each item as a list entry ('- Fix X (@owner, due 2026-01-31)') or a table row",
    )


def as_problems(places: Sequence[Place]) -> list[Problem]:
    return [Problem("PM014", "warning", p.message, p.line + 1) for p in places]
