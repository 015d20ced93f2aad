"""Due dates by policy: days by severity and priority, calendar or business days (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

DayKind = Literal["calendar", "business"]


@dataclass(frozen=True)
class DuePolicy:
    """`sync.due_policy` of the config, as the sync engine uses it."""

    severity: Mapping[str, int] = field(default_factory=dict)
    priority: Mapping[str, int] = field(default_factory=dict)
    default: int | None = None
    days: DayKind = "calendar"
    holidays: frozenset[dt.date] = frozenset()

    def days_for(self, severity: str | None, priority: str | None) -> tuple[int, str] | None:
        """The strictest rule that applies (fewest days) and its name, e.g. (14, "SEV1")."""
        found: list[tuple[int, str]] = []
        for table, value in ((self.priority, priority), (self.severity, severity)):
            days = _lookup(table, value)
            if days is not None and value:
                found.append((days, value))
        if found:
            return min(found)
        return (self.default, "default") if self.default is not None else None

    def due(self, start: dt.date, severity: str | None, priority: str | None) -> dt.date | None:
        """The due date counted from `start` (the postmortem date); None when no rule applies."""
        rule = self.days_for(severity, priority)
        if rule is None:
            return None
        if self.days == "business":
            return add_business_days(start, rule[0], self.holidays)
        return start + dt.timedelta(days=rule[0])

    def describe(self, severity: str | None, priority: str | None) -> str | None:
        """Why an item got its date, for people: "SEV1: 14 business days"."""
        rule = self.days_for(severity, priority)
        if rule is None:
            return None
        kind = "business days" if self.days == "business" else "days"
        return f"{rule[1]}: {rule[0]} {kind}"


def _lookup(table: Mapping[str, int], value: str | None) -> int | None:
    if not value:
        return None
    if value in table:
        return table[value]
    folded = value.casefold()
    return next((d for k, d in table.items() if k.casefold() == folded), None)


def is_business_day(day: dt.date, holidays: frozenset[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: dt.date, days: int, holidays: frozenset[dt.date]) -> dt.date:
    """`start` plus `days` business days (0: `start` itself, or the next business day)."""
    day = start
    if days == 0:
        while not is_business_day(day, holidays):
            day += dt.timedelta(days=1)
        return day
    left = days
    # Bounded: a holiday list cannot hold more than every day of the years it spans.
    for _ in range(days * 7 + len(holidays) + 7):
        day += dt.timedelta(days=1)
        if is_business_day(day, holidays):
            left -= 1
            if left == 0:
                return day
    raise ValueError(f"no {days} business days after {start.isoformat()}")
