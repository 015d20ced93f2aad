"""Pipe tables read line by line: header synonyms, irregular delimiter rows, escaped pipes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracker.parse.values import visible_text

_DELIM_CELL_RE = re.compile(r"^\s*:?-+:?\s*$")
_DELIM_ROW_RE = re.compile(r"[\s|:-]*")  # the only characters a delimiter row can hold

# header synonyms -> column role
_ROLES: dict[str, tuple[str, ...]] = {
    "item": (
        "item",
        "items",
        "action",
        "actions",
        "action item",
        "action items",
        "task",
        "tasks",
        "description",
        "follow up",
        "follow-up",
        "follow-ups",
        "todo",
        "what",
        "action point",
        "corrective action",
        "remediation",
        "title",
        "summary",
    ),
    "owner": (
        "owner",
        "owners",
        "who",
        "assignee",
        "assignees",
        "dri",
        "responsible",
        "assigned to",
        "assigned",
        "owning team",
        "team",
        "lead",
        "accountable",
        "driver",
    ),
    "due": ("due", "due date", "deadline", "target", "target date", "eta", "by", "when", "due by"),
    "ticket": (
        "ticket",
        "tickets",
        "bug",
        "bug #",
        "bugs",
        "issue",
        "issue #",
        "issues",
        "tracking",
        "link",
        "links",
        "jira",
        "tracker",
        "tracked",
        "pr",
        "reference",
        "ref",
    ),
    "status": ("status", "state", "done", "progress"),
    "priority": ("priority", "prio", "pri", "severity"),
    "type": ("type", "category", "kind"),
    "id": ("id", "#", "no", "no.", "number", "key"),
}
_HEADER_TO_ROLE = {name: role for role, names in _ROLES.items() for name in names}


@dataclass(frozen=True)
class Cell:
    text: str  # raw Markdown of the cell, stripped
    start: int  # offset of the cell's content in the line (for write-back)
    end: int


@dataclass(frozen=True)
class Row:
    line: int  # 0-based line index
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    header_line: int
    roles: dict[str, int]  # role -> column index
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    end_line: int  # 0-based, exclusive
    columns: int

    @property
    def is_action_table(self) -> bool:
        return "item" in self.roles

    @property
    def is_plainly_action_table(self) -> bool:
        """An item column and one that only follow-up work has: owner, status, due or ticket."""
        return "item" in self.roles and any(
            r in self.roles for r in ("owner", "status", "due", "ticket")
        )


def split_row(line: str) -> list[Cell]:
    """Cells of one table line; `\\|` and pipes inside code spans do not split."""
    s = line.rstrip("\r\n")
    if "\\" not in s and "`" not in s:
        return _split_plain(s)
    return _split_escaped(s)


def _split_escaped(s: str) -> list[Cell]:
    """`split_row` character by character: escapes and code spans."""
    cells: list[Cell] = []
    i = 0
    n = len(s)
    # skip leading whitespace and an optional leading pipe
    while i < n and s[i] in " \t":
        i += 1
    lead = i < n and s[i] == "|"
    if lead:
        i += 1
    start = i
    in_code = 0
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            i += 2
            continue
        if c == "`":
            run = 1
            while i + run < n and s[i + run] == "`":
                run += 1
            if in_code == 0:
                # open only if a closing run of the same length follows on this line
                if s.find("`" * run, i + run) != -1:
                    in_code = run
            elif in_code == run:
                in_code = 0
            i += run
            continue
        if c == "|" and in_code == 0:
            cells.append(_cell(s, start, i))
            start = i + 1
        i += 1
    tail = s[start:]
    if tail.strip() or not cells:
        cells.append(_cell(s, start, n))
    return cells


def _split_plain(s: str) -> list[Cell]:
    """`split_row` for a line without escapes or code spans: every pipe splits (no char loop)."""
    pos = len(s) - len(s.lstrip(" \t"))
    if pos < len(s) and s[pos] == "|":
        pos += 1
    parts = s[pos:].split("|")
    cells: list[Cell] = []
    for part in parts[:-1]:
        content = part.strip()
        cs = pos + len(part) - len(part.lstrip())
        cells.append(Cell(content, cs, cs + len(content)))
        pos += len(part) + 1
    tail = parts[-1]
    if tail.strip() or not cells:
        cells.append(_cell(s, pos, len(s)))
    return cells


def _cell(s: str, start: int, end: int) -> Cell:
    raw = s[start:end]
    lstrip = len(raw) - len(raw.lstrip())
    content = raw.strip()
    cs = start + lstrip
    return Cell(content, cs, cs + len(content))


def is_delimiter_row(line: str) -> bool:
    if "-" not in line or not _DELIM_ROW_RE.fullmatch(line):
        return False  # most rows hold text: no need to split them
    cells = split_row(line)
    if not cells:
        return False
    return all(_DELIM_CELL_RE.match(c.text) or not c.text for c in cells) and any(
        c.text for c in cells
    )


def _looks_like_row(line: str) -> bool:
    return "|" in line and bool(line.strip())


def header_role(text: str) -> str | None:
    t = visible_text(text).casefold().strip().rstrip(":").strip()
    t = re.sub(r"\s+", " ", t)
    if t in _HEADER_TO_ROLE:
        return _HEADER_TO_ROLE[t]
    t2 = re.sub(r"[()/]", " ", t)
    first = t2.split()[0] if t2.split() else ""
    if t2.strip() in _HEADER_TO_ROLE:
        return _HEADER_TO_ROLE[t2.strip()]
    if first in ("owner", "owners", "assignee", "owning", "responsible"):
        return "owner"
    if first in ("due", "deadline", "eta"):
        return "due"
    if first in ("action", "item", "task"):
        return "item"
    return None


def read_table(lines: list[str], start: int, stop: int) -> Table | None:
    """A table whose header is `lines[start]` and delimiter row the next line, or None."""
    if start + 1 >= stop or not _looks_like_row(lines[start]):
        return None
    if not is_delimiter_row(lines[start + 1]):
        return None
    header_cells = split_row(lines[start])
    roles: dict[str, int] = {}
    for idx, c in enumerate(header_cells):
        role = header_role(c.text)
        if role and role not in roles:
            roles[role] = idx
    rows: list[Row] = []
    i = start + 2
    while i < stop and _looks_like_row(lines[i]):
        if not is_delimiter_row(lines[i]):
            rows.append(Row(i, tuple(split_row(lines[i]))))
        i += 1
    return Table(
        header_line=start,
        roles=roles,
        header=tuple(c.text for c in header_cells),
        rows=tuple(rows),
        end_line=i,
        columns=len(header_cells),
    )
