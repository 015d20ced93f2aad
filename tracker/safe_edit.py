"""Write-back that can never corrupt a postmortem: every edit is read back by the parser.

`writeback.py` places references, statuses and checkboxes surgically, but Markdown is ambiguous:
on odd documents (fuzzing found a setext underline `-` read back as a list item, a lazy
continuation `+` turned into a nested list, an empty nested item whose reference lands in its
parent) an edit can change what the file says. So the edited bytes are parsed again: every item
must come back with the same key, title, owners and due date, in the same order, and each edit
must read back (the reference among the item's tickets, the status done). If not, the edits are
applied one at a time and only those that pass are kept; the others are refused, so the file
keeps saying what its authors wrote. One extra parse per file written; none on a no-op run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tracker.errors import WriteBackError
from tracker.model import ActionItem, Postmortem
from tracker.parse import ParseOptions, parse_postmortem
from tracker.parse.values import normalise_text
from tracker.writeback import append_reference, set_checkbox, set_status_cell

Kind = Literal["ref", "status", "checkbox"]


@dataclass(frozen=True)
class Edit:
    """One change to one item: its ticket reference, its Status cell or its checkbox."""

    item: ActionItem
    kind: Kind
    value: str


def _apply(data: bytes, e: Edit) -> bytes:
    if e.kind == "ref":
        return append_reference(data, e.item, e.value)
    if e.kind == "status":
        return set_status_cell(data, e.item, e.value)
    return set_checkbox(data, e.item, True)


def _facts(item: ActionItem) -> tuple[object, ...]:
    # An item with no word in its text is keyed by its tickets or line: its key may change
    # when its first reference is written, and that is expected (see parse/document.py).
    key = item.key if normalise_text(item.title) else None
    return (key, item.title, item.owners, item.due, item.line)


def reads_back(
    before: Postmortem, data: bytes, edits: Sequence[Edit], options: ParseOptions
) -> bool:
    """Whether `data` still holds the same items as `before`, with `edits` visible in them."""
    after = parse_postmortem(data, before.path, options)
    if [_facts(i) for i in after.items] != [_facts(i) for i in before.items]:
        return False
    by_line = {i.line: i for i in after.items}
    for e in edits:
        now = by_line.get(e.item.line)
        if now is None:
            return False
        if e.kind == "ref" and e.value not in now.tickets:
            return False
        if e.kind in ("status", "checkbox") and now.status not in ("done", "dropped"):
            return False
    return True


def apply_checked(
    data: bytes, pm: Postmortem, edits: Sequence[Edit], options: ParseOptions
) -> tuple[bytes, dict[int, str]]:
    """`data` with the edits that read back; the problems of the others, by edit index."""
    problems: dict[int, str] = {}
    out = data
    kept: list[Edit] = []
    for n, e in enumerate(edits):
        try:
            out = _apply(out, e)
            kept.append(e)
        except WriteBackError as exc:  # one odd line must not cost the others
            problems[n] = str(exc)
    if out == data or reads_back(pm, out, kept, options):
        return out, problems
    # Some edit changed what the file says: keep only those that read back together.
    out = data
    kept = []
    for n, e in enumerate(edits):
        if n in problems:
            continue
        try:
            candidate = _apply(out, e)
        except WriteBackError as exc:
            problems[n] = str(exc)
            continue
        if reads_back(pm, candidate, [*kept, e], options):
            out = candidate
            kept.append(e)
        else:
            problems[n] = (
                f"line {e.item.line}: writing {e.value!r} there would change how the postmortem "
                "reads (its items or their text), so it was not written: add it by hand"
            )
    return out, problems
