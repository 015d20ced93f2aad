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
    Decision,
    Region,
    decide,
    find_regions,
    heading_words,
    matches,
)
from tracker.parse.table import Table, read_table
from tracker.parse.unread import as_problems, empty_section, unread_places

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


_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


class UndecodableError(ValueError):
    """The bytes are not UTF-8 and no byte-order mark says what they are."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def decode(data: bytes | str) -> tuple[str, list[Problem]]:
    """Text of a file: UTF-8, or the encoding its byte-order mark names (UTF-16/32).

    Guessing (Latin-1, cp1252) would turn "josé" into something else without a word, so a file
    that is neither is refused.

    Raises:
        UndecodableError: the bytes are not UTF-8 and carry no byte-order mark.
    """
    if isinstance(data, str):
        return data.lstrip("\ufeff"), []
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), []
            except UnicodeDecodeError as exc:
                raise UndecodableError(
                    f"file starts with a {encoding.upper()} byte-order mark but byte offset "
                    f"{exc.start + len(bom)} is not {encoding.upper()}: re-save it as UTF-8",
                    1,
                ) from exc
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise UndecodableError(
            f"file is not UTF-8: byte 0x{byte} at offset {exc.start} (line {line}) cannot be "
            "decoded; nothing was read from the file. Re-save it as UTF-8 (for example "
            "`iconv -f latin1 -t utf-8`)",
            line,
        ) from exc


@dataclass(frozen=True)
class Step:
    """One decision of the parser about a block of the document, for `tracker parse --explain`."""

    line: int  # 1-based first line
    end_line: int  # 1-based last line
    verdict: str  # "section" | "not a section" | "item" | "skipped" | "context" | "outside"
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "end_line": self.end_line,
            "verdict": self.verdict,
            "reason": self.reason,
        }


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
    trace: list[Step] | None = None
    paragraphs: list[tuple[Block, _Ctx, Region]] = field(default_factory=list)
    listed_regions: set[int] = field(default_factory=set)  # regions (by start) with list items

    def explain(self, line: int, end: int, verdict: str, reason: str) -> None:
        """Record a decision (0-based line, exclusive end) when explaining; free otherwise."""
        if self.trace is not None:
            self.trace.append(Step(line + 1, max(end, line + 1), verdict, reason))

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
    data: bytes | str,
    path: str,
    options: ParseOptions = DEFAULT_OPTIONS,
    trace: list[Step] | None = None,
) -> Postmortem:
    """Parse one postmortem. Never raises: anything wrong with the input becomes a Problem.

    `trace`, when given, receives every decision the parser made (`tracker parse --explain`).
    """
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
        return _parse(raw, path, options, digest, trace)
    except RecursionError:  # pragma: no cover - markdown-it guards nesting; belt and braces
        return Postmortem(
            path=path,
            id=postmortem_id(path, {}),
            problems=(Problem("PM022", "error", "document nests too deeply to parse"),),
            digest=digest,
        )


def _parse(
    raw: bytes, path: str, options: ParseOptions, digest: str, trace: list[Step] | None
) -> Postmortem:
    try:
        text, problems = decode(raw)
    except UndecodableError as exc:
        return Postmortem(
            path=path,
            id=postmortem_id(path, {}),
            problems=(Problem("PM020", "error", str(exc), exc.line),),
            digest=digest,
        )
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
    doc.trace = trace
    title, date, severity, status = _metadata(outline, front, problems)
    decisions: list[tuple[int, str, Decision]] = []
    regions = find_regions(outline, options.section_patterns, options.exclude_patterns, decisions)
    for region in regions:
        doc.explain(region.start, region.end, "section", _region_reason(region))
        _parse_region(doc, region)
    _paragraph_items(doc)
    item_lines = sorted(i.line - 1 for i in doc.items)
    for region in regions:
        k = bisect.bisect_left(item_lines, region.start)
        if k == len(item_lines) or item_lines[k] >= region.end:
            _empty_region(doc, region)
    _parse_inline(doc, regions)
    _unread_places(doc, regions, decisions)
    doc.items.sort(key=lambda i: i.line)
    if trace is not None:
        trace.sort(key=lambda s: (s.line, s.verdict != "section"))
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


def _region_reason(region: Region) -> str:
    what = {
        "heading": f"heading '{region.title}'",
        "label": f"label line '{region.title}'",
        "lead-in": f"list after the lead-in sentence '{region.title[:60]}'",
        "table": "a table with action-item columns",
    }.get(region.kind, region.title)
    return f"{what}: {region.decision.explain()}" if region.decision else what


def _empty_region(doc: _Doc, region: Region) -> None:
    place = empty_section(doc.outline, region)
    if place is not None:
        doc.problems.extend(as_problems([place]))
        doc.explain(place.line, place.end, "skipped", place.message)


def _unread_places(
    doc: _Doc, regions: list[Region], decisions: list[tuple[int, str, Decision]]
) -> None:
    places = unread_places(doc.outline, regions, decisions, [i.line for i in doc.items])
    doc.problems.extend(as_problems(places))
    if doc.trace is None:
        return
    for p in places:
        doc.explain(p.line, p.end, "skipped", p.message)
    inside = bytearray(len(doc.lines) + 1)
    for r in regions:
        inside[r.start : r.end] = b"\x01" * (r.end - r.start)
    for line, text, d in decisions:
        if not inside[line] and not d.accepted:
            doc.explain(line, line + 1, "not a section", f"heading '{text}': {d.explain()}")


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
    owners: tuple[str, ...] = ()


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
    """Read every block of an action-item region: each table, each list and, where a
    (sub)section holds neither, its paragraphs."""
    lines = doc.lines
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
    masked = list(lines[region.start : region.end])
    for t in tables:
        for j in range(t.header_line, t.end_line):
            masked[j - region.start] = ""
    action_tables = [t for t in tables if t.is_action_table]
    vocabulary = _table_vocabulary(action_tables)
    for t in tables:
        if not t.is_action_table:
            doc.explain(t.header_line, t.end_line, "skipped", "a table without an item column")
    tokens = tokenize("\n".join(masked))
    doc.problems.extend(nesting_problems(tokens, region.start))
    entries: list[Block | Table] = [*blocks(tokens, region.start)]
    entries.extend(action_tables)
    entries.sort(key=lambda e: e.header_line if isinstance(e, Table) else e.line)
    groups = _group_by_heading(doc, region, entries)
    for gi, group in enumerate(groups):
        structured = any(isinstance(e, Table) or e.kind == "list" for e in group.entries)
        # Intro text of a section whose subsections hold the lists is not an item either.
        later_structured = any(
            any(isinstance(e, Table) or e.kind == "list" for e in g.entries)
            for g in _descendants(groups, gi)
        )
        paragraphs_are_items = (
            region.kind in ("heading", "label") and not structured and not later_structured
        )
        ctx = group.ctx
        notes_next = ""  # "Notes on the table above:" introduces notes, not items
        for e in group.entries:
            if isinstance(e, Table):
                _tables(doc, region, [e], ctx)
                continue
            if e.kind == "paragraph":
                m = _BOLD_PSEUDO_RE.match(e.text)
                notes_next = _introduces_non_items(v.visible_text(e.text))
                if m and "\n" not in e.text and _is_label_text(m.group("t")):
                    st, due = _heading_context(m.group("t"))
                    ctx = _Ctx(st or group.ctx.status, due or group.ctx.due_text, ctx.section)
                    doc.explain(e.line, e.end, "context", "a bold label: sets status/horizon")
                elif paragraphs_are_items:
                    doc.paragraphs.append((e, ctx, region))
                else:
                    doc.explain(e.line, e.end, "skipped", "a paragraph beside a list or table")
                continue
            if e.kind == "list":
                why = notes_next
                why = why or _not_items(e.items, vocabulary, doc.defs)
                notes_next = ""
                if why:
                    doc.explain(e.line, e.end, "skipped", why)
                    continue
                before = len(doc.items)
                for node in e.items:
                    _list_item(doc, node, ctx, region)
                if len(doc.items) > before:
                    doc.listed_regions.add(region.start)


def _introduces_non_items(text: str) -> str:
    """Why the list after this paragraph holds no items ("" when it may)."""
    if _NOTES_RE.match(text):
        return "notes introduced by the paragraph above"
    if text.rstrip("*_ ").endswith(":") and re.search(r"\byou(?:r|rs)?\b", text, re.IGNORECASE):
        return "advice to readers (introduced by 'you can ...:'), not the team's work"
    return ""


def _is_label_text(text: str) -> bool:
    """A bold paragraph that labels what follows ("**In progress (next 2 weeks):**"), not a
    sentence in bold ("**This will turn into enforcement.**")."""
    t = text.strip()
    return len(t.split()) <= 8 and not t.endswith((".", "!", "?"))


_NOTES_RE = re.compile(
    r"^(?:notes?|n\.?b\.?|remarks?|explanations?|key|legend)\b[^:]{0,60}:$", re.I
)


def _descendants(groups: list[_Group], gi: int) -> list[_Group]:
    """The groups of the subsections under group `gi` (up to the next sibling or parent)."""
    out: list[_Group] = []
    for g in groups[gi + 1 :]:
        if g.level <= groups[gi].level:
            break
        out.append(g)
    return out


@dataclass
class _Group:
    level: int  # heading level of the subsection (0: the region's own text)
    ctx: _Ctx
    entries: list[Block | Table] = field(default_factory=list)


def _group_by_heading(doc: _Doc, region: Region, entries: list[Block | Table]) -> list[_Group]:
    """Split a region's blocks at its subsection headings; excluded subsections are dropped."""
    base = _Ctx(*_heading_context(region.title), section=region.title)
    groups = [_Group(0, base)]
    excluded_level: int | None = None
    stack: list[tuple[int, _Ctx]] = []
    for e in entries:
        if isinstance(e, Block) and e.kind == "heading":
            if excluded_level is not None and e.level > excluded_level:
                continue
            excluded_level = None
            d = decide(e.text, doc.options.section_patterns, doc.options.exclude_patterns)
            negative = d.score <= -2 and not any(not t.startswith("-") for t in d.terms)
            if (
                d.rule in ("veto", "excluded")
                or negative
                or (matches(e.text, doc.options.exclude_patterns, whole=False) and not d.accepted)
            ):
                excluded_level = e.level
                doc.explain(e.line, e.end, "skipped", f"subsection {e.text!r}: {d.explain()}")
                continue
            while stack and stack[-1][0] >= e.level:
                stack.pop()
            parent = stack[-1][1] if stack else base
            st, due = _heading_context(e.text)
            ctx = _Ctx(st or parent.status, due or parent.due_text, heading_words(e.text))
            stack.append((e.level, ctx))
            groups.append(_Group(e.level, ctx))
            doc.explain(e.line, e.end, "context", f"subsection {e.text!r}")
            continue
        if excluded_level is not None:
            line = e.header_line if isinstance(e, Table) else e.line
            end = e.end_line if isinstance(e, Table) else e.end
            doc.explain(line, end, "skipped", "inside an excluded subsection")
            continue
        groups[-1].entries.append(e)
    return groups


def _table_vocabulary(tables: list[Table]) -> frozenset[str]:
    """Words an action table uses in its type, priority and status columns (and its headers):
    a list that defines them ("Prevent: ...", "P0: ...") explains the table."""
    words: set[str] = set()
    for t in tables:
        words.update(v.visible_text(h).casefold() for h in t.header)
        for role in ("type", "priority", "status"):
            idx = t.roles.get(role)
            if idx is None:
                continue
            for row in t.rows:
                if idx < len(row.cells):
                    words.add(v.visible_text(row.cells[idx].text).casefold())
    words.discard("")
    return frozenset(words)


_DEFINITION_RE = re.compile(r"^\s*(?:\*\*|__|`)?([\w][\w /-]{0,30}?)(?:\*\*|__|`)?\s*[:–—-]\s+\S")


def _not_items(nodes: list[ListNode], vocabulary: frozenset[str], defs: dict[str, str]) -> str:
    """Why a list in an action section holds no items ("" when it does)."""
    if not nodes:
        return "an empty list"
    if vocabulary:
        terms = [_DEFINITION_RE.match(n.text) for n in nodes]
        if all(m and m.group(1).strip().casefold() in vocabulary for m in terms):
            return "a list that defines the words the action table uses"
    if all(_is_data(n, defs) for n in nodes):
        return "a list of data (names, links or code), not of work"
    return ""


def _is_data(node: ListNode, defs: dict[str, str]) -> bool:
    if node.children:
        return False
    reduced, refs = v.extract_tickets(node.text, defs)
    if any(v.is_issue_ref(r) for r in refs):
        return False  # "#2127": a follow-up issue is work
    text = reduced.strip()
    if not text:
        return bool(refs)
    if re.fullmatch(r"(?:`[^`]*`[\s,;]*)+", text):
        return True
    visible = v.visible_text(text)
    words = visible.split()
    if refs and len(words) <= 3:
        return True  # "docs: <link>", "dashboard <link>"
    # a host, a metric, a path: one token with the punctuation identifiers have
    return (
        len(words) == 1
        and len(visible) <= 200
        and bool(re.search(r"[._/:]|\d-|-\d", visible.rstrip(".:")))
    )


_SENTENCE_END_RE = re.compile(
    r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)(?<=[a-z0-9)\]`][.!?])\s+(?=[A-Z\[*_`])"
)
_PLACEHOLDER_PARA_RE = re.compile(r"^(?:tba|tbd|tbc|n/?a|none|nothing|-+|…|\.\.\.)\.?$", re.I)
_SOLUTION_LABEL_RE = re.compile(
    r"^\s*(?:\*\*|__)?(?:suggest\w*\s+)?(?:solutions?|suggestions?|fix|actions?|remedy|"
    r"recommendations?|proposals?|proposed\s+(?:fix|solution))(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*",
    re.IGNORECASE,
)


def _paragraph_items(doc: _Doc) -> None:
    """Paragraphs of action sections without lists, once every region is read.

    A document that writes its items as lists or tables does so throughout: its prose, even
    under a "Moving forward" heading, is narrative. Only documents with no list or table item
    have their follow-up work read from paragraphs (or from lines, one per line).
    """
    listed = any(i.source in ("list", "table") for i in doc.items)
    for block, ctx, region in doc.paragraphs:
        if listed and region.start not in doc.listed_regions and not _strong(region):
            doc.explain(block.line, block.end, "skipped", "prose: this document lists its items")
            continue
        for line, text in _units(doc, block):
            _paragraph_item(doc, block, ctx, line, text)


_WEAK_TERMS = frozenset({"going forward", "future", "changes", "avoid a recurrence"})


def _strong(region: Region) -> bool:
    """A section named for follow-up work itself ("Further mitigations"), not for the future in
    general ("Moving forward", "Looking forward")."""
    d = region.decision
    return d is not None and any(t not in _WEAK_TERMS and not t.startswith("-") for t in d.terms)


def _units(doc: _Doc, block: Block) -> list[tuple[int, str]]:
    """A paragraph, or its lines when the author broke it into one sentence per line (hard line
    breaks: two trailing spaces or a backslash)."""
    parts = block.text.split("\n")
    raw = doc.lines[block.line : block.line + len(parts)]
    if (
        len(parts) > 1
        and len(raw) == len(parts)
        and all(
            ln.endswith(("  ", "\\")) and re.search(r"[.!?)]\s*\\?$", ln.rstrip())
            for ln in raw[:-1]
        )
    ):
        return [(block.line + k, ln.rstrip().rstrip("\\")) for k, ln in enumerate(parts)]
    return [(block.line, block.text)]


_BOLD_LABEL_PREFIX_RE = re.compile(r"^\s*(?:\*\*|__)[^*_\n]{2,40}?:?(?:\*\*|__)\s*:?\s+(?=\S)")
_SUMMARY_START_RE = re.compile(
    r"^(?:these|this|overall|in summary|in conclusion|to summari[sz]e|together|we believe|"
    r"we are confident|we apologi[sz]e|we(?:'|’)re sorry|thank|for more|see also|more details)\b",
    re.IGNORECASE,
)


def _paragraph_item(doc: _Doc, block: Block, ctx: _Ctx, line: int, text: str) -> None:
    """One paragraph (or line) of an action section that holds no list: one item."""
    text = text.strip()
    visible = v.visible_text(v.extract_tickets(text, doc.defs)[0]).strip()
    if not visible or _PLACEHOLDER_PARA_RE.match(visible):
        doc.explain(block.line, block.end, "skipped", "a placeholder or link-only paragraph")
        return
    if visible.endswith(":"):
        doc.explain(block.line, block.end, "skipped", "a lead-in sentence (ends with ':')")
        return
    if _INLINE_RE.match(text):
        return  # an inline marker: read by _parse_inline
    if re.match(r"^\(.*\)\.?$", visible) or re.match(r"^(?:note|nb|n\.b\.)\b", visible, re.I):
        doc.explain(block.line, block.end, "skipped", "a note, not work")
        return
    if len(visible.split()) < 3:
        doc.explain(block.line, block.end, "skipped", "too short to be an item")
        return
    head, _, tail = text.partition("\n")
    if tail.strip() and v.visible_text(head).strip().endswith(":") and len(head.split()) <= 4:
        # "Suggested solution:" on its own line: the item starts on the next line
        line, text = line + 1, tail
    body = _SOLUTION_LABEL_RE.sub("", _BOLD_LABEL_PREFIX_RE.sub("", text, count=1), count=1)
    # the reference sync writes back goes at the paragraph's end: never part of its title
    sentences = _SENTENCE_END_RE.split(" ".join(v._TRACKED_RE.sub("", body).split()))
    first = sentences[0]
    summary = _SUMMARY_START_RE.match(v.visible_text(first)) and not v.says_future(first)
    if summary or len(sentences) > 4:
        doc.explain(block.line, block.end, "skipped", "narrative prose, not one piece of work")
        return
    whole = line == block.line and len(text.split("\n")) == len(block.text.split("\n"))
    end = block.end if whole else line + 1
    f = it.build(first, doc.defs, doc.options.known_owners, [body], line=line + 1)
    if not f.title:
        return
    doc.add(f, line + 1, end, "paragraph", ctx.section, ctx.status, ctx.due_text)
    doc.explain(line, end, "item", "a paragraph of an action section without lists")


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
    # A bold title that is itself work ("**Add rate limiting**" with bullets of specifics) is one
    # item whose children describe it; a bold category ("**Monitoring**", "**Short term**")
    # leads in to its children.
    bold_work = bool(bold_head) and _starts_with_verb(bold_head.group("t") if bold_head else "")
    ends_colon = text.rstrip().rstrip("*_").endswith(":")
    titled = bool(_TITLED_RE.match(text)) and len(text.split()) > 6  # "**Pin X.** Do ...:"
    name = node.children and _NAME_PARENT_RE.fullmatch(v.visible_text(bare)) is not None
    lead_in = node.children and (
        not bare or (ends_colon and not titled) or (bold_head and not bold_work) or name
    )
    if lead_in and not v.extract_tickets(text, doc.defs)[1]:
        # "Ensure alerting is in place for:" -> the children are the items
        st, due = _heading_context(text)
        f0 = it.build(text, doc.defs, doc.options.known_owners, line=node.line + 1)
        sub = _Ctx(f0.status or st or ctx.status, due or ctx.due_text, ctx.section, ctx.owners)
        if name:  # "- Lighthouse" over its own items: the parent names who does them
            sub.owners = (v.visible_text(bare).strip(),)
        for child in node.children:
            _list_item(doc, child, sub, region)
        return
    if _is_data(node, doc.defs):
        doc.explain(node.line, node.end, "skipped", "data (a name, link or code), not work")
        return
    extra = list(node.rest) + [c.all_text() for c in node.children]
    f = it.build(text, doc.defs, doc.options.known_owners, extra, line=node.line + 1)
    if not f.title and not f.tickets:
        return
    if v.is_placeholder(it.checkbox(text.strip())[0]) or v.is_process_step(f.title):
        doc.explain(node.line, node.end, "skipped", "a template placeholder or process step")
        return
    if not f.owners and ctx.owners:
        f.owners = list(ctx.owners)
    doc.add(f, node.line + 1, node.end, "list", ctx.section, ctx.status, ctx.due_text)


_TITLED_RE = re.compile(r"^\s*(?:\*\*|__)[^*_\n]{2,80}(?:\*\*|__)")
# A parent that is only a name (a client, a team) over its own list of work.
_NAME_PARENT_RE = re.compile(r"(?:@[\w-]+|[A-Z][\w.'’-]{1,30}(?:\s+[A-Z][\w.'’-]{1,30}){0,2})")


def _starts_with_verb(text: str) -> bool:
    first = re.sub(r"^[\W_]+", "", v.visible_text(text)).split(" ", 1)[0].casefold()
    return first in v.IMPERATIVE_VERBS


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
            if v.is_placeholder(item_md) or v.is_process_step(v.visible_text(item_md)):
                doc.explain(row.line, row.line + 1, "skipped", "a template placeholder row")
                continue
            f = it.build(item_md, doc.defs, doc.options.known_owners, line=row.line + 1)
            if not f.title and not f.tickets:
                continue  # "-", "**" or ":" in the item cell: nothing to track
            owner_cell = cell("owner")
            if owner_cell.strip() and not v.is_placeholder(owner_cell):
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
            # A link to an issue or pull request in any other cell ("[PR](url)" under Type).
            plain = {roles[r] for r in ("item", "ticket", "status") if r in roles}
            for idx, c in enumerate(cells):
                if idx in plain or ("[" not in c.text and "/" not in c.text and "#" not in c.text):
                    continue
                for r in v.extract_tickets(c.text, doc.defs)[1]:
                    if v.is_issue_ref(r) and r not in f.tickets:
                        f.tickets.append(r)
            if "status" in roles and f.status_text is None and not f.checkbox:
                f.status = None  # a status column speaks for the row; the sentence does not
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
