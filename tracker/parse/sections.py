"""Which parts of a document hold action items: headings, bold labels and plain label lines."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from tracker.parse.markdown import Heading, Outline
from tracker.parse.table import read_table
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


# Section recognition by meaning: a heading is about follow-up work when its words say so.
# Each term carries a weight; negative terms (the past, analysis) pull the score down, and a veto
# term rules the heading out whatever else it says ("Follow-up timeline"). Explainable: the
# decision lists the terms it saw.
_POSITIVE_TERMS: tuple[tuple[str, int, str], ...] = (
    (r"\baction(?:s|able)?\b", 3, "action"),
    (r"\bfollow[\s-]*(?:ups?|through)\b", 3, "follow-up"),
    (r"\bremedia(?:tion|tions|l|te|ting)\b", 3, "remediation"),
    (r"\bprevent(?:ion|ive|ative|ing|s)?\b", 3, "prevention"),
    (r"\bcorrective\b|\bcorrections?\b", 3, "corrective"),
    (r"\bimprov(?:e|es|ed|ements?|ing)\b", 3, "improvement"),
    (r"\bmitigat(?:ion|ions|e|ing)\b", 3, "mitigation"),
    (r"\brecommend(?:ations?|ed)?\b", 3, "recommendation"),
    (
        r"\bnext\s+steps?\b|\bwhat(?:'|’)?s\s+next\b|\bwhat\s+is\s+next\b|\bup\s+next\b",
        3,
        "next steps",
    ),
    (r"^(?:planned\s+|proposed\s+)?fix(?:es)?$", 3, "fixes"),
    (r"\bwork\s+items?\b|\btasks?\b", 3, "tasks"),
    (r"\btodos?\b|\bto-dos?\b|^to\s+dos?$", 3, "todo"),
    (
        r"\bdoing\s+(?:about|to)\b|\bwe(?:'|’)?(?:re| are| will|'ll|’ll)\s+(?:doing|changing)\b|"
        r"\bwe(?:'|’)?(?:re|\s+are)\s+making\b|\bwe(?:'|’)?(?:ll|\s+will)\s+(?:make|change|do)\b|"
        r"\bnext\s+up\b",
        3,
        "what we are doing",
    ),
    (r"\b(?:going|looking|moving)\s+forward\b", 3, "going forward"),
    (
        r"\bavoid(?:ing)?\b|\bhappening\s+again\b|\brecurr(?:ence|ing)\b|\bnever\s+again\b",
        2,
        "avoid a recurrence",
    ),
    (r"\bfuture\s+(?:work|plans?|changes|fixes|steps)\b", 3, "future work"),
    (r"\bfuture\b", 1, "future"),
    (r"\bfix(?:es)?\b|\bchanges\b|\bsolutions?\b|\bsuggest(?:ed|ions?)\b|\bplans?\b", 1, "changes"),
    (r"\bdetective\b|\bhardening\b|\bsafeguards?\b|\bcountermeasures?\b", 2, "hardening"),
)
_NEGATIVE_TERMS: tuple[tuple[str, int, str], ...] = (
    (r"\blessons?\b|\btakeaways?\b|\blearn(?:ed|t|ings?)\b", -2, "lessons"),
    (r"\broot[\s-]*causes?\b|\bcontributing\s+factors?\b|\bcauses?\b", -3, "cause"),
    (r"\bimpact\b|\bbackground\b|\bsummary\b|\boverview\b", -2, "analysis"),
    (r"\bresolution\b|\brecovery\b|\bresponse\b|\binvestigation\b", -1, "incident response"),
    (r"\bissues\b|\bproblems\b|\bsymptoms\b|\bfailures?\b|\bwhat\s+happened\b", -2, "problems"),
)
_VETO_TERMS: tuple[tuple[str, str], ...] = (
    (r"\btimeline\b|\bchronology\b|\bsequence\s+of\s+events\b", "timeline"),
    (r"\bwent\s+(?:well|wrong|poorly|badly)\b|\bwhere\s+we\s+got\s+lucky\b", "retrospective"),
    (r"\bresponders?\b|\bparticipants?\b|\battendees\b", "people"),
    (r"\bnotes?\s+to\s+(?:the\s+)?(?:owner|author)s?\b", "notes to the author"),
    (
        r"\bglossary\b|\bappendix\b|\breferences?\b|\bcall\s+to\s+action\b|\bworkarounds?\b",
        "reference material",
    ),
    (r"\bcommands?\s+used\b|\bchecklist\b", "procedure"),
    (r"\b(?:were|was|we)\s+taken\b|\b(?:actions|steps)\s+taken\b", "past actions"),
)
THRESHOLD = 3


@dataclass(frozen=True)
class Decision:
    """Why a heading is, or is not, an action-item section."""

    score: int
    terms: tuple[str, ...]
    accepted: bool
    rule: str  # "name" (a configured pattern), "meaning" (scored), "excluded", "veto", "score"

    def explain(self) -> str:
        terms = ", ".join(self.terms) or "no follow-up words"
        return f"{self.rule}: score {self.score} ({terms}; threshold {THRESHOLD})"


_POS_RES = tuple((re.compile(p, re.IGNORECASE), w, n) for p, w, n in _POSITIVE_TERMS)
_NEG_RES = tuple((re.compile(p, re.IGNORECASE), w, n) for p, w, n in _NEGATIVE_TERMS)
_VETO_RES = tuple((re.compile(p, re.IGNORECASE), n) for p, n in _VETO_TERMS)


@lru_cache(maxsize=4096)
def decide(
    text: str,
    patterns: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> Decision:
    """Is a heading (or label) about follow-up work? Configured names first, then meaning."""
    words = heading_words(text)
    if patterns and matches(text, patterns):
        return Decision(10, ("configured name",), True, "name")
    if not words or len(words) > 120:
        return Decision(0, (), False, "score")
    for rx, name in _VETO_RES:
        if rx.search(words):
            return Decision(-10, (name,), False, "veto")
    pos = [(w, n) for rx, w, n in _POS_RES if rx.search(words)]
    neg = [(w, n) for rx, w, n in _NEG_RES if rx.search(words)]
    best = max((w for w, _ in pos), default=0)
    # Weak words add up a little ("future fixes"), strong ones do not need help.
    bonus = 1 if len(pos) > 1 and best < THRESHOLD else 0
    score = best + bonus + sum(w for w, _ in neg)
    if pos and best >= THRESHOLD and neg:
        # "Lessons learned and future improvements", "Remediation and architectural lessons":
        # a strong follow-up word wins over a mixed heading's other half.
        score = max(score, THRESHOLD)
    terms = tuple(n for _, n in pos) + tuple(f"-{n}" for _, n in neg)
    if exclude and not pos and matches(text, exclude, whole=False):
        return Decision(min(score, 0), (*terms, "excluded name"), False, "excluded")
    return Decision(score, terms, score >= THRESHOLD, "meaning")


@dataclass(frozen=True)
class Region:
    """Lines [start, end) that may hold action items, and the heading or label that opened them."""

    start: int
    end: int
    title: str
    level: int  # heading level, or 7 for a label line
    label_line: int | None = None  # the label line itself, for bullet labels
    kind: str = "heading"  # "heading" | "label" | "lead-in" (a sentence before a list) | "table"
    decision: Decision | None = None


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
    trace: list[tuple[int, str, Decision]] | None = None,
) -> list[Region]:
    """Regions of the document that hold action items, in order, never overlapping.

    `trace`, when given, receives (line, heading text, decision) for every heading and label
    considered, so `tracker parse --explain` can say why a part was read or not.
    """
    lines = outline.lines
    n = len(lines)
    headings = outline.headings
    regions: list[Region] = []
    covered_until = -1
    vetoed_level = 0  # inside a timeline (or another vetoed heading): its subsections too
    lessons_level = 0  # inside "Takeaways" / "Lessons learned": a subsection needs more
    vetoed = bytearray(n)
    for idx, h in enumerate(headings):
        d = decide(h.text, patterns, exclude)
        if vetoed_level and h.level > vetoed_level and d.rule != "name":
            d = Decision(d.score, (*d.terms, "inside a vetoed section"), False, "veto")
        elif d.rule == "veto":
            vetoed_level = h.level
        else:
            vetoed_level = 0
        if lessons_level and h.level > lessons_level and d.rule == "meaning" and d.accepted:
            score = d.score - 2
            d = Decision(score, (*d.terms, "-inside lessons"), score >= THRESHOLD, "meaning")
        elif h.level <= lessons_level or not lessons_level:
            lessons_level = h.level if "-lessons" in d.terms and not d.accepted else 0
        if d.rule == "veto":
            vetoed[h.line : _heading_end(headings, idx, n)] = b"\x01" * (
                _heading_end(headings, idx, n) - h.line
            )
        if trace is not None:
            trace.append((h.line, h.text, d))
        if h.line < covered_until or not d.accepted:
            continue
        end = n
        for j in range(idx + 1, len(headings)):  # no slicing: O(1) per heading at one level
            if headings[j].level <= h.level:
                end = headings[j].line
                break
        regions.append(Region(h.line + 1, end, heading_words(h.text), h.level, decision=d))
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
        # Cheap structure first: a label stands after a blank line or a heading, or starts
        # with bold (a bold label inside a list); most lines of a paragraph fail here.
        stripped = line.lstrip()
        if not (
            i == 0
            or not lines[i - 1].strip()
            or _is_block_end(lines[i - 1])
            or stripped.startswith(("**", "__"))
            or (stripped[:1] in _LIST_FIRST and _BULLET_BOLD_RE.match(stripped))
        ):
            continue
        if not _LABEL_WORDS_RE.search(line[:80].lower()) and not quick.match(line):
            continue
        lead = _BOLD_LEAD_LABEL_RE.match(line)
        if (
            lead
            and not _MARKER_WORD_RE.match(lead.group("text"))  # "**Action item:**": one item
            and (i == 0 or not lines[i - 1].strip() or _is_block_end(lines[i - 1]))
        ):
            # "**Remediation:** we modified the installer ...": a paragraph that opens with a
            # bold label starts a section there; the paragraph is its first item
            d = decide(lead.group("text"), patterns, exclude)
            if (d.accepted and d.rule == "name") or (d.accepted and d.score >= THRESHOLD):
                if trace is not None:
                    trace.append((i, lead.group("text"), d))
                end = _label_end(outline, i, 0)
                title = heading_words(lead.group("text"))
                regions.append(Region(i, end, title, 7, label_line=i, kind="label", decision=d))
                covered[i:end] = b"\x01" * (end - i)
                continue
        if len(line) > 120:
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
        if plain_ok and not _stands_alone(lines, i, line):
            continue  # the first line of a paragraph that goes on
        d = decide(text, patterns, exclude)
        if not d.accepted:
            continue
        if plain_ok and len(text.split()) > 8:
            continue
        if trace is not None:
            trace.append((i, text, d))
        indent = len(m.group("indent"))
        end = _label_end(outline, i, indent)
        start = i if m.group("bullet") else i + 1
        regions.append(
            Region(start, end, heading_words(text), 7, label_line=i, kind="label", decision=d)
        )
        covered[start:end] = b"\x01" * (end - start)
    # no lead-in lists inside a timeline (or another vetoed section)
    hidden = bytearray(a | b for a, b in zip(covered, vetoed, strict=True))
    regions.extend(_lead_ins(outline, hidden, heading_lines))
    covered = bytearray(a | b for a, b in zip(covered, hidden, strict=True))
    regions.extend(_action_tables(outline, covered))
    regions.sort(key=lambda r: r.start)
    return regions


def _heading_end(headings: Sequence[Heading], idx: int, n: int) -> int:
    for j in range(idx + 1, len(headings)):
        if headings[j].level <= headings[idx].level:
            return headings[j].line
    return n


_BOLD_LEAD_LABEL_RE = re.compile(
    r"^\s{0,3}(?:\*\*|__)(?P<text>[^*_\n]{2,40}?)(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:)\s+\S"
)


_MARKER_WORD_RE = re.compile(
    r"^\s*(?:action[\s-]*(?:items?|points?)|todo|done|doing|follow[\s-]*up)\s*$", re.IGNORECASE
)


def _stands_alone(lines: list[str], i: int, line: str) -> bool:
    """A plain label line ends with a colon, or the next line is blank, a list or a table."""
    if line.rstrip().endswith(":"):
        return True
    if i + 1 >= len(lines):
        return True
    nxt = lines[i + 1]
    return not nxt.strip() or bool(_LIST_LINE_RE.match(nxt)) or "|" in nxt


_LIST_LINE_RE = re.compile(r"^\s{0,12}(?:[-*+]|\d{1,3}[.)])\s+\S")
# A sentence that announces follow-up work, right before a list: it must both commit ("we will",
# "to make sure") and speak of follow-up ("steps", "happen again", "prevent").
_COMMIT_RE = re.compile(
    r"\b(?:will|we(?:'|’)ll|we\s+(?:are|were)\s+going\s+to|we\s+plan|we\s+intend|"
    r"we\s+(?:are|have|'ve|’ve)\s*(?:now\s+)?(?:taking|making|doing|working|committed|"
    r"identified|taken|made|started)|we\s+are\s*:|we(?:'|’)re\s*:|to\s+(?:prevent|avoid|ensure|"
    r"make\s+sure|reduce\s+the\s+(?:risk|chance))|next\s+steps|follow[\s-]*ups?|action\s+items?|"
    r"going\s+forward|moving\s+forward|in\s+the\s+future|will\s+be\s+(?:taking|making|doing))",
    re.IGNORECASE,
)
_FOLLOW_RE = re.compile(
    r"\b(?:happen(?:s|ing)?\s+again|recur|prevent|avoid|going\s+forward|moving\s+forward|"
    r"follow[\s-]*ups?|action\s+items?|next\s+steps|remediat|mitigat|improv|"
    r"(?:following|these|some|several|a\s+few|further)\s+(?:steps|actions|changes|measures|"
    r"fixes|tasks|improvements|items))",
    re.IGNORECASE,
)


def is_lead_in(text: str) -> bool:
    """Does this sentence announce a list of follow-up work? (It ends with a colon.)"""
    t = text.strip().rstrip("*_ ").rstrip()
    if not t.endswith(":") or len(t) > 300:
        return False
    if re.search(r"\byou(?:r|rs)?\b", t, re.IGNORECASE):
        return False  # advice to readers ("Some things you can do to help prevent ..."), not work
    return bool(_COMMIT_RE.search(t) and _FOLLOW_RE.search(t))


def _lead_ins(outline: Outline, covered: bytearray, heading_lines: set[int]) -> list[Region]:
    """Lists announced by a lead-in sentence outside any action-item section."""
    lines = outline.lines
    n = len(lines)
    out: list[Region] = []
    i = outline.body_start
    while i < n:
        line = lines[i]
        if (
            covered[i]
            or outline.in_code[i]
            or i in heading_lines
            or not line.rstrip().rstrip("*_ ").endswith(":")
            or _LIST_LINE_RE.match(line)
        ):
            i += 1
            continue
        # the paragraph this line ends
        s = i
        while s > outline.body_start and lines[s - 1].strip() and not covered[s - 1]:
            if _LIST_LINE_RE.match(lines[s - 1]) or (s - 1) in heading_lines:
                break
            s -= 1
        para = " ".join(x.strip() for x in lines[s : i + 1])
        j = i + 1
        while j < n and not lines[j].strip():
            j += 1
        if j >= n or not _LIST_LINE_RE.match(lines[j]) or not is_lead_in(para):
            i += 1
            continue
        end = _list_end(lines, j, heading_lines)
        if any(covered[j:end]):
            i += 1
            continue
        out.append(Region(j, end, visible_text(para).rstrip(":"), 7, label_line=i, kind="lead-in"))
        covered[j:end] = b"\x01" * (end - j)
        i = end
    return out


def _action_tables(outline: Outline, covered: bytearray) -> list[Region]:
    """Tables whose header is plainly an action table (Action / Owner / Status / Due / Ticket),
    wherever they stand."""
    lines = outline.lines
    out: list[Region] = []
    i = outline.body_start
    n = len(lines)
    while i < n - 1:
        if covered[i] or outline.in_code[i] or "|" not in lines[i]:
            i += 1
            continue
        t = read_table(lines, i, n)
        if t is None:
            i += 1
            continue
        if t.is_plainly_action_table and not any(covered[i : t.end_line]):
            k = bisect.bisect_right(outline.heading_lines, i) - 1
            title = heading_words(outline.headings[k].text) if k >= 0 else "action table"
            out.append(Region(i, t.end_line, title, 7, kind="table"))
        i = max(t.end_line, i + 1)
    return out


def _list_end(lines: list[str], start: int, heading_lines: set[int]) -> int:
    """The line after a list that starts at `start`: the first unindented non-list line after
    a blank line, or a heading."""
    j = start + 1
    n = len(lines)
    blank = False
    while j < n:
        line = lines[j]
        if j in heading_lines:
            return j
        if not line.strip():
            blank = True
        elif blank and not line[:1].isspace() and not _LIST_LINE_RE.match(line):
            return j
        else:
            blank = False
        j += 1
    return n


@lru_cache(maxsize=32)
def _label_prefilter(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """A line can be a label only if it is short and names follow-up work somewhere: most lines
    fail at once, before the full label pattern runs."""
    alt = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(rf"^[\W\d_]*(?:{alt})", re.IGNORECASE)


# Literal stems of the positive terms: a line without any of them near its start cannot be a
# label by meaning, and `in` on a short string is far cheaper than the terms' regexes.
_LABEL_WORDS: tuple[str, ...] = (
    "action", "follow", "remedi", "prevent", "correct", "improv", "mitigat", "recommend",
    "next", "task", "todo", "to-do", "to do", "doing", "forward", "avoid", "again", "recurr",
    "future", "fix", "work item", "we're", "we are", "we'll", "we will", "detective", "harden",
    "safeguard", "countermeasure", "we’re", "we’ll",
)  # fmt: skip
_LIST_FIRST = frozenset("-*+0123456789")
_BULLET_BOLD_RE = re.compile(r"(?:[-*+]|\d{1,3}[.)])\s+(?:\*\*|__)")
_LABEL_WORDS_RE = re.compile("|".join(re.escape(w) for w in _LABEL_WORDS))


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
