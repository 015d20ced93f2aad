"""Parse one postmortem file: metadata, action-item regions, tables, lists and inline markers."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from tracker.model import ActionItem, Postmortem, Problem, Source, Status, TableCell
from tracker.parse import items as it
from tracker.parse import values as v
from tracker.parse.lists import Block, ListNode, blocks
from tracker.parse.markdown import Outline, load_front_matter, nesting_problems, scan, tokenize
from tracker.parse.sections import (
    DEFAULT_EXCLUDE_PATTERNS,
    DEFAULT_SECTION_PATTERNS,
    Region,
    find_regions,
    heading_words,
    matches,
)
from tracker.parse.table import Table, read_table

MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ParseOptions:
    """What the parser needs from the configuration (kept free of the config module)."""

    section_patterns: tuple[str, ...] = DEFAULT_SECTION_PATTERNS
    exclude_patterns: tuple[str, ...] = DEFAULT_EXCLUDE_PATTERNS
    known_owners: frozenset[str] = frozenset()


DEFAULT_OPTIONS = ParseOptions()

_INLINE_RE = re.compile(
    r"^ {0,3}(?:(?P<b1>\*\*|__)\s*)?(?P<m>action[ -]points?|action[ -]items?|todo|done|doing|"
    r"follow[ -]?up)\s*(?P<c1>:)?\s*(?P<b2>\*\*|__)?\s*(?P<c2>:)?\s*(?=\S)",
    re.IGNORECASE,
)
_META_RE = re.compile(
    r"^\s{0,3}(?:[-*+]\s+)?(?:\*\*|__)?(?P<k>date|incident date|severity|sev|status|authors?|"
    r"owners?|title|id)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<v>.*?)\s*$",
    re.IGNORECASE,
)
_BOLD_PSEUDO_RE = re.compile(r"^\s*(?:\*\*|__)(?P<t>[^*_]{2,100}?)(?:\*\*|__)\s*:?\s*$")


def postmortem_id(path: str, front: dict[str, Any]) -> str:
    """Front matter `id:`, else the file stem, else the folder name for README.md layouts."""
    fid = front.get("id")
    if isinstance(fid, (str, int)) and str(fid).strip():
        return str(fid).strip()
    p = PurePosixPath(path.replace("\\", "/"))
    stem = p.stem
    if stem.casefold() in ("readme", "index", "postmortem", "post-mortem") and p.parent.name:
        return p.parent.name
    return stem or "postmortem"


def decode(data: bytes | str) -> tuple[str, list[Problem]]:
    if isinstance(data, str):
        return data.lstrip("\ufeff"), []
    problems: list[Problem] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        line = data[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(
                "PM020",
                "warning",
                "file is not valid UTF-8; undecodable bytes were replaced: save it as UTF-8",
                line,
            )
        )
    return text.lstrip("\ufeff"), problems


@dataclass
class _Doc:
    path: str
    pm_id: str
    lines: list[str]
    outline: Outline
    defs: dict[str, str]
    options: ParseOptions
    problems: list[Problem] = field(default_factory=list)
    items: list[ActionItem] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        f: it.Fields,
        line: int,
        end_line: int,
        source: Source,
        section: str | None,
        ctx_status: Status | None,
        ctx_due_text: str | None,
        explicit_id: str | None = None,
        item_type: str | None = None,
        cells: tuple[TableCell, ...] = (),
    ) -> None:
        status: Status = f.status or ctx_status or "open"
        item_id = explicit_id or _hash_id(f.key_text or f.title, f.own_refs, line)
        key = f"{self.pm_id}/{item_id}"
        if key in self.keys:
            self.keys[key] += 1
            first = next(i.line for i in self.items if i.key == key)
            self.problems.append(
                Problem(
                    "PM012",
                    "warning",
                    f"item repeats the item on line {first}: merge them or reword one "
                    "(each item needs its own text to be tracked)",
                    line,
                )
            )
            key = f"{key}-{self.keys[key]}"
        self.keys.setdefault(key, 1)
        self.problems.extend(f.problems)
        self.items.append(
            ActionItem(
                key=key,
                title=f.title,
                owners=tuple(f.owners),
                due=f.due,
                due_text=f.due_text or (ctx_due_text if f.due is None else None),
                status=status,
                status_text=f.status_text,
                priority=f.priority,
                type=item_type,
                tickets=tuple(f.tickets),
                line=line,
                end_line=end_line,
                source=source,
                section=section,
                checkbox=f.checkbox,
                cells=cells,
            )
        )


def _hash_id(text: str, tickets: list[str], line: int) -> str:
    norm = v.normalise_text(text)
    if not norm:
        norm = " ".join(tickets) or f"line-{line}"
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:8]  # noqa: S324 - an id, not security


def parse_postmortem(
    data: bytes | str, path: str, options: ParseOptions = DEFAULT_OPTIONS
) -> Postmortem:
    """Parse one postmortem. Never raises: anything wrong with the input becomes a Problem."""
    raw = data.encode("utf-8", errors="surrogatepass") if isinstance(data, str) else data
    digest = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_BYTES:
        pm_id = postmortem_id(path, {})
        return Postmortem(
            path=path,
            id=pm_id,
            problems=(
                Problem(
                    "PM021",
                    "error",
                    f"file is {len(raw) // (1024 * 1024)} MB, over the 10 MB limit: skipped "
                    "(split it, or exclude it in .tracker.yml)",
                ),
            ),
            digest=digest,
        )
    try:
        return _parse(raw, path, options, digest)
    except RecursionError:  # pragma: no cover - markdown-it guards nesting; belt and braces
        return Postmortem(
            path=path,
            id=postmortem_id(path, {}),
            problems=(Problem("PM022", "error", "document nests too deeply to parse"),),
            digest=digest,
        )


def _parse(raw: bytes, path: str, options: ParseOptions, digest: str) -> Postmortem:
    text, problems = decode(raw)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    outline = scan(lines)
    front: dict[str, Any] = {}
    if outline.front_matter is not None:
        try:
            loaded = load_front_matter(outline.front_matter)
            if isinstance(loaded, dict):
                front = loaded
        except Exception as exc:  # YAMLError, and ValueError for a date such as 2026-02-30
            mark = getattr(exc, "problem_mark", None)
            problems.append(
                Problem(
                    "PM023",
                    "warning",
                    f"front matter is not valid YAML ({getattr(exc, 'problem', None) or exc}): "
                    "metadata there was ignored",
                    (mark.line + 2) if mark is not None else 1,
                )
            )
    pm_id = postmortem_id(path, front)
    doc = _Doc(path, pm_id, lines, outline, v.reference_definitions(lines), options, problems)
    title, date, severity, status = _metadata(outline, front, problems)
    regions = find_regions(outline, options.section_patterns, options.exclude_patterns)
    for region in regions:
        _parse_region(doc, region)
    _parse_inline(doc, regions)
    doc.items.sort(key=lambda i: i.line)
    return Postmortem(
        path=path,
        id=pm_id,
        title=title,
        date=date,
        severity=severity,
        status=status,
        items=tuple(doc.items),
        problems=tuple(sorted(doc.problems, key=lambda p: (p.line or 0, p.code))),
        has_action_section=bool(regions) or bool(doc.items),
        digest=digest,
    )


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return v.parse_date(value).date
    return None


def _metadata(
    outline: Outline, front: dict[str, Any], problems: list[Problem]
) -> tuple[str | None, dt.date | None, str | None, str | None]:
    title = front.get("title")
    title = str(title).strip() if title else None
    date = _as_date(front.get("date"))
    severity = front.get("severity") or front.get("sev")
    status = front.get("status")
    if title is None:
        for h in outline.headings:
            if h.level == 1:
                title = v.visible_text(h.text) or None
                break
    # Header lines near the top: "- Date: 2026-06-15", "**Severity:** SEV1", "Status: Draft"
    first_h2 = next((h.line for h in outline.headings if h.level >= 2), len(outline.lines))
    limit = min(len(outline.lines), max(first_h2, outline.body_start) + 40)
    for i in range(outline.body_start, limit):
        if outline.in_code[i]:
            continue
        line = outline.lines[i]
        if ":" not in line:
            continue
        m = _META_RE.match(line)
        if not m:
            continue
        key = m.group("k").casefold()
        val = v.visible_text(m.group("v")).strip().strip("*_").strip()
        if not val:
            continue
        if key in ("date", "incident date") and date is None:
            date = v.parse_date(val).date
        elif key in ("severity", "sev") and severity is None:
            severity = val
        elif key == "status" and status is None:
            status = val
        elif key == "title" and title is None:
            title = val
    return (
        title,
        date,
        str(severity).strip() if severity is not None else None,
        str(status).strip() if status is not None else None,
    )


@dataclass
class _Ctx:
    status: Status | None = None
    due_text: str | None = None
    section: str | None = None


def _heading_context(text: str) -> tuple[Status | None, str | None]:
    words = heading_words(text)
    status = v.status_from_heading(words)
    due = None
    paren = re.findall(r"\(([^()]*)\)", v.visible_text(text))
    for p in paren:
        d = v.parse_date(re.sub(r"^(?:target|due|eta|by)\s*:?\s*", "", p, flags=re.I))
        if d.text or d.date:
            due = d.text or (d.date.isoformat() if d.date else None)
            break
    if due is None:
        d = v.parse_date(words)
        if d.text and not d.ambiguous:
            due = d.text
    return status, due


def _parse_region(doc: _Doc, region: Region) -> None:
    lines = doc.lines
    # Tables first, line by line; the rest of the region goes to markdown-it.
    tables: list[Table] = []
    i = region.start
    while i < region.end:
        if "|" in lines[i] and not doc.outline.in_code[i]:
            t = read_table(lines, i, region.end)
            if t is not None:
                tables.append(t)
                i = t.end_line
                continue
        i += 1
    action_tables = [t for t in tables if t.is_action_table]
    masked = list(lines[region.start : region.end])
    for t in tables:
        for j in range(t.header_line, t.end_line):
            masked[j - region.start] = ""
    ctx = _Ctx(section=region.title)
    ctx.status, ctx.due_text = _heading_context(region.title)
    if action_tables:
        _tables(doc, region, action_tables, ctx)
        return  # lists beside an action table explain it; they are not items
    tokens = tokenize("\n".join(masked))
    doc.problems.extend(nesting_problems(tokens, region.start))
    excluded_level: int | None = None
    heading_stack: list[tuple[int, _Ctx]] = []
    for block in blocks(tokens, region.start):
        if block.kind == "heading":
            if excluded_level is not None and block.level > excluded_level:
                continue
            excluded_level = None
            if matches(block.text, doc.options.exclude_patterns, whole=False) and not matches(
                block.text, doc.options.section_patterns
            ):
                excluded_level = block.level
                continue
            while heading_stack and heading_stack[-1][0] >= block.level:
                heading_stack.pop()
            parent = (
                heading_stack[-1][1]
                if heading_stack
                else _Ctx(*_heading_context(region.title), section=region.title)
            )
            st, due = _heading_context(block.text)
            new = _Ctx(st or parent.status, due or parent.due_text, heading_words(block.text))
            heading_stack.append((block.level, new))
            ctx = new
            continue
        if excluded_level is not None:
            continue
        if block.kind == "paragraph":
            m = _BOLD_PSEUDO_RE.match(block.text)
            if m and "\n" not in block.text:
                st, due = _heading_context(m.group("t"))
                base = (
                    heading_stack[-1][1]
                    if heading_stack
                    else _Ctx(*_heading_context(region.title), section=region.title)
                )
                ctx = _Ctx(st or base.status, due or base.due_text, ctx.section)
            continue
        if block.kind == "list":
            for node in block.items:
                _list_item(doc, node, ctx, region)


def _is_label_item(node: ListNode, region: Region, doc: _Doc) -> bool:
    if region.label_line is not None and node.line == region.label_line:
        return True
    m = _BOLD_PSEUDO_RE.match(node.text)
    return m is not None and matches(m.group("t"), doc.options.section_patterns)


def _list_item(doc: _Doc, node: ListNode, ctx: _Ctx, region: Region) -> None:
    if _is_label_item(node, region, doc):
        for child in node.children:
            _list_item(doc, child, ctx, region)
        return
    text = node.text
    if not text.strip() and not node.children:
        return
    bold_head = _BOLD_PSEUDO_RE.match(text)
    bare = it.checkbox(text.strip())[0].strip()  # "- [ ]" with children: no text of its own
    lead_in = node.children and (not bare or text.rstrip().rstrip("*_").endswith(":") or bold_head)
    if lead_in and not v.extract_tickets(text, doc.defs)[1]:
        # "Ensure alerting is in place for:" -> the children are the items
        st, due = _heading_context(text)
        f0 = it.build(text, doc.defs, doc.options.known_owners, line=node.line + 1)
        sub = _Ctx(f0.status or st or ctx.status, due or ctx.due_text, ctx.section)
        for child in node.children:
            _list_item(doc, child, sub, region)
        return
    extra = list(node.rest) + [c.all_text() for c in node.children]
    f = it.build(text, doc.defs, doc.options.known_owners, extra, line=node.line + 1)
    if not f.title and not f.tickets:
        return
    doc.add(f, node.line + 1, node.end, "list", ctx.section, ctx.status, ctx.due_text)


def _tables(doc: _Doc, region: Region, tables: list[Table], ctx: _Ctx) -> None:
    for t in tables:
        roles = t.roles
        for row in t.rows:
            cells = row.cells
            if all(not c.text for c in cells):
                continue
            if len(cells) != t.columns:
                doc.problems.append(
                    Problem(
                        "PM010",
                        "warning",
                        f"table row has {len(cells)} cells, the header has {t.columns}: "
                        "check for a missing or extra '|' (escape a literal pipe as \\|)",
                        row.line + 1,
                        1,
                    )
                )

            def cell(
                role: str, cells: tuple[Any, ...] = cells, roles: dict[str, int] = roles
            ) -> str:
                idx = roles.get(role)
                return cells[idx].text if idx is not None and idx < len(cells) else ""

            item_md = cell("item")
            if not item_md.strip():
                continue
            f = it.build(item_md, doc.defs, doc.options.known_owners, line=row.line + 1)
            if not f.title and not f.tickets:
                continue  # "-", "**" or ":" in the item cell: nothing to track
            owner_cell = cell("owner")
            if owner_cell.strip():
                f.owners = v.split_owners(owner_cell)
            due_cell = cell("due")
            if due_cell.strip():
                d = v.parse_date(v.visible_text(due_cell))
                f.due = d.date
                f.due_text = d.text if d.text else (None if d.date else v.visible_text(due_cell))
                if d.ambiguous:
                    f.problems.append(
                        Problem(
                            "PM005",
                            "warning",
                            f"ambiguous date '{d.text}': write it as YYYY-MM-DD",
                            row.line + 1,
                            (cells[roles["due"]].start + 1),
                        )
                    )
            for role in ("ticket", "status"):
                raw = cell(role)
                if not raw.strip():
                    continue
                # "(tracked: #412)" written back by sync must not move a status off the edge
                tracked = [t.group(1) for t in v._TRACKED_RE.finditer(raw)]
                stripped, st, st_raw = it.status_decorations(v._TRACKED_RE.sub("", raw))
                _, refs = v.extract_tickets(stripped, doc.defs)
                refs += [t for t in tracked if t not in refs]
                for r in refs:
                    if r not in f.tickets:
                        f.tickets.append(r)
                if role == "status" and st is None:
                    st, st_raw = v.status_from_cell(stripped)
                if st is not None and (f.status is None or role == "status"):
                    f.status, f.status_text = st, st_raw
            prio = cell("priority")
            if prio.strip():
                f.priority = v.normalise_priority(prio) or f.priority
            type_cell = v.visible_text(cell("type")) or None
            explicit = v.visible_text(cell("id")).strip() or None
            writable = tuple(TableCell(roles[r], r) for r in ("ticket", "status") if r in roles)
            doc.add(
                f,
                row.line + 1,
                row.line + 1,
                "table",
                ctx.section,
                ctx.status,
                ctx.due_text,
                explicit_id=re.sub(r"[^\w.-]", "", explicit) if explicit else None,
                item_type=type_cell,
                cells=writable,
            )


def _parse_inline(doc: _Doc, regions: list[Region]) -> None:
    """Paragraphs that start with `Action point:`, `**TODO**:` ... anywhere in the document."""
    lines = doc.lines
    n = len(lines)
    in_code = doc.outline.in_code
    for i in range(doc.outline.body_start, n):
        line = lines[i]
        if in_code[i] or not line.strip():
            continue
        first = line.lstrip()[:2]
        if first[:1] not in "AaTtDdFf*_":
            continue
        m = _INLINE_RE.match(line)
        if not m:
            continue
        bold = bool(m.group("b1"))
        colon = bool(m.group("c1") or m.group("c2"))
        word = m.group("m").casefold().replace("-", " ")
        if not (colon or (bold and m.group("b2"))):
            continue
        if (
            word in ("todo", "done", "doing")
            and not bold
            and not line.lstrip().startswith(m.group("m").upper())
        ):
            continue
        if (
            i > doc.outline.body_start
            and lines[i - 1].strip()
            and not lines[i - 1].lstrip().startswith("#")
        ):
            continue  # not the start of a paragraph
        # paragraph extent
        j = i + 1
        while j < n and lines[j].strip() and not in_code[j]:
            if re.match(r"^\s{0,3}(?:[-*+]|\d+[.)])\s", lines[j]) or lines[j].lstrip().startswith(
                "#"
            ):
                break
            j += 1
        body_md = " ".join(s.strip() for s in lines[i:j])
        body_md = body_md[len(line) - len(line.lstrip()) :]
        body_md = _INLINE_RE.sub("", body_md, count=1)
        status: Status | None = None
        if word == "done":
            status = "done"
        elif word == "doing":
            status = "in_progress"
        notes: list[str] = []
        # A list right under the paragraph (no blank line) is its status note.
        if j < n and re.match(r"^\s{0,3}(?:[-*+]|\d+[.)])\s", lines[j]):
            k = j
            while k < n and lines[k].strip():
                k += 1
            note_md = "\n".join(lines[j:k])
            notes.append(note_md)
            if it.note_says_done(note_md) and status is None:
                status = "done"
        f = it.build(body_md, doc.defs, doc.options.known_owners, notes, line=i + 1)
        if not f.title:
            continue
        if status is not None and f.status is None:
            f.status = status
            f.status_text = m.group("m")
        section = _section_of(doc.outline, i)
        doc.add(f, i + 1, j, "inline", section, None, None)


def _section_of(outline: Outline, line: int) -> str | None:
    """The heading above `line` (headings are sorted by line: a binary search)."""
    idx = bisect.bisect_right(outline.heading_lines, line) - 1
    return heading_words(outline.headings[idx].text) if idx >= 0 else None


__all__ = ["Block", "ParseOptions", "parse_postmortem"]
