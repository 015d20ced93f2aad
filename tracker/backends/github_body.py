"""The GitHub issue body the tool owns: rendering, escaping and reading back (pure, no I/O).

An issue body holds one block the tool writes, between two HTML comments, followed by the marker
line (a hidden comment with compact JSON). Text people add above or below the block is kept when
the block is rewritten.

    <!-- postmortem-tracker:begin -->
    > the action item text, quoted
    ...
    - Due: 2026-05-01
    <!-- postmortem-tracker:end -->
    <!-- postmortem-tracker: {"v":1,"key":...} -->
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from tracker.backends.base import Field, TicketDraft, marker_from_json, marker_to_json
from tracker.model import Marker

BEGIN = "<!-- postmortem-tracker:begin -->"
END = "<!-- postmortem-tracker:end -->"
MARKER_OPEN = "<!-- postmortem-tracker: "
MARKER_CLOSE = " -->"
MAX_BODY = 65_536  # GitHub's limit on an issue body, in characters
ZWJ = "\u200d"

_BLOCK_RE = re.compile(
    re.escape(BEGIN)
    + r"\r?\n(?P<inner>.*?)\r?\n"
    + re.escape(END)
    + r"[ \t]*\r?\n"
    + re.escape(MARKER_OPEN)
    + r"(?P<json>\{[^\n]*\})"
    + re.escape(MARKER_CLOSE)
    + r"[ \t]*(?=\r?\n|$)",
    re.S,
)
_MARKER_RE = re.compile(
    r"^" + re.escape(MARKER_OPEN) + r"(\{[^\n]*\})" + re.escape(MARKER_CLOSE) + r"[ \t]*\r?$",
    re.M,
)
# A GitHub mention: '@login' or '@org/team', not inside a word or an e-mail address.
_MENTION_RE = re.compile(
    r"(?<![A-Za-z0-9_`.@/+-])@([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})(/[A-Za-z0-9_.-]+)?"
)
_PREFIX_RE = re.compile(r"postmortem-tracker", re.I)
WJ = "\u2060"  # WORD JOINER: invisible, and GitHub no longer sees an issue reference
# GitHub's autolinked references: #123, GH-123, owner/repo#123 (not inside a word or an
# HTML entity such as &#45;).
_ISSUE_REF_RE = re.compile(r"(?<![\w&])((?:[\w.-]+/[\w.-]+)?#|\bGH-)(\d+)\b", re.I)
_LOGIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_FIELD_RE = re.compile(r"^- (Owners|Due|Priority|Type|Severity|Postmortem): (.*?)\r?$")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Which piece of the block each synced field owns; pieces not named here are always re-rendered.
PIECE_FIELDS: dict[str, frozenset[Field]] = {
    "text": frozenset({"title", "body"}),
    "owners": frozenset({"owners"}),
    "due": frozenset({"due"}),
    "priority": frozenset({"priority"}),
    "type": frozenset({"type"}),
}
_PIECE_LABEL = {
    "owners": "Owners",
    "due": "Due",
    "priority": "Priority",
    "type": "Type",
    "severity": "Severity",
    "postmortem": "Postmortem",
}
_FOOTER = (
    "<sub>Synced from the postmortem by postmortem-tracker: change these fields in the file. "
    "Text outside this block is kept.</sub>"
)


def is_login(name: str) -> bool:
    """Whether `name` can be a GitHub login at all (no request needed to rule it out)."""
    return _LOGIN_RE.fullmatch(name) is not None


def escape_text(text: str, allowed: frozenset[str] = frozenset()) -> str:
    """Text from a postmortem made safe for an issue body.

    It can no longer open or close an HTML comment nor spell the marker prefix, and every
    `@mention` except those of `allowed` logins (casefolded) is neutralised with a zero-width
    joiner, so copying a postmortem never pings people or teams.
    """
    # Replacements contain neither '<' nor '>', so they cannot form new delimiters.
    text = text.replace("<!--", "&lt;!--").replace("-->", "--&gt;").replace("--!>", "--!&gt;")
    # `#123`, `GH-123` and `owner/repo#123` would link an unrelated issue of this repository
    # (or another); a word joiner after the `#` or `-` keeps the text and drops the link.
    text = _ISSUE_REF_RE.sub(lambda m: m.group(1) + WJ + m.group(2), text)
    text = _PREFIX_RE.sub(lambda m: m.group(0).replace("-", "&#45;"), text)

    def neutralise(m: re.Match[str]) -> str:
        if m.group(2) is None and m.group(1).casefold() in allowed:
            return m.group(0)
        return "@" + ZWJ + m.group(0)[1:]

    return _MENTION_RE.sub(neutralise, text)


def marker_json(marker: Marker, unassigned: Sequence[str] = ()) -> str:
    """The marker as one line of compact JSON that cannot end the HTML comment holding it."""
    data = marker_to_json(marker)
    if unassigned:
        data["unassigned"] = list(unassigned)
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # '@' too: a hidden comment should never ping anyone, whatever GitHub does with comments.
    for char, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("@", "\\u0040")):
        blob = blob.replace(char, esc)
    # Values may quote the marker prefix; a JSON escape keeps it from reading as one.
    blob = _PREFIX_RE.sub(lambda m: m.group(0).replace("-", "\\u002d"), blob)
    for char in ("\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"):
        blob = blob.replace(char, f"\\u{ord(char):04x}")
    return blob


def marker_line(marker: Marker, unassigned: Sequence[str] = ()) -> str:
    return MARKER_OPEN + marker_json(marker, unassigned) + MARKER_CLOSE


@dataclass(frozen=True)
class ParsedBody:
    """What the tool finds in an issue body."""

    marker: Marker | None
    unassigned: tuple[str, ...]  # owners the tool could not assign, kept in the body
    pieces: dict[str, str]  # piece name -> rendered text, when the block is intact
    start: int  # span of the block (begin comment .. marker line) in the body; -1 if none
    end: int

    @property
    def due(self) -> dt.date | None:
        m = _DATE_RE.fullmatch(self.pieces.get("due", "").strip())
        try:
            return dt.date.fromisoformat(m.group(0)) if m else None
        except ValueError:
            return None

    @property
    def priority(self) -> str | None:
        value = self.pieces.get("priority", "").strip()
        return value or None


def _load(blob: str) -> tuple[Marker | None, tuple[str, ...]]:
    try:
        data = json.loads(blob)
    except ValueError:
        return None, ()
    marker = marker_from_json(data)
    raw = data.get("unassigned") if isinstance(data, dict) else None
    unassigned = tuple(str(u) for u in raw) if isinstance(raw, list) else ()
    return marker, unassigned


def _pieces(inner: str) -> dict[str, str]:
    pieces: dict[str, str] = {}
    quoted: list[str] = []
    in_text = True
    for raw in inner.split("\n"):
        line = raw.rstrip("\r")
        if in_text and line.startswith(">"):
            quoted.append(line)
            continue
        in_text = False
        m = _FIELD_RE.match(line)
        if m:
            name = next(k for k, v in _PIECE_LABEL.items() if v == m.group(1))
            pieces[name] = m.group(2)
    if quoted:
        pieces["text"] = "\n".join(quoted)
    return pieces


def parse_body(body: str | None) -> ParsedBody:
    """Find the block and the marker; a damaged block still yields the last valid marker line."""
    body = body or ""
    for m in _BLOCK_RE.finditer(body):
        marker, unassigned = _load(m.group("json"))
        if marker is not None:
            return ParsedBody(marker, unassigned, _pieces(m.group("inner")), m.start(), m.end())
    for m in reversed(list(_MARKER_RE.finditer(body))):
        marker, unassigned = _load(m.group(1))
        if marker is not None:
            return ParsedBody(marker, unassigned, {}, -1, -1)
    return ParsedBody(None, (), {}, -1, -1)


@dataclass(frozen=True)
class BodyContext:
    """What rendering needs beyond the draft."""

    owners_map: Mapping[str, str]
    assignable: frozenset[str]  # casefolded logins that will be assigned (may be mentioned)
    source_url: str | None  # e.g. https://github.com/acme/infra/blob/<sha> (no trailing slash)


def _login_for(owner: str, owners_map: Mapping[str, str]) -> str:
    folded = {k.casefold().lstrip("@"): v for k, v in owners_map.items()}
    name = owner.lstrip("@")
    return owners_map.get(owner) or folded.get(name.casefold()) or name


def _owner_text(owner: str, ctx: BodyContext) -> str:
    login = _login_for(owner, ctx.owners_map)
    shown = escape_text(owner.lstrip("@"))
    if login.casefold() in ctx.assignable:
        return f"@{login}" if shown.casefold() == login.casefold() else f"{shown} (@{login})"
    if shown.casefold() != login.casefold():
        shown = f"{shown} ({escape_text(login)})"
    return f"{shown} (not assignable in this repository)" if is_login(login) else shown


def _link(draft: TicketDraft, ctx: BodyContext) -> str:
    where = f"{draft.path}:{draft.line}"
    label = escape_text(where).replace("[", "\\[").replace("]", "\\]")
    if ctx.source_url:
        url = f"{ctx.source_url}/{quote(draft.path)}#L{draft.line}"
        text = f"[{label}]({url})"
    else:
        text = label
    if draft.postmortem_title:
        text += " (" + escape_text(" ".join(draft.postmortem_title.split())) + ")"
    return text


def _quote(text: str, allowed: frozenset[str]) -> str:
    lines = escape_text(text.strip(), allowed).split("\n") or [""]
    return "\n".join(("> " + line.rstrip("\r")).rstrip() for line in lines)


def render_pieces(draft: TicketDraft, ctx: BodyContext) -> dict[str, str]:
    """Every piece of the block for `draft`; absent values give no piece."""
    pieces = {"text": _quote(draft.text or draft.title, ctx.assignable)}
    if draft.owners:
        pieces["owners"] = ", ".join(_owner_text(o, ctx) for o in draft.owners)
    if draft.due:
        pieces["due"] = draft.due.isoformat()
    if draft.priority:
        pieces["priority"] = escape_text(" ".join(draft.priority.split()))
    if draft.type:
        pieces["type"] = escape_text(" ".join(draft.type.split()))
    if draft.severity:
        pieces["severity"] = escape_text(" ".join(draft.severity.split()))
    pieces["postmortem"] = _link(draft, ctx)
    return pieces


def compose_block(pieces: Mapping[str, str], marker: str) -> str:
    """The block text, from the begin comment to the marker line."""
    lines = [BEGIN, pieces.get("text", ">"), ""]
    lines += [
        f"- {label}: {pieces[name]}" for name, label in _PIECE_LABEL.items() if name in pieces
    ]
    lines += ["", _FOOTER, END, marker]
    return "\n".join(lines)


def _fit(pieces: dict[str, str], marker: str, room: int) -> str:
    block = compose_block(pieces, marker)
    excess = len(block) - room
    if excess > 0:  # only the quoted text can be long: cut it, on a line if possible
        text = pieces.get("text", ">")
        cut = text[: max(0, len(text) - excess - 40)]
        cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
        block = compose_block(
            {**pieces, "text": cut.rstrip() + "\n> …(cut: see the postmortem)"}, marker
        )
    return block


def new_body(draft: TicketDraft, ctx: BodyContext, unassigned: Sequence[str] = ()) -> str:
    """The body of a new issue: the block alone, ending with the marker line."""
    return _fit(render_pieces(draft, ctx), marker_line(draft.marker, unassigned), MAX_BODY)


def rewrite_body(
    current: str | None,
    draft: TicketDraft,
    ctx: BodyContext,
    fields: frozenset[Field],
    unassigned: Sequence[str] = (),
) -> str:
    """`current` with only the tool's block replaced; pieces of fields not in `fields` are kept.

    A body whose block was damaged keeps its text (minus stray marker lines) and gets a fresh
    block at the end.
    """
    current = current or ""
    parsed = parse_body(current)
    fresh = render_pieces(draft, ctx)
    marker = marker_line(draft.marker, unassigned)
    if parsed.start < 0:
        rest = _MARKER_RE.sub("", current).rstrip()
        room = MAX_BODY - len(rest) - 2
        block = _fit(fresh, marker, room)
        return f"{rest}\n\n{block}" if rest else block
    pieces: dict[str, str] = {}
    for name in ("text", *_PIECE_LABEL):
        owned_by = PIECE_FIELDS.get(name)
        if owned_by is not None and not (owned_by & fields):
            if name in parsed.pieces:
                pieces[name] = parsed.pieces[name]
        elif name in fresh:
            pieces[name] = fresh[name]
    prefix, suffix = current[: parsed.start], current[parsed.end :]
    block = _fit(pieces, marker, MAX_BODY - len(prefix) - len(suffix))
    return prefix + block + suffix


def replace_marker(current: str | None, marker: Marker, unassigned: Sequence[str] = ()) -> str:
    """`current` with only the marker line replaced (close and reopen record their marker)."""
    current = current or ""
    line = marker_line(marker, unassigned)
    parsed = parse_body(current)
    if parsed.start >= 0:
        block = current[parsed.start : parsed.end]
        at = block.rfind(MARKER_OPEN)
        return current[: parsed.start] + block[:at] + line + current[parsed.end :]
    rest = _MARKER_RE.sub("", current).rstrip()
    return f"{rest}\n\n{line}" if rest else line
