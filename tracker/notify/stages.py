"""Which reminder a ticket is owed on a day, and the hidden marker that records one (pure).

A reminder is identified by (item key, due date, stage). `overdue` repeats: its stage names
carry the repeat number (`overdue.0` the day after the due date, `overdue.1` M days later...).
The due date is part of the identity, so a changed due date re-arms every stage.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

STAGES = ("due_soon", "due", "overdue", "escalate")
MARKER_TAG = "pmt-remind"
_MARKER_RE = re.compile(
    re.escape(MARKER_TAG) + r" v1 due=(\d{4}-\d{2}-\d{2}) stages=([\w.,]+) key=(\S+)"
)


@dataclass(frozen=True)
class Stages:
    """The reminder schedule (`remind:` of the config)."""

    due_soon_days: int = 3
    overdue_every_days: int = 7
    escalate_after_days: int | None = 14
    enabled: frozenset[str] = frozenset(STAGES)


def owed(due: dt.date, day: dt.date, schedule: Stages) -> tuple[str, ...]:
    """The stages that apply on `day` for an item due on `due`: the current one only (a missed
    day's earlier stage is not sent late), plus `escalate` once it is due."""
    late = (day - due).days
    out: list[str] = []
    if -schedule.due_soon_days <= late < 0:
        out.append("due_soon")
    elif late == 0:
        out.append("due")
    elif late > 0:
        out.append(f"overdue.{(late - 1) // schedule.overdue_every_days}")
        if schedule.escalate_after_days is not None and late >= schedule.escalate_after_days:
            out.append("escalate")
    return tuple(s for s in out if s.split(".")[0] in schedule.enabled)


def stage_kind(stage: str) -> str:
    """`overdue.2` -> `overdue`."""
    return stage.split(".", 1)[0]


@dataclass(frozen=True)
class SentMark:
    """What one reminder comment says it covers."""

    key: str
    due: dt.date
    stages: tuple[str, ...]


def marker_text(key: str, due: dt.date, stages: tuple[str, ...]) -> str:
    """The token a reminder comment carries; the key is percent-encoded (no spaces, no markup)."""
    return f"{MARKER_TAG} v1 due={due.isoformat()} stages={','.join(stages)} key={quote(key)}"


def read_marks(bodies: list[str]) -> list[SentMark]:
    """Every reminder marker in these comment bodies."""
    out: list[SentMark] = []
    for body in bodies:
        for m in _MARKER_RE.finditer(body):
            try:
                due = dt.date.fromisoformat(m.group(1))
            except ValueError:
                continue
            stages = tuple(s for s in m.group(2).split(",") if stage_kind(s) in STAGES)
            out.append(SentMark(unquote(m.group(3)), due, stages))
    return out


def sent_stages(bodies: list[str], key: str, due: dt.date) -> frozenset[str]:
    """The stages already sent for `key` at `due`, as the ticket's comments record them."""
    return frozenset(
        s for mark in read_marks(bodies) if mark.key == key and mark.due == due for s in mark.stages
    )
