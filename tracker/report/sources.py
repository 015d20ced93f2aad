"""Everything the report reads besides the tickets: git history (one `git log`, run by the
caller), the parsed
postmortems (items as written now, for due dates by policy) and their incident facts (program
metrics), and the configured incident list (coverage).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tracker.errors import ConfigError
from tracker.model import ActionItem, Postmortem, Ticket
from tracker.parse import parse_postmortem
from tracker.report.history import GitHistory
from tracker.report.incident import read_incident
from tracker.report.program import IncidentRecord, PostmortemFacts, Program, compute_program

if TYPE_CHECKING:
    from tracker.config import Config


@dataclass(frozen=True)
class ReportInputs:
    history: GitHistory | None
    file_items: dict[str, ActionItem] = field(default_factory=dict)
    program: Program | None = None


def load_incidents(path: Path) -> list[IncidentRecord]:
    """The incident list: a YAML list of mappings with `id`, `severity` and `date`.

    Raises:
        ConfigError: the file is missing, not YAML, or not such a list.
    """
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read report.incidents_file ({exc.strerror}): fix the path in "
            ".tracker.yml or remove the key"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: report.incidents_file is not valid YAML ({exc})") from None
    if isinstance(data, dict):
        data = data.get("incidents")
    if not isinstance(data, list):
        raise ConfigError(
            f"{path}: report.incidents_file must hold a list of incidents, e.g. "
            "'- {id: INC-12, severity: SEV1, date: 2026-03-04}'"
        )
    out: list[IncidentRecord] = []
    for n, entry in enumerate(data, 1):
        if not isinstance(entry, dict) or entry.get("id") in (None, ""):
            raise ConfigError(f"{path}: incident {n} has no id: give each entry an 'id:'")
        day = entry.get("date")
        sev = entry.get("severity")
        out.append(
            IncidentRecord(
                id=str(entry["id"]),
                severity=str(sev) if sev is not None else None,
                day=day if isinstance(day, dt.date) else None,
            )
        )
    return out


def parse_files(files: Sequence[tuple[Path, str]], config: Config) -> list[tuple[Postmortem, str]]:
    """(parsed postmortem, its text) of each readable (disk path, relative path)."""
    options = config.parse_options()
    out: list[tuple[Postmortem, str]] = []
    for disk, rel in files:
        try:
            data = disk.read_bytes()
        except OSError:
            continue  # lint reports unreadable files; the report goes on without this one
        out.append((parse_postmortem(data, rel, options), data.decode("utf-8", "replace")))
    return out


def with_ticket_files(
    root: Path, files: Sequence[tuple[Path, str]], tickets: Sequence[Ticket]
) -> list[tuple[Path, str]]:
    """`files` plus the postmortems the tickets' markers name (synced from other folders).

    A marker is text anyone who can edit the ticket can change: only Markdown files inside
    `root` (symbolic links resolved) are read.
    """
    out = list(files)
    known = {rel for _, rel in files}
    inside = root.resolve()
    for path in sorted({t.marker.path for t in tickets if t.marker is not None} - known):
        rel = Path(path)
        if rel.is_absolute() or ".." in rel.parts or rel.suffix.lower() != ".md":
            continue
        disk = root / rel
        if disk.is_file() and disk.resolve().is_relative_to(inside):
            out.append((disk, path))
    return out


def gather(
    root: Path,
    files: Sequence[tuple[Path, str]],
    config: Config,
    read_git: Callable[[Sequence[str]], GitHistory] | None = None,
) -> ReportInputs:
    """Parse the postmortems, read their history once (`read_git(paths)`, e.g.
    `tracker.gitlog.read_history`; None or `report.git_history: false`: no history) and the
    incident list (if configured)."""
    rc = config.report
    parsed = parse_files(files, config)
    postmortems = [pm for pm, _ in parsed]
    paths = [pm.path for pm in postmortems]
    history = read_git(paths) if read_git is not None and rc.git_history else None
    file_items = {i.key: i for pm in postmortems if not pm.has_errors for i in pm.items}
    facts: list[PostmortemFacts] = []
    for pm, text in parsed:
        incident = read_incident(text, pm.date, config.timezone)
        published = history.published(pm.path) if history is not None else None
        facts.append(
            PostmortemFacts(
                pm.id,
                pm.path,
                pm.date,
                pm.severity,
                incident,
                published.when if published else None,
            )
        )
    incidents = load_incidents(root / rc.incidents_file) if rc.incidents_file else None
    program = compute_program(
        facts,
        slo=rc.slo / 100 if rc.slo is not None else None,
        slo_window_days=rc.slo_window_days,
        repeat_window_days=rc.repeat_window_days,
        incidents=incidents,
        coverage_min_severity=rc.coverage_min_severity,
    )
    return ReportInputs(history, file_items, program)
