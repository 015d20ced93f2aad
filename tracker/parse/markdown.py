"""Cheap line-level scan of a document, and markdown-it-py tokens for the parts that need them.

The whole document is scanned line by line once (headings, code fences, front matter); only the
regions that can hold action items are handed to markdown-it-py, which keeps parsing well below the
cost of tokenising every file in full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tracker.model import Problem

_ATX_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_LIST_START_RE = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])(?:\s|$)")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # raw inline Markdown of the heading
    line: int  # 0-based line index


@dataclass
class Outline:
    lines: list[str]  # the document's lines, line endings removed
    headings: list[Heading] = field(default_factory=list)
    in_code: list[bool] = field(default_factory=list)
    body_start: int = 0  # first line after front matter
    front_matter: str | None = None
    front_matter_end: int = 0
    heading_lines: list[int] = field(default_factory=list)  # sorted, for binary search


def split_front_matter(lines: list[str]) -> tuple[str | None, int]:
    """YAML front matter between a first-line `---` and the next `---` or `...`."""
    if not lines or lines[0].rstrip() != "---":
        return None, 0
    for i in range(1, min(len(lines), 500)):
        if lines[i].rstrip() in ("---", "..."):
            return "\n".join(lines[1:i]), i + 1
    return None, 0


# libyaml's parser builds the same values (the constructor is the same Python SafeConstructor) at
# a sixth of the cost; pure Python where PyYAML was built without it.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_front_matter(text: str) -> Any:
    """`yaml.safe_load(text)`, with libyaml when present.

    Raises:
        yaml.YAMLError, ValueError: as `yaml.safe_load` raises them; errors always come from the
            pure-Python loader, so their messages and line marks do not depend on libyaml.
    """
    try:
        return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - a SafeLoader
    except Exception:  # re-raised below, in the pure loader's exact wording
        if _FAST_LOADER is yaml.SafeLoader:
            raise
    return yaml.safe_load(text)


def scan(lines: list[str]) -> Outline:
    """One pass over the lines: code fences, ATX and setext headings, front matter."""
    fm, start = split_front_matter(lines)
    outline = Outline(lines=lines, body_start=start, front_matter=fm, front_matter_end=start)
    in_code = [False] * len(lines)
    for i in range(start):
        in_code[i] = True
    fence: str | None = None
    comment = False
    prev_text = False  # previous line is paragraph text (a setext underline may follow)
    for i in range(start, len(lines)):
        line = lines[i]
        if fence is not None:
            in_code[i] = True
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            prev_text = False
            continue
        if not line.strip():
            prev_text = False
            continue
        if comment:
            in_code[i] = True
            if "-->" in line:
                comment = False
            continue
        stripped = line.lstrip(" ")
        if stripped.startswith("<!--") and len(line) - len(stripped) <= 3:
            # an HTML comment block (a template's instructions): never content
            in_code[i] = True
            comment = "-->" not in stripped[4:]
            prev_text = False
            continue
        if line.lstrip(" ").startswith(("`", "~")):
            m = _FENCE_RE.match(line)
            if m:
                fence = m.group(1)
                in_code[i] = True
                prev_text = False
                continue
        if line.startswith(("    ", "\t")) and not prev_text:
            # indented code, or a nested list line: never a heading
            continue
        if "#" in line[:4]:
            m = _ATX_RE.match(line)
            if m:
                outline.headings.append(Heading(len(m.group(1)), (m.group(2) or "").strip(), i))
                prev_text = False
                continue
        if prev_text and (line.lstrip().startswith("=") or line.lstrip().startswith("-")):
            m = _SETEXT_RE.match(line)
            if m and i > 0 and "|" not in lines[i - 1]:
                level = 1 if m.group(1)[0] == "=" else 2
                outline.headings.append(Heading(level, lines[i - 1].strip(), i - 1))
                prev_text = False
                continue
        prev_text = not _LIST_START_RE.match(line) and "|" not in line
    outline.in_code = in_code
    outline.heading_lines = [h.line for h in outline.headings]
    return outline


# markdown-it-py stops reading at `maxNesting` open blocks and silently drops the rest of the text
# (commonmark preset: 20, i.e. a list nested 10 deep; each list level opens a list and an item).
# 200 reads 100 list levels or 200 quote levels, well within Python's recursion limit; past that
# the drop is reported (`nesting_problems`).
MAX_NESTING = 200
_CONTAINERS = frozenset({"list_item_open", "blockquote_open"})


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    # CommonMark without raw HTML blocks (they would swallow following lines); tables are read by
    # our own line-based reader so irregular delimiter rows and code-span pipes work.
    # Only block structure is needed (list items, paragraphs, headings with their source lines);
    # item text is read from each inline token's raw `content` by our own rules. Skipping the
    # inline pass saves most of the time and its worst cases ("[[[[..." is quadratic there).
    options = {"html": False, "maxNesting": MAX_NESTING}
    return MarkdownIt("commonmark", options).disable("inline")


def tokenize(text: str) -> list[Token]:
    return _md().parse(text)


def nesting_problems(tokens: list[Token], offset: int) -> list[Problem]:
    """A problem at the line where markdown-it stopped reading nested blocks, if it did.

    A list item or quote opened at the limit gets no content: that line and everything after it
    in the same list or quote (often the rest of the region) are missing from `tokens`.
    """
    cut = next(
        (
            t.map[0]
            for t in tokens
            if t.type in _CONTAINERS and t.level >= MAX_NESTING - 1 and t.map is not None
        ),
        None,
    )
    if cut is None:
        return []
    line = offset + cut + 1
    return [
        Problem(
            "PM022",
            "error",
            f"lists or quotes nest too deeply here (at most {MAX_NESTING} nested blocks, about "
            f"{MAX_NESTING // 2 - 1} list levels): reading stopped at line {line}, so no action "
            "item from there to the end of this list or quote was read; flatten the nesting",
            line,
        )
    ]
