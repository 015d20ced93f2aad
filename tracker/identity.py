"""What binds an item to a ticket, and what must be unique before a sync may write (pure).

Only three things bind an item to an existing ticket: the reference this tool wrote back
(`(tracked: #412)`), an explicit Ticket cell of a table row, and a `tracked in:` / `ticket:`
label in the item. A ticket number mentioned in the item's sentence ("regressed in #12") is a
link, never identity: binding by it would let one item take over another item's ticket.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.errors import ConfigError
from tracker.model import ActionItem, Postmortem
from tracker.parse.values import _TRACKED_RE, extract_tickets

# "tracked in: OPS-12", "Tracking: #5", "ticket: https://...", "tracked: #7" (what we write)
_LABEL_RE = re.compile(r"(?i)(?<![\w-])(?:tracked(?:\s+in)?|tracking|tickets?)\s*:\s*")
_LABEL_END_RE = re.compile(r"[;)\n]|\s{2,}")
_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
_ID_RE = re.compile(r"^id\s*:", re.I)


class DuplicatePostmortemId(ConfigError):
    """Two postmortem files carry one id: their items would share keys and tickets."""


@dataclass(frozen=True)
class IdClash:
    """One postmortem id used by two files (path, line of the id) each."""

    id: str
    first: tuple[str, int]
    second: tuple[str, int]

    def message(self) -> str:
        (p1, l1), (p2, l2) = self.first, self.second
        return (
            f"postmortem id '{self.id}' is used by {p1}:{l1} and by {p2}:{l2} (a copied file "
            "keeps its front matter): give one of them a unique 'id:'"
        )


def id_line(data: bytes) -> int:
    """The line of the front matter's `id:` (1 when the id comes from the file name)."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return 1
    for n, line in enumerate(lines[1:], 2):
        if line.strip() in ("---", "..."):
            break
        if _ID_RE.match(line):
            return n
    return 1


def id_clashes(files: Sequence[tuple[Postmortem, bytes]]) -> list[IdClash]:
    """Every id that a second file reuses, in file order."""
    seen: dict[str, tuple[str, int]] = {}
    out: list[IdClash] = []
    for pm, data in files:
        here = (pm.path, id_line(data))
        if pm.id in seen:
            out.append(IdClash(pm.id, seen[pm.id], here))
        else:
            seen[pm.id] = here
    return out


def refuse_duplicate_ids(files: Sequence[tuple[Postmortem, bytes]]) -> None:
    """Raise before any request when two postmortems share an id.

    Raises:
        DuplicatePostmortemId: naming both files and the lines of their ids.
    """
    clashes = id_clashes(files)
    if clashes:
        shown = "; ".join(c.message() for c in clashes)
        raise DuplicatePostmortemId(f"{shown}. Nothing was synced (`tracker lint` says PM013).")


def _row_cells(line: str) -> list[str]:
    body = line.strip()
    body = body.removeprefix("|").removesuffix("|")
    return [c.strip() for c in _CELL_SPLIT_RE.split(body)]


def binding_refs(item: ActionItem, lines: Sequence[str]) -> tuple[str, ...]:
    """The references in `item` that bind it (of `item.tickets`, in their order)."""
    if not item.tickets:
        return ()
    text = "\n".join(lines[max(item.line - 1, 0) : max(item.end_line, item.line)])
    named: set[str] = {m.group(1) for m in _TRACKED_RE.finditer(text)}
    for m in _LABEL_RE.finditer(text):
        rest = text[m.end() :]
        end = _LABEL_END_RE.search(rest)
        segment = rest[: end.start()] if end else rest
        found = extract_tickets(segment, {})[1]
        if found:  # the label names one ticket, the first one after it; later text is prose
            named.add(min(found, key=lambda r: (segment.find(r) % (len(segment) + 1), r)))
    if item.source == "table" and item.line - 1 < len(lines):
        cells = _row_cells(lines[item.line - 1])
        for cell in item.cells:
            if cell.name == "ticket" and cell.column < len(cells):
                named.update(extract_tickets(cells[cell.column], {})[1])
    return tuple(r for r in item.tickets if r in named)


def bindings_of(pm: Postmortem, data: bytes) -> dict[str, tuple[str, ...]]:
    """Item key -> its binding references, for every item of `pm` read from `data`."""
    lines = data.decode("utf-8", "replace").splitlines()
    return {item.key: binding_refs(item, lines) for item in pm.items}
