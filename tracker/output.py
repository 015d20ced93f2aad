"""What the CLI prints: short, one line per change, notes grouped, secrets never shown.

Pure text in and out (no click, no rich), so every rule here is tested without a terminal.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.sync import ItemResult

WIDTH = 80  # tables fit a classic terminal: titles wrap, columns never do

# A credential as libraries print it: an Authorization header (requests' repr of a headers dict,
# or an HTTP dump), a Basic or Bearer value, a token-ish query parameter.
_SECRETS = (
    re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n,}]+"),
    re.compile(r"(?i)\b(basic|bearer|token)\s+[A-Za-z0-9+/=._~-]{8,}"),
    re.compile(r"(?i)([?&](?:access_token|token|api_key|apikey|key)=)[^&\s'\"]+"),
)


def redact(text: str) -> str:
    """`text` with every credential-looking value replaced by ***."""
    text = _SECRETS[0].sub(lambda m: m.group(1) + "***", text)
    text = _SECRETS[1].sub(lambda m: m.group(1) + " ***", text)
    return _SECRETS[2].sub(lambda m: m.group(1) + "***", text)


def internal_error(exc: BaseException, verbose: bool) -> str:
    """The last-resort message: the type and where; the (redacted) text and traceback only
    with -v, since a library's message may embed a request with its headers."""
    where = type(exc).__module__
    name = (
        type(exc).__name__ if where in ("builtins", "__main__") else f"{where}.{type(exc).__name__}"
    )
    head = f"internal error: {name}"
    if verbose:
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return redact(trace.rstrip()) + "\n" + head
    return (
        f"{head}\nThis is a bug in postmortem-tracker. Run again with -v for the details and "
        "the traceback, and report it with the command you ran."
    )


_KEYED = re.compile(r"^(?P<key>[^\s:]+/[^\s:]+): (?P<rest>.+)$", re.S)


def group_notes(notes: Iterable[str]) -> list[str]:
    """One line per distinct note; "<item key>: text" notes that repeat for several items become
    "text (N items: a, b, c, ...)"."""
    order: list[str] = []
    keys: dict[str, list[str]] = {}
    for note in notes:
        m = _KEYED.match(note)
        text, key = (m.group("rest"), m.group("key")) if m else (note, None)
        if text not in keys:
            order.append(text)
            keys[text] = []
        if key is not None and key not in keys[text]:
            keys[text].append(key)
    out = []
    for text in order:
        ks = keys[text]
        if len(ks) == 1:
            out.append(f"{ks[0]}: {text}")
        elif ks:
            shown = ", ".join(ks[:3]) + (", ..." if len(ks) > 3 else "")
            out.append(f"{text} ({len(ks)} items: {shown})")
        else:
            out.append(text)
    return out


_DONE = {
    "create": "created",
    "update": "updated",
    "close": "closed",
    "reopen": "reopened",
    "orphaned": "orphaned",
    "conflict": "conflict",
    "failed": "FAILED",
}
_WOULD = {
    "create": "would create",
    "update": "would update",
    "close": "would close",
    "reopen": "would reopen",
    "orphaned": "orphaned",
    "conflict": "conflict",
}


@dataclass(frozen=True)
class SyncText:
    """A sync run as text: one line per change (stdout), then the summary lines (stderr)."""

    changes: tuple[str, ...]
    summary: tuple[str, ...]


def _title(r: ItemResult) -> str:
    entry = r.entry
    if entry is not None and entry.item is not None:
        return entry.item.title
    return r.ticket.title if r.ticket else r.key


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sync_text(
    items: Sequence[ItemResult],
    counts: dict[str, int],
    *,
    dry_run: bool,
    requests: int | None,
    verbose: bool = False,
) -> SyncText:
    """Changes with the item's title and the ticket's URL; deferrals grouped by cause; a no-op
    run is the single line "N items, all up to date"."""
    words = _WOULD if dry_run else _DONE
    lines: list[str] = []
    deferred: dict[str, int] = {}
    for r in items:
        if r.action == "deferred":
            why = r.reason.split(": ", 1)[-1]
            deferred[why] = deferred.get(why, 0) + 1
            continue
        word = words.get(r.action)
        if word is None:
            if verbose:
                ref = r.ticket.ref if r.ticket else "-"
                lines.append(f"{r.action:>12}  {ref:<10} {_shorten(_title(r))}  ({r.reason})")
            continue
        ref = r.ticket.ref if r.ticket else "-"
        line = f"{word:>12}  {ref:<10} {_shorten(_title(r))}"
        url = r.ticket.url if r.ticket else ""
        if url.startswith(("https://", "http://")):
            line += f"  {url}"
        if r.action in ("conflict", "orphaned") or verbose:
            line += f"  ({r.reason})"
        if r.error:
            line += f"  error: {redact(r.error)}"
        lines.append(line)
    total = sum(counts.values())
    head = "plan" if dry_run else "sync"
    req = f"; {requests} requests" if requests is not None and verbose else ""
    changed = {k: n for k, n in counts.items() if n and k not in ("unchanged",)}
    if not changed:
        noun = "item" if total == 1 else "items"
        summary = [
            f"{head}: {total} {noun}, all up to date{req}" if total else f"{head}: nothing to do"
        ]
    else:
        summary = [f"{head}: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + req]
    for why, n in deferred.items():
        summary.append(f"{n} deferred to the next run: {why}")
    return SyncText(tuple(lines), tuple(summary))


def wrap_title(title: str, width: int) -> list[str]:
    """`title` in lines of at most `width` characters, broken at spaces where possible."""
    import textwrap  # noqa: PLC0415

    return textwrap.wrap(title, width=max(width, 10), break_long_words=True) or [""]


def missing_filter(what: str, value: str, known: Sequence[str]) -> str:
    """Why a filtered list is empty, and the values that would match something."""
    if not known:
        return f"no open items with {what} '{value}': there are no open items at all"
    shown = ", ".join(sorted(known)[:20]) + (", ..." if len(known) > 20 else "")
    return f"no open items with {what} '{value}'; {what}s with open items: {shown}"
