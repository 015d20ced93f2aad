"""The weekly report: figures over a snapshot of tickets (`compute`), then Markdown, JSON, CSV or
a rich console (`to_markdown`, `to_json`, `to_csv`, `render_text`), and `split_markdown` to fit
GitHub's body limit.
"""

from tracker.report.metrics import (
    Breakdown,
    Report,
    ReportItem,
    Totals,
    TrendWeek,
    compute,
    compute_for_config,
)
from tracker.report.render import render_text, summary_line, to_csv, to_json, to_markdown
from tracker.report.split import GITHUB_BODY_LIMIT, split_markdown

__all__ = [
    "GITHUB_BODY_LIMIT",
    "Breakdown",
    "Report",
    "ReportItem",
    "Totals",
    "TrendWeek",
    "compute",
    "compute_for_config",
    "render_text",
    "split_markdown",
    "summary_line",
    "to_csv",
    "to_json",
    "to_markdown",
]
