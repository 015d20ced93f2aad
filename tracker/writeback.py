"""Surgical edits of postmortem files: ticket references, Status cells and checkboxes.

Every edit works on the file's bytes and changes only the bytes it must: line endings (CRLF, LF,
lone CR, mixed), a UTF-8 byte order mark, a missing final newline, undecodable bytes and the
padding of other cells stay exactly as they were. No edit adds or removes a line, so the line
numbers of a parse stay valid after any number of edits. `apply_edits` is the only function here
that touches the disk.

`FileEditor` holds one file's lines while many edits are made: the lines are decoded, the code
regions scanned and each table and the link definitions read once, and each edit changes one line
in place, so a file's write-back costs one pass whatever its number of items. The module-level
functions are one-edit shorthands for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tracker.errors import WriteBackError
from tracker.model import ActionItem
from tracker.parse import document as _document
from tracker.parse import values as _values
from tracker.parse.markdown import scan, tokenize
from tracker.parse.table import Table, is_delimiter_row, read_table, split_row

_BOM = b"\xef\xbb\xbf"
# What the parser reads back as a ticket reference written by this tool (tracker/parse/items.py).
_TRACKED_RE = _values._TRACKED_RE
_INLINE_RE = _document._INLINE_RE
# A reference must survive the round trip through `_TRACKED_RE` and a table cell.
_REF_RE = re.compile(r"[^\s()|\\`<>\[\]]+")
_LIST_BOX_RE = re.compile(
    r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[(?P<mark>[ xX*✓✔-]?)\]"
)
_BOX_RE = re.compile(r"\[(?P<mark>[ xX*✓✔-]?)\]")
_DONE_MARKS = frozenset("xX*✓✔")
# Ticket-cell contents that mean "no ticket yet": replaced by the reference, not appended to.
_PLACEHOLDERS = frozenset(
    {"", "-", "--", "–", "—", "?", "...", "…", "tbd", "tba", "todo", "n/a", "na", "none", "no"}
)


# --- lines -------------------------------------------------------------------------------------


@dataclass
class _Lines:
    """A file as a BOM and its lines, each kept with its own line ending."""

    bom: bytes
    raw: list[bytes]

    @classmethod
    def of(cls, data: bytes) -> _Lines:
        body = data
        while body.startswith(_BOM):  # the parser strips every leading BOM
            body = body[len(_BOM) :]
        return cls(data[: len(data) - len(body)], body.splitlines(keepends=True))

    def text(self, idx: int) -> str:
        """Line `idx` (0-based) without its ending; undecodable bytes survive as surrogates."""
        line = self.raw[idx]
        content = line.rstrip(b"\r\n")
        return content.decode("utf-8", "surrogateescape")

    def texts(self) -> list[str]:
        return [self.text(i) for i in range(len(self.raw))]

    def set_text(self, idx: int, text: str) -> None:
        line = self.raw[idx]
        content = line.rstrip(b"\r\n")
        self.raw[idx] = _encode(text) + line[len(content) :]

    def join(self) -> bytes:
        return self.bom + b"".join(self.raw)

    def check(self, line: int) -> int:
        """The 0-based index of 1-based `line`, which must exist."""
        if not 1 <= line <= len(self.raw):
            raise WriteBackError(f"line {line} is out of range: the file has {len(self.raw)} lines")
        return line - 1


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise WriteBackError(f"cannot write {text!r}: it is not valid text") from exc


# --- table cells -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    seg_start: int  # just after the pipe before the cell (or the line start)
    seg_end: int  # at the pipe after the cell (or the line end)
    start: int  # content, stripped
    end: int
    piped: bool  # a pipe closes the cell

    def text(self, s: str) -> str:
        return s[self.start : self.end]


def _spans(s: str) -> list[_Span]:
    """The cells of a table line as `split_row` counts them, with their padding."""
    out: list[_Span] = []
    n = len(s)
    for cell in split_row(s):
        a = cell.start
        while a > 0 and s[a - 1].isspace():
            a -= 1
        b = cell.end
        while b < n and s[b].isspace():
            b += 1
        piped = b < n and s[b] == "|"
        out.append(_Span(a, b if piped else n, cell.start, cell.end, piped))
    return out


def _is_row(s: str, spans: list[_Span]) -> bool:
    if len(spans) > 1 or (spans and spans[0].piped):
        return True
    return bool(spans) and spans[0].seg_start > 0 and s[spans[0].seg_start - 1] == "|"


def _escape(value: str) -> str:
    """`value` as cell content: stripped, every unescaped pipe escaped."""
    if "\n" in value or "\r" in value:
        raise WriteBackError(f"cannot write {value!r} into a table cell: it spans lines")
    out: list[str] = []
    backslashes = 0
    for c in value.strip():
        if c == "|" and backslashes % 2 == 0:
            out.append("\\")
        out.append(c)
        backslashes = backslashes + 1 if c == "\\" else 0
    if backslashes % 2:
        raise WriteBackError(f"cannot write {value!r} into a table cell: it ends in a backslash")
    return "".join(out)


def _cell_texts(s: str) -> list[str]:
    return [c.text for c in split_row(s)]


def _with_cell(s: str, column: int, content: str, same: str | None = None) -> str:
    """Line `s` with cell `column` holding `content` (already escaped); padding kept if it fits.

    A cell that already holds `content`, or `same` (the value before escaping), is left alone.
    """
    if column < 0:
        raise WriteBackError(f"column {column} is not a cell index")
    spans = _spans(s)
    if not _is_row(s, spans):
        raise WriteBackError("the line is not a table row: it has no '|' between cells")
    if column < len(spans):
        sp = spans[column]
        if sp.text(s) in (content, same):
            return s
        if not sp.piped:  # last cell without a closing pipe: its padding is the line's tail
            new = s[: sp.start] + content + s[sp.end :]
        else:
            width = sp.seg_end - sp.seg_start
            if sp.start == sp.end:  # empty cell: all whitespace, spaced like "| x |" if any
                left, right = (" ", 1) if width else ("", 0)
            else:
                left, right = s[sp.seg_start : sp.start], 1 if sp.seg_end > sp.end else 0
            if right and len(left) + len(content) + right <= width:
                cell = left + content + " " * (width - len(left) - len(content))
            else:
                cell = (" " if left else "") + content + (" " if right else "")
            new = s[: sp.seg_start] + cell + s[sp.seg_end :]
    else:
        if not content:
            return s  # a missing cell is already empty
        last = spans[-1]
        tight = all(
            x.start == x.seg_start and x.end == x.seg_end for x in spans if x.start != x.end
        )
        pad = "" if tight else " "
        empties = (pad + pad + "|") * (column - len(spans))
        if last.piped:
            at = last.seg_end + 1
            add = empties + pad + content + pad + "|"
        else:
            at = last.end
            add = pad + "|" + empties + pad + content
        new = s[:at] + add + s[at:]
    _verify_cells(s, new, column, content)
    return new


def _verify_cells(old: str, new: str, column: int, content: str) -> None:
    """The edit changed exactly one cell's text (a guard against backticks that open code spans)."""
    want = _cell_texts(old)
    want += [""] * (column + 1 - len(want))
    want[column] = content
    got = _cell_texts(new)
    if got == want or (not content and column == len(want) - 1 and got == want[:-1]):
        return
    raise WriteBackError(
        f"cannot write {content!r} into cell {column + 1}: it would change the row's other cells"
    )


def _status_column(item: ActionItem) -> int:
    for c in item.cells:
        if c.name == "status":
            return c.column
    raise WriteBackError(
        f"item on line {item.line} has no Status cell to write to"
        + ("" if item.source == "table" else " (only table rows have one)")
    )


def _find_table(texts: list[str], in_code: list[bool], idx: int) -> Table:
    """The table holding data row `idx`, found the way the parser finds it."""
    line = texts[idx]
    if in_code[idx] or "|" not in line or is_delimiter_row(line):
        raise WriteBackError(f"line {idx + 1} is not a table row")
    start = idx
    while start > 0 and "|" in texts[start - 1] and texts[start - 1].strip():
        start -= 1
    i = start
    while i <= idx:
        if "|" in texts[i] and not in_code[i]:
            t = read_table(texts, i, len(texts))
            if t is not None:
                if t.end_line > idx:
                    if idx > t.header_line + 1:
                        return t
                    break
                i = t.end_line
                continue
        i += 1
    raise WriteBackError(f"line {idx + 1} is not a row of a table with a header")


# --- own text of list and inline items --------------------------------------------------------


def _dedent(line: str, width: int) -> str:
    body = line.lstrip(" \t")
    lead = line[: len(line) - len(body)].expandtabs(4)  # tab stops of CommonMark
    return lead[min(width, len(lead)) :] + body


def _list_text_lines(texts: list[str], in_code: list[bool], item: ActionItem) -> tuple[int, int]:
    """First and last 0-based line of a list item's first paragraph (before nested lists)."""
    first = item.line - 1
    stop = min(max(item.end_line, item.line), len(texts))
    chunk = texts[first:stop]
    # The parser blanks tables out before markdown-it sees the region; do the same.
    i = first
    while i < stop:
        if "|" in texts[i] and not in_code[i]:
            t = read_table(texts, i, stop)
            if t is not None:
                for j in range(t.header_line, t.end_line):
                    chunk[j - first] = ""
                i = t.end_line
                continue
        i += 1
    head = chunk[0]
    width = len(head[: len(head) - len(head.lstrip(" \t"))].expandtabs(4))
    tokens = tokenize("\n".join(_dedent(c, width) for c in chunk))
    depth = 0
    for tok in tokens:
        if tok.type == "list_item_open":
            if depth == 0 and (tok.map is None or tok.map[0] != 0):
                break
            depth += 1
        elif tok.type == "list_item_close":
            depth -= 1
            if depth == 0:
                break
        elif tok.type == "paragraph_open" and depth == 1 and tok.map:
            return first + tok.map[0], first + tok.map[1] - 1
    raise WriteBackError(f"line {item.line} does not start a list item with text")


@dataclass(frozen=True)
class _Marker:
    ref: str
    line: int  # 0-based
    start: int  # the reference inside the line
    end: int


def _markers(texts: list[str], first: int, last: int) -> list[_Marker]:
    """`(tracked: REF)` markers in lines first..last, read as the parser reads a paragraph."""
    starts: list[int] = []
    pos = 0
    for i in range(first, last + 1):
        starts.append(pos)
        pos += len(texts[i]) + 1
    joined = "\n".join(texts[first : last + 1])
    out: list[_Marker] = []
    for m in _TRACKED_RE.finditer(joined):
        k = max(j for j, s in enumerate(starts) if s <= m.start(1))
        col = m.start(1) - starts[k]
        out.append(_Marker(m.group(1), first + k, col, col + len(m.group(1))))
    return out


def _tag(ref: str) -> str:
    return f" (tracked: {ref})"


def _check_ref(ref: str) -> None:
    if not _REF_RE.fullmatch(ref):
        raise WriteBackError(
            f"cannot write the ticket reference {ref!r}: a reference is one word without "
            "spaces, parentheses, brackets, backticks, '|' or '\\'"
        )


# --- the editor --------------------------------------------------------------------------------


class FileEditor:
    """One file's bytes under edit: many edits, one pass over the file.

    The lines are decoded once; the code regions, each table and the link definitions are found
    once, when first needed. No edit adds or removes a line or changes a table's header, code
    fences or link definitions, so these stay valid while lines change; `safe_edit.py` reads the
    result back, which catches any edit that changes what the file says. An edit that raises
    changes nothing.
    """

    def __init__(self, data: bytes) -> None:
        self._original = data
        self._doc = _Lines.of(data)
        self._texts = self._doc.texts()
        self._in_code: list[bool] | None = None
        self._tables: dict[int, Table] = {}  # every line of a table read, header to end
        self._defs: dict[str, str] | None = None
        self.touched: set[int] = set()  # 0-based indexes of the lines changed

    def data(self) -> bytes:
        """The file with every edit made so far (the very bytes given when there was none)."""
        return self._doc.join() if self.touched else self._original

    def _code(self) -> list[bool]:
        if self._in_code is None:
            self._in_code = scan(self._texts).in_code
        return self._in_code

    def _definitions(self) -> dict[str, str]:
        if self._defs is None:
            self._defs = _values.reference_definitions(self._texts)
        return self._defs

    def _edit(self, idx: int, fn: Callable[[str], str]) -> None:
        old = self._texts[idx]
        new = fn(old)
        if new != old:
            self._doc.set_text(idx, new)
            self._texts[idx] = new
            self.touched.add(idx)

    def _table_at(self, idx: int) -> Table:
        """The table holding data row `idx` (see `_find_table`), read once per table."""
        line = self._texts[idx]
        in_code = self._code()
        if in_code[idx] or "|" not in line or is_delimiter_row(line):
            raise WriteBackError(f"line {idx + 1} is not a table row")
        table = self._tables.get(idx)
        if table is None:
            table = _find_table(self._texts, in_code, idx)
            for j in range(table.header_line, table.end_line):
                self._tables[j] = table
        elif idx <= table.header_line + 1:
            raise WriteBackError(f"line {idx + 1} is not a row of a table with a header")
        return table

    # --- table cells

    def set_cell(self, line: int, column: int, value: str) -> None:
        """Set the table cell at 1-based `line`, 0-based `column` to `value` (pipes escaped).

        Raises:
            WriteBackError: the line does not exist or is not a table row, or the value cannot
                be written into a cell.
        """
        idx = self._doc.check(line)
        content = _escape(value)
        try:
            self._edit(idx, lambda s: _with_cell(s, column, content, value.strip()))
        except WriteBackError as exc:
            raise WriteBackError(f"line {line}: {exc}") from exc

    def set_status_cell(self, item: ActionItem, value: str) -> None:
        """Write `value` into the Status cell of a table item.

        Raises:
            WriteBackError: the item has no Status cell, or the cell cannot be written.
        """
        self.set_cell(item.line, _status_column(item), value)

    def _reference_columns(self, idx: int, item: ActionItem) -> tuple[int | None, int]:
        """(Ticket column or None, Item column) of a table item's row."""
        table = self._table_at(idx)
        if "item" not in table.roles:
            raise WriteBackError(f"the table of line {idx + 1} has no Item column")
        ticket = next((c.column for c in item.cells if c.name == "ticket"), None)
        if ticket is None:
            ticket = table.roles.get("ticket")
        return ticket, table.roles["item"]

    # --- ticket references

    def _own_text_lines(self, item: ActionItem) -> tuple[int, int]:
        """First and last 0-based line of the text a list or inline item's title is read from."""
        self._doc.check(item.line)
        texts = self._texts
        if item.source == "list":
            return _list_text_lines(texts, self._code(), item)
        first = item.line - 1
        last = min(max(item.end_line, item.line), len(texts)) - 1
        while last > first and not texts[last].strip():
            last -= 1
        return first, last

    def tracked_refs(self, item: ActionItem) -> tuple[str, ...]:
        """The references in `(tracked: REF)` markers the item carries, in order.

        Raises:
            WriteBackError: the item's lines do not match its kind (the file changed since the
                parse).
        """
        if item.source == "table":
            idx = self._doc.check(item.line)
            s = self._texts[idx]
            spans = _spans(s)
            cols = self._reference_columns(idx, item)
            return tuple(
                m.group(1)
                for col in cols
                if col is not None and col < len(spans)
                for m in _TRACKED_RE.finditer(spans[col].text(s))
            )
        first, last = self._own_text_lines(item)
        return tuple(m.ref for m in _markers(self._texts, first, last))

    def append_reference(self, item: ActionItem, ref: str) -> None:
        """Record ticket `ref` in the item: its Ticket cell, else ` (tracked: REF)` after its text.

        A list or inline item gets the marker at the end of its first paragraph (before any
        nested list). A table item gets `ref` in its Ticket cell when the cell is empty (or a
        placeholder such as `TBD`) and the parser reads `ref` there as a reference, the marker
        appended to that cell when it holds something else, and the marker in its Item cell when
        it has no Ticket cell. An item already carrying `(tracked: REF)` is left as it is; a
        different tracked reference is replaced.

        Raises:
            WriteBackError: `ref` cannot be written, or the item's lines do not match its kind.
        """
        _check_ref(ref)
        if item.source == "table":
            self._append_to_row(item, ref)
            return
        first, last = self._own_text_lines(item)
        texts = self._texts
        found = _markers(texts, first, last)
        if any(m.ref == ref for m in found):
            return
        if found:
            m = found[0]
            self._edit(m.line, lambda line: line[: m.start] + ref + line[m.end :])
        else:

            def tag(line: str) -> str:
                cut = len(line.rstrip(" \t"))
                return line[:cut] + _tag(ref) + line[cut:]

            self._edit(last, tag)

    def _append_to_row(self, item: ActionItem, ref: str) -> None:
        idx = self._doc.check(item.line)
        s = self._texts[idx]
        ticket, item_col = self._reference_columns(idx, item)
        spans = _spans(s)

        def cell(col: int) -> str:
            return spans[col].text(s) if col < len(spans) else ""

        def put(col: int, content: str) -> None:
            self._edit(idx, lambda line: _with_cell(line, col, content))

        cols = [c for c in (ticket, item_col) if c is not None]
        found = [(col, m) for col in cols for m in _TRACKED_RE.finditer(cell(col))]
        if any(m.group(1) == ref for _, m in found):
            return
        if found:
            col, m = found[0]
            text = cell(col)
            put(col, text[: m.start(1)] + ref + text[m.end(1) :])
        elif ticket is not None and _values.extract_tickets(ref, {})[1] == [ref]:
            text = cell(ticket)
            if ref in _values.extract_tickets(text, self._definitions())[1]:
                return
            if text.strip("*_ ").casefold() in _PLACEHOLDERS:
                put(ticket, ref)
            else:
                put(ticket, text + _tag(ref))
        else:
            put(item_col, cell(item_col) + _tag(ref))

    # --- checkboxes

    def set_checkbox(self, item: ActionItem, done: bool) -> None:
        """Tick (`[x]`) or clear (`[ ]`) the item's checkbox; `[X]`, `[*]`, `[✓]` count as ticked.

        Raises:
            WriteBackError: the item's first line has no checkbox where the parser reads one.
        """
        idx = self._doc.check(item.line)
        s = self._texts[idx]

        def flip(mark: str) -> str | None:
            if done:
                return None if mark in _DONE_MARKS else "x"
            return " " if mark in _DONE_MARKS else None

        if item.source == "table":
            _, item_col = self._reference_columns(idx, item)
            spans = _spans(s)
            text = spans[item_col].text(s) if item_col < len(spans) else ""
            m = _BOX_RE.match(text)
            if m is None:
                raise WriteBackError(f"the Item cell on line {item.line} has no checkbox")
            mark = flip(m.group("mark"))
            if mark is None:
                return
            new_text = text[: m.start("mark")] + mark + text[m.end("mark") :]
            self._edit(idx, lambda line: _with_cell(line, item_col, new_text))
            return
        if item.source == "inline":
            head = _INLINE_RE.match(s)
            m = _BOX_RE.match(s, head.end()) if head else None
        else:
            m = _LIST_BOX_RE.match(s)
        if m is None:
            raise WriteBackError(f"line {item.line} has no checkbox")
        mark = flip(m.group("mark"))
        if mark is not None:
            new = s[: m.start("mark")] + mark + s[m.end("mark") :]
            self._edit(idx, lambda _: new)


# --- one edit at a time (each reads the whole file: for several, use one FileEditor) ---------


def set_cell(data: bytes, line: int, column: int, value: str) -> bytes:
    """`FileEditor.set_cell` on `data`."""
    ed = FileEditor(data)
    ed.set_cell(line, column, value)
    return ed.data()


def set_status_cell(data: bytes, item: ActionItem, value: str) -> bytes:
    """`FileEditor.set_status_cell` on `data`."""
    ed = FileEditor(data)
    ed.set_status_cell(item, value)
    return ed.data()


def tracked_refs(data: bytes, item: ActionItem) -> tuple[str, ...]:
    """`FileEditor.tracked_refs` on `data`."""
    return FileEditor(data).tracked_refs(item)


def append_reference(data: bytes, item: ActionItem, ref: str) -> bytes:
    """`FileEditor.append_reference` on `data`."""
    ed = FileEditor(data)
    ed.append_reference(item, ref)
    return ed.data()


def set_checkbox(data: bytes, item: ActionItem, done: bool) -> bytes:
    """`FileEditor.set_checkbox` on `data`."""
    ed = FileEditor(data)
    ed.set_checkbox(item, done)
    return ed.data()


# --- the file ----------------------------------------------------------------------------------


def digest(data: bytes) -> str:
    """The digest `Postmortem.digest` holds for these bytes."""
    return hashlib.sha256(data).hexdigest()


def blob_sha(data: bytes) -> str:
    """The git blob id of these bytes (what a tree entry on GitHub names for the file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id


@dataclass(frozen=True)
class FileEdit:
    """New bytes for one postmortem, and the git blob id of the bytes the run read."""

    path: str  # relative to the config's folder, posix
    content: bytes
    base_blob: str


def collect_edit(
    path: Path, rel: str, expected_digest: str, edit: Callable[[bytes], bytes]
) -> FileEdit | None:
    """`apply_edits` without the writing: the edit to send elsewhere, None if nothing changes.

    Raises:
        WriteBackError: the file changed since it was parsed, cannot be read, or the edit is
            impossible.
    """
    current = _read(path)
    _check_digest(path, current, expected_digest)
    try:
        new = edit(current)
    except WriteBackError as exc:
        raise WriteBackError(f"{path}: {exc}") from exc
    return None if new == current else FileEdit(rel, new, blob_sha(current))


def apply_edits(path: Path, expected_digest: str, edit: Callable[[bytes], bytes]) -> bool:
    """Apply `edit` to the file if it still holds what was parsed; True if it was rewritten.

    The new content replaces the file atomically (a temporary file in the same folder, renamed
    over it) and keeps the file's permission bits; a symlink stays a symlink.

    Raises:
        WriteBackError: the file changed since it was parsed, cannot be read or written, or the
            edit is impossible; the file is then left untouched.
    """
    current = _read(path)
    _check_digest(path, current, expected_digest)
    try:
        new = edit(current)
    except WriteBackError as exc:
        raise WriteBackError(f"{path}: {exc}") from exc
    if new == current:
        return False
    _write_atomic(path, new, expected_digest)
    return True


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WriteBackError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _check_digest(path: Path, data: bytes, expected: str) -> None:
    if digest(data) != expected:
        raise WriteBackError(
            f"{path} changed since it was parsed, so no ticket reference was written to it: "
            "commit your edits and re-run"
        )


def _write_atomic(path: Path, data: bytes, expected_digest: str) -> None:
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise WriteBackError(f"cannot write {path}: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            # Narrow the window for an edit made while we wrote: check once more before the rename.
            _check_digest(path, _read(target), expected_digest)
            os.replace(tmp, target)
        except OSError as exc:
            raise WriteBackError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _sync_dir(target.parent)


def _sync_dir(folder: Path) -> None:
    """Make the rename durable where the platform allows it (POSIX); best effort."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
