"""Lint rules over parsed postmortems: stable codes, configurable severity."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from tracker.model import ActionItem, Postmortem, Problem, Severity


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    summary: str


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("PM001", "error", "item has no owner"),
        Rule("PM002", "warning", "owner is a team or a placeholder, not a person"),
        Rule("PM003", "warning", "item has several owners; one person should own it"),
        Rule("PM004", "error", "item has no due date"),
        Rule("PM005", "warning", "due date is vague, ambiguous or not a date"),
        Rule("PM006", "warning", "due date has passed and the item is still open"),
        Rule("PM007", "warning", "too many action items in one postmortem"),
        Rule("PM008", "warning", "item is too vague to be done and closed"),
        Rule("PM009", "warning", "no action-item section found"),
        Rule("PM010", "warning", "malformed table row"),
        Rule("PM011", "warning", "owner is not in the owners map of the config"),
        Rule("PM012", "warning", "item repeats another item of the same postmortem"),
        Rule("PM013", "error", "two postmortems share one id"),
        Rule("PM014", "warning", "looks like follow-up work but yielded no item"),
        Rule("PM015", "warning", "due date is before the postmortem's date"),
        Rule("PM020", "warning", "file is not valid UTF-8"),
        Rule("PM021", "error", "file is too large to parse"),
        Rule("PM022", "error", "document nests too deeply to parse"),
        Rule("PM023", "warning", "front matter is not valid YAML"),
    )
}

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_VAGUE_START = re.compile(
    r"^(?:improve|better|enhance|investigate|look\s+into|review|revisit|consider|explore|"
    r"think\s+about|more|add\s+more|increase|fix|monitor|check|discuss|evaluate|update)\b",
    re.IGNORECASE,
)
_SPECIFIC = re.compile(r"\d|`|/|_|\.[a-z]|[A-Z]{2,}|#|@|https?://")


@dataclass(frozen=True)
class LintSettings:
    """What lint needs from the config (kept free of pydantic)."""

    max_items: int = 10
    placeholder_owners: frozenset[str] = frozenset()
    team_suffixes: tuple[str, ...] = ("team", "teams", "squad", "group", "crew", "guild")
    severity: Mapping[str, str] | None = None
    skip_done: bool = True
    owners_map: Mapping[str, str] | None = None
    default_due: Mapping[str, int] | None = None  # sync.default_due: sync fills missing dates

    def severity_of(self, code: str) -> str:
        if self.severity and code in self.severity:
            return self.severity[code]
        return RULES[code].severity if code in RULES else "warning"


def is_vague(title: str) -> bool:
    """Short items that start with a vague verb and name nothing concrete."""
    words = title.split()
    if len(words) > 5 or not _VAGUE_START.match(title):
        return False
    return not _SPECIFIC.search(" ".join(words[1:]))


def _is_placeholder(owner: str, settings: LintSettings) -> bool:
    o = owner.casefold().strip()
    if o in settings.placeholder_owners:
        return True
    last = o.split()[-1] if o.split() else ""
    return len(o.split()) > 1 and last in settings.team_suffixes


def _item_problems(
    item: ActionItem, pm: Postmortem, settings: LintSettings, as_of: dt.date | None
) -> Iterable[Problem]:
    line = item.line
    active = item.status in ("open", "in_progress") or not settings.skip_done
    if active:
        if not item.owners:
            yield Problem(
                "PM001",
                "error",
                f"'{_short(item.title)}' has no owner: add one person, e.g. 'Owner: @handle'"
                " or an Owner column",
                line,
            )
        else:
            for o in item.owners:
                if _is_placeholder(o, settings):
                    yield Problem(
                        "PM002",
                        "warning",
                        f"owner '{o}' is a team or a placeholder: name the one person who "
                        "will drive the item",
                        line,
                    )
            if len(item.owners) > 1:
                yield Problem(
                    "PM003",
                    "warning",
                    f"{len(item.owners)} owners ({', '.join(item.owners)}): keep one owner, "
                    "mention helpers in the text",
                    line,
                )
        filled = _default_due(item, pm, settings)
        if item.due is None and item.due_text is None and filled is not None:
            # Not an error: sync sets this date, so the item will be tracked with one.
            yield Problem(
                "PM004",
                "info",
                f"'{_short(item.title)}' has no due date: sync sets {filled.isoformat()} "
                "(sync.default_due); write a date to choose another",
                line,
            )
        elif item.due is None and item.due_text is None:
            yield Problem(
                "PM004",
                "error",
                f"'{_short(item.title)}' has no due date: add 'Due: YYYY-MM-DD' or a Due column",
                line,
            )
        elif item.due is None and item.due_text is not None:
            yield Problem(
                "PM005",
                "warning",
                f"due '{item.due_text}' is not a date: write it as YYYY-MM-DD",
                line,
            )
        if item.due is not None and pm.date is not None and item.due < pm.date:
            yield Problem(
                "PM015",
                "warning",
                f"due {item.due.isoformat()} is before the postmortem's date "
                f"{pm.date.isoformat()}: a typo in the year or the month?",
                line,
            )
        if item.due is not None and as_of is not None and item.due < as_of:
            days = (as_of - item.due).days
            yield Problem(
                "PM006",
                "warning",
                f"due {item.due.isoformat()} passed {days} day{'s' if days != 1 else ''} ago "
                "and the item is still open: finish it, or move the date",
                line,
            )
    if is_vague(item.title):
        yield Problem(
            "PM008",
            "warning",
            f"'{item.title}' is vague: say what will change and how you will know it is done",
            line,
        )
    if settings.owners_map is not None and settings.owners_map:
        known = {k.casefold().lstrip("@") for k in settings.owners_map}
        for o in item.owners:
            if o.casefold().lstrip("@") not in known and not _is_placeholder(o, settings):
                yield Problem(
                    "PM011",
                    "warning",
                    f"owner '{o}' is not in the owners map of the config: add "
                    f"'{o}: <login or account id>' under owners:",
                    line,
                )


def _default_due(item: ActionItem, pm: Postmortem, settings: LintSettings) -> dt.date | None:
    """The due date sync gives an item without one (None: it stays without)."""
    if not settings.default_due:
        return None
    from tracker.drafts import SyncPolicy, effective_due  # noqa: PLC0415 - lint stays light

    return effective_due(item, pm, SyncPolicy(default_due=settings.default_due))


def _short(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def lint_postmortem(
    pm: Postmortem, settings: LintSettings, as_of: dt.date | None = None
) -> list[Problem]:
    """Every problem of one postmortem: the parser's and the lint rules', severities applied."""
    found: list[Problem] = list(pm.problems)
    if not pm.has_action_section and not pm.items:
        found.append(
            Problem(
                "PM009",
                "warning",
                "no action-item section found: add a '## Action items' section (a table "
                "| Item | Owner | Due | or a list), or configure sections.patterns",
                None,
            )
        )
    active = [i for i in pm.items if i.status in ("open", "in_progress")]
    if len(active) > settings.max_items and active:
        found.append(
            Problem(
                "PM007",
                "warning",
                f"{len(active)} open action items (limit {settings.max_items}): long lists do "
                "not get done; keep the few that prevent a repeat, move the rest to a backlog",
                active[settings.max_items].line,
            )
        )
    for item in pm.items:
        found.extend(_item_problems(item, pm, settings, as_of))
    return _apply_severity(found, settings)


def _apply_severity(problems: Sequence[Problem], settings: LintSettings) -> list[Problem]:
    out: list[Problem] = []
    for p in problems:
        configured = settings.severity is not None and p.code in settings.severity
        # A rule may lower its own severity to info (PM004 when sync fills the date in);
        # a severity set in the config still wins.
        sev = (
            p.severity if p.severity == "info" and not configured else settings.severity_of(p.code)
        )
        if sev == "off":
            continue
        out.append(replace(p, severity=sev) if sev != p.severity else p)  # type: ignore[arg-type]
    return sorted(out, key=lambda p: (p.line or 0, _SEVERITY_ORDER[p.severity], p.code))


def lint_repository(
    postmortems: Sequence[Postmortem], settings: LintSettings, as_of: dt.date | None = None
) -> dict[str, list[Problem]]:
    """Problems per path, including those that need every file (duplicate postmortem ids)."""
    result = {pm.path: lint_postmortem(pm, settings, as_of) for pm in postmortems}
    seen: dict[str, str] = {}
    for pm in postmortems:
        if pm.id in seen:
            dup = Problem(
                "PM013",
                "error",
                f"postmortem id '{pm.id}' is also used by {seen[pm.id]}: give one of them "
                "a unique 'id:' in its front matter",
                1,
            )
            result[pm.path] = _apply_severity([*result[pm.path], dup], settings)
        else:
            seen[pm.id] = pm.path
    return result


def rank(problems: Iterable[tuple[str, Problem]]) -> list[tuple[str, Problem]]:
    """Most important first: errors, then warnings, then by file and line."""
    return sorted(
        problems, key=lambda t: (_SEVERITY_ORDER[t[1].severity], t[0], t[1].line or 0, t[1].code)
    )
