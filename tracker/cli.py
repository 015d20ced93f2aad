"""The `tracker` command: each command loads config, calls one core function, prints, returns."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

# Start-up: `tracker --help` and `--version` must stay fast, so this module imports only click and
# light modules (no pydantic, parser, backends, rich); each command imports what it uses in its
# body. tests/test_cli_startup.py keeps it so.
from tracker import __version__, output
from tracker.discover import discover
from tracker.errors import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ConfigError,
    RateLimited,
    TrackerError,
)

if TYPE_CHECKING:
    from rich.console import Console

    from tracker.config import LoadedConfig
    from tracker.engine import SyncOutcome, WriteBack
    from tracker.forge import Forge
    from tracker.lint import LintSettings
    from tracker.model import Postmortem, Problem
    from tracker.parse.document import Step
    from tracker.status import Snapshot, StatusRow
    from tracker.sync import ItemResult
    from tracker.wiring import BuiltBackend

BACKEND_NAMES = ("local", "github", "jira")  # wiring.BACKEND_NAMES, without importing it


class _StderrConsole:
    """rich's Console on stderr, made on first use (importing rich costs start-up time)."""

    def __init__(self) -> None:
        self._console: Console | None = None

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        self._console.print(*objects, **kwargs)


_err = _StderrConsole()


def escape(text: str) -> str:
    """`rich.markup.escape`, imported on first use."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


class _JsonPromise:
    """`--format json` promises one JSON object on stdout on every exit path, errors included."""

    def __init__(self) -> None:
        self.wanted = False  # the running command was given --format json
        self.kept = False  # its object went out

    def keep(self, data: Mapping[str, Any]) -> None:
        """On the way out without an object: print `data` (what went wrong) as that object."""
        if self.wanted and not self.kept:
            _echo_json(json.dumps(data, ensure_ascii=False))


_json = _JsonPromise()


def _echo_json(text: str, nl: bool = True) -> None:
    click.echo(text, nl=nl)
    _json.kept = True


class _Command(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        finally:  # also when an option is wrong: the usage error is then a JSON object too
            _json.wanted = ctx.params.get("fmt") == "json"


class _State:
    def __init__(self, config_path: str | None, verbose: bool, quiet: bool = False) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self.quiet = quiet
        self._loaded: LoadedConfig | None = None

    def note(self, text: str) -> None:
        """A yellow note on stderr, unless -q."""
        if not self.quiet:
            _err.print(f"[yellow]note:[/] {escape(text)}")

    @property
    def loaded(self) -> LoadedConfig:
        if self._loaded is None:
            from tracker.config import load_config

            self._loaded = load_config(self.config_path)
        return self._loaded


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date: use YYYY-MM-DD") from None


_CONFIG_HELP = "Config file (default: .tracker.yml in the current folder, else built-in defaults)."
_VERBOSE_HELP = "Say more: unchanged items, request counts, tracebacks of internal errors."
_QUIET_HELP = "Print only warnings and errors."


def _set_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """--config, -q and -v given after the subcommand: set them as if given before it."""
    state = ctx.find_object(_State)
    if state is None or value in (None, False):
        return
    if param.name == "config_path":
        state.config_path = value
    elif param.name in ("verbose", "quiet"):
        setattr(state, param.name, True)


class _Group(click.Group):
    """Every subcommand also accepts the global --config, -q and -v (`tracker lint --config F`),
    and records whether it was asked for --format json (see _JsonPromise)."""

    command_class = _Command

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not isinstance(cmd, click.Group):
            common = [
                click.Option(["--config", "config_path"], metavar="FILE", help=_CONFIG_HELP),
                click.Option(["-v", "--verbose"], is_flag=True, help=_VERBOSE_HELP),
                click.Option(["-q", "--quiet"], is_flag=True, help=_QUIET_HELP),
            ]
            taken = {o for p in cmd.params for o in getattr(p, "opts", ())}
            for opt in common:
                if not taken & set(opt.opts):
                    opt.expose_value = False
                    opt.callback = _set_global
                    opt.is_eager = True  # set before the command's own callbacks run
                    cmd.params.append(opt)
        super().add_command(cmd, name)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--config", "config_path", metavar="FILE", help=_CONFIG_HELP)
@click.option("-v", "--verbose", is_flag=True, help=_VERBOSE_HELP)
@click.option("-q", "--quiet", is_flag=True, help=_QUIET_HELP)
@click.version_option(__version__, prog_name="tracker")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool, quiet: bool) -> None:
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
    ctx.obj = _State(config_path, verbose, quiet)


def _parse_all(
    state: _State, paths: Sequence[str], traces: dict[str, list[Step]] | None = None
) -> list[Postmortem]:
    from tracker.model import Postmortem, Problem
    from tracker.parse import parse_postmortem

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
        trace: list[Step] | None = None
        if traces is not None:
            trace = traces.setdefault(rel, [])
        out.append(parse_postmortem(data, rel, options, trace))
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
@click.option(
    "--explain",
    is_flag=True,
    help="Say, block by block, what was read as items, what was skipped, and why (which "
    "heading score, which rule).",
)
@click.pass_obj
def parse_cmd(state: _State, paths: tuple[str, ...], fmt: str, explain: bool) -> None:
    """Show the action items found in postmortems.

    With --explain, every heading's score as an action-item section and every block's
    verdict (item, skipped and why) is printed too: use it when an item you expected is
    missing, then rename the heading or add `sections.patterns` to .tracker.yml.

    PATH is a file or a folder (every *.md below it). Without PATH, the `paths` globs of the
    config are used (default: postmortems/**/*.md and docs/postmortems/**/*.md).

    \b
    --format json prints one object on stdout, for scripts:
      {"postmortems": [{"path", "id", "title", "date", "severity", "status",
        "items": [{"key", "title", "owners", "due", "due_text", "status", "status_text",
                   "priority", "type", "tickets", "line", "source", "section"}],
        "problems": [{"line", "column", "severity", "code", "message"}]}]}
    """
    traces: dict[str, list[Step]] | None = {} if explain else None
    pms = _parse_all(state, paths, traces)
    if fmt == "json":
        docs = [pm.to_json() for pm in pms]
        if traces is not None:
            for doc, pm in zip(docs, pms, strict=True):
                doc["explain"] = [st.to_json() for st in traces.get(pm.path, [])]
        _echo_json(json.dumps({"postmortems": docs}, ensure_ascii=False))
        _err.print(f"{sum(len(p.items) for p in pms)} action items in {len(pms)} postmortems")
        return
    from rich.console import Console

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
        if traces is not None:
            out.print("  explain:")
            for st in traces.get(pm.path, []):
                span = f"{st.line}" if st.end_line <= st.line else f"{st.line}-{st.end_line}"
                out.print(f"  {span:>9}  {st.verdict:<13} {st.reason}", markup=False)
    _err.print(f"{sum(len(p.items) for p in pms)} action items in {len(pms)} postmortems")


def _status_mark(status: str) -> str:
    return {"done": "x", "in_progress": "~", "dropped": "-", "open": " "}[status]


# --- lint --------------------------------------------------------------------------------------


def lint_settings(loaded: LoadedConfig) -> LintSettings:
    from tracker.lint import LintSettings

    cfg = loaded.config
    return LintSettings(
        max_items=cfg.lint.max_items,
        placeholder_owners=frozenset(o.casefold() for o in cfg.lint.placeholder_owners),
        team_suffixes=tuple(cfg.lint.team_suffixes),
        severity=dict(cfg.lint.severity),
        skip_done=cfg.lint.skip_done,
        owners_map=dict(cfg.owners) if cfg.owners else None,
        default_due=dict(cfg.sync.default_due) or None,
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
    "--as-of",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="Day to judge due dates by (PM006); default today in the config's time zone.",
)
@click.option(
    "--changed-since",
    metavar="REF",
    help="Only the postmortems changed since REF (git diff REF...HEAD: a pull request's base "
    "commit or branch). Duplicate ids are still checked against every postmortem.",
)
@click.pass_obj
def lint_cmd(
    state: _State,
    paths: tuple[str, ...],
    fmt: str | None,
    as_of: dt.date | None,
    changed_since: str | None,
) -> None:
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
      PM014 warning  looks like follow-up work but gave no item (see parse --explain)
      PM015 warning  due date before the postmortem's date

    PM004 is info, not an error, for items sync.default_due gives a date.

    Exits 1 when any error-level problem is found.
    """
    from tracker import wiring
    from tracker.gha import annotation, append_step_summary, cap_annotations, in_actions
    from tracker.gitdiff import changed_files
    from tracker.lint import lint_repository, rank

    fmt = fmt or ("github" if in_actions() else "text")
    as_of = as_of or wiring.today(state.loaded)
    changed = None if changed_since is None else changed_files(state.loaded.root, changed_since)
    pms = _parse_all(state, paths)
    if changed is not None:
        # Unchanged files first: a duplicate id is then reported on the file that brought it.
        pms = sorted(pms, key=lambda pm: pm.path in changed)
        results = lint_repository(pms, lint_settings(state.loaded), as_of)
        pms = [pm for pm in pms if pm.path in changed]
        results = {pm.path: results[pm.path] for pm in pms}
        _err.print(f"{len(pms)} postmortems changed since {escape(changed_since or '')}")
    else:
        results = lint_repository(pms, lint_settings(state.loaded), as_of)
    flat = [(path, p) for path, probs in results.items() for p in probs]
    errors = sum(1 for _, p in flat if p.severity == "error")
    warnings = sum(1 for _, p in flat if p.severity == "warning")
    if fmt == "json":
        _echo_json(
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
        shown, hidden = cap_annotations(rank(flat))
        for path, p in shown:
            click.echo(annotation(path, p))
        append_step_summary(_lint_summary(flat, len(pms), hidden))
    else:
        for path, p in flat:
            click.echo(f"{path}:{p.line or 1}:{p.column or 1}: {p.code} {p.message}")
    items = sum(len(pm.items) for pm in pms)
    _err.print(
        f"{len(pms)} postmortems, {items} action items: {errors} errors, {warnings} warnings"
    )
    if errors:
        raise SystemExit(EXIT_FAILED)


def _lint_summary(flat: list[tuple[str, Problem]], files: int, hidden: int = 0) -> str:
    from tracker.lint import rank

    lines = [f"### Postmortem lint: {len(flat)} problems in {files} files", ""]
    if hidden:
        lines += [
            f"{hidden} of them are not annotated in the diff (GitHub shows 10 annotations "
            "per severity and step): every problem is listed here.",
            "",
        ]
    if flat:
        lines += ["| File | Line | Rule | Problem |", "|---|---|---|---|"]
        for path, p in rank(flat):
            msg = p.message.replace("|", "\\|")
            lines.append(f"| `{path}` | {p.line or ''} | {p.code} {p.severity} | {msg} |")
    return "\n".join(lines)


# --- sync --------------------------------------------------------------------------------------

_VERB = {
    "create": "would create",
    "update": "would update",
    "close": "would close",
    "reopen": "would reopen",
    "orphaned": "orphaned",
    "conflict": "conflict",
}
_DONE = {
    "create": "created",
    "update": "updated",
    "close": "closed",
    "reopen": "reopened",
    "orphaned": "orphaned",
    "conflict": "conflict",
    "failed": "FAILED",
    "deferred": "deferred",
}


WRITE_BACK_CHOICES = ("file", "pull-request", "commit", "none")


def _backend(state: _State, name: str | None) -> BuiltBackend:
    from tracker import wiring

    built = wiring.build_backend(state.loaded, name)
    if built.notice:
        state.note(built.notice)
    return built


def _files(state: _State, paths: Sequence[str]) -> list[tuple[Path, str]]:
    cfg = state.loaded.config
    files = discover(paths, state.loaded.root, cfg.paths, cfg.exclude)
    if not files:
        where = ", ".join(paths) if paths else ", ".join(cfg.paths)
        _err.print(f"[yellow]no postmortems found in {escape(where)}[/]")
    return files


_PROGRESS_FROM = 100  # writes: below this a run is quick, and each change gets its own line


def _progress_printer(total_hint: str, verbose: bool) -> Callable[[int, int, ItemResult], None]:
    """Plain progress lines for logs (CI): every 10% and the last item, for long runs."""
    last = [-1]

    def show(done: int, total: int, result: ItemResult) -> None:
        if total < _PROGRESS_FROM and not verbose:
            return
        step = max(1, total // 10)
        if done == total or done // step != last[0]:
            last[0] = done // step
            _err.print(f"{total_hint} {done}/{total}", markup=False)

    return show


@cli.command("sync")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing anywhere.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--backend",
    "backend_name",
    type=click.Choice(BACKEND_NAMES),
    help="Override `backend:` of the config.",
)
@click.option(
    "--no-write-back", is_flag=True, help="Do not write ticket links into the postmortems."
)
@click.option(
    "--write-back",
    "write_back_opt",
    type=click.Choice(WRITE_BACK_CHOICES),
    help="Where the ticket links go (overrides sync.write_back): into the files, a pull "
    "request or a commit on the branch in the GitHub repository (the files here stay as they "
    "are), or nowhere.",
)
@click.option("--as-of", callback=_date, metavar="YYYY-MM-DD", help="Today, for default due dates.")
@click.option(
    "--remind",
    "remind",
    is_flag=True,
    help="Then send the reminder comments that are due (as `tracker remind`; its lines go to "
    "stderr).",
)
@click.pass_obj
def sync_cmd(
    state: _State,
    paths: tuple[str, ...],
    dry_run: bool,
    fmt: str,
    backend_name: str | None,
    no_write_back: bool,
    write_back_opt: str | None,
    as_of: dt.date | None,
    remind: bool = False,
) -> None:
    """Turn action items into tickets, exactly once, and write the links back.

    Each item becomes one ticket, found again on every run by the key stored in it (never by
    title), so running sync twice changes nothing. A change in the file (owner, due date, text,
    done) updates the ticket; changes people make in the tracker are kept. Tickets closed in the
    tracker are written back as Done / [x] where the file has a status cell or checkbox.

    \b
    --format json prints one object on stdout:
      {"created", "updated", "closed", "reopened", "unchanged", "orphaned", "conflicts",
       "failed", "deferred", "requests", "items": [{"key", "action", "ticket", "reason",
       "error"}]}
    and with write-back pull-request or commit also "write_back": {"mode", "files", "url",
    "error"}.

    \b
    Write-back pull-request or commit needs the GitHub repository (GITHUB_REPOSITORY, else
    github.repo, and the token in github.token_env), whatever the backend: one commit per
    run, refused when a postmortem on the branch is not the version this run read.

    Exits 1 when any item failed. Work past `sync.max_writes` is deferred to the next run.
    """
    from tracker import wiring
    from tracker.engine import deferred_outcome, run_sync
    from tracker.gha import in_actions

    built = _backend(state, backend_name)
    loaded = state.loaded
    files = _files(state, paths)
    write_back = "none" if no_write_back else write_back_opt or loaded.config.sync.write_back
    if write_back == "file" and in_actions():
        # A runner's checkout is thrown away with the job: links written there are lost.
        _err.print(
            "[yellow]warning:[/] sync.write_back is 'file' under GitHub Actions: the links go "
            "into the runner's checkout and are lost with it; set sync.write_back: pull-request "
            "(or the action's write-back input) to keep them"
        )
    remote = write_back in ("pull-request", "commit") and not dry_run
    # Checked before any ticket is written: a missing repository or token is a usage error.
    forge = wiring.build_forge(loaded, f"write-back: {write_back}", files=True) if remote else None
    mode: WriteBack = "file"
    if remote:
        mode = "collect"  # the engine hands the edits over; forge commits them
    elif dry_run or write_back == "none":
        mode = "none"
    progress = None
    if not dry_run and fmt == "text" and not state.quiet:
        progress = _progress_printer("applying", state.verbose)
    day = as_of or wiring.today(loaded)
    try:
        outcome = run_sync(
            files,
            built.backend,
            wiring.sync_policy(loaded, built.name),
            as_of=day,
            dry_run=dry_run,
            write_back=mode,
            parse_options=loaded.config.parse_options(),
            progress=progress,
            root=loaded.root,
            full_run=not paths,
        )
    except RateLimited as exc:  # the listing: nothing was written, everything waits
        if fmt == "json":
            options = loaded.config.parse_options()
            left = deferred_outcome(
                files, built.backend, str(exc), as_of=day, parse_options=options
            )
            _json.keep({**left.to_json(), "error": str(exc)})
        raise
    sent = _send_links(forge, outcome, write_back, loaded) if forge is not None else None
    if fmt == "json":
        data = outcome.to_json()
        if sent is not None:
            data["write_back"] = sent
        _echo_json(json.dumps(data, ensure_ascii=False))
    else:
        _print_outcome(outcome, dry_run, state)
    notices = [*getattr(built.backend, "notices", ()), *outcome.notices]
    for notice in output.group_notes(str(n) for n in notices):
        state.note(notice)
    _sync_to_actions(outcome, dry_run)
    if sent is not None:
        _links_to_actions(sent)
    reminded_ok = True
    if remind:
        reminded_ok = not _remind(state, built, as_of, dry_run, False, "text", _err)
    if outcome.failed or outcome.write_back_errors or (sent and sent["error"]) or not reminded_ok:
        raise SystemExit(EXIT_FAILED)


def _send_links(
    forge: Forge, outcome: SyncOutcome, mode: str, loaded: LoadedConfig
) -> dict[str, Any]:
    """Commit the run's file edits through the GitHub repository; what happened, for output."""
    from dataclasses import replace

    from tracker import wiring

    prefix = wiring.repo_prefix(loaded.root)
    edits = [replace(e, path=prefix + e.path) for e in outcome.edits]
    sent: dict[str, Any] = {
        "mode": mode,
        "files": [e.path for e in edits],
        "url": None,
        "error": None,
    }
    if not edits:
        return sent
    try:
        sent["url"] = forge.commit_files(
            edits,
            None,
            mode="commit" if mode == "commit" else "pull-request",
            base_branch=wiring.write_back_base(),
        )
    except TrackerError as exc:
        sent["error"] = str(exc)
    return sent


def _links_to_actions(sent: Mapping[str, Any]) -> None:
    """Say where the links went (stderr, step outputs, job summary), or why they did not."""
    from tracker.gha import append_step_summary, write_outputs

    n = len(sent["files"])
    where = "pull request" if sent["mode"] == "pull-request" else "commit"
    if sent["error"]:
        _err.print(f"[red]write-back:[/] {escape(sent['error'])}")
        append_step_summary(f"- write-back failed: {sent['error']}")
    elif sent["url"]:
        files = f"{n} postmortem{'s' if n != 1 else ''}"
        _err.print(f"links to {files} sent as a {where}: {escape(sent['url'])}")
        key = "pull-request-url" if sent["mode"] == "pull-request" else "commit-url"
        write_outputs({key: sent["url"]})
        append_step_summary(f"- ticket links for {files}: [{where}]({sent['url']})")
    else:
        _err.print(f"write-back ({escape(sent['mode'])}): no links to write")


_SUMMARY_ROWS = 200  # the job summary holds 1 MiB per step; the log has every line


def _sync_to_actions(outcome: SyncOutcome, dry_run: bool) -> None:
    """Step outputs and a job summary; both do nothing outside GitHub Actions."""
    from tracker.gha import append_step_summary, write_outputs

    counts = outcome.counts()
    write_outputs(
        {k: str(counts[k]) for k in ("created", "updated", "closed", "failed", "deferred")}
    )
    words = _VERB if dry_run else _DONE
    shown = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "nothing to do"
    lines = [f"### Postmortem {'sync plan (dry run)' if dry_run else 'sync'}: {shown}", ""]
    rows = [r for r in outcome.items if r.action in words]
    if rows:
        lines += ["| Ticket | Item | Result | Why |", "|---|---|---|---|"]
    for r in rows[:_SUMMARY_ROWS]:
        ticket = r.ticket.ref if r.ticket else "-"
        if r.ticket and r.ticket.url.startswith(("https://", "http://")):
            ticket = f"[{ticket}]({r.ticket.url})"
        why = r.reason + (f"; error: {r.error}" if r.error else "")
        why = " ".join(why.split()).replace("|", "\\|")
        lines.append(f"| {ticket} | `{r.key}` | {words[r.action]} | {why} |")
    if len(rows) > _SUMMARY_ROWS:
        lines += ["", f"{len(rows) - _SUMMARY_ROWS} more in the log."]
    notes = [f"- links written to `{p}`" for p in outcome.files_written]
    notes += [f"- write-back failed: {p}" for p in outcome.write_back_errors]
    lines += ["", *notes] if notes else []
    append_step_summary("\n".join(lines))


def _print_outcome(outcome: SyncOutcome, dry_run: bool, state: _State) -> None:
    text = output.sync_text(
        outcome.items,
        outcome.counts(),
        dry_run=dry_run,
        requests=outcome.requests,
        verbose=state.verbose,
    )
    if not state.quiet:
        for line in text.changes:
            click.echo(line)
        for line in text.summary:
            _err.print(line, markup=False)
        for path in outcome.files_written:
            _err.print(f"links written to {path}", markup=False)
    for problem in outcome.write_back_errors:
        _err.print(f"[red]write-back:[/] {escape(problem)}")


# --- status ------------------------------------------------------------------------------------


@cli.command("status")
@click.option("--owner", metavar="NAME", help="Only items of this owner (as written, or login).")
@click.option("--overdue", is_flag=True, help="Only overdue items.")
@click.option("--postmortem", metavar="ID", help="Only items of this postmortem (id or path).")
@click.option("--as-of", callback=_date, metavar="YYYY-MM-DD", help="Judge due dates by this day.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--backend", "backend_name", type=click.Choice(BACKEND_NAMES))
@click.pass_obj
def status_cmd(
    state: _State,
    owner: str | None,
    overdue: bool,
    postmortem: str | None,
    as_of: dt.date | None,
    fmt: str,
    backend_name: str | None,
) -> None:
    """List the open action items across every postmortem, overdue first.

    Reads the tickets (the backend's snapshot), not the files: run `tracker sync` first.
    """
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from tracker import wiring
    from tracker.status import status_rows

    built = _backend(state, backend_name)
    day = as_of or wiring.today(state.loaded)
    snap = _snapshot(state, built)
    tickets = snap.tickets
    rows = status_rows(
        tickets,
        day,
        owner=owner,
        overdue_only=overdue,
        postmortem=postmortem,
        tz=ZoneInfo(state.loaded.config.timezone),
    )
    for notice in snap.notices:
        _err.print(f"[yellow]note:[/] {escape(notice)}")
    if fmt == "json":
        _echo_json(json.dumps({"as_of": day.isoformat(), "items": [r.to_json() for r in rows]}))
        return
    if not rows and (owner or postmortem or overdue):
        _err.print(_why_empty(tickets, day, owner, postmortem, overdue), markup=False)
        return
    live = [r for r in rows if not r.orphaned]
    orphans = [r for r in rows if r.orphaned]
    _status_table(live)
    if orphans:  # their own group: not open work of a live postmortem
        Console(highlight=False, width=output.WIDTH).print(
            "\nOrphaned (the postmortem was removed from git):"
        )
        _status_table(orphans)
    late = sum(1 for r in live if r.overdue)
    tail = f", {len(orphans)} orphaned" if orphans else ""
    if not state.quiet:
        _err.print(f"{len(live)} open items, {late} overdue{tail} (as of {day.isoformat()})")


def _snapshot(state: _State, built: BuiltBackend) -> Snapshot:
    """The tickets as status and report see them (tracker.status.snapshot)."""
    from tracker.status import snapshot

    cfg = state.loaded.config
    files = discover((), state.loaded.root, cfg.paths, cfg.exclude)
    return snapshot(built.backend, files, root=state.loaded.root, parse_options=cfg.parse_options())


def _status_table(rows: Sequence[StatusRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False, width=output.WIDTH)
    table.add_column("Ticket", no_wrap=True)
    table.add_column("Title", overflow="fold", ratio=1)
    table.add_column("Owner", no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column("Due", no_wrap=True)
    table.add_column("Age", no_wrap=True, justify="right")
    for r in rows:
        due = r.due.isoformat() if r.due else "-"
        style = "red" if r.overdue else None
        table.add_row(
            r.ref,
            escape(r.title),
            escape(r.owner or "-"),
            due,
            f"{r.age_days}d" if r.age_days is not None else "-",
            style=style,
        )
    Console(highlight=False, width=output.WIDTH).print(table)


def _why_empty(
    tickets: Sequence[Any], day: dt.date, owner: str | None, pm: str | None, overdue: bool
) -> str:
    """Why `status` with filters lists nothing, and which values would list something."""
    from tracker.status import status_rows

    open_rows = status_rows(tickets, day)
    if owner:
        owners = {o.strip() for r in open_rows for o in (r.owner or "").split(",") if o.strip()}
        return output.missing_filter("owner", owner, sorted(owners))
    if pm:
        ids = {r.postmortem for r in open_rows if r.postmortem}
        return output.missing_filter("postmortem", pm, sorted(ids))
    dated = sorted(r.due for r in open_rows if r.due)
    nxt = f"; the next due date is {dated[0].isoformat()}" if dated else ""
    return f"no overdue items as of {day.isoformat()}: {len(open_rows)} open items{nxt}"


# --- report ------------------------------------------------------------------------------------


@cli.command("report")
@click.option("--as-of", callback=_date, metavar="YYYY-MM-DD", help="The report's day.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "csv", "program-csv"]),
    default="text",
    show_default=True,
    help="csv: one row per item; program-csv: one row per postmortem (program metrics).",
)
@click.option("--output", "output", metavar="FILE", help="Write the report to FILE.")
@click.option(
    "--post",
    is_flag=True,
    help="Keep one report issue per ISO week in the GitHub repository (github.repo or "
    "GITHUB_REPOSITORY), whatever the backend; without one, only the local backend keeps it.",
)
@click.option("--backend", "backend_name", type=click.Choice(BACKEND_NAMES))
@click.option(
    "--owner",
    metavar="NAME",
    help="One owner's digest instead: their overdue and due-soon items across every postmortem "
    "(as written, or their login / account id).",
)
@click.option(
    "--notify",
    "notify",
    is_flag=True,
    help="Deliver it to the channels under notify: (Slack, Teams, e-mail); --post does too "
    "when channels are configured.",
)
@click.pass_obj
def report_cmd(
    state: _State,
    as_of: dt.date | None,
    fmt: str,
    output: str | None,
    post: bool,
    backend_name: str | None,
    owner: str | None = None,
    notify: bool = False,
) -> None:
    """Weekly figures: overdue and stale items, completion and on-time rates, trends.

    \b
    Definitions:
      open        not closed (in progress is part of open, also counted on its own)
      overdue     open and due before the report day
      stale       open and no human activity for report.stale_after_days (default
                  14): comments, state or assignee changes by people, edits of the item
                  in the file (git); the tool's own writes do not count
      completion  done / (done + open); dropped items do not count
      on time     done by the due date / done with a due date the file gave
                  (dates from sync.default_due are marked "policy" and left out)
      opened      the commit that added the item (else the postmortem date)
      closed      the earliest of the ticket's close and the commit marking it done

    --post keeps one report issue per ISO week (updated in place; a report past GitHub's body
    limit continues in comments; report.close_previous closes earlier weeks' issues). Under
    GitHub Actions the Markdown also goes to the job summary.

    With notify.slack / notify.teams / notify.email configured, --post (or --notify) also
    delivers the headline, figures and top overdue items there; a failed delivery exits 1 and
    never loses the posted report issue. --owner NAME prints one owner's digest instead.
    """
    if owner is not None:
        _owner_report(state, owner, as_of, fmt, backend_name, notify)
        return

    from rich.console import Console

    from tracker import wiring
    from tracker.gha import append_step_summary, write_outputs
    from tracker.gitlog import read_history
    from tracker.report import compute_for_config, render_text, to_csv, to_json, to_markdown
    from tracker.report.render_program import program_csv
    from tracker.report.sources import gather, with_ticket_files

    built = _backend(state, backend_name)
    loaded = state.loaded
    # Checked before the listing: a configured repository without a token is a usage error.
    to_github = post and wiring.forge_configured(loaded)
    missing = wiring.forge_token_missing(loaded)
    if to_github and built.name == "local" and missing:
        # The config `tracker init` writes names the repository but leaves `backend:` unset:
        # a report posted from a laptop stays in the local file, with the way to post it.
        to_github = False
        state.note(
            f"the report stays in the local file, not an issue of {missing[0]}: to post it "
            f"there, set {missing[1]} to a token with issues: write (and `backend: github` in "
            ".tracker.yml, or --backend github, to report on GitHub's tickets)"
        )
    forge = wiring.build_forge(loaded, "report --post") if to_github else None
    day = as_of or wiring.today(state.loaded)
    cfg = loaded.config
    tickets = _snapshot(state, built).tickets
    found = discover((), loaded.root, cfg.paths, cfg.exclude)
    files = with_ticket_files(loaded.root, found, tickets)
    ref = cfg.report.history_ref
    inputs = gather(loaded.root, files, cfg, lambda p: read_history(loaded.root, p, ref=ref))
    report = compute_for_config(
        tickets, day, cfg, history=inputs.history, file_items=inputs.file_items,
        program=inputs.program,
    )  # fmt: skip
    markdown = to_markdown(report, nudge=state.loaded.config.report.nudge)
    if fmt == "json":
        body = json.dumps(to_json(report), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "csv":
        body = to_csv(report)
    elif fmt == "program-csv":
        body = program_csv(report.program)
    elif fmt == "markdown":
        body = markdown
    else:
        body = ""
    if output:
        try:
            Path(output).write_text(body or markdown, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{output}: cannot write the report: {exc.strerror}") from None
        _json.kept = True  # the object went to the file asked for
        _err.print(f"report written to {escape(output)}")
    elif fmt == "text":
        render_text(report, Console(highlight=False))
    else:
        _echo_json(body, nl=False)
    append_step_summary(markdown)
    channels = bool(loaded.config.notify.slack or loaded.config.notify.teams)
    channels = channels or loaded.config.notify.email is not None
    if not post:
        if notify:
            _deliver_report(loaded, report, None)
        return
    title = f"Postmortem action items: {report.week}"
    if forge is not None:
        close = loaded.config.report.close_previous
        url = forge.post_report(title, markdown, report.week, close_previous=close)
    elif built.name == "local":
        url = built.backend.post_report(title, markdown, report.week)
    else:
        _err.print(
            f"[yellow]note:[/] the report was not posted: with backend {built.name} it goes to "
            "an issue of the GitHub repository, and none is configured (set `github.repo` in "
            ".tracker.yml, or GITHUB_REPOSITORY); use --output or the job summary meanwhile"
        )
        return
    _err.print(f"report posted: {escape(url)}")
    write_outputs({"report-url": url})
    if notify or channels:
        _deliver_report(loaded, report, url)


def _deliver_report(loaded: LoadedConfig, report: Any, url: str | None) -> None:
    """The weekly report to every channel; a failure is reported after the others ran."""
    from tracker.config import env
    from tracker.notify.deliver import channels, deliver
    from tracker.notify.message import report_message

    notify = loaded.config.notify
    if not channels(notify):
        raise ConfigError(
            ".tracker.yml: --notify needs a channel: add notify.slack, notify.teams or notify.email"
        )
    link = notify.report_url or (url if url and url.startswith(("https://", "http://")) else None)
    results = deliver(report_message(report, link, notify.top_items), notify, env)
    _print_deliveries(results, "report")


def _print_deliveries(results: Sequence[Any], what: str) -> None:
    failed = [r for r in results if not r.ok]
    for r in results:
        if r.ok:
            _err.print(f"{what} delivered to {r.channel}")
        else:
            _err.print(f"[red]delivery to {r.channel} failed:[/] {escape(r.error or '')}")
    if failed:
        raise SystemExit(EXIT_FAILED)


def _owner_report(
    state: _State,
    owner: str,
    as_of: dt.date | None,
    fmt: str,
    backend_name: str | None,
    notify: bool,
) -> None:
    """`tracker report --owner X`: one owner's overdue and due-soon items."""
    from tracker import wiring
    from tracker.config import env
    from tracker.notify.deliver import deliver
    from tracker.notify.message import (
        digest_message,
        message_text,
        owner_items,
        policy_keys,
    )
    from tracker.report import compute_for_config

    loaded = state.loaded
    cfg = loaded.config
    built = _backend(state, backend_name)
    day = as_of or wiring.today(loaded)
    tickets = built.backend.list_tracked()
    report = compute_for_config(tickets, day, cfg)
    items = owner_items(report, owner, cfg.owners)
    by_policy = policy_keys(tickets)
    nc = cfg.notify
    msg = digest_message(report, owner, items, nc.report_url, nc.top_items, by_policy)
    if fmt == "json":
        data = {
            "owner": owner,
            "as_of": day.isoformat(),
            "items": [
                {
                    "key": i.key,
                    "ticket": i.ticket,
                    "url": i.url,
                    "title": i.title,
                    "due": i.due.isoformat() if i.due else None,
                    "overdue": i.overdue,
                    "days_overdue": i.days_overdue,
                    "due_soon": i.due_soon,
                    "due_by_policy": i.key in by_policy,
                }
                for i in items
            ],
        }
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        click.echo(message_text(msg), nl=False)
    if notify:
        email = cfg.notify.email
        to = None
        if email is not None:
            folded = {k.casefold().lstrip("@"): v for k, v in email.owner_emails.items()}
            addr = folded.get(owner.casefold().lstrip("@"))
            to = [addr] if addr else None
        _print_deliveries(deliver(msg, cfg.notify, env, to=to), "digest")


# --- remind ------------------------------------------------------------------------------------


@cli.command("remind")
@click.option(
    "--as-of",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="The day to remind for (quiet hours are not applied to an explicit day).",
)
@click.option("--dry-run", is_flag=True, help="Print the comments that would be sent; send none.")
@click.option(
    "--digest",
    is_flag=True,
    help="Also send one message per owner with their overdue and due-soon items to the "
    "channels under notify: (once per owner and day).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--backend", "backend_name", type=click.Choice(BACKEND_NAMES))
@click.pass_obj
def remind_cmd(
    state: _State,
    as_of: dt.date | None,
    dry_run: bool,
    digest: bool,
    fmt: str,
    backend_name: str | None,
) -> None:
    """Comment on tickets before they are due, on the day, when late, and escalate.

    \b
    Stages (remind: in .tracker.yml; `remind: {}` turns them on with these defaults):
      due_soon   3 days before the due date       (remind.due_soon_days)
      due        on the due date
      overdue    the day after, then every 7 days (remind.overdue_every_days)
      escalate   14 days overdue, mentioning remind.escalate_to (a person, @org/team, or the
                 postmortem's owner: / facilitator:)

    Each stage is sent once per ticket and due date (a new due date re-arms them), never to a
    closed ticket. Every comment carries a hidden marker and the journal (remind.state_path)
    records intent before sending, so re-runs, parallel runs and crashes never send twice.
    At most remind.max_comments_per_day comments a day; the rest wait for the next run.
    """
    from rich.console import Console

    built = _backend(state, backend_name)
    if _remind(state, built, as_of, dry_run, digest, fmt, Console(highlight=False, soft_wrap=True)):
        raise SystemExit(EXIT_FAILED)


def _remind(
    state: _State,
    built: BuiltBackend,
    as_of: dt.date | None,
    dry_run: bool,
    digest: bool,
    fmt: str,
    plain: Console | _StderrConsole,
) -> bool:
    """One remind run (and digests); True when anything failed."""
    from tracker import wiring
    from tracker.config import env
    from tracker.notify import run as notify_run

    loaded = state.loaded
    cfg = loaded.config
    remind_cfg = notify_run.require(cfg)
    day = as_of or wiring.today(loaded)
    tickets = built.backend.list_tracked()
    journal = notify_run.journal_for(remind_cfg, loaded.root)
    backend: Any = built.backend
    result = notify_run.remind(
        cfg,
        loaded.root,
        backend,
        built.name,
        tickets,
        day=day,
        now=wiring.now(loaded),
        dry_run=dry_run,
        honour_quiet=as_of is None,
        journal=journal,
    )
    digests = (
        notify_run.digests(
            cfg, tickets, day, env, journal=journal, link=cfg.notify.report_url, dry_run=dry_run
        )
        if digest
        else []
    )
    return _print_remind(result, digests, dry_run, fmt, plain)


def _print_remind(
    result: Any, digests: Sequence[Any], dry_run: bool, fmt: str, plain: Console | _StderrConsole
) -> bool:
    """Print a remind run; True when anything failed."""
    from tracker.notify.remind import render
    from tracker.notify.run import remind_json

    out = result.outcome
    failed = bool(out and out.failed) or any(not s.ok for d in digests for s in d.sent)
    if fmt == "json":
        data = remind_json(result, digests, dry_run)
        click.echo(json.dumps(data, ensure_ascii=False))
        return failed
    if dry_run:
        for rem in result.planned:
            plain.print(
                f"would comment on {rem.ticket.ref} ({', '.join(rem.stages)}):", markup=False
            )
            body = render(rem, rem.stages, result.dialect, result.people)
            plain.print("    " + body.replace("\n", "\n    "), markup=False)
        _err.print(f"remind (dry run): {len(result.planned)} comments would be sent")
    elif out is not None and out.held:
        _err.print(f"remind: nothing sent: {escape(out.held)}; {len(result.planned)} waiting")
    elif out is not None:
        for rem, stages in out.sent:
            plain.print(
                f"commented on {rem.ticket.ref}  {', '.join(stages)}  {rem.key}", markup=False
            )
        for rem, error in out.failed:
            _err.print(f"[red]failed:[/] {escape(rem.ticket.ref)} {escape(error)}")
        bits = [f"{len(out.sent)} sent"]
        if out.found:
            bits.append(f"{len(out.found)} already on the ticket")
        if out.deferred:
            bits.append(f"{len(out.deferred)} deferred (remind.max_comments_per_day)")
        if out.busy:
            bits.append(f"{len(out.busy)} held by another run")
        if out.failed:
            bits.append(f"{len(out.failed)} failed")
        _err.print("remind: " + ", ".join(bits))
    for d in digests:
        for s in d.sent:
            if s.ok:
                _err.print(f"digest for {escape(d.owner)} delivered to {s.channel}")
            else:
                _err.print(
                    f"[red]digest for {escape(d.owner)} to {s.channel}:[/] {escape(s.error or '')}"
                )
        if dry_run:
            _err.print(f"digest for {escape(d.owner)}: {d.items} items (dry run: not sent)")
    return failed


# --- init and config ---------------------------------------------------------------------------


@cli.command("init")
@click.option("--repo", metavar="OWNER/NAME", help="GitHub repository (default: from git remote).")
@click.option("--force", is_flag=True, help="Overwrite files that exist and differ.")
@click.option(
    "--action-ref",
    default=None,
    metavar="REF",
    help="The action the workflows use (default: this version's release, pinned by commit).",
)
@click.option(
    "--branch",
    default=None,
    metavar="NAME",
    help="The branch sync runs on (default: the remote's HEAD, else the current branch).",
)
def init_cmd(repo: str | None, force: bool, action_ref: str | None, branch: str | None) -> None:
    """Set up this repository: .tracker.yml, a postmortem template and three workflows.

    \b
    Writes, relative to the current folder:
      .tracker.yml                              config with default due dates by priority
      postmortems/TEMPLATE.md                   template with an action-items table
      .github/workflows/postmortem-sync.yml     sync on merge and daily
      .github/workflows/postmortem-report.yml   weekly report issue
      .github/workflows/postmortem-lint.yml     lint the postmortems a pull request changes
      .github/dependabot.yml                    keeps the pinned actions current
    and adds .tracker/ (the local ticket database) to .gitignore.

    Safe to run again: files that exist are kept unless --force.
    """
    from tracker import release, scaffold
    from tracker.gitdiff import default_branch

    root = Path.cwd()
    ref, pinned = (action_ref, True) if action_ref else release.action_ref()
    branch = branch or default_branch(root) or scaffold.DEFAULT_BRANCH
    files = scaffold.planned_files(repo or scaffold.repo_from_git(root), ref, branch)
    done = [*scaffold.write_files(root, files, force), scaffold.ensure_gitignore(root)]
    for path, what in done:
        short = what in ("created", "unchanged", "overwritten", "updated")
        _err.print(f"{what:>11}  {escape(path)}" if short else f"{escape(path)}: {what}")
    _err.print(f"sync runs on pushes to {escape(branch)} (--branch to change)")
    if not pinned:
        _err.print(
            f"[yellow]note:[/] this is a development version: the workflows use {escape(ref)}, "
            "a tag; pin it to that tag's commit (`tracker init --force --action-ref "
            "OWNER/NAME@SHA`); Dependabot (.github/dependabot.yml) keeps pins current"
        )
    _err.print("next: write a postmortem from postmortems/TEMPLATE.md, then `tracker lint`")


@cli.group("config")
def config_group() -> None:
    """Inspect the configuration format."""


@config_group.command("schema")
def config_schema_cmd() -> None:
    """Print the JSON Schema of .tracker.yml (point your editor's YAML support at it)."""
    from tracker import scaffold

    click.echo(json.dumps(scaffold.config_schema(), indent=2))


@config_group.command("docs")
def config_docs_cmd() -> None:
    """Print the configuration reference in Markdown (docs/configuration.md)."""
    from tracker import scaffold

    click.echo(scaffold.configuration_markdown(), nl=False)


# --- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI; the one place that maps exceptions to exit codes."""
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    _json.wanted = _json.kept = False
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except TrackerError as exc:
        _err.print(f"[red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
        _json.keep({"error": str(exc), "exit_code": exc.exit_code})
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _err.print("interrupted")
        _json.keep({"error": "interrupted", "exit_code": EXIT_INTERRUPTED})
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        _err.print("interrupted")
        _json.keep({"error": "interrupted", "exit_code": EXIT_INTERRUPTED})
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE if exc.exit_code == 2 else exc.exit_code
        _json.keep({"error": exc.format_message(), "exit_code": code})
        sys.exit(code)
    except SystemExit:
        raise
    except Exception as exc:
        # Never str(exc) without -v: a library error may carry the request and its headers.
        _err.print(output.internal_error(exc, verbose), markup=False, highlight=False)
        _json.keep({"error": f"internal error: {type(exc).__name__}", "exit_code": EXIT_INTERNAL})
        sys.exit(EXIT_INTERNAL)
    sys.exit(0)
