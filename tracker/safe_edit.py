"""Write-back that can never corrupt a postmortem: every edit is read back by the parser.

`writeback.py` places references, statuses and checkboxes surgically, but Markdown is ambiguous:
on odd documents (fuzzing found a setext underline `-` read back as a list item, a lazy
continuation `+` turned into a nested list, an empty nested item whose reference lands in its
parent) an edit can change what the file says. So the edited bytes are parsed again: every item
must come back with the same key, title, owners and due date, in the same order, and each edit
must read back (the reference among the item's tickets, the status done). If not, the edits are
tried in halves, then quarters, down to single edits, and only those that pass are kept; the
others are refused, so the file keeps saying what its authors wrote.

Cost: all edits of a file are made in one sweep over it (`FileEditor`), then one parse checks
them all, so a file's write-back is linear in its items; none on a no-op run. Only when some edit
does not read back do more parses follow, about two per refused edit times log2(edits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tracker.errors import WriteBackError
from tracker.model import ActionItem, Postmortem
from tracker.parse import ParseOptions, parse_postmortem
from tracker.parse.values import normalise_text
from tracker.writeback import FileEditor

Kind = Literal["ref", "status", "checkbox"]


@dataclass(frozen=True)
class Edit:
    """One change to one item: its ticket reference, its Status cell or its checkbox."""

    item: ActionItem
    kind: Kind
    value: str


def _apply(ed: FileEditor, e: Edit) -> None:
    if e.kind == "ref":
        ed.append_reference(e.item, e.value)
    elif e.kind == "status":
        ed.set_status_cell(e.item, e.value)
    else:
        ed.set_checkbox(e.item, True)


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


def _sweep(
    data: bytes, edits: Sequence[tuple[int, Edit]], problems: dict[int, str]
) -> tuple[bytes, list[tuple[int, Edit]]]:
    """`data` with `edits` made in one pass; those that raise go into `problems`."""
    ed = FileEditor(data)
    made: list[tuple[int, Edit]] = []
    for n, e in edits:
        try:
            _apply(ed, e)
            made.append((n, e))
        except WriteBackError as exc:  # one odd line must not cost the others
            problems[n] = str(exc)
    return ed.data(), made


def apply_checked(
    data: bytes, pm: Postmortem, edits: Sequence[Edit], options: ParseOptions
) -> tuple[bytes, dict[int, str]]:
    """`data` with the edits that read back; the problems of the others, by edit index."""
    problems: dict[int, str] = {}
    out, made = _sweep(data, list(enumerate(edits)), problems)
    if out == data or reads_back(pm, out, [e for _, e in made], options):
        return out, problems
    # Some edit changed what the file says: keep the groups of edits that read back together,
    # halving a group that does not, in order, until the culprits are single edits.
    kept: list[Edit] = []

    def keep(group: Sequence[tuple[int, Edit]], base: bytes) -> bytes:
        candidate, group = _sweep(base, group, problems)
        if not group:
            return base
        if reads_back(pm, candidate, [*kept, *(e for _, e in group)], options):
            kept.extend(e for _, e in group)
            return candidate
        if len(group) == 1:
            n, e = group[0]
            problems[n] = (
                f"line {e.item.line}: writing {e.value!r} there would change how the postmortem "
                "reads (its items or their text), so it was not written: add it by hand"
            )
            return base
        half = len(group) // 2
        return keep(group[half:], keep(group[:half], base))

    return keep(made, data), problems
