"""Turn one item's Markdown (a list item, a table row, an inline paragraph) into fields."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from tracker.model import Problem, Status
from tracker.parse import values as v

_LEAD_TAG_RE = re.compile(r"^\[\[([^\]]*)\]\(([^)\s]+)\)\]\s*")
_LEAD_LINK_RE = re.compile(r"^\[([^\]]+)\]\(([^)\s]+)\)\s*[:\-–—]?\s*")
_REFLIKE_RE = re.compile(
    r"^(?:bug|issue|pr|ticket|jira|#)?\s*#?[\w-]*\d+$|^[A-Z][A-Z0-9]+-\d+$", re.IGNORECASE
)
_TRAILING_REFS_RE = re.compile(
    r"\s*[(\[]\s*(?:(?:#\d+|[\w.-]+/[\w.-]+#\d+|[A-Z]+-\d+|PR|issue)\s*,?\s*)+[)\]]\s*\.?\s*$"
)
_DONE_NOTE_RE = re.compile(
    r"\b(?:has been|have been|was|were|is now|are now|already)\s+(?:done|completed?|fixed|"
    r"implemented|shipped|deployed|resolved|merged|set up|created)\b",
    re.IGNORECASE,
)


_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_STRIKE_ALL_RE = re.compile(r"^\s*~~(.+?)~~(\s*(?:\([^()]*\)|\[[^\]]*\]|[^~\w]*)?\s*)$")
_BOLD_LEAD_RE = re.compile(r"^\s*(?:\*\*|__)[^*_\n]{1,80}(?:\*\*|__)\s*[:.\-–—]")
_LEAD_PRIO_RE = re.compile(
    r"^\s*(?:\[\s*(?P<b>P[0-4]|critical|high|medium|low)\s*\]|"
    r"(?P<w>CRITICAL|URGENT|HIGH|MEDIUM|LOW|P[0-4])\b)\s*(?:priority)?\s*[:\-–—]?\s+",
)


def _lead_priority(text: str) -> tuple[str, str | None]:
    """ "**HIGH**: Add ...", "[P1] Split ...", "P0 Restore ...": the priority, off the title."""
    m = _LEAD_PRIO_RE.match(text)
    if not m:
        return text, None
    return text[m.end() :], v.normalise_priority(m.group("b") or m.group("w"))


@dataclass
class Fields:
    title: str
    key_text: str
    owners: list[str] = field(default_factory=list)
    due: dt.date | None = None
    due_text: str | None = None
    status: Status | None = None
    status_text: str | None = None
    priority: str | None = None
    tickets: list[str] = field(default_factory=list)
    checkbox: bool = False
    problems: list[Problem] = field(default_factory=list)
    own_refs: list[str] = field(default_factory=list)


def checkbox(md: str) -> tuple[str, Status | None, str | None]:
    m = v._CHECKBOX_RE.match(md)
    if not m:
        return md, None, None
    mark = m.group(1)
    status: Status = (
        "done" if mark in ("x", "X", "*", "✓", "✔") else ("in_progress" if mark == "-" else "open")
    )
    return md[m.end() :], status, f"[{mark}]"


def status_decorations(md: str) -> tuple[str, Status | None, str | None]:
    """Remove DONE/[DONE]/**DONE**/(done)/✅ style decorations; return the status they state."""
    status: Status | None = None
    raw: str | None = None
    for emoji, emoji_status in v._EMOJI_STATUS.items():
        if emoji in md:
            md = md.replace(emoji, " ")
            if status is None:
                status, raw = emoji_status, emoji
    for rx in v._STATUS_DECOR_RES:
        m = rx.search(md)
        if not m:
            continue
        word = m.groupdict().get("w") or ""
        st = v.status_from_word(word) if word.casefold() != "optional" else None
        if word.casefold() == "optional":
            continue
        if st is None:
            continue
        if status is None:
            status = st
            raw = " ".join(m.group(0).strip().strip("*").split())
        md = md[: m.start()] + " " + md[m.end() :]
    return md, status, raw


def _cleanup_title(text: str) -> str:
    t = re.sub(r"\(\s*[,;]?\s*\)|\[\s*\]", "", text)
    t = " ".join(t.split())
    t = re.sub(r"\s+([,.;:!?])", r"\1", t)
    t = re.sub(r"\.(?:\s*\.)+", ".", t)  # "Rotate tokens. **Owner:** A." -> one full stop
    t = t.strip(" \t-–—:;,|")
    if t.endswith(("(", "[")):
        t = t[:-1].rstrip()
    return t


def build(
    md: str,
    defs: dict[str, str],
    known_owners: frozenset[str],
    extra_md: list[str] | None = None,
    line: int = 1,
) -> Fields:
    """Fields of one item. `extra_md` are its children and later paragraphs (for tickets)."""
    problems: list[Problem] = []
    md = md.strip()
    md, st_box, st_box_raw = checkbox(md)
    tickets: list[str] = []
    # "(tracked: #412)" written back by this tool
    # Refs this tool wrote come last and never stand in for a title: writing one back must not
    # change what the item is called, nor its key.
    tracked = [t.group(1) for t in v._TRACKED_RE.finditer(md)]
    md = v._TRACKED_RE.sub("", md)
    # A leading link used as a tag: "[[UCOSP Proposal](url)] Do X", "[bug 123](url) Do X"
    m = _LEAD_TAG_RE.match(md)
    if m and md[m.end() :].strip():
        tickets.append(v.clean_url(m.group(2)))
        md = md[m.end() :]
    else:
        lead = _LEAD_LINK_RE.match(md)
        if lead and _REFLIKE_RE.match(lead.group(1).strip()) and len(md[lead.end() :].split()) >= 2:
            tickets.append(v.clean_url(lead.group(2)))
            md = md[lead.end() :]
    md = _ZERO_WIDTH_RE.sub("", md)
    st_strike: Status | None = None
    strike = _STRIKE_ALL_RE.match(md)
    if strike:  # "~~Migrate to the new queue~~": dropped, or done when it says so
        md = strike.group(1) + strike.group(2)
        st_strike = (
            "done" if re.search(r"\bdone\b|\bcompleted?\b", strike.group(2), re.I) else "dropped"
        )
    md, st_dec, st_dec_raw = status_decorations(md)
    bold_lead = bool(_BOLD_LEAD_RE.match(md))
    reduced, found = v.extract_tickets(md, defs)
    for t in found:
        if t not in tickets:
            tickets.append(t)
    for extra in extra_md or []:
        _, more = v.extract_tickets(extra, defs)
        for t in more:
            if t not in tickets:
                tickets.append(t)
    text = v.visible_text(reduced)
    text = _TRAILING_REFS_RE.sub("", text)
    text, priority = _lead_priority(text)
    text, owners, key_text = v.extract_owners(text, known_owners, bold_lead)
    text, due = v.extract_due(text)
    text, more_priority = v.extract_priority(text)
    priority = priority or more_priority
    title = _cleanup_title(text)
    if not title:
        title = _cleanup_title(v.visible_text(reduced)) or (tickets[0] if tickets else "")
    own_refs = list(tickets)  # what the author wrote: keys never depend on refs the tool adds
    tickets.extend(t for t in tracked if t not in tickets)
    key_text = _cleanup_title(key_text) if key_text is not None else title
    if due.ambiguous:
        problems.append(
            Problem(
                "PM005",
                "warning",
                f"ambiguous date '{due.text}': write it as YYYY-MM-DD",
                line,
            )
        )
    status = st_box
    status_raw = st_box_raw
    if st_dec is not None and (status is None or status == "open"):
        status, status_raw = st_dec, st_dec_raw
    if st_strike is not None and status is None:
        status, status_raw = st_strike, "~~"
    if status is None:
        said = v.status_from_sentence(title)
        if said is not None:
            status, status_raw = said, None
    return Fields(
        title=title,
        key_text=key_text or title,
        owners=owners,
        due=due.date,
        due_text=due.text,
        status=status,
        status_text=status_raw,
        priority=priority,
        tickets=tickets,
        checkbox=st_box is not None,
        problems=problems,
        own_refs=own_refs,
    )


def note_says_done(md: str) -> bool:
    return bool(_DONE_NOTE_RE.search(md))
