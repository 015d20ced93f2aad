"""Program metrics as Markdown (a one-line definition each, a trend chart each), JSON and CSV."""

from __future__ import annotations

import csv
import io

from tracker.report.markup import DASH, csv_cell, md_code, md_text, table
from tracker.report.program import DEFINITIONS, MEDIAN_METRICS, PeriodValue, Program, Rollup

LABELS = {
    "time_to_detect_min": "Time to detect",
    "time_to_acknowledge_min": "Time to acknowledge",
    "time_to_mitigate_min": "Time to mitigate",
    "time_to_resolve_min": "Time to resolve",
    "error_budget_burned_pct": "Error budget burned",
    "time_to_publish_days": "Time to publish",
    "repeat_rate": "Repeat rate",
}
UNITS = {"min": " min", "pct": "%", "days": " days"}


def figure(name: str, value: float | None) -> str:
    """4 min, 115.7%, 3.5 days, 25% (repeat rate)."""
    if value is None:
        return DASH
    if name == "repeat_rate":
        return f"{round(value * 100):d}%"
    unit = UNITS[name.rsplit("_", 1)[1]]
    if unit == " days" and f"{value:g}" == "1":
        unit = " day"
    return f"{value:g}{unit}"


def _latest(periods: tuple[PeriodValue, ...]) -> str:
    return periods[-1].period if periods else DASH


def program_markdown(program: Program) -> list[str]:
    if not program.postmortems:
        return []
    out = ["## Program metrics", ""]
    head = ["Metric", "Definition", "Median", "Latest quarter", "Postmortems"]
    rows = []
    for name, definition in DEFINITIONS.items():
        r = program.rollups[name]
        q = r.by_quarter[-1] if r.by_quarter else None
        latest = f"{figure(name, q.median)} ({q.period})" if q else DASH
        count = sum(len(p.values) for p in r.by_quarter)
        rows.append(
            [f"**{LABELS[name]}**", md_text(definition), figure(name, r.median), latest, str(count)]
        )
    out += [*table(head, "llrrr", rows), ""]
    out += ["### Per postmortem", ""]
    head = ["Postmortem", "Incident day", *(LABELS[n] for n in MEDIAN_METRICS), "Repeat of"]
    rows = [
        [
            md_code(p.id),
            p.day.isoformat() if p.day else DASH,
            *(figure(n, p.values.get(n)) for n in MEDIAN_METRICS),
            md_code(p.repeat_of) if p.repeat_of else DASH,
        ]
        for p in program.postmortems
    ]
    out += [*table(head, "l" * 2 + "r" * len(MEDIAN_METRICS) + "l", rows), ""]
    out += _quarters(program)
    if program.chains:
        out += [f"### Repeat chains (within {program.repeat_window_days} days)", ""]
        out += [" → ".join(md_code(i) for i in chain) for chain in program.chains]
        out += [""]
    cov = program.coverage
    if cov is not None:
        rate = DASH if cov.rate is None else f"{round(cov.rate * 100):d}%"
        out += [
            "### Postmortem coverage",
            "",
            f"{cov.covered} of {cov.qualifying} incidents of severity {md_text(cov.min_severity)}"
            f" or worse have a postmortem ({rate}).",
            "",
        ]
        if cov.missing:
            out += ["Without a postmortem: " + ", ".join(md_code(m) for m in cov.missing), ""]
    return [*out, *program_charts(program)]


def _quarters(program: Program) -> list[str]:
    quarters = sorted({p.period for r in program.rollups.values() for p in r.by_quarter})
    if not quarters:
        return []
    out = ["### Per quarter (medians; repeat rate: share of postmortems)", ""]
    rows = []
    for name in DEFINITIONS:
        by = {p.period: p.median for p in program.rollups[name].by_quarter}
        rows.append([LABELS[name], *(figure(name, by.get(q)) for q in quarters)])
    return [*out, *table(["Metric", *quarters], "l" + "r" * len(quarters), rows), ""]


def program_charts(program: Program) -> list[str]:
    """One mermaid line chart per metric with at least two months of values."""
    out: list[str] = []
    for name in DEFINITIONS:
        r: Rollup = program.rollups[name]
        months = [p for p in r.by_month if p.median is not None]
        if len(months) < 2:
            continue
        scale = 100 if name == "repeat_rate" else 1
        values = [round((p.median or 0) * scale, 1) for p in months]
        top = 100 if name == "repeat_rate" else max([*values, 1])
        unit = "%" if name in ("repeat_rate", "error_budget_burned_pct") else name.rsplit("_")[-1]
        if not out:
            out += ["### Program trends (median per month)", ""]
        out += ["```mermaid", "xychart-beta", f'    title "{LABELS[name]} ({unit})"']
        out += [f"    x-axis [{', '.join(chr(34) + p.period + chr(34) for p in months)}]"]
        out += [f'    y-axis "{unit}" 0 --> {top:g}']
        out += [f"    line [{', '.join(f'{v:g}' for v in values)}]", "```", ""]
    return out


def _periods_json(name: str, periods: tuple[PeriodValue, ...]) -> list[dict[str, object]]:
    key = "rate" if name == "repeat_rate" else "median"
    return [
        {
            "period": p.period,
            key: p.median,
            "values": [{"postmortem": pid, "value": v} for pid, v in p.values],
        }
        for p in periods
    ]


def program_json(program: Program | None) -> dict[str, object] | None:
    """`program.<metric>`: overall median, then per month and per quarter with the values."""
    if program is None:
        return None
    out: dict[str, object] = {}
    for name, definition in DEFINITIONS.items():
        r = program.rollups[name]
        out[name] = {
            "definition": definition,
            "rate" if name == "repeat_rate" else "median": r.median,
            "by_month": _periods_json(name, r.by_month),
            "by_quarter": _periods_json(name, r.by_quarter),
        }
    out["repeat_chains"] = [list(c) for c in program.chains]
    out["repeat_window_days"] = program.repeat_window_days
    out["postmortems"] = [
        {
            "id": p.id,
            "path": p.path,
            "incident_day": p.day.isoformat() if p.day else None,
            "slo": p.slo,
            **{n: p.values.get(n) for n in MEDIAN_METRICS},
            "repeat_of": p.repeat_of,
        }
        for p in program.postmortems
    ]
    cov = program.coverage
    out["coverage"] = (
        None
        if cov is None
        else {
            "min_severity": cov.min_severity,
            "qualifying": cov.qualifying,
            "covered": cov.covered,
            "rate": None if cov.rate is None else round(cov.rate, 4),
            "missing": list(cov.missing),
        }
    )
    return out


def program_rows(program: Program) -> list[tuple[str, str, str]]:
    """(metric, median, latest quarter) for a terminal table."""
    out = []
    for name in DEFINITIONS:
        r = program.rollups[name]
        q = r.by_quarter[-1] if r.by_quarter else None
        latest = f"{figure(name, q.median)} ({q.period})" if q else DASH
        out.append((LABELS[name], figure(name, r.median), latest))
    return out


PROGRAM_CSV_COLUMNS = ("postmortem", "path", "incident_day", "month", "quarter",
                       *MEDIAN_METRICS, "repeat_of")  # fmt: skip


def program_csv(program: Program | None) -> str:
    """One row per postmortem with its program metrics."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PROGRAM_CSV_COLUMNS)
    for p in program.postmortems if program else ():
        values = ["" if (v := p.values.get(n)) is None else f"{v:g}" for n in MEDIAN_METRICS]
        day = p.day.isoformat() if p.day else ""
        head = [csv_cell(p.id), csv_cell(p.path), day, p.month or "", p.quarter or ""]
        writer.writerow([*head, *values, csv_cell(p.repeat_of)])
    return buf.getvalue()
