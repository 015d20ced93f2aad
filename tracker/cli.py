"""The `tracker` command: each command loads config, calls one core function, prints, returns."""

from __future__ import annotations

import datetime as dt
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape

from tracker import __version__, scaffold
from tracker.config import LoadedConfig, load_config
from tracker.discover import discover
from tracker.errors import EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, TrackerError
from tracker.gha import annotation, append_step_summary, in_actions
from tracker.lint import LintSettings, lint_repository, rank
from tracker.model import Postmortem, Problem
from tracker.parse import parse_postmortem

_err = Console(stderr=True, highlight=False, soft_wrap=True)


class _State:
    def __init__(self, config_path: str | None, verbose: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self._loaded: LoadedConfig | None = None

    @property
    def loaded(self) -> LoadedConfig:
        if self._loaded is None:
            self._loaded = load_config(self.config_path)
        return self._loaded


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date: use YYYY-MM-DD") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    help="Config file (default: .tracker.yml in the current folder, else built-in defaults).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for internal errors.")
@click.version_option(__version__, prog_name="tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Keep postmortem action items from rotting.

    \b
    Typical use:
      tracker lint postmortems/            check every item has one owner and a due date
      tracker parse --format json FILE     the action items of a postmortem, for scripts
      tracker sync                         turn items into tickets, write links back
      tracker status --overdue             what is late, across every postmortem

    Exit codes: 0 ok, 1 lint errors or failed items, 2 usage or config error,
    3 internal error, 130 interrupted.
    """
    ctx.obj = _State(config_path, verbose)


def _parse_all(state: _State, paths: Sequence[str]) -> list[Postmortem]:
    loaded = state.loaded
    cfg = loaded.config
    files = discover(paths, loaded.root, cfg.paths, cfg.exclude)
    options = cfg.parse_options()
    out: list[Postmortem] = []
    for disk, rel in files:
        try:
            data = disk.read_bytes()
        except OSError as exc:
            out.append(
                Postmortem(
                    path=rel,
                    id=disk.stem,
                    problems=(Problem("PM021", "error", f"cannot read the file: {exc.strerror}"),),
                )
            )
            continue
        out.append(parse_postmortem(data, rel, options))
    if not files:
        where = ", ".join(paths) if paths else ", ".join(cfg.paths)
        _err.print(f"[yellow]no postmortems found in {escape(where)}[/]")
    return out


# --- parse -------------------------------------------------------------------------------------


@cli.command("parse")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def parse_cmd(state: _State, paths: tuple[str, ...], fmt: str) -> None:
    """Show the action items found in postmortems.

    PATH is a file or a folder (every *.md below it). Without PATH, the `paths` globs of the
    config are used (default: postmortems/**/*.md and docs/postmortems/**/*.md).

    \b
    --format json prints one object on stdout, for scripts:
      {"postmortems": [{"path", "id", "title", "date", "severity", "status",
        "items": [{"key", "title", "owners", "due", "due_text", "status", "status_text",
                   "priority", "type", "tickets", "line", "source", "section"}],
        "problems": [{"line", "column", "severity", "code", "message"}]}]}
    """
    pms = _parse_all(state, paths)
    if fmt == "json":
        click.echo(json.dumps({"postmortems": [pm.to_json() for pm in pms]}, ensure_ascii=False))
        _err.print(f"{sum(len(p.items) for p in pms)} action items in {len(pms)} postmortems")
        return
    out = Console(highlight=False, soft_wrap=True)
    for pm in pms:
        head = f"[bold]{pm.path}[/]  id={pm.id}"
        if pm.date:
            head += f"  date={pm.date.isoformat()}"
        if pm.severity:
            head += f"  severity={pm.severity}"
        out.print(head)
        if not pm.items:
            out.print("  (no action items)")
        for item in pm.items:
            bits = [f"  {item.line:>4}  [{_status_mark(item.status)}] {item.title}"]
            if item.owners:
                bits.append(f"owner: {', '.join(item.owners)}")
            if item.due or item.due_text:
                bits.append(f"due: {item.due.isoformat() if item.due else item.due_text}")
            if item.priority:
                bits.append(item.priority)
            if item.tickets:
                bits.append(" ".join(item.tickets))
            out.print("  · ".join(bits), markup=False)
        for p in pm.problems:
            out.print(f"  {p.line or '-':>4}  {p.severity}: {p.code} {p.message}", markup=False)
    _err.print(f"{sum(len(p.items) for p in pms)} action items in {len(pms)} postmortems")


def _status_mark(status: str) -> str:
    return {"done": "x", "in_progress": "~", "dropped": "-", "open": " "}[status]


# --- lint --------------------------------------------------------------------------------------


def lint_settings(loaded: LoadedConfig) -> LintSettings:
    cfg = loaded.config
    return LintSettings(
        max_items=cfg.lint.max_items,
        placeholder_owners=frozenset(o.casefold() for o in cfg.lint.placeholder_owners),
        team_suffixes=tuple(cfg.lint.team_suffixes),
        severity=dict(cfg.lint.severity),
        skip_done=cfg.lint.skip_done,
        owners_map=dict(cfg.owners) if cfg.owners else None,
    )


@cli.command("lint")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default=None,
    help="text: path:line:col: CODE message (default); json; github: workflow annotations "
    "(default when GITHUB_ACTIONS=true).",
)
@click.option(
    "--as-of", callback=_date, metavar="YYYY-MM-DD", help="Day to judge due dates by (PM006)."
)
@click.pass_obj
def lint_cmd(state: _State, paths: tuple[str, ...], fmt: str | None, as_of: dt.date | None) -> None:
    """Check that every action item can be tracked: one owner, a due date, a concrete task.

    \b
    Rules (severity can be changed or turned off under lint.severity in .tracker.yml):
      PM001 error    no owner                PM008 warning  vague item ("Improve monitoring")
      PM002 warning  team or placeholder     PM009 warning  no action-item section
      PM003 warning  several owners          PM010 warning  malformed table row
      PM004 error    no due date             PM011 warning  owner not in the owners map
      PM005 warning  vague/ambiguous date    PM012 warning  repeated item
      PM006 warning  due date passed         PM013 error    duplicate postmortem id
      PM007 warning  more than lint.max_items open items

    Exits 1 when any error-level problem is found.
    """
    fmt = fmt or ("github" if in_actions() else "text")
    pms = _parse_all(state, paths)
    results = lint_repository(pms, lint_settings(state.loaded), as_of)
    flat = [(path, p) for path, probs in results.items() for p in probs]
    errors = sum(1 for _, p in flat if p.severity == "error")
    warnings = sum(1 for _, p in flat if p.severity == "warning")
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "errors": errors,
                    "warnings": warnings,
                    "files": [
                        {"path": path, "problems": [p.to_json() for p in probs]}
                        for path, probs in results.items()
                    ],
                },
                ensure_ascii=False,
            )
        )
    elif fmt == "github":
        for path, p in rank(flat):
            click.echo(annotation(path, p))
        append_step_summary(_lint_summary(flat, len(pms)))
    else:
        for path, p in flat:
            click.echo(f"{path}:{p.line or 1}:{p.column or 1}: {p.code} {p.message}")
    items = sum(len(pm.items) for pm in pms)
    _err.print(
        f"{len(pms)} postmortems, {items} action items: {errors} errors, {warnings} warnings"
    )
    if errors:
        raise SystemExit(EXIT_FAILED)


def _lint_summary(flat: list[tuple[str, Problem]], files: int) -> str:
    lines = [f"### Postmortem lint: {len(flat)} problems in {files} files", ""]
    if flat:
        lines += ["| File | Line | Rule | Problem |", "|---|---|---|---|"]
        for path, p in rank(flat):
            msg = p.message.replace("|", "\\|")
            lines.append(f"| `{path}` | {p.line or ''} | {p.code} {p.severity} | {msg} |")
    return "\n".join(lines)


# --- init and config ---------------------------------------------------------------------------


@cli.command("init")
@click.option("--repo", metavar="OWNER/NAME", help="GitHub repository (default: from git remote).")
@click.option("--force", is_flag=True, help="Overwrite files that exist and differ.")
@click.option(
    "--action-ref",
    default=None,
    metavar="REF",
    help="The action the workflows use (default: postmortem-tracker/postmortem-tracker@v1).",
)
def init_cmd(repo: str | None, force: bool, action_ref: str | None) -> None:
    """Set up this repository: .tracker.yml, a postmortem template and three workflows.

    \b
    Writes, relative to the current folder:
      .tracker.yml                              config with default due dates by priority
      postmortems/TEMPLATE.md                   template with an action-items table
      .github/workflows/postmortem-sync.yml     sync on merge and daily
      .github/workflows/postmortem-report.yml   weekly report issue
      .github/workflows/postmortem-lint.yml     lint the postmortems a pull request changes

    Safe to run again: files that exist are kept unless --force.
    """
    root = Path.cwd()
    files = scaffold.planned_files(
        repo or scaffold.repo_from_git(root), action_ref or scaffold.DEFAULT_ACTION_REF
    )
    for path, what in scaffold.write_files(root, files, force):
        short = what in ("created", "unchanged", "overwritten")
        _err.print(f"{what:>11}  {escape(path)}" if short else f"{escape(path)}: {what}")
    _err.print("next: write a postmortem from postmortems/TEMPLATE.md, then `tracker lint`")


@cli.group("config")
def config_group() -> None:
    """Inspect the configuration format."""


@config_group.command("schema")
def config_schema_cmd() -> None:
    """Print the JSON Schema of .tracker.yml (point your editor's YAML support at it)."""
    click.echo(json.dumps(scaffold.config_schema(), indent=2))


@config_group.command("docs")
def config_docs_cmd() -> None:
    """Print the configuration reference in Markdown (docs/configuration.md)."""
    click.echo(scaffold.configuration_markdown(), nl=False)


# --- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI; the one place that maps exceptions to exit codes."""
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except TrackerError as exc:
        _err.print(f"[red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        _err.print(
            f"[red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
            "This is a bug in postmortem-tracker. Run again with -v for the traceback and "
            "report it with the command you ran.",
            highlight=False,
            markup=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(0)
