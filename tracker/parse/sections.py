"""Which parts of a document hold action items: headings, bold labels and plain label lines."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from tracker.parse.markdown import Outline
from tracker.parse.values import visible_text

DEFAULT_SECTION_PATTERNS: tuple[str, ...] = (
    r"action\s*items?",
    r"action\s*points?",
    r"actions?",
    r"follow[\s-]*ups?",
    r"follow[\s-]*up (?:improvements|actions|items|work|tasks)",
    r"corrective (?:and preventa?t?i?ve )?(?:actions?|measures?)",
    r"preventa?t?i?ve (?:actions?|measures?)",
    r"remediations?(?: (?:items|actions|plan|steps))?",
    r"review actions?",
    r"next steps?",
    r"future (?:improvements?|actions?|work)",
    r"(?:immediate|short[\s-]*term|medium[\s-]*term|long[\s-]*term)"
    r" (?:actions?|improvements?|fixes)",
    r"improvements?",
    r"todos?",
    r"to[\s-]do",
    r"what (?:could|can|should|will) (?:be done|we do) to (?:avoid|prevent)"
    r" (?:this|it|a recurrence)"
    r"(?: (?:in (?:the )?future|happening again|again))?\??",
    r"how (?:do|can|will) we prevent (?:this|it)(?: from happening)?(?: again)?\??",
)

DEFAULT_EXCLUDE_PATTERNS: tuple[str, ...] = (
    r"(?:follow[\s-]*up )?timeline",
    r"lessons?(?: learn(?:ed|t))?",
    r"what went (?:well|wrong|poorly|badly)",
    r"what (?:went|was) (?:difficult|hard)",
    r"where we got lucky",
    r"(?:things that )?went well",
    r"responders?",
    r"notes? to (?:the )?(?:owner|author)s?",
    r"(?:document|postmortem|review) checklist",
    r"(?:root )?causes?",
    r"contributing factors",
    r"impact",
    r"summary",
    r"glossary",
    r"appendix",
    r"references?",
    r"links",
    r"supporting information",
)


@dataclass(frozen=True)
class Region:
    """Lines [start, end) that may hold action items, and the heading or label that opened them."""

    start: int
    end: int
    title: str
    level: int  # heading level, or 7 for a label line
    label_line: int | None = None  # the label line itself, for bullet labels


def _compile(patterns: Sequence[str], whole: bool) -> re.Pattern[str]:
    # Section names must be the whole heading, give or take a parenthesis or a colon:
    # "Action Items (should be achievable...)", "Long-term Improvements (Q4 2025 - Q1 2026)".
    # Exclusions match a prefix: "Timeline of events", "Lessons learned from ...".
    alt = "|".join(f"(?:{p})" for p in patterns)
    tail = r"\s*(?:[(\[:\u2013\u2014-].*)?$" if whole else r"\b"
    return re.compile(rf"^(?:{alt}){tail}", re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...], whole: bool) -> re.Pattern[str]:
    return _compile(patterns, whole)


@lru_cache(maxsize=4096)
def heading_words(text: str) -> str:
    """A heading's text as compared with the patterns: no emphasis, numbering or emoji."""
    t = visible_text(text)
    t = re.sub(r"^[\W\d_]+(?=[A-Za-z])", "", t)  # "3. ", "🛠 ", "1.2 "
    return t.strip().strip(":").strip()


def matches(text: str, patterns: tuple[str, ...], whole: bool = True) -> bool:
    return bool(_compiled(patterns, whole).match(heading_words(text)))


_LABEL_RE = re.compile(
    r"^(?P<indent>\s{0,8})(?P<bullet>(?:[-*+]|\d{1,3}[.)])\s+)?(?P<open>\*\*|__)?\s*"
    r"(?P<text>[^*_|#>\n][^*_|\n]{1,90}?)\s*:?\s*(?P<close>\*\*|__)?\s*:?\s*$"
)
_BOLD_LABEL_RE = re.compile(r"^\s{0,8}(?:[-*+]\s+)?(?:\*\*|__)[^*_\n]{1,80}(?:\*\*|__)\s*:")


def find_regions(
    outline: Outline,
    patterns: tuple[str, ...] = DEFAULT_SECTION_PATTERNS,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE_PATTERNS,
) -> list[Region]:
    """Regions of the document that hold action items, in order, never overlapping."""
    lines = outline.lines
    n = len(lines)
    headings = outline.headings
    regions: list[Region] = []
    covered_until = -1
    for idx, h in enumerate(headings):
        if h.line < covered_until:
            continue
        if not matches(h.text, patterns) or matches(h.text, exclude, whole=False):
            continue
        end = n
        for j in range(idx + 1, len(headings)):  # no slicing: O(1) per heading at one level
            if headings[j].level <= h.level:
                end = headings[j].line
                break
        regions.append(Region(h.line + 1, end, heading_words(h.text), h.level))
        covered_until = end
    # Label lines: "**Action Items:**", "- **Review actions**:", a plain "Action Items" line.
    heading_lines = {h.line for h in headings}
    quick = _label_prefilter(patterns)
    covered = bytearray(n)  # lines already inside a heading region
    for r in regions:
        covered[r.start : r.end] = b"\x01" * (r.end - r.start)
    for i in range(outline.body_start, n):
        if outline.in_code[i] or i in heading_lines or covered[i]:
            continue
        line = lines[i]
        if len(line) > 120 or not quick.match(line):
            continue
        m = _LABEL_RE.match(line)
        if not m:
            continue
        bold = bool(m.group("open") or m.group("close"))
        plain_ok = not m.group("bullet") and not bold
        if not (bold or plain_ok):
            continue
        if plain_ok and i > 0 and lines[i - 1].strip() and not _is_block_end(lines[i - 1]):
            continue  # a line inside a paragraph is not a label
        text = m.group("text")
        if not matches(text, patterns) or matches(text, exclude, whole=False):
            continue
        if plain_ok and len(text.split()) > 8:
            continue
        indent = len(m.group("indent"))
        end = _label_end(outline, i, indent)
        start = i if m.group("bullet") else i + 1
        regions.append(Region(start, end, heading_words(text), 7, label_line=i))
    regions.sort(key=lambda r: r.start)
    return regions


@lru_cache(maxsize=32)
def _label_prefilter(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """A line can be a label only if a section name starts its first word: most lines fail at
    once, before the full label pattern runs."""
    alt = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(rf"^[\W\d_]*(?:{alt})", re.IGNORECASE)


def _is_block_end(prev: str) -> bool:
    return bool(re.match(r"^\s{0,3}#", prev))


def _label_end(outline: Outline, label: int, indent: int) -> int:
    """A label's section runs to the next heading, or the next bold label at its indentation."""
    lines = outline.lines
    idx = bisect.bisect_right(outline.heading_lines, label)
    nxt = outline.heading_lines[idx] if idx < len(outline.heading_lines) else len(lines)
    for j in range(label + 1, nxt):
        if outline.in_code[j]:
            continue
        line = lines[j]
        if not line.strip():
            continue
        lead = len(line) - len(line.lstrip())
        if lead <= indent and _BOLD_LABEL_RE.match(line):
            return j
    return nxt
