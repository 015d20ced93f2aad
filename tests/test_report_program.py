"""Program metrics: the seed's worked example, timelines, SLOs, repeats, coverage, renderings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.test_cli import run, write
from tracker.report import compute, to_json, to_markdown
from tracker.report.incident import read_incident
from tracker.report.markup import md_text
from tracker.report.program import (
    DEFINITIONS,
    IncidentRecord,
    PostmortemFacts,
    compute_program,
)
from tracker.report.render_program import LABELS, PROGRAM_CSV_COLUMNS, program_csv

UTC = dt.timezone.utc
AS_OF = dt.date(2026, 7, 1)

# The seed: 5xx for 50 minutes, the alert at minute 4, the rollback at minute 50, SLO 99.9%
# over 30 days (43.2 allowed minutes): TTD 4 min, TTR 46 min from detection, 50/43.2 = 115.7%.
WORKED = """---
id: checkout-5xx
date: 2026-03-04
severity: SEV1
started: 2026-03-04T14:00:00Z
detected: 2026-03-04T14:04:00Z
resolved: 2026-03-04T14:50:00Z
slo: 99.9%
services: [checkout-api]
---
# Checkout 5xx

## Action items

- [ ] Add a canary for the pool size. Owner: @dana Due: 2026-03-20
"""

TIMELINE = """---
id: checkout-5xx-timeline
date: 2026-03-04
---
# Checkout 5xx

## Timeline

All times UTC.

| Time | Event |
|------|-------|
| 13:40 | A config change is deployed. |
| 14:00 | **Started**: 5xx rate of checkout-api jumps to 100%. |
| 14:04 | **Detected** `Checkout5xx` fires and pages the on-call. |
| 14:09 | [acknowledged] @kofi takes the page. |
| 14:50 | Mitigated: rollback deployed; errors back to baseline. |
| 15:10 | (resolved) incident closed. |
"""


def facts(
    text: str, path: str = "postmortems/a.md", published: dt.datetime | None = None
) -> PostmortemFacts:
    inc = read_incident(text, dt.date(2026, 3, 4))
    return PostmortemFacts(path.rsplit("/", 1)[-1][:-3], path, dt.date(2026, 3, 4), "SEV1", inc,
                           published)  # fmt: skip


def test_seed_worked_example() -> None:
    program = compute_program([facts(WORKED)])
    (pm,) = program.postmortems
    assert pm.values["time_to_detect_min"] == 4
    assert pm.values["time_to_resolve_min"] == 46  # from detection
    assert pm.values["error_budget_burned_pct"] == pytest.approx(115.7, abs=0.05)
    assert round(pm.values["error_budget_burned_pct"] or 0) == 116
    assert pm.values["time_to_acknowledge_min"] is None  # not given: never invented


def test_marked_timeline_events_and_config_slo() -> None:
    program = compute_program([facts(TIMELINE)], slo=0.999)
    v = program.postmortems[0].values
    assert (v["time_to_detect_min"], v["time_to_acknowledge_min"]) == (4, 5)
    assert (v["time_to_mitigate_min"], v["time_to_resolve_min"]) == (46, 66)
    # The budget burns until mitigation: 50 minutes again.
    assert v["error_budget_burned_pct"] == pytest.approx(115.7, abs=0.05)
    # Without an SLO anywhere there is no budget figure.
    assert (
        compute_program([facts(TIMELINE)]).postmortems[0].values["error_budget_burned_pct"] is None
    )


def test_unmarked_timeline_rows_are_not_guessed() -> None:
    text = TIMELINE.replace("**Started**:", "").replace("**Detected**", "alert")
    inc = read_incident(text, dt.date(2026, 3, 4))
    assert "started" not in inc.times and "detected" not in inc.times
    assert inc.times["mitigated"] == dt.datetime(2026, 3, 4, 14, 50, tzinfo=UTC)


def test_front_matter_window_and_error_rate() -> None:
    text = WORKED.replace("slo: 99.9%", "slo: {target: 99.9, window: 7d}\nerror_rate: 10%")
    v = compute_program([facts(text)]).postmortems[0].values
    # 50 min x 10% = 5 bad minutes of 7 x 24 x 60 x 0.001 = 10.08 allowed: 49.6%.
    assert v["error_budget_burned_pct"] == pytest.approx(49.6, abs=0.05)


def pm(
    pid: str, day: str, services: str = "", tags: str = "", related: str = ""
) -> PostmortemFacts:
    lines = ["---", f"id: {pid}", f"date: {day}"]
    lines += [f"services: [{services}]"] if services else []
    lines += [f"tags: [{tags}]"] if tags else []
    lines += [f"related: [{related}]"] if related else []
    text = "\n".join([*lines, "---", "# x", ""])
    d = dt.date.fromisoformat(day)
    return PostmortemFacts(pid, f"postmortems/{pid}.md", d, "SEV2", read_incident(text, d))


def test_repeats_chains_and_rate_per_quarter() -> None:
    pms = [
        pm("a", "2026-01-10", services="db"),
        pm("b", "2026-02-20", services="db, cache"),  # repeats a (41 days)
        pm("c", "2026-03-30", tags="cache"),  # tag only: not the service "cache"
        pm("d", "2026-04-15", services="cache"),  # repeats b (54 days)
        pm("e", "2026-12-01", services="db"),  # 230 days after d: outside the window
        pm("f", "2026-12-20", related="c"),  # says so itself, whatever the window
    ]
    program = compute_program(pms, repeat_window_days=90)
    repeat_of = {p.id: p.repeat_of for p in program.postmortems}
    assert repeat_of == {"a": None, "b": "a", "c": None, "d": "b", "e": None, "f": "c"}
    assert program.chains == (("a", "b", "d"), ("c", "f"))
    rate = {p.period: p.median for p in program.rollups["repeat_rate"].by_quarter}
    assert rate == {"2026-Q1": pytest.approx(1 / 3, abs=1e-4), "2026-Q2": 1.0, "2026-Q4": 0.5}


def test_rollups_per_month_and_quarter_with_values() -> None:
    a = facts(WORKED, "postmortems/a.md")
    b = facts(WORKED.replace("14:04:00Z", "14:10:00Z"), "postmortems/b.md")
    c = facts(WORKED.replace("2026-03-04T", "2026-04-20T").replace("14:04:00Z", "14:30:00Z"),
              "postmortems/c.md")  # fmt: skip
    program = compute_program([a, b, c])
    ttd = program.rollups["time_to_detect_min"]
    assert [(p.period, p.median, p.values) for p in ttd.by_month] == [
        ("2026-03", 7.0, (("a", 4.0), ("b", 10.0))),
        ("2026-04", 30.0, (("c", 30.0),)),
    ]
    assert [(p.period, p.median) for p in ttd.by_quarter] == [("2026-Q1", 7.0), ("2026-Q2", 30.0)]
    assert ttd.median == 10.0


def test_coverage_of_the_incident_list() -> None:
    covered = pm("INC-1", "2026-03-01")
    named = facts(WORKED.replace("id: checkout-5xx", "id: checkout-5xx\nincident: INC-2"))
    incidents = [
        IncidentRecord("INC-1", "SEV1"),
        IncidentRecord("INC-2", "SEV2"),
        IncidentRecord("INC-3", "SEV2"),
        IncidentRecord("INC-4", "SEV3"),  # below the threshold
    ]
    cov = compute_program([covered, named], incidents=incidents).coverage
    assert cov is not None
    assert (cov.qualifying, cov.covered, cov.missing) == (3, 2, ("INC-3",))


def test_json_markdown_and_csv() -> None:
    program = compute_program([facts(WORKED, published=dt.datetime(2026, 3, 6, 14, tzinfo=UTC))])
    report = compute([], AS_OF, program=program)
    data = json.loads(json.dumps(to_json(report)))["program"]
    for key in ("time_to_detect_min", "time_to_resolve_min", "error_budget_burned_pct",
                "time_to_publish_days", "repeat_rate"):  # fmt: skip
        assert key in data and data[key]["by_quarter"], key
    assert data["time_to_detect_min"]["by_month"] == [
        {"period": "2026-03", "median": 4.0, "values": [{"postmortem": "a", "value": 4.0}]}
    ]
    assert data["time_to_resolve_min"]["median"] == 46.0
    assert data["time_to_publish_days"]["median"] == 2.0
    assert data["repeat_rate"]["by_quarter"][0]["rate"] == 0.0
    md = to_markdown(report)
    assert "## Program metrics" in md
    for name, definition in DEFINITIONS.items():  # one row per metric, with its definition
        assert f"| **{LABELS[name]}** | {md_text(definition)} |" in md
    assert "| **Time to detect** | minutes from the start of impact to detection" in md
    assert "| 4 min |" in md and "115.7%" in md
    rows = program_csv(program).splitlines()
    assert rows[0].split(",") == list(PROGRAM_CSV_COLUMNS)
    assert rows[1].startswith("a,postmortems/a.md,2026-03-04,2026-03,2026-Q1,4,,,46,115.7,2,")


def test_cli_json_carries_program_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "postmortems/checkout.md", WORKED)
    write(tmp_path, ".tracker.yml", "backend: local\nreport:\n  slo: 99.95\n")
    assert run(["sync", "--as-of", "2026-03-05"], capsys, cwd=tmp_path)[0] == 0
    code, out, _ = run(
        ["report", "--as-of", "2026-03-10", "--format", "json"], capsys, cwd=tmp_path
    )
    assert code == 0
    program = json.loads(out)["program"]
    assert program["time_to_detect_min"]["median"] == 4.0
    assert program["error_budget_burned_pct"]["median"] == pytest.approx(115.7, abs=0.05)
    code, out, _ = run(["report", "--as-of", "2026-03-10", "--format", "program-csv"], capsys,
                       cwd=tmp_path)  # fmt: skip
    assert code == 0 and out.splitlines()[1].startswith("checkout-5xx,postmortems/checkout.md,")
