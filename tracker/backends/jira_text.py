"""The Jira issue description the tool owns: wiki markup, escaping, the marker (pure, no I/O).

Descriptions are written as REST v2 wiki markup on Cloud and Data Center alike: v2 takes a plain
string on both, while v3 (Cloud only; Data Center has no v3) wants Atlassian Document Format.
One renderer and one parser then serve both deployments. The one v3 call is the Cloud listing
(`/rest/api/3/search/jql`; the v2 `/search` is gone there), which returns the description as ADF;
from it we read only the marker's code block, which Jira converts verbatim.

The description holds a panel the tool writes, then the marker in a `{noformat}` block:

    {panel:title=Postmortem action item}
    the item text, escaped
    *Postmortem:* postmortems/x.md, line 12 (Queue backlog)
    *Owners:* Alice
    ...
    {panel}
    {noformat}pmt-marker {"v":1,"key":...}{noformat}

Text people add above or below is kept when the tool rewrites its part.

Where the key lives, and why: in the marker block of the description *and* in a label
`pmt-<hash of key>`. The description is written in the same request as the issue itself
(create, bulk create, edit), so an issue never exists without its key; it comes back in the
listing when `description` is requested, so no issue is fetched one by one; and it carries the
whole three-way marker, which no label could (255 characters, no spaces). Entity properties
would be invisible, but writing them with the issue is documented for Cloud only, and a
separate request per issue could leave an issue without its key. The label makes `find(key)`
one exact JQL query (`labels = "pmt-…"`); JQL text search on descriptions is fuzzy.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tracker.backends.base import (
    KEY_LABEL_PREFIX,
    TicketDraft,
    key_label,
    marker_from_json,
    marker_to_json,
)
from tracker.model import Marker

__all__ = ["KEY_LABEL_PREFIX", "key_label"]  # re-exported: they live in backends.base now

TRACKED_LABEL = "postmortem-tracker"  # every tracked issue: what the listing's JQL selects
REPORT_LABEL = "postmortem-tracker-report"
MARKER_TAG = "pmt-marker"
PANEL_OPEN = "{panel:title=Postmortem action item}"
PANEL_CLOSE = "{panel}"
MAX_SUMMARY = 255  # Jira's limit on a summary, in characters
MAX_DESCRIPTION = 32_000  # Jira's default limit on a text field is 32,767 characters
_FOOTER = (
    "_Synced from the postmortem by postmortem-tracker: change these fields in the file. "
    "Text outside this panel is kept._"
)

# `{noformat}` not preceded by a backslash: escaped text can never open or close one.
_NOFORMAT = r"(?<!\\)\{noformat\}"
_MARKER_RE = re.compile(
    _NOFORMAT + r"\s*" + re.escape(MARKER_TAG) + r"[ \t]+(\{.*?\})\s*" + _NOFORMAT, re.S
)
_BLOCK_RE = re.compile(
    r"(?<!\\)"
    + re.escape(PANEL_OPEN)
    + r".*?(?<!\\)"
    + re.escape(PANEL_CLOSE)
    + r"\s*"
    + _NOFORMAT
    + r"\s*"
    + re.escape(MARKER_TAG)
    + r"[ \t]+\{.*?\}\s*"
    + _NOFORMAT,
    re.S,
)
# Code blocks a marker may sit in: ours ({noformat}), or {code} / {code:json} after an edit.
_CODE_RE = re.compile(
    r"(?<!\\)\{(?P<tag>noformat|code)(?::[^}]*)?\}(?P<body>.*?)(?<!\\)\{(?P=tag)\}", re.S
)
_PANEL_RE = re.compile(
    r"(?<!\\)" + re.escape(PANEL_OPEN) + r".*?(?<!\\)" + re.escape(PANEL_CLOSE), re.S
)
_TAG_RE = re.compile(r"(?<![\w\\-])" + re.escape(MARKER_TAG) + r"[ \t]+(?=\{)")
# A marker people left as a plain line (no block around it): removed when ours is rewritten.
_LOOSE_RE = re.compile(r"^[ \t]*" + re.escape(MARKER_TAG) + r"[ \t]+\{.*\}[ \t]*\r?$", re.M)
# Characters that start wiki markup able to hide, link or mention: macros {..}, links and
# mentions [..], tables |, images !..!. A backslash would escape the next one (and `\\` is a
# line break), so it is written as an entity.
_WIKI_SPECIAL = {
    "\\": "&#92;",
    "{": "\\{",
    "}": "\\}",
    "[": "\\[",
    "]": "\\]",
    "|": "\\|",
    "!": "\\!",
}
_WIKI_RE = re.compile("[" + re.escape("".join(_WIKI_SPECIAL)) + "]")
# In JSON, '{' followed by a letter can only sit inside a string: escaping it keeps the blob
# from ever spelling `{noformat}` (an item text can contain anything).
_JSON_BRACE_RE = re.compile(r"\{(?=[A-Za-z])")


def report_label(week: str) -> str:
    return f"{REPORT_LABEL}-{week}"


def escape_wiki(text: str) -> str:
    """Text from a postmortem made inert in wiki markup (no macro, link, mention or image)."""
    return _WIKI_RE.sub(lambda m: _WIKI_SPECIAL[m.group(0)], text)


def cut_summary(title: str) -> str:
    """A summary Jira accepts: one line, at most 255 characters."""
    text = " ".join(title.split())
    if len(text) <= MAX_SUMMARY:
        return text
    return text[: MAX_SUMMARY - 1].rstrip() + "…"


@dataclass(frozen=True)
class Pushed:
    """What the tool set in Jira's own fields, kept beside the marker.

    The listing reports a field in the file's vocabulary (owners as resolved, "P1") while Jira
    still shows what the tool set; once a person changes it, Jira's value is reported instead.
    """

    assignees: tuple[str, ...] = ()  # draft.assignees when pushed (the engine's identities)
    assignee: str | None = None  # the Jira accountId / username set, if any
    priority_name: str | None = None  # the Jira priority name set, if any
    due_native: bool = True  # False: the screen lacks duedate; the due date is in the text
    priority_native: bool = True

    def to_json(self) -> dict[str, object]:
        return {
            "assignees": list(self.assignees),
            "assignee": self.assignee,
            "priority_name": self.priority_name,
            "due_native": self.due_native,
            "priority_native": self.priority_native,
        }

    @classmethod
    def from_json(cls, data: object) -> Pushed:
        if not isinstance(data, Mapping):
            return cls()
        names = data.get("assignees")
        assignee = data.get("assignee")
        prio = data.get("priority_name")
        return cls(
            assignees=tuple(str(n) for n in names) if isinstance(names, list) else (),
            assignee=assignee if isinstance(assignee, str) else None,
            priority_name=prio if isinstance(prio, str) else None,
            due_native=data.get("due_native") is not False,
            priority_native=data.get("priority_native") is not False,
        )


def marker_blob(marker: Marker, pushed: Pushed) -> str:
    """The marker and what was pushed, as one line of JSON that cannot end its block."""
    data: dict[str, object] = {**marker_to_json(marker), "jira": pushed.to_json()}
    blob = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return _JSON_BRACE_RE.sub(r"\\u007b", blob)


def marker_block(marker: Marker, pushed: Pushed) -> str:
    return "{noformat}" + MARKER_TAG + " " + marker_blob(marker, pushed) + "{noformat}"


def _link(draft: TicketDraft, source_url: str | None) -> str:
    where = escape_wiki(f"{draft.path}, line {draft.line}")
    if source_url:
        url = f"{source_url.rstrip('/')}/{quote(draft.path)}#L{draft.line}"
        text = f"[{where}|{url}]"
    else:
        text = where
    if draft.postmortem_title:
        text += " (" + escape_wiki(" ".join(draft.postmortem_title.split())) + ")"
    return text


def render_panel(draft: TicketDraft, source_url: str | None, notes: Sequence[str] = ()) -> str:
    """The tool's panel: item text, owner, due date, link back to the postmortem."""
    text = escape_wiki((draft.text or draft.title).strip()) or "-"
    lines = [PANEL_OPEN, text, "", f"*Postmortem:* {_link(draft, source_url)}"]
    if draft.owners:
        lines.append("*Owners:* " + escape_wiki(", ".join(draft.owners)))
    if draft.due:
        lines.append(f"*Due:* {draft.due.isoformat()}")
    for label, value in (
        ("Priority", draft.priority),
        ("Type", draft.type),
        ("Severity", draft.severity),
    ):
        if value:
            lines.append(f"*{label}:* " + escape_wiki(" ".join(value.split())))
    lines += [escape_wiki(n) for n in notes]
    lines += [_FOOTER, PANEL_CLOSE]
    return "\n".join(lines)


def _fit(panel: str, block: str, room: int) -> str:
    whole = panel + "\n" + block
    excess = len(whole) - room
    if excess <= 0:
        return whole
    head, _, rest = panel.partition("\n")
    text, sep, tail = rest.partition("\n\n*Postmortem:*")
    text = text[: max(0, len(text) - excess - 40)].rstrip("\\") + " …(cut: see the postmortem)"
    return head + "\n" + text + sep + tail + "\n" + block


def new_description(
    draft: TicketDraft, pushed: Pushed, source_url: str | None, notes: Sequence[str] = ()
) -> str:
    """The description of a new issue: the panel and the marker."""
    block = marker_block(draft.marker, pushed)
    return _fit(render_panel(draft, source_url, notes), block, MAX_DESCRIPTION)


def rewrite_description(
    current: str | None,
    draft: TicketDraft,
    pushed: Pushed,
    source_url: str | None,
    notes: Sequence[str] = (),
) -> str:
    """`current` with only the tool's panel and marker replaced; people's text is kept."""
    current = current or ""
    block = marker_block(draft.marker, pushed)
    found = list(_BLOCK_RE.finditer(current))
    if found:
        m = found[-1]
        prefix, suffix = current[: m.start()], current[m.end() :]
        room = MAX_DESCRIPTION - len(prefix) - len(suffix)
        return prefix + _fit(render_panel(draft, source_url, notes), block, room) + suffix
    # A damaged panel (a person edited the marker away or out of its block): keep people's
    # text, drop our old panel and every copy of the marker, add ours.
    rest = _LOOSE_RE.sub("", _PANEL_RE.sub("", _MARKER_RE.sub("", current))).strip()
    room = MAX_DESCRIPTION - len(rest) - 2
    ours = _fit(render_panel(draft, source_url, notes), block, room)
    return f"{rest}\n\n{ours}" if rest else ours


def replace_marker(current: str | None, marker: Marker, pushed: Pushed) -> str:
    """`current` with only the marker block replaced (close and reopen record a marker)."""
    current = current or ""
    block = marker_block(marker, pushed)
    found = list(_MARKER_RE.finditer(current))
    if found:
        m = found[-1]
        return current[: m.start()] + block + current[m.end() :]
    return f"{current.rstrip()}\n\n{block}" if current.strip() else block


def _code_texts(node: object, out: list[str]) -> None:
    """Texts of ADF codeBlock nodes, depth first."""
    if isinstance(node, list):
        for child in node:
            _code_texts(child, out)
        return
    if not isinstance(node, Mapping):
        return
    content = node.get("content")
    if node.get("type") == "codeBlock":
        parts = [
            str(c.get("text", ""))
            for c in (content if isinstance(content, list) else [])
            if isinstance(c, Mapping)
        ]
        out.append("".join(parts))
        return
    _code_texts(content, out)


def _block_texts(node: object, out: list[str], *, skip_panels: bool) -> None:
    """Texts of ADF paragraphs and other text blocks outside our panel, depth first."""
    if isinstance(node, list):
        for child in node:
            _block_texts(child, out, skip_panels=skip_panels)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    if kind == "panel" and skip_panels:
        return
    content = node.get("content")
    children = content if isinstance(content, list) else []
    if any(isinstance(c, Mapping) and c.get("type") == "text" for c in children):
        out.append("".join(str(c.get("text", "")) for c in children if isinstance(c, Mapping)))
        return
    _block_texts(children, out, skip_panels=skip_panels)


def _blobs_in(text: str) -> list[str]:
    """Each `pmt-marker {json}` in `text`, as the JSON text (markup around it ignored)."""
    out: list[str] = []
    decoder = json.JSONDecoder()
    for m in _TAG_RE.finditer(text):
        try:
            _, end = decoder.raw_decode(text, m.end())
        except ValueError:
            continue
        out.append(text[m.end() : end])
    return out


def _load(blob: str) -> tuple[Marker | None, Pushed]:
    try:
        data: Any = json.loads(blob)
    except ValueError:
        return None, Pushed()
    marker = marker_from_json(data)
    return marker, Pushed.from_json(data.get("jira") if isinstance(data, dict) else None)


def read_marker(description: object) -> tuple[Marker | None, Pushed]:
    """The last valid marker in a description, in whatever rendering people left it.

    First in a code block (wiki `{noformat}` / `{code}`, ADF codeBlock: what the tool
    writes); else in plain text or an ADF paragraph (a person's editor turned the block into
    one, or the issue was written through API v2 by hand). Text inside our panel never counts:
    it quotes the postmortem, and Jira unescapes it in ADF.
    """
    strict: list[str] = []
    loose: list[str] = []
    if isinstance(description, str):
        for m in _CODE_RE.finditer(description):
            strict += _blobs_in(m.group("body"))
        outside = _CODE_RE.sub("\n", _PANEL_RE.sub("\n", description))
        loose = [b for line in outside.splitlines() for b in _blobs_in(line)]
    elif isinstance(description, Mapping):
        texts: list[str] = []
        _code_texts(description, texts)
        strict = [b for text in texts for b in _blobs_in(text)]
        paras: list[str] = []
        _block_texts(description, paras, skip_panels=True)
        loose = [b for text in paras for b in _blobs_in(text)]
    for blobs in (strict, loose):
        for blob in reversed(blobs):
            marker, pushed = _load(blob)
            if marker is not None:
                return marker, pushed
    return None, Pushed()


def parse_time(value: object) -> dt.datetime | None:
    """Jira's timestamps ('2026-01-05T10:00:00.000+0000'), leniently."""
    if not isinstance(value, str) or not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    try:  # Python 3.10's fromisoformat knows no "Z"
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def parse_day(value: object) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
