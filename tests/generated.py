"""Generated postmortems for sync, fault and benchmark runs: N items each, owners rotating."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

OWNERS = ("alice", "bob", "carol", "dan", "erin")


def postmortem(i: int, items: int = 10, owners: Sequence[str] = OWNERS) -> str:
    """Postmortem `pm-<i>` with `items` bullet items: `[owner]`, a due date and a priority."""
    date = dt.date(2026, 1, 1) + dt.timedelta(days=i)
    lines = [
        f"- [{owners[(i + n) % len(owners)]}] Fix failure mode {n} of incident {i}. "
        f"Due: {date + dt.timedelta(days=14 + n)} (P{n % 3})"
        for n in range(items)
    ]
    head = f"---\nid: pm-{i:03d}\ndate: {date}\nseverity: SEV2\n---\n# Incident {i}\n\n"
    return head + "## Action items\n\n" + "\n".join(lines) + "\n"


def write_postmortems(root: Path, count: int, items: int = 10) -> list[tuple[Path, str]]:
    """`count` postmortems under root/postmortems; (path on disk, repo-relative path) each."""
    out = []
    for i in range(count):
        rel = f"postmortems/pm-{i:03d}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(postmortem(i, items), encoding="utf-8")
        out.append((path, rel))
    return out
