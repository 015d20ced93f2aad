"""Markdown pieces shared by the report renderers: escaping, links, owners, tables, figures."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence

from tracker.report.rows import ReportItem

DASH = "–"
# Inline Markdown that a title could use to format, link, embed or typeset (GitHub math: `$`).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]~|$!])")
# A GitHub login (alphanumerics and single inner hyphens, at most 39): what could be mentioned.
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "|": "%7C"}


def percent(value: float) -> int:
    """Whole percent, halves rounded up (12.5% -> 13%, as people round)."""
    return math.floor(value * 100 + 0.5)


def pct(value: float | None) -> str:
    return DASH if value is None else f"{percent(value)}%"


def days(value: float | None) -> str:
    if value is None:
        return DASH
    n = f"{value:g}"
    return f"{n} day" if n == "1" else f"{n} days"


def md_text(text: str) -> str:
    """Plain text safe inside a Markdown table cell: no formatting, HTML or @mentions."""
    text = " ".join(text.split())
    text = html.escape(text, quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # A zero-width space after '@' keeps GitHub from notifying anyone (as Renovate does).
    return text.replace("@", "@&#8203;")


def md_code(text: str) -> str:
    """`text` as a code span inside a table cell (never a mention, never formatting)."""
    text = " ".join(text.split()).replace("`", "'").replace("|", "\\|")
    return f"`{text}`" if text else ""


def link(item: ReportItem) -> str:
    ref = md_text(item.ticket)
    if not item.url.startswith(("https://", "http://")):
        return ref
    url = "".join(_URL_UNSAFE.get(c, c) for c in item.url)
    return f"[{ref}]({url})"


def owners_md(owners: Sequence[str], *, mention: bool = False) -> str:
    if not owners:
        return "_nobody_"
    return ", ".join(f"@{o}" if mention and _LOGIN.fullmatch(o) else md_code(o) for o in owners)


def quiet(i: ReportItem) -> str:
    if i.days_since_activity is None:
        return DASH
    return f"{i.days_since_activity} (stale)" if i.stale else str(i.days_since_activity)


def table(header: Sequence[str], align: str, rows: Iterable[Sequence[str]]) -> list[str]:
    """Pipe table lines; `align` has one of l/r per column."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    s = str(value)
    # A spreadsheet runs a cell that starts like a formula (OWASP "CSV injection").
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s
