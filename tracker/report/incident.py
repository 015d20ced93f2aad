"""What a postmortem says about its incident: times, SLO, services and related postmortems.

Read from the front matter the file starts with (`started`, `detected`, `acknowledged`,
`mitigated`, `resolved` as ISO datetimes with a zone; `slo: 99.9%`; `services:`, `tags:`,
`related:`), else, for the times, from a timeline table or list whose events are clearly marked
("**Detected**", "[resolved]", "Mitigated: ..."). Pure: text in, values out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import yaml

EVENTS = ("started", "detected", "acknowledged", "mitigated", "resolved")
_SYNONYMS: dict[str, str] = {
    "start": "started", "started": "started", "impact start": "started",
    "impact started": "started", "incident start": "started", "began": "started",
    "detected": "detected", "detection": "detected",
    "acknowledged": "acknowledged", "ack": "acknowledged", "acked": "acknowledged",
    "mitigated": "mitigated", "mitigation": "mitigated",
    "resolved": "resolved", "resolution": "resolved", "recovered": "resolved",
}  # fmt: skip
_FRONT_KEYS: dict[str, tuple[str, ...]] = {
    "started": ("started", "start", "impact_start", "started_at"),
    "detected": ("detected", "detected_at"),
    "acknowledged": ("acknowledged", "acked", "acknowledged_at"),
    "mitigated": ("mitigated", "mitigated_at"),
    "resolved": ("resolved", "resolved_at", "ended", "end"),
}
_WORDS = "|".join(sorted((re.escape(w) for w in _SYNONYMS), key=len, reverse=True))
# "**Detected**", "__detected__", "[detected]", "(detected)" anywhere, or "Detected:" first.
_MARK = re.compile(
    rf"(?:\*\*|__)\s*({_WORDS})\s*:?\s*(?:\*\*|__)|\[\s*({_WORDS})\s*\]|\(\s*({_WORDS})\s*\)"
    rf"|^\W*({_WORDS})\s*[:\u2014\u2013-]\s",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b|\b(\d{2})-(\d{2})\b")
_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\b")
_ZONE = re.compile(r"\b(UTC|GMT|Z)\b|([A-Z][a-z]+/[A-Za-z_]+)")
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: faster
_PERCENT = re.compile(r"^\s*(\d{1,3}(?:\.\d+)?)\s*%?\s*$")


@dataclass(frozen=True)
class Incident:
    """The incident facts of one postmortem (all optional)."""

    times: Mapping[str, dt.datetime]  # event name -> moment (aware)
    slo: float | None = None  # target as a fraction, 0.999
    slo_window_days: float | None = None
    error_rate: float = 1.0  # the share of requests failing while impaired
    services: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()  # ids of earlier postmortems this one repeats
    incident_id: str | None = None


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter mapping, the rest); an unreadable block reads as none."""
    if not text.startswith("---"):
        return {}, text
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    for n in range(1, min(len(lines), 500)):
        if lines[n].strip() in ("---", "..."):
            try:
                data = yaml.load("\n".join(lines[1:n]), Loader=_LOADER)  # noqa: S506 - safe
            except yaml.YAMLError:
                data = None
            return (data if isinstance(data, dict) else {}), "\n".join(lines[n + 1 :])
    return {}, text


def _aware(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    return None


def _fraction(value: Any) -> float | None:
    """`99.9%`, `99.9` or `0.999` as 0.999."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        m = _PERCENT.match(str(value))
        if not m:
            return None
        number = float(m.group(1))
    fraction = number / 100 if number > 1 else number
    return fraction if 0 < fraction <= 1 else None


def _window_days(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(d|days?|w|weeks?)?\s*", str(value or ""))
    if not m:
        return {"monthly": 30.0, "month": 30.0, "weekly": 7.0, "quarterly": 90.0}.get(
            str(value or "").strip().casefold()
        )
    return float(m.group(1)) * (7 if (m.group(2) or "d").startswith("w") else 1)


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[Any] = re.split(r"[,;]", value)
    elif isinstance(value, list):
        items = value
    else:
        return ()
    return tuple(sorted({str(v).strip().casefold() for v in items if str(v).strip()}))


def _event(text: str) -> str | None:
    m = _MARK.search(text)
    if not m:
        return None
    word = next(g for g in m.groups() if g)
    return _SYNONYMS[word.casefold()]


def timeline_times(body: str, day: dt.date | None, tz: dt.tzinfo) -> dict[str, dt.datetime]:
    """Marked events of the "Timeline" section: table rows or list items, first one wins.

    A row's date is its own (YYYY-MM-DD, or MM-DD in the postmortem's year), else the last
    date seen, else the postmortem date; "All times UTC" (or a zone in the header) sets the zone.
    """
    out: dict[str, dt.datetime] = {}
    inside = False
    current = day
    zone = tz
    for line in body.split("\n"):
        h = _HEADING.match(line)
        if h:
            inside = "timeline" in h.group(1).casefold()
            continue
        if not inside:
            continue
        z = _ZONE.search(line)
        if z and not _TIME.search(line):
            zone = (
                dt.timezone.utc if z.group(1) else ZoneInfo(z.group(2)) if _ok(z.group(2)) else zone
            )
            continue
        stripped = line.strip()
        if not stripped.startswith(("|", "-", "*", "+")) and not re.match(r"\d", stripped):
            continue
        t = _TIME.search(stripped)
        if not t:
            continue
        d = _DATE.search(stripped[: t.start()] or stripped)
        if d and d.group(1):
            current = dt.date(int(d.group(1)), int(d.group(2)), int(d.group(3)))
        elif d and current is not None and 1 <= int(d.group(4)) <= 12:
            with contextlib.suppress(ValueError):
                current = dt.date(current.year, int(d.group(4)), int(d.group(5)))
        event = _event(stripped[t.end() :].strip(" |-\u2014\u2013:"))
        if event is None or event in out or current is None:
            continue
        hh, mm, ss = int(t.group(1)), int(t.group(2)), int(t.group(3) or 0)
        out[event] = dt.datetime.combine(current, dt.time(hh, mm, ss), tzinfo=zone)
    return out


def _ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):
        return False
    return True


def read_incident(text: str, day: dt.date | None, tz: str = "UTC") -> Incident:
    """The incident facts of a postmortem file's text; `day` is its date, `tz` the default zone."""
    front, body = split_front_matter(text)
    zone = ZoneInfo(tz)
    times: dict[str, dt.datetime] = {}
    for event, keys in _FRONT_KEYS.items():
        for key in keys:
            moment = _aware(front.get(key), zone)
            if moment is not None:
                times[event] = moment
                break
    if len(times) < len(EVENTS):
        for event, moment in timeline_times(body, day, zone).items():
            times.setdefault(event, moment)
    slo_value = front.get("slo")
    window = front.get("slo_window") or front.get("slo_window_days")
    if isinstance(slo_value, dict):
        window = slo_value.get("window", window)
        slo_value = slo_value.get("target", slo_value.get("objective"))
    related = [*_names(front.get("related")), *_names(front.get("repeat_of"))]
    related += [
        m.group(1).casefold() for m in re.finditer(r"\brepeat of\s+`?([\w.-]+)", body, re.I)
    ]
    return Incident(
        times=times,
        slo=_fraction(slo_value),
        slo_window_days=_window_days(window) if window is not None else None,
        error_rate=_fraction(front.get("error_rate")) or 1.0,
        services=tuple(
            sorted(
                {
                    *_names(front.get("services")),
                    *_names(front.get("service")),
                    *_names(front.get("components")),
                    *_names(front.get("component")),
                }
            )
        ),
        tags=_names(front.get("tags")),
        related=tuple(sorted(set(related))),
        incident_id=str(front["incident"]) if front.get("incident") not in (None, "") else None,
    )
