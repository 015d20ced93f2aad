"""Field extraction from one item's Markdown: owners, status, due dates, priority, tickets, title.

Everything here is pure and works on the inline Markdown of one item (a list item's text or a
table cell), so the same rules apply to lists, tables and inline markers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from tracker.model import Status

# --- links and ticket references -------------------------------------------------------------

_URL_RE = re.compile(r"(?:https?|ftp)://[^\s<>`\"']+", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?)]}*_'\""
_IMAGE_RE = re.compile(r"!\[[^\]\n]{0,500}\]\([^)\n]{0,2000}\)")
_REF_DEF_RE = re.compile(r"^ {0,3}\[([^\]\n]+)\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_ISSUE_REF_RE = re.compile(r"(?<![\w/&#.-])(?:([A-Za-z0-9][\w.-]*/[\w.-]+))?#(\d{1,7})\b(?![-\w])")
_JIRA_RE = re.compile(r"(?<![\w/-])([A-Z][A-Z]{1,9})-([1-9]\d{0,6})\b(?!-\w)")
_JIRA_STOP = frozenset(
    {
        "CVE",
        "CWE",
        "GHSA",
        "RFC",
        "ISO",
        "UTF",
        "SHA",
        "SEV",
        "TLS",
        "SSL",
        "HTTP",
        "HTTPS",
        "PR",
        "AES",
        "RSA",
        "IPV",
        "IP",
        "MD",
        "DNS",
        "API",
        "SLA",
        "SLO",
        "SLI",
        "RCA",
        "COVID",
        "GPT",
        "ECDSA",
        "PEP",
        "NIST",
        "OWASP",
        "IEEE",
        "PCI",
        "SOC",
        "CPU",
        "GPU",
        "EC",
        "US",
        "EU",
        "UK",
        "UTC",
        "GMT",
        "PST",
        "PDT",
        "EST",
        "EDT",
        "CET",
        "CEST",
        "KB",
        "MB",
        "GB",
        "TB",
        "BUG",
        "STEP",
        "PHASE",
        "STAGE",
        "TIER",
        "LEVEL",
        "ITEM",
        "WEEK",
        "Q",
        "EIP",
        "ERC",
        "BIP",
        "KEP",
    }
)
_BUG_RE = re.compile(r"\b[Bb]ug\s*#?\s*(\d{3,9})\b")
_TRACKED_RE = re.compile(r"\s*\(tracked:\s*([^()\s]+)\)")
_LOCAL_REF_RE = re.compile(r"\blocal:\d+\b")


def clean_url(url: str) -> str:
    """Strip the punctuation that prose puts after a URL, and a trailing slash."""
    while url and url[-1] in _TRAILING_PUNCT:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url.rstrip("/") if url.count("/") > 2 and not url.endswith("://") else url


def reference_definitions(lines: list[str]) -> dict[str, str]:
    """Collect `[label]: url` definitions of a document (labels case-folded, as CommonMark does)."""
    defs: dict[str, str] = {}
    for line in lines:
        if "]:" not in line:
            continue
        m = _REF_DEF_RE.match(line)
        if m:
            defs.setdefault(_norm_label(m.group(1)), m.group(2))
    return defs


def _norm_label(label: str) -> str:
    return " ".join(label.split()).casefold()


@dataclass
class _Links:
    text: str  # markdown with links replaced by their text
    targets: list[str] = field(default_factory=list)


_PAIR_SPECIAL = re.compile(r"[\\`\[\]()]")
_LINK_SPECIAL = re.compile(r"[\\<`\[]")
_BLANK_SPECIAL = re.compile(r"[\\<\[]")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp)://[^>\s]+)>")


def _pairs(s: str) -> dict[int, int]:
    """Matching `[]` and `()` positions of `s` in one pass (escapes and code spans skipped).

    One linear pass instead of a scan per bracket: "[[[[..." on a 1 MB line stays linear.
    """
    out: dict[int, int] = {}
    stacks: dict[str, list[int]] = {"[": [], "(": []}
    closers = {"]": "[", ")": "("}
    no_more_ticks = False
    i = 0
    n = len(s)
    while i < n:
        m = _PAIR_SPECIAL.search(s, i)  # jump to the next character that matters
        if m is None:
            break
        i = m.start()
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "`" and not no_more_ticks:
            j = s.find("`", i + 1)
            if j == -1:
                no_more_ticks = True  # no backtick closes anything from here on
            else:
                i = j + 1
                continue
        elif c in stacks:
            stacks[c].append(i)
        elif c in closers:
            stack = stacks[closers[c]]
            if stack:
                out[stack.pop()] = i
        i += 1
    return out


def _replace_links(md: str, defs: dict[str, str]) -> _Links:
    """Replace inline, reference and shortcut links by their text; collect their targets."""
    if "[" not in md and "<" not in md:
        return _Links(md, [])  # most items: nothing to scan
    md = _IMAGE_RE.sub("", md)
    pairs = _pairs(md)
    out: list[str] = []
    targets: list[str] = []
    i = 0
    n = len(md)
    no_more_ticks = False
    while i < n:
        nxt = _LINK_SPECIAL.search(md, i)  # copy plain text in one piece
        if nxt is None:
            out.append(md[i:])
            break
        out.append(md[i : nxt.start()])
        i = nxt.start()
        c = md[i]
        if c == "\\" and i + 1 < n:
            out.append(md[i : i + 2])
            i += 2
            continue
        if c == "<":
            m = _AUTOLINK_RE.match(md, i)
            if m:
                targets.append(m.group(1))
                out.append(m.group(1))
                i = m.end()
                continue
        if c == "`" and not no_more_ticks:
            j = md.find("`", i + 1)
            if j != -1:
                out.append(md[i : j + 1])
                i = j + 1
                continue
            no_more_ticks = True  # an unclosed backtick: none closes later either
        if c == "[":
            close = pairs.get(i, -1)
            if close != -1:
                inner = md[i + 1 : close]
                after = md[close + 1 : close + 2]
                if after == "(":
                    end = pairs.get(close + 1, -1)
                    if end != -1:
                        dest = md[close + 2 : end].strip()
                        dest = dest.split()[0] if dest.split() else ""
                        dest = dest.strip("<>")
                        inner_links = _replace_links(inner, defs)
                        targets.extend(inner_links.targets)
                        if dest:
                            targets.append(dest)
                        out.append(inner_links.text)
                        i = end + 1
                        continue
                if after == "[":
                    end = md.find("]", close + 2, close + 1002)  # labels are < 1000 chars
                    if end != -1:
                        label = md[close + 2 : end] or inner
                        ref_dest = defs.get(_norm_label(label))
                        if ref_dest is not None:
                            inner_links = _replace_links(inner, defs)
                            targets.extend(inner_links.targets)
                            targets.append(ref_dest)
                            out.append(inner_links.text)
                            i = end + 1
                            continue
                short_dest = defs.get(_norm_label(inner))
                if short_dest is not None and not inner.startswith("^"):
                    targets.append(short_dest)
                    out.append(inner)
                    i = close + 1
                    continue
        out.append(c)
        i += 1
    return _Links("".join(out), targets)


_ANY_DIGIT_RE = re.compile(r"\d")


def extract_tickets(md: str, defs: dict[str, str]) -> tuple[str, list[str]]:
    """Return (markdown with link syntax reduced to text, ticket references in order)."""
    if "[" not in md and "<" not in md and "://" not in md and not _ANY_DIGIT_RE.search(md):
        return md, []  # no link, no URL and no number: nothing can be a reference
    links = _replace_links(md, defs)
    tickets: list[str] = []
    seen: set[str] = set()

    def add(ref: str) -> None:
        if ref and ref not in seen:
            seen.add(ref)
            tickets.append(ref)

    for t in links.targets:
        if t.startswith(("http://", "https://", "ftp://", "HTTP://", "HTTPS://")):
            add(clean_url(t))
        elif _LOCAL_REF_RE.fullmatch(t) or re.fullmatch(r"#\d+|[A-Z][A-Z0-9]+-\d+", t):
            add(t)
    # Only text outside link texts counts for bare references: blank out the link texts.
    bare = _blank_link_texts(md, defs)
    bare = _blank_code(bare)
    for m in _URL_RE.finditer(bare):
        add(clean_url(m.group(0)))
    bare_no_urls = _URL_RE.sub(" ", bare)
    for m in _LOCAL_REF_RE.finditer(bare_no_urls):
        add(m.group(0))
    for m in _ISSUE_REF_RE.finditer(bare_no_urls):
        add(f"{m.group(1)}#{m.group(2)}" if m.group(1) else f"#{m.group(2)}")
    for m in _JIRA_RE.finditer(bare_no_urls):
        if m.group(1) not in _JIRA_STOP:
            add(m.group(0))
    for m in _BUG_RE.finditer(bare_no_urls):
        add(f"bug {m.group(1)}")
    return links.text, tickets


_ISSUE_URL_RE = re.compile(
    r"^https?://[^/\s]+/(?:[^\s]*/)?(?:issues?|pulls?|merge_requests|browse|tickets?|bugs?|"
    r"show_bug\.cgi|projects/[^/\s]+/issues)\b",
    re.IGNORECASE,
)


def is_issue_ref(ref: str) -> bool:
    """A reference to an issue, pull request or ticket (not a document or a dashboard)."""
    if ref.startswith(("http://", "https://")):
        return bool(_ISSUE_URL_RE.match(ref))
    return bool(re.fullmatch(r"(?:[\w.-]+/[\w.-]+)?#\d+|[A-Z][A-Z0-9]+-\d+|bug \d+|local:\d+", ref))


def _blank_link_texts(md: str, defs: dict[str, str]) -> str:
    """Markdown with every link (text and target) replaced by spaces, other text kept."""
    if "[" not in md and "<" not in md:
        return md
    md = _IMAGE_RE.sub("", md)
    pairs = _pairs(md)
    out = list(md)
    i = 0
    n = len(md)
    while i < n:
        nxt = _BLANK_SPECIAL.search(md, i)
        if nxt is None:
            break
        i = nxt.start()
        if md[i] == "\\":
            i += 2
            continue
        if md[i] == "[":
            close = pairs.get(i, -1)
            if close == -1:
                i += 1
                continue
            after = md[close + 1 : close + 2]
            end = -1
            if after == "(":
                end = pairs.get(close + 1, -1)
            elif after == "[":
                end = md.find("]", close + 2, close + 1002)
            elif _norm_label(md[i + 1 : close]) in defs:
                end = close
            if end != -1:
                for k in range(i, end + 1):
                    out[k] = " "
                i = end + 1
                continue
        elif md[i] == "<":
            m = _AUTOLINK_RE.match(md, i)
            if m:
                for k in range(i, m.end()):
                    out[k] = " "
                i = m.end()
                continue
        i += 1
    return "".join(out)


def _blank_code(md: str) -> str:
    return re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group(0)), md)


# --- visible text ------------------------------------------------------------------------------

# Inner spans exclude their own delimiter and are bounded, so unmatched "**" stay linear.
_EMPH_RE = re.compile(r"\*\*(?=\S)([^*\n]{1,500}?)(?<=\S)\*\*|__(?=\S)([^_\n]{1,500}?)(?<=\S)__")
_EM1_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]{1,500}?)(?<=\S)\*(?![\w*])")
_EM2_RE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]{1,500}?)(?<=\S)_(?![\w_])")
_STRIKE_RE = re.compile(r"~~(?=\S)([^~\n]{1,500}?)(?<=\S)~~")
_CODE_RE = re.compile(r"`+([^`]*)`+")
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_ESCAPE_RE = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def visible_text(md: str) -> str:
    """Markdown (links already reduced) to plain text: emphasis, code ticks, tags removed."""
    if not ("`" in md or "<" in md or "*" in md or "_" in md or "~" in md or "\\" in md):
        return " ".join(md.split())  # no markup character: every rule below would keep md as is
    s = _CODE_RE.sub(lambda m: m.group(1).strip(), md)
    s = _HTML_TAG_RE.sub("", s)
    for _ in range(3):
        s2 = _EMPH_RE.sub(lambda m: m.group(1) or m.group(2), s)
        s2 = _STRIKE_RE.sub(r"\1", s2)
        s2 = _EM1_RE.sub(r"\1", s2)
        s2 = _EM2_RE.sub(r"\1", s2)
        if s2 == s:
            break
        s = s2
    s = _ESCAPE_RE.sub(r"\1", s)
    s = s.replace("**", "")
    return " ".join(s.split())


def normalise_text(text: str) -> str:
    """The form of a title that item keys hash: case, spacing and punctuation folded."""
    s = visible_text(text).casefold()
    s = re.sub(r"[^\w]+", " ", s)
    return " ".join(s.split())


# --- what the sentence says about its state ----------------------------------------------------

_PAST_VERBS = (
    "removed added fixed deployed migrated upgraded rotated revoked disabled enabled implemented "
    "updated created merged released shipped reverted patched replaced increased decreased reduced "
    "raised lowered moved renamed configured documented wrote introduced published switched "
    "extended restarted deleted purged changed adjusted refactored rewrote reworked blocked banned "
    "audited reviewed tested rescoped applied installed hardened restricted limited locked "
    "invalidated contacted notified filed deprecated retired requested enforced rolled set "
    "built made took sent started began completed finished resolved addressed improved verified "
    "confirmed checked identified investigated communicated informed disclosed scanned "
    "invalidated reached removed expired optimized optimised"
)
_FUTURE_RE = re.compile(
    r"\b(?:will|shall|should|must|need(?:s)?\s+to|to\s+be|plan(?:s|ned)?\s+to|going\s+to|"
    r"could|would|may|might|intend|propose[sd]?|want\s+to|todo|consider(?:ing)?)\b|\?",
    re.IGNORECASE,
)
_DONE_START_RE = re.compile(
    r"^(?:(?:we|i|they|the\s+team)\s+(?:have|has|'ve|’ve)\s+(?:now\s+|already\s+|since\s+|"
    r"for\s+(?:several|many|a\s+few|some)\s+(?:years|months|weeks)\s+)?"
    r"(?:\w+ed|\w+en|built|made|set\s+up|sent|wrote|taken|put|shipped)\b|"
    r"(?:we|i)\s+(?:" + _PAST_VERBS.replace(" ", "|") + r")\b|"
    r"(?:completed|done|fixed|resolved|finished)\s*[:\-–—]|fixed\s+(?:in|by|with|via)\b|"
    r"(?:" + _PAST_VERBS.replace(" ", "|") + r")\s+(?!by\b|on\b)\S)",
    re.IGNORECASE,
)
_PASSIVE_DONE_RE = re.compile(
    r"^[^,;:]{0,120}?\b(?:has|have)\s+(?:now\s+|already\s+|since\s+)?been\s+"
    r"(?:\w+ed|\w+en|set|made|built|put|shut|cut|sent)\b|"
    r"^(?!\s*(?:if|when|whether|unless|alert|page|notify|warn)\b)[^,;:]{0,80}?\b(?:was|were)\s+"
    r"(?:\w+ly\s+)?(?:" + _PAST_VERBS.replace(" ", "|") + r"|rescoped|disabled)\b|"
    r"^[^,;:]{0,80}?\b(?:is|are)\s+now\b|"
    r"^(?!\s*(?:if|when|whenever|once|as|while|because|before|after)\b)[^,;:]{0,60}?\b(?:is|are)\s+"
    r"(?:" + _PAST_VERBS.replace(" ", "|") + r")\b|"
    r"^(?:[A-Z][\w.-]*\s+){1,3}(?:"
    + _PAST_VERBS.replace(" ", "|")
    + r")\s+(?:a|an|the|all|its|their)\b|"
    r"\bwe\s+(?:have\s+|(?:'|’)ve\s+)?(?:also\s+|then\s+|since\s+|now\s+)?(?!needed|wanted|"
    r"learned|noticed|realized|realised|believed|hoped|planned|intended|expected|considered|"
    r"discussed|agreed|decided|observed|suspected|assumed)\w+ed\b|"
    r"\bfixed\s+(?:in|by|with|via)\s+(?:#|\[|https?://|PR\b|pull)",
    re.IGNORECASE,
)
_ONGOING_RE = re.compile(
    r"^(?:(?:we|they|the\s+team|[A-Z][\w-]*(?:\s+team)?)\s+(?:are|is|'re|’re)\s+(?:now\s+|still\s+|"
    r"actively\s+|currently\s+)?(?:working|improving|adding|building|migrating|rolling|"
    r"developing|exploring|investigating|evaluating|reviewing|implementing|updating|writing)\b|"
    r"(?:working\s+on|developing|exploring|in\s+flight|underway)\b)|\bunderway\b|"
    r"\bbeing\s+(?:worked\s+on|implemented|rolled\s+out|developed|reviewed|built)\b|"
    r"^(?!\s*(?:if|when|whenever|once|as|while)\b)[^,;:]{0,80}?\b(?:is|are)\s+(?:currently\s+|now\s+)?"
    r"being\s+\w+(?:ed|en)\b|"
    r"\bwe(?:'|’)?(?:re|\s+are)\s+(?:still\s+|now\s+|actively\s+)?working\s+on\b|"
    r"\b(?:and|still|currently|now)\s+working\s+on\b",
    re.IGNORECASE,
)
_REJECTED_RE = re.compile(
    r"\b(?:was|were|has\s+been|got)\s+(?:\w+\s+)?rejected\b|\bdecided\s+(?:against|not\s+to)\b|"
    r"\bwill\s+not\s+(?:be\s+)?(?:do|done|pursue|implement)",
    re.IGNORECASE,
)


def says_future(text: str) -> bool:
    """Does the sentence speak of work still to come ("will", "should", "plan to")?"""
    return bool(_FUTURE_RE.search(text))


def status_from_sentence(text: str) -> Status | None:
    """What a sentence reports about its work: done ("Removed the check", "has been disabled"),
    in progress ("We are improving ..."), dropped ("was rejected"), or nothing."""
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip(), maxsplit=1)[0]
    if _REJECTED_RE.search(text):
        return "dropped"
    head = first.split(" ", 1)[0].casefold()
    if head in IMPERATIVE_VERBS:
        return None  # "Ensure the key has been rotated" is still work to do
    if _ONGOING_RE.search(first):
        return "in_progress"
    future = _FUTURE_RE.search(first)
    done = _DONE_START_RE.match(first) or _PASSIVE_DONE_RE.search(first)
    if done and future is None:
        return "done"
    return None


# --- templates ---------------------------------------------------------------------------------

_PLACEHOLDER_RE = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}|<(?:[a-z][\w -]{0,30})>|^\s*\[[^\]()]{1,60}\]\s*$|"
    r"^\s*(?:describe|insert|enter|add|write)\s+(?:the|an?|your)\s+(?:action|item|task|"
    r"follow[\s-]?up)(?:\s+(?:item|here|description))?\b|^\s*(?:action\s+item|task)\s*\d*\s*$|"
    r"^\s*(?:tbd|tbc|todo|xxx|\.\.\.|…|-+|n/?a|none)\s*\.?\s*$|^\s*e\.g\.",
    re.IGNORECASE,
)
_PROCESS_STEP_RE = re.compile(
    r"^\s*(?:fill\s+(?:in|out)\b|complete\s+the\s+(?:timeline|post[\s-]?mortem|template|"
    r"document)|schedule\s+(?:the|a)\s+(?:post[\s-]?mortem|review|retro\w*|incident\s+review)\s*"
    r"(?:meeting)?|share\s+(?:the|this)\s+(?:post[\s-]?mortem|document|report|review)|"
    r"(?:get|have)\s+(?:the|this)\s+(?:post[\s-]?mortem|document)\s+reviewed|"
    r"(?:add|link)\s+(?:the\s+)?(?:post[\s-]?mortem|document)\s+to\b|"
    r"(?:publish|circulate|send\s+out)\s+(?:the|this)\s+(?:post[\s-]?mortem|document|report))",
    re.IGNORECASE,
)


def is_placeholder(md: str) -> bool:
    """Template text standing in for an item: `{{ action }}`, `<owner>`, `[Action item]`."""
    return bool(_PLACEHOLDER_RE.search(md))


def is_process_step(text: str) -> bool:
    """A template's checklist for the author ("Fill in the timeline"), not follow-up work."""
    return bool(_PROCESS_STEP_RE.match(text))


# --- status ------------------------------------------------------------------------------------

_STATUS_WORDS: dict[str, Status] = {
    "done": "done",
    "completed": "done",
    "complete": "done",
    "fixed": "done",
    "resolved": "done",
    "closed": "done",
    "shipped": "done",
    "merged": "done",
    "already done": "done",
    "in progress": "in_progress",
    "in-progress": "in_progress",
    "inprogress": "in_progress",
    "ongoing": "in_progress",
    "doing": "in_progress",
    "wip": "in_progress",
    "started": "in_progress",
    "in review": "in_progress",
    "won't do": "dropped",
    "wont do": "dropped",
    "won't fix": "dropped",
    "wontfix": "dropped",
    "dropped": "dropped",
    "cancelled": "dropped",
    "canceled": "dropped",
    "abandoned": "dropped",
    "failed": "dropped",
    "not planned": "dropped",
    "obsolete": "dropped",
    "todo": "open",
    "to do": "open",
    "open": "open",
    "not started": "open",
    "pending": "open",
    "planned": "open",
    "already planned": "open",
    "rejected": "dropped",
    "new": "open",
    "blocked": "open",
}
_STATUS_ALT = "|".join(
    re.escape(w).replace(r"\ ", r"[\s-]?") for w in sorted(_STATUS_WORDS, key=len, reverse=True)
)
# Words that mark status when bold at an item's edge ("Bug 5554823 **TODO**"); ordinary words such
# as "blocked", "new" or "closed" stay text even in bold ("Alert when a partner is **blocked**").
_BOLD_STATUS_ALT = "|".join(
    re.escape(w).replace(r"\ ", r"[\s-]?")
    for w in sorted(
        (
            "done",
            "completed",
            "fixed",
            "resolved",
            "already done",
            "todo",
            "to do",
            "doing",
            "wip",
            "in progress",
            "in-progress",
            "ongoing",
            "won't do",
            "wont do",
            "won't fix",
            "wontfix",
            "dropped",
            "cancelled",
            "canceled",
            "failed",
            "not planned",
        ),
        key=len,
        reverse=True,
    )
)
_CHECKBOX_RE = re.compile(r"^\[([ xX*✓✔-]?)\]\s*")
_STATUS_DECOR_RES: tuple[re.Pattern[str], ...] = (
    # emphasised trailers: "_done in #40_", "*(pending)*"
    re.compile(
        r"(?:^|(?<=\s))(?P<e>[_*])\(?\s*(?P<w>" + _STATUS_ALT + r")\b(?P<rest>[^_*()\n]{0,60})\)?"
        r"(?P=e)\s*\.?\s*$",
        re.IGNORECASE,
    ),
    # **DONE**, **(Done as of 2021-06-30)**, [DONE], (done), (Done during this incident)
    # a bold word is a status only where a status goes: first, last, or in parentheses
    # ("Ensure **closed** tickets are archived" is not done)
    re.compile(
        r"(?:^\s*|(?<=\s)(?=\*\*\()|(?<=\s)(?=\*\*[^*]{1,80}\*\*[:.]?\s*\)?\s*$))"
        r"\*\*\(?\s*(?P<w>" + _BOLD_STATUS_ALT + r")\b(?P<rest>[^*()\n]{0,60})\)?:?\s*\*\*:?",
        re.IGNORECASE,
    ),
    re.compile(r"\[\s*(?P<w>" + _STATUS_ALT + r")\s*\](?!\()", re.IGNORECASE),
    re.compile(
        r"\(\s*(?P<w>" + _STATUS_ALT + r")\b(?P<rest>(?:\s+(?:as\s+of|on|in|during|since|at|by)"
        r"\b[^()\n]{0,60})?)\s*\)",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?P<w>DONE|TODO|DOING|WIP|IN PROGRESS|ONGOING|WONTFIX|DROPPED|BLOCKED|CANCELLED|FAILED)"
        r"\b\s*[:\-–—]?\s*"
    ),
    re.compile(r"\s[-–—:]\s*(?P<w>DONE|TODO|DOING|WIP|IN PROGRESS|WONTFIX|DROPPED)\s*\.?$"),
    re.compile(r"\((?P<w>optional),[^()]*\)", re.IGNORECASE),
    re.compile(r"^(?P<w>completed|done|fixed|resolved)\s*:\s*", re.IGNORECASE),
)
_EMOJI_STATUS: dict[str, Status] = {
    "✅": "done",
    "✔️": "done",
    "✔": "done",
    "☑️": "done",
    "☑": "done",
    "🚧": "in_progress",
    "⏳": "in_progress",
    "🔄": "in_progress",
    "❌": "dropped",
}


def status_from_word(word: str) -> Status | None:
    w = " ".join(word.strip().strip("*_[]().:").replace("-", " ").split()).casefold()
    w = w.replace("’", "'")
    if w in _STATUS_WORDS:
        return _STATUS_WORDS[w]
    if w.replace(" ", "") in _STATUS_WORDS:
        return _STATUS_WORDS[w.replace(" ", "")]
    return None


def status_from_cell(text: str) -> tuple[Status | None, str | None]:
    """Status from a Status column cell: the first word or emoji that names a state."""
    t = visible_text(text).strip()
    if not t:
        return None, None
    for emoji, emoji_status in _EMOJI_STATUS.items():
        if emoji in t:
            return emoji_status, t
    st = status_from_word(t)
    if st:
        return st, t
    m = re.match(r"[A-Za-z' -]{2,20}", t)
    if m:
        st = status_from_word(m.group(0))
        if st:
            return st, t
    return None, t


def status_from_heading(text: str) -> Status | None:
    """A heading or bold pseudo-heading that states the status of what is under it."""
    t = text.casefold()
    if re.search(r"\b(completed?|done|finished|shipped|resolved)\b", t) and not re.search(
        r"\b(?:be|get|gets|to|not|not yet|before)\s+(?:done|completed?|finished|resolved)\b", t
    ):
        return "done"
    if re.search(r"\b(in progress|ongoing|underway|started)\b", t):
        return "in_progress"
    if re.search(r"\b(won'?t do|dropped|cancell?ed|abandoned|not planned)\b", t):
        return "dropped"
    return None


# --- owners ------------------------------------------------------------------------------------

_NOT_NAMES = frozenset(
    [
        "we",
        "i",
        "you",
        "they",
        "he",
        "she",
        "it",
        "this",
        "that",
        "these",
        "those",
        "the",
        "a",
        "an",
        "our",
        "someone",
        "somebody",
        "everyone",
        "everybody",
        "nobody",
        "anyone",
        "all",
        "each",
        "both",
        "team",
        "teams",
        "who",
        "what",
        "when",
        "where",
        "which",
        "why",
        "how",
        "there",
        "here",
        "also",
        "then",
        "next",
        "first",
        "second",
        "finally",
        "additionally",
        "eventually",
        "ideally",
        "note",
        "notes",
        "update",
        "fix",
        "add",
        "remove",
        "improve",
        "investigate",
        "ensure",
        "make",
        "create",
        "document",
        "consider",
        "review",
        "check",
        "action",
        "actions",
        "item",
        "items",
        "owner",
        "owners",
        "due",
        "status",
        "ticket",
        "priority",
        "todo",
        "done",
        "bug",
        "issue",
        "monitoring",
        "alerting",
        "alert",
        "alerts",
        "follow",
        "followup",
        "follow-up",
        "immediate",
        "short",
        "long",
        "medium",
        "term",
        "impact",
        "summary",
        "background",
        "context",
        "timeline",
        "cause",
        "root",
        "detection",
        "resolution",
        "mitigation",
        "prevention",
        "lessons",
        "what",
        "why",
        "long-term",
        "short-term",
        "p0",
        "p1",
        "p2",
        "p3",
        "p4",
        "sev1",
        "sev2",
        "sev3",
        "high",
        "medium",
        "low",
        "critical",
        "optional",
        "maybe",
        "later",
        "tbd",
        "n/a",
        "none",
        "continue",
        "work",
        "also",
        "then",
        "still",
        "next",
        "now",
        "finally",
        "additionally",
        "plus",
        "tbc",
        "unassigned",
        "unknown",
        "clients",
        "users",
        "operators",
        "maintainers",
        "developers",
        "engineers",
        "validators",
        "customers",
        "partners",
        "vendors",
        "servers",
        "services",
        "nodes",
    ]
)
_NAME_TOKEN = (
    r"@?[A-Z][\w.'’-]{0,30}(?:\s+(?-i:[A-Z])[\w'’-]{1,30})?(?:\s+(?:team|squad|crew|guild|group))?"
    r"|@[\w.-]{1,39}"
)
_SUBJECT_RE = re.compile(
    rf"^(?P<names>(?:{_NAME_TOKEN})(?:\s*(?:,|\band\b|&|\+)\s*(?:{_NAME_TOKEN}))*)"
    r"\s+(?P<verb>to|will|should|shall|must|needs? to|is going to|are going to)\b"
)
_PREFIX_BRACKET_RE = re.compile(r"^\[(?P<o>[@\w.\- ]{1,40}?)\??\]\s*(?![(\[:])")
_PREFIX_PAREN_RE = re.compile(r"^\((?P<o>[@\w.\-, /&+]{1,80}?)\)\s+")
_PREFIX_COLON_RE = re.compile(
    rf"^(?P<o>(?:{_NAME_TOKEN})(?:\s*(?:\+|&|,|\band\b|/)\s*(?:{_NAME_TOKEN}))*)\s*:\s+"
)
_LABEL_WORDS = r"(?:due|deadline|eta|target|priority|status|by|ticket|type)\b"
_OWNER_NAME = (
    r"(?!" + _LABEL_WORDS + r"|P[0-4]\b)(?:@[\w\-]+(?:\.[\w\-]+)*|"  # a handle, or
    r"[\w\-]+(?:\.[\w\-]+)*"  # a first name ...
    r"(?:\s+(?!" + _LABEL_WORDS + r")(?-i:[A-Z])[\w\-]*)?)"  # ... and a capitalised last name
    r"(?:\s+(?:team|squad|group|crew|guild)s?\b)?"  # "Owner: Payments team" (lint flags teams)
)
_OWNER_LABEL_RE = re.compile(
    r"(?:^|(?<=[\s(\[;,.—–-]))\**(?:owners?|assignees?|dri|responsible|who)\**\s*:\s*\**"
    r"(?P<o>" + _OWNER_NAME + r"(?:\s*(?:,|&|\+|\band\b|/)\s*" + _OWNER_NAME + r")*)\**",
    re.IGNORECASE,
)
_TRAILING_HANDLE_RE = re.compile(
    r"\s*[(\[—–-]*\s*(?P<o>@[\w.-]{1,39}(?:\s*(?:,|&|and)\s*@[\w.-]{1,39})*)\s*[)\]]?\s*\.?$"
)
_LEADING_HANDLE_RE = re.compile(
    r"^(?P<o>@[\w.-]{1,39}(?:\s*(?:,|&|and|\+)\s*@[\w.-]{1,39})*)\s*[:\-–—]?\s+"
)


_PLACEHOLDER_OWNERS = frozenset(
    "- — – ? ?? n/a na none tbd tbc tba unassigned unknown everyone all anyone someone owner "
    "name".split()
)
_BACKUP_RE = re.compile(
    r"\s*[(\[]\s*(?:backup|secondary|deputy|shadow|cc|fyi|reviewer)s?\s*:?\s*@?[\w.-]+"
    r"(?:\s*,\s*@?[\w.-]+)*\s*[)\]]",
    re.IGNORECASE,
)
# "(@amara due 2026-11-15)", "(@amara, 2026-11-15)", "[@amara]": handles in brackets anywhere.
_BRACKET_HANDLES_RE = re.compile(
    r"\s*(?P<open>[(\[])\s*(?P<o>@[\w-]+(?:\.[\w-]+)*(?:\s*(?:,|&|\band\b|\+|/)\s*"
    r"@[\w-]+(?:\.[\w-]+)*)*)\s*"
    r"(?:[,;]?\s*(?P<rest>[^()\[\]]{0,60}?))?\s*[)\]](?!\()"
)
_BRACKET_GROUP_RE = re.compile(
    r"\s*(?P<open>[(\[])(?P<body>[^()\[\]\n]{0,160}?@[\w-][^()\[\]\n]{0,160}?)[)\]](?!\()"
)
_HANDLE_PART_RE = re.compile(r"^(?:owners?\s*:\s*)?(@[\w-]+(?:\.[\w-]+)*)$", re.IGNORECASE)
_DUE_WORD_RE = re.compile(r"^(?:due|by|eta|deadline|target)\s*:?\s*", re.IGNORECASE)


def _bracket_owners(t: str) -> tuple[str, list[str]] | None:
    """ "(@amara due 2026-11-15)", "(P1, @erin, 2026-03-01)", "[@amara]": a bracket of handles,
    with a due date or a priority beside them; what is not an owner goes back as text the due
    and priority readers understand."""
    for m in _BRACKET_GROUP_RE.finditer(t):
        if m.start() == 0 and m.group("open") == "(":
            continue  # "(aki) Do X": the parenthesised prefix form, read below
        owners: list[str] = []
        keep: list[str] = []
        for part in re.split(r"\s*(?:[,;&+/]|\band\b)\s*", m.group("body").strip()):
            if not part:
                continue
            h = _HANDLE_PART_RE.match(part)
            if h:
                owners.append(h.group(1)[1:])
                continue
            head = re.match(r"^(@[\w-]+(?:\.[\w-]+)*)\s+(.*)$", part)
            if head and _DUE_WORD_RE.match(head.group(2)):
                owners.append(head.group(1)[1:])
                part = head.group(2)
            bare = _DUE_WORD_RE.sub("", part)
            d = parse_date(bare)
            if d.span is not None and d.span[0] == 0 and (d.date or d.text):
                keep.append(f"(due {bare})")
            elif normalise_priority(part) and len(part.split()) <= 2:
                keep.append(f"({part})")
            else:
                owners = []
                break
        if owners:
            rest = (t[: m.start()] + " " + " ".join(keep) + " " + t[m.end() :]).strip()
            return " ".join(rest.split()), owners
    return None


_HANDLE_BEFORE_DUE_RE = re.compile(
    r"\s*[—–-]*\s*(?P<o>@[\w-]+(?:\.[\w-]+)*(?:\s*(?:,|&|\band\b)\s*@[\w-]+(?:\.[\w-]+)*)*)\s*"
    r"(?P<due>[,;]?\s*(?:by|due(?:\s+by)?|deadline)\s*:?\s*[^@]{4,40})$",
    re.IGNORECASE,
)


def _handle_before_due(t: str) -> tuple[str, list[str]] | None:
    """ "Rotate keys — @alice, by 2026-01-10": handles at the end, before a due date."""
    m = _HANDLE_BEFORE_DUE_RE.search(t, max(0, len(t) - 160))
    if m is None or m.start() == 0:
        return None
    due = m.group("due").lstrip(",; ")
    d = parse_date(_DUE_WORD_RE.sub("", due))
    if not (d.date or d.text):
        return None
    return f"{t[: m.start()]} (due {_DUE_WORD_RE.sub('', due)})", split_owners(m.group("o"))


_TRAILING_NAME_RE = re.compile(
    r"\s*\[(?P<o>@?[A-Z][\w.'’-]{1,30}(?:\s+[A-Z][\w'’-]{1,30})?"
    r"(?:\s*(?:,|&|\band\b|/)\s*@?[A-Z][\w.'’-]{1,30})*)\??\]\s*\.?\s*$"
)
_HORIZON_WORD_RE = re.compile(
    r"\b(?:term|later|optional|stretch|nice|future|phase|soon|now|next|planned|already|maybe|"
    r"tbd|wip|ongoing|if possible|stretch goal|q[1-4]|h[12])\b",
    re.IGNORECASE,
)


def split_owners(text: str) -> list[str]:
    """An Owner cell or owner phrase to a list of owners, as written, without leading @."""
    t = _BACKUP_RE.sub("", visible_text(text))
    parts = re.split(r"\s*(?:,|;|&|\+|/|\band\b|\n)\s*", t)
    owners: list[str] = []
    for p in parts:
        p = p.strip().strip("*_`[]()").strip()
        p = p.rstrip("?").strip()
        if p.startswith("@"):
            p = p[1:]
        if p and p not in owners and p.casefold() not in _PLACEHOLDER_OWNERS:
            owners.append(p)
    return owners


# Words that start imperative items ("Speak to X", "Move to Y") or name roles, never a person.
_NOT_SINGLE_OWNERS = frozenset(
    [
        "add",
        "adjust",
        "agree",
        "align",
        "allow",
        "alert",
        "apply",
        "ask",
        "assign",
        "audit",
        "automate",
        "backfill",
        "backport",
        "block",
        "build",
        "bump",
        "change",
        "check",
        "clarify",
        "clean",
        "close",
        "communicate",
        "configure",
        "confirm",
        "connect",
        "consider",
        "convert",
        "create",
        "decide",
        "define",
        "delete",
        "deploy",
        "deprecate",
        "design",
        "detect",
        "disable",
        "document",
        "drop",
        "enable",
        "enforce",
        "ensure",
        "escalate",
        "establish",
        "evaluate",
        "expand",
        "explore",
        "export",
        "extend",
        "find",
        "fix",
        "follow",
        "force",
        "get",
        "give",
        "go",
        "hand",
        "handle",
        "implement",
        "import",
        "improve",
        "increase",
        "introduce",
        "investigate",
        "keep",
        "limit",
        "link",
        "list",
        "look",
        "lower",
        "make",
        "mark",
        "merge",
        "migrate",
        "monitor",
        "move",
        "notify",
        "open",
        "page",
        "pin",
        "plan",
        "point",
        "port",
        "post",
        "prepare",
        "prevent",
        "publish",
        "push",
        "reach",
        "read",
        "rebuild",
        "reduce",
        "refactor",
        "reach",
        "release",
        "remind",
        "remove",
        "rename",
        "replace",
        "report",
        "request",
        "require",
        "restore",
        "restrict",
        "retire",
        "return",
        "review",
        "revisit",
        "revoke",
        "roll",
        "rotate",
        "run",
        "scale",
        "schedule",
        "send",
        "set",
        "share",
        "ship",
        "speak",
        "split",
        "start",
        "stop",
        "switch",
        "talk",
        "test",
        "track",
        "train",
        "turn",
        "update",
        "upgrade",
        "use",
        "validate",
        "verify",
        "wire",
        "write",
        "leads",
        "managers",
        "engineers",
        "owners",
        "developers",
        "devs",
        "teams",
        "sre",
        "sres",
        "ops",
        "oncall",
        "on-call",
        "everyone",
        "someone",
        "nobody",
        "anyone",
        "customers",
        "users",
    ]
)


_ROLE_WORDS = frozenset(
    "leads managers engineers owners developers devs teams sre sres ops oncall on-call everyone "
    "someone nobody anyone customers users".split()
)
# Verbs that start an imperative item ("Add alerting ..."): the words above minus the roles.
IMPERATIVE_VERBS = (_NOT_SINGLE_OWNERS - _ROLE_WORDS) | frozenset(
    "continue document alert backfill audit reconsider standardize standardise simplify "
    "harden tighten investigate work contact coordinate upstream sunset consolidate codify "
    "formalize formalise socialize socialise add fix".split()
)


def _is_name(token: str, known: frozenset[str]) -> bool:
    tok = token.strip()
    if not tok:
        return False
    team = re.fullmatch(r"(.+?)\s+(?:team|squad|crew|guild|group)", tok)
    if team:
        tok = team.group(1)
    if " " in tok:  # "Jane Doe", "Cloud Platform": every word a name
        return all(_is_name(part, known) for part in tok.split())
    if tok.startswith("@"):
        return True
    bare = tok.rstrip("?")
    if bare.casefold() in known:
        return True
    if bare.casefold() in _NOT_NAMES:
        return False
    if re.search(r"(ing|tion|ment|ity|ness|ance|ence|ship|ed|ly)$", bare):
        return False
    return bool(re.fullmatch(r"[A-Z][a-z'’.-]{1,20}(?:[A-Z][a-z]+)?|[a-z][a-z0-9_-]{1,20}", bare))


def _names_ok(names: list[str], known: frozenset[str], allow_lower: bool) -> bool:
    if not names:
        return False
    for n in names:
        if not _is_name(n, known):
            return False
        if not allow_lower and n[0].islower() and n.casefold() not in known:
            return False
    return True


def extract_owners(
    text: str, known: frozenset[str] = frozenset(), bold_lead: bool = False
) -> tuple[str, list[str], str | None]:
    """Find owners written in an item's visible text.

    Returns (title text without the owner decoration, owners, text to hash for the item key when
    it differs from the title: a sentence subject stays in the title but not in the key).
    """
    t = _BACKUP_RE.sub("", text)
    found = _bracket_owners(t)
    if found is not None:
        return found[0], found[1], None
    m = _TRAILING_NAME_RE.search(t, max(0, len(t) - 120))
    if (
        m
        and m.start() > 0
        and not status_from_word(m.group("o"))
        and not normalise_priority(m.group("o"))
        and all(_is_name(n, known) for n in re.split(r"\s*(?:,|&|\band\b|/)\s*", m.group("o")))
    ):
        return t[: m.start()], split_owners(m.group("o")), None
    m = _PREFIX_BRACKET_RE.match(t)
    if m and not status_from_word(m.group("o")) and " " not in m.group("o").strip():
        cand = split_owners(m.group("o"))
        if cand and not re.fullmatch(r"\d+\w*", cand[0]) and not re.fullmatch(r"P\d", cand[0]):
            return t[m.end() :], cand, None
    m = _PREFIX_PAREN_RE.match(t)
    if (
        m
        and not status_from_word(m.group("o"))
        and not normalise_priority(m.group("o"))
        and not _HORIZON_WORD_RE.search(m.group("o"))
    ):
        cand = split_owners(m.group("o"))
        if cand and all(len(c.split()) <= 3 for c in cand):
            return t[m.end() :], cand, None
    m = _LEADING_HANDLE_RE.match(t)
    if m:
        return t[m.end() :], split_owners(m.group("o")), None
    m = None if bold_lead else _PREFIX_COLON_RE.match(t)
    if m:
        cand = re.split(r"\s*(?:\+|&|,|\band\b|/)\s*", m.group("o"))
        if _names_ok(cand, known, allow_lower=False) and len(cand[0]) <= 24:
            return t[m.end() :], split_owners(m.group("o")), None
    m = _OWNER_LABEL_RE.search(t)
    if m:
        owners = split_owners(m.group("o"))
        t = (t[: m.start()] + t[m.end() :]).strip().lstrip(".").strip()
        t = re.sub(r"\s*[(\[]\s*[)\]]", "", t)
        return t, owners, None
    found = _handle_before_due(t)
    if found is not None:
        return found[0], found[1], None
    tail_at = max(0, len(t) - 300)  # the regex is anchored at the end: search only the tail
    m = _TRAILING_HANDLE_RE.search(t, tail_at)
    if m and m.start() > 0:
        return t[: m.start()], split_owners(m.group("o")), None
    return _subject_owners(t, known)


def _subject_owners(t: str, known: frozenset[str]) -> tuple[str, list[str], str | None]:
    """ "Ed and Caroline to ...", "Hypha will ...", also after a bold title: "Title: Ed to ..." """
    m = _SUBJECT_RE.match(t)
    head = ""
    if not m:
        h = re.match(r"^([^:]{2,100}):\s+", t)
        if h:
            head = h.group(0)
            m = _SUBJECT_RE.match(t[h.end() :])
    if m:
        cand = re.split(r"\s*(?:\+|&|,|\band\b)\s*", m.group("names"))
        verb = m.group("verb")
        # "X to ..." is also how imperatives read ("Migrate to ...", "Speak to ..."): one plain
        # capitalised word before "to" is an owner only when config knows it or it is a handle.
        single_to_ok = (
            len(cand) > 1
            or cand[0].startswith("@")
            or cand[0].casefold() in known
            or cand[0].casefold() not in _NOT_SINGLE_OWNERS
        )
        if _names_ok(cand, known, allow_lower=False) and (verb != "to" or single_to_ok):
            # The subject stays in the title: "Ed and Caroline to write the runbook" reads well.
            return t, split_owners(m.group("names")), head + t[len(head) + m.end() :]
    return t, [], None


# --- dates -------------------------------------------------------------------------------------

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO_RE = re.compile(
    r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
)
_MDY_RE = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_DMY_RE = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_ALT})\.?,?\s+(\d{{4}})\b", re.I)
_NUMERIC_RE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_YMD_SLASH_RE = re.compile(r"\b(\d{4})/(\d{1,2})/(\d{1,2})\b")
_VAGUE_RE = re.compile(
    r"(?:\b(?:end\s+of\s+|by\s+|in\s+|during\s+(?:the\s+)?)?(?:Q[1-4]|H[12])(?:\s*(?:FY)?\s*'?\d{2,4})?"
    r"(?:\s*[-–—to]+\s*(?:Q[1-4]|H[12])(?:\s*'?\d{2,4})?)?\b"
    r"|\bnext\s+(?:\d+\s+)?(?:days?|weeks?|months?|quarter|sprint|release)\b"
    r"|\b(?:this|next|end\s+of(?:\s+the)?)\s+(?:week|month|quarter|sprint|year)\b"
    r"|\bwithin\s+\d+\s+(?:days?|weeks?|months?)\b"
    r"|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+(?:" + _MONTH_ALT + r")\.?\s+\d{1,2}\b"
    r"|\basap\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateParse:
    date: dt.date | None
    text: str | None
    ambiguous: bool = False
    span: tuple[int, int] | None = None


def _mkdate(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def parse_date(text: str) -> DateParse:
    """The first date in `text`: exact, ambiguous (06/07/2026) or vague ("Q3", "next 2 weeks")."""
    t = text.strip()
    if not t:
        return DateParse(None, None)
    best: tuple[int, DateParse] | None = None
    for rx, order in ((_ISO_RE, "ymd"), (_MDY_RE, "mdy"), (_DMY_RE, "dmy"), (_YMD_SLASH_RE, "ymd")):
        m = rx.search(t)
        if not m:
            continue
        if order == "ymd":
            d = _mkdate(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        elif order == "mdy":
            d = _mkdate(int(m.group(3)), _MONTHS[m.group(1).casefold()], int(m.group(2)))
        else:
            d = _mkdate(int(m.group(3)), _MONTHS[m.group(2).casefold()], int(m.group(1)))
        cand = DateParse(d, None if d else m.group(0), span=m.span())
        if best is None or m.start() < best[0]:
            best = (m.start(), cand)
    if best:
        return best[1]
    m = _NUMERIC_RE.search(t)
    if m:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        dmy, mdy = _mkdate(y, b, a), _mkdate(y, a, b)
        if dmy and mdy and dmy != mdy:
            return DateParse(None, m.group(0), ambiguous=True, span=m.span())
        d = dmy or mdy
        return DateParse(d, None if d else m.group(0), span=m.span())
    m = _VAGUE_RE.search(t)
    if m:
        return DateParse(None, m.group(0).strip(), span=m.span())
    return DateParse(None, None)


_DUE_LABEL_RE = re.compile(
    r"[(\[]?\s*\**(?:due(?:\s+date)?|deadline|eta|target(?:\s+date)?|by)\**\s*[:\-]?\s*\**\s*",
    re.IGNORECASE,
)


_HORIZON_RE = re.compile(
    r"\s*\b(?:at\s+|by\s+)?the\s+end\s+of\s+(?:\d{4}|the\s+(?:year|quarter|month)|"
    r"(?:" + _MONTH_ALT + r")(?:\s+\d{4})?)\b|"
    r"\s*\b(?:in|during|by|before|until|end of|within)\s+(?:the\s+)?"
    r"(?:(?:Q[1-4]|H[12])(?:\s*(?:FY)?\s*'?\d{2,4})?"
    r"(?:\s+(?:sprints?|planning|cycle|timeframe|time frame))?"
    r"|next\s+(?:\d+\s+)?(?:days?|weeks?|months?|quarter|sprint|release)"
    r"|\d+\s+(?:days?|weeks?|months?))\b",
    re.IGNORECASE,
)


def extract_due(text: str) -> tuple[str, DateParse]:
    """A due date written inside an item ("Due: 2026-06-01", "(due Jun 20, 2026)", "in H1")."""
    cut, p = _extract_labelled_due(text)
    if p.date or p.text:
        return cut, p
    m = _HORIZON_RE.search(text)
    if m:
        phrase = m.group(0).strip()
        rest = text[m.end() :]
        if not rest.strip(" .;,)"):
            return text[: m.start()].rstrip(" ,;—–-"), DateParse(None, phrase)
        return text, DateParse(None, phrase)
    return text, p


def _extract_labelled_due(text: str) -> tuple[str, DateParse]:
    for m in _DUE_LABEL_RE.finditer(text):
        word = (
            m.group(0).strip("([ *").split()[0].rstrip(":-*").casefold()
            if m.group(0).strip("([ *")
            else ""
        )
        rest = text[m.end() :]
        p = parse_date(rest[:60])
        if not (p.date or p.text) or p.span is None or p.span[0] > 2:
            continue
        if word == "by" and not (p.date or p.ambiguous or (p.text and _VAGUE_RE.match(p.text))):
            continue
        end = m.end() + p.span[1]
        tail = text[end:]
        close = re.match(r"\s*\**\s*[)\]]", tail)
        start = m.start()
        if close and text[start] in "([":
            end += close.end()
        elif text[start] in "([":
            start += 1
        cut = (text[:start].rstrip(" ,;—–-") + " " + text[end:].lstrip(" ,;.")).strip()
        if word == "by":
            cut = text  # "by Q3" reads as part of the sentence; keep it in the title
        return cut, p
    return text, DateParse(None, None)


# --- priority and type -------------------------------------------------------------------------

_PRIO_RE = re.compile(r"(?:^|[\s(\[])(?:priority\s*:?\s*)?(P[0-4])(?=$|[\s)\]:,.])", re.IGNORECASE)
_PRIO_WORD_RE = re.compile(
    r"[(\[]\s*(?:priority\s*:?\s*)?(critical|high|medium|low)(?:\s+priority)?\s*[)\]]"
    r"|\bpriority\s*:\s*(critical|high|medium|low|P[0-4])\b",
    re.IGNORECASE,
)


def normalise_priority(text: str) -> str | None:
    t = visible_text(text).strip().casefold()
    if not t:
        return None
    m = re.fullmatch(r"p\s*([0-4])\b.*", t)
    if m:
        return f"P{m.group(1)}"
    for w, norm in (
        ("critical", "Critical"),
        ("highest", "Critical"),
        ("urgent", "Critical"),
        ("high", "High"),
        ("medium", "Medium"),
        ("normal", "Medium"),
        ("low", "Low"),
        ("lowest", "Low"),
    ):
        if t.startswith(w):
            return norm
    m = re.fullmatch(r"([0-4])", t)
    if m:
        return f"P{m.group(1)}"
    return None


def extract_priority(text: str) -> tuple[str, str | None]:
    m = _PRIO_WORD_RE.search(text)
    if m:
        word = m.group(1) or m.group(2)
        return (text[: m.start()] + text[m.end() :]).strip(), normalise_priority(word)
    m = _PRIO_RE.search(text)
    if m:
        start = m.start(1)
        end = m.end(1)
        before = text[:start]
        if before.rstrip().endswith(("(", "[")) and text[end:].lstrip().startswith((")", "]")):
            start = before.rstrip().rfind(before.rstrip()[-1])
            end = end + text[end:].find(text[end:].lstrip()[0]) + 1
        cut = (text[:start] + text[end:]).strip()
        cut = re.sub(r"^[:\-–—]\s*", "", cut)
        return cut, f"P{m.group(1)[1]}"
    return text, None
