"""Program metrics: how fast incidents are detected and fixed, what they cost, how soon the
postmortem is published, how often incidents repeat, and (with an incident list) how many get
a postmortem. Per postmortem, then rolled up per month and per quarter (medians). Pure.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tracker.report.incident import Incident

# name -> one-line definition (Markdown shows it beside each figure; JSON keys are the names)
DEFINITIONS: dict[str, str] = {
    "time_to_detect_min": "minutes from the start of impact to detection (alert or report)",
    "time_to_acknowledge_min": "minutes from detection to a responder acknowledging",
    "time_to_mitigate_min": "minutes from detection to mitigation (impact stopped)",
    "time_to_resolve_min": "minutes from detection to resolution",
    "error_budget_burned_pct": "impact minutes x error rate / the SLO's allowed minutes in its "
    "window, in %",
    "time_to_publish_days": "days from the incident to the commit that first put the postmortem "
    "on the default branch",
    "repeat_rate": "share of postmortems that repeat an earlier one (same service or tag within "
    'the repeat window, or `related:` / "repeat of")',
}
MEDIAN_METRICS = tuple(k for k in DEFINITIONS if k != "repeat_rate")
_SEV_NUMBER = re.compile(r"(\d+)")


@dataclass(frozen=True)
class PostmortemFacts:
    """What the program metrics need of one postmortem."""

    id: str
    path: str
    date: dt.date | None
    severity: str | None
    incident: Incident
    published: dt.datetime | None = None  # the commit that first put the file on the branch


@dataclass(frozen=True)
class PostmortemMetrics:
    id: str
    path: str
    day: dt.date | None  # the incident's day: start, else detection, else the postmortem date
    values: Mapping[str, float | None]  # MEDIAN_METRICS -> value
    repeat_of: str | None  # the latest earlier postmortem this one repeats
    slo: float | None

    @property
    def month(self) -> str | None:
        return f"{self.day.year}-{self.day.month:02d}" if self.day else None

    @property
    def quarter(self) -> str | None:
        return f"{self.day.year}-Q{(self.day.month - 1) // 3 + 1}" if self.day else None


@dataclass(frozen=True)
class PeriodValue:
    period: str  # "2026-03" or "2026-Q1"
    median: float | None  # repeat_rate: the rate (repeats / postmortems) instead
    values: tuple[tuple[str, float], ...]  # (postmortem id, value), by postmortem date


@dataclass(frozen=True)
class Rollup:
    name: str
    median: float | None  # over every postmortem with a value
    by_month: tuple[PeriodValue, ...]
    by_quarter: tuple[PeriodValue, ...]


@dataclass(frozen=True)
class Coverage:
    min_severity: str
    qualifying: int  # incidents at or above the threshold
    covered: int
    missing: tuple[str, ...]  # incident ids without a postmortem

    @property
    def rate(self) -> float | None:
        return self.covered / self.qualifying if self.qualifying else None


@dataclass(frozen=True)
class IncidentRecord:
    """One entry of the configured incident list."""

    id: str
    severity: str | None
    day: dt.date | None = None


@dataclass(frozen=True)
class Program:
    postmortems: tuple[PostmortemMetrics, ...]
    rollups: Mapping[str, Rollup]  # every DEFINITIONS name
    chains: tuple[tuple[str, ...], ...]  # repeat chains, oldest first, two or more each
    repeat_window_days: int
    coverage: Coverage | None = None


def _minutes(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() / 60, 1)


def _values(f: PostmortemFacts, slo: float | None, window_days: float) -> dict[str, float | None]:
    t = f.incident.times
    start, detected = t.get("started"), t.get("detected")
    end = t.get("mitigated") or t.get("resolved")
    budget: float | None = None
    target = f.incident.slo if f.incident.slo is not None else slo
    window = f.incident.slo_window_days or window_days
    impact = _minutes(start, end)
    if target is not None and target < 1 and impact is not None and impact >= 0:
        allowed = window * 24 * 60 * (1 - target)
        budget = round(impact * f.incident.error_rate / allowed * 100, 1)
    publish: float | None = None
    begun = start or detected
    if f.published is not None and (begun is not None or f.date is not None):
        since = begun or dt.datetime.combine(f.date or dt.date.min, dt.time(), dt.timezone.utc)
        publish = round(max(0.0, (f.published - since).total_seconds()) / 86400, 1)
    return {
        "time_to_detect_min": _minutes(start, detected),
        "time_to_acknowledge_min": _minutes(detected, t.get("acknowledged")),
        "time_to_mitigate_min": _minutes(detected, t.get("mitigated")),
        "time_to_resolve_min": _minutes(detected, t.get("resolved")),
        "error_budget_burned_pct": budget,
        "time_to_publish_days": publish,
    }


def _day(f: PostmortemFacts) -> dt.date | None:
    t = f.incident.times
    moment = t.get("started") or t.get("detected")
    return moment.date() if moment is not None else f.date


def _repeats(
    facts: Sequence[tuple[PostmortemFacts, dt.date | None]], window: int
) -> list[str | None]:
    """For each postmortem (sorted by day), the latest earlier one it repeats, or None."""
    out: list[str | None] = []
    ids = {f.id.casefold(): f.id for f, _ in facts}
    for n, (f, day) in enumerate(facts):
        found: str | None = None
        keys = set(f.incident.services) | {f"tag:{t}" for t in f.incident.tags}
        for g, gday in reversed(facts[:n]):
            if g.id.casefold() in f.incident.related:
                found = g.id
                break
            if day is None or gday is None or (day - gday).days > window:
                continue
            if keys & (set(g.incident.services) | {f"tag:{t}" for t in g.incident.tags}):
                found = g.id
                break
        if found is None:
            named = [ids[r] for r in f.incident.related if r in ids and ids[r] != f.id]
            found = named[0] if named else None
        out.append(found)
    return out


def _chains(pms: Sequence[PostmortemMetrics]) -> tuple[tuple[str, ...], ...]:
    parent = {p.id: p.repeat_of for p in pms if p.repeat_of}
    order = {p.id: n for n, p in enumerate(pms)}

    def root(x: str) -> str:
        seen: set[str] = set()
        while x in parent and x not in seen:
            seen.add(x)
            x = parent[x]
        return x

    groups: dict[str, list[str]] = {}
    for p in pms:
        if p.repeat_of or any(v == p.id for v in parent.values()):
            groups.setdefault(root(p.id), []).append(p.id)
    chains = [tuple(sorted(g, key=lambda i: order.get(i, 0))) for g in groups.values()]
    return tuple(sorted((c for c in chains if len(c) > 1), key=lambda c: order.get(c[0], 0)))


def _median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def _periods(pms: Sequence[PostmortemMetrics], name: str, which: str) -> tuple[PeriodValue, ...]:
    buckets: dict[str, list[tuple[str, float]]] = {}
    for p in pms:
        period = p.month if which == "month" else p.quarter
        if period is None:
            continue
        if name == "repeat_rate":
            buckets.setdefault(period, []).append((p.id, 1.0 if p.repeat_of else 0.0))
            continue
        value = p.values.get(name)
        if value is not None:
            buckets.setdefault(period, []).append((p.id, value))
    out = []
    for period in sorted(buckets):
        vals = buckets[period]
        if name == "repeat_rate":
            summary: float | None = round(sum(v for _, v in vals) / len(vals), 4)
        else:
            summary = _median([v for _, v in vals])
        out.append(PeriodValue(period, summary, tuple(vals)))
    return tuple(out)


def severity_rank(severity: str | None) -> int | None:
    """SEV1 -> 1, P2 -> 2, "critical" -> 0: smaller is more severe; None when unreadable."""
    if severity is None:
        return None
    words = {"critical": 0, "major": 1, "high": 1, "minor": 3, "low": 4}
    m = _SEV_NUMBER.search(severity)
    return int(m.group(1)) if m else words.get(severity.strip().casefold())


def coverage(
    incidents: Sequence[IncidentRecord], facts: Sequence[PostmortemFacts], min_severity: str
) -> Coverage:
    """Incidents at or above `min_severity` and whether a postmortem covers each (its
    `incident:` front matter or its id names the incident)."""
    limit = severity_rank(min_severity)
    named = {f.incident.incident_id.casefold() for f in facts if f.incident.incident_id}
    named |= {f.id.casefold() for f in facts}
    qualifying = [
        i
        for i in incidents
        if limit is None or ((r := severity_rank(i.severity)) is not None and r <= limit)
    ]
    missing = tuple(i.id for i in qualifying if i.id.casefold() not in named)
    return Coverage(min_severity, len(qualifying), len(qualifying) - len(missing), missing)


def compute_program(
    facts: Sequence[PostmortemFacts],
    *,
    slo: float | None = None,
    slo_window_days: float = 30.0,
    repeat_window_days: int = 90,
    incidents: Sequence[IncidentRecord] | None = None,
    coverage_min_severity: str = "SEV2",
) -> Program:
    """Per-postmortem values and their per-month and per-quarter medians.

    `slo` (a fraction, 0.999) applies where a postmortem names none; windows are in days.
    """
    dated = sorted(((f, _day(f)) for f in facts), key=lambda x: (x[1] or dt.date.max, x[0].id))
    repeat_of = _repeats(dated, repeat_window_days)
    pms = tuple(
        PostmortemMetrics(
            id=f.id,
            path=f.path,
            day=day,
            values=_values(f, slo, slo_window_days),
            repeat_of=rep,
            slo=f.incident.slo if f.incident.slo is not None else slo,
        )
        for (f, day), rep in zip(dated, repeat_of, strict=True)
    )
    rollups: dict[str, Rollup] = {}
    for name in DEFINITIONS:
        if name == "repeat_rate":
            overall = sum(1 for p in pms if p.repeat_of) / len(pms) if pms else None
            median = round(overall, 4) if overall is not None else None
        else:
            median = _median([v for p in pms if (v := p.values.get(name)) is not None])
        rollups[name] = Rollup(
            name, median, _periods(pms, name, "month"), _periods(pms, name, "quarter")
        )
    cov = coverage(incidents, facts, coverage_min_severity) if incidents is not None else None
    return Program(pms, rollups, _chains(pms), repeat_window_days, cov)


def facts_from(
    records: Sequence[tuple[str, str, dt.date | None, str | None, Incident]],
    published: Mapping[str, dt.datetime | None],
) -> list[PostmortemFacts]:
    """(id, path, date, severity, incident) rows with the publish commits by path."""
    return [
        PostmortemFacts(pid, path, day, sev, inc, published.get(path))
        for pid, path, day, sev, inc in records
    ]
