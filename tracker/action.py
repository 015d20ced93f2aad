"""The GitHub Action's entry (`python -m tracker.action`): inputs and event -> one `tracker` run.

action.yml passes every input to the run step as an `ACTION_*` variable (a composite action gets
no INPUT_* variables). Non-secret inputs become options of the `tracker` command; secrets are
exported under the names the config gives (`github.token_env`, `jira.token_env`, ...), so the
CLI finds them exactly as it does outside Actions. The event decides whether anything runs:
a pull request closed without merging does nothing, one from a fork (read-only token, no
secrets) is linted only. Everything but `main` is pure.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from tracker import gha
from tracker.cli import main as cli_main
from tracker.config import Config, load_config
from tracker.errors import EXIT_USAGE, ConfigError
from tracker.wiring import JIRA_URL_ENV

COMMANDS = ("sync", "report", "lint", "status", "remind")
WRITE_BACK = ("pull-request", "commit", "none")
BACKENDS = ("local", "github", "jira")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")

# action.yml input -> the option of `tracker` it becomes ("PATH": the positional arguments).
# tests/test_action.py checks both sides: every input is declared and every option exists.
OPTIONS: dict[str, dict[str, str]] = {
    "config": {"*": "--config"},
    "paths": {"sync": "PATH", "lint": "PATH"},
    "dry-run": {"sync": "--dry-run", "remind": "--dry-run"},
    "write-back": {"sync": "--write-back"},
    "backend": {"sync": "--backend", "report": "--backend", "status": "--backend"},
    "as-of": {
        "sync": "--as-of",
        "lint": "--as-of",
        "report": "--as-of",
        "status": "--as-of",
        "remind": "--as-of",
    },
    "post-report": {"report": "--post"},
    "changed-only": {"lint": "--changed-since"},
    "remind": {"sync": "--remind"},
}
# Secret (or connection) inputs -> the environment variable the backend reads; a tuple names
# the config field that holds the variable's name, with its default.
SECRETS: dict[str, tuple[str, str] | str] = {
    "github-token": ("github.token_env", "GITHUB_TOKEN"),
    "jira-api-token": ("jira.token_env", "JIRA_API_TOKEN"),
    "jira-email": ("jira.email_env", "JIRA_EMAIL"),
    "jira-pat": ("jira.pat_env", "JIRA_PAT"),
    "jira-url": JIRA_URL_ENV,
    "slack-webhook-url": ("notify.slack.webhook_env", "SLACK_WEBHOOK_URL"),
    "teams-webhook-url": ("notify.teams.webhook_env", "TEAMS_WEBHOOK_URL"),
}
# Consumed by action.yml itself (actions/setup-python), not by the CLI.
SETUP_INPUTS = ("python-version",)


@dataclass(frozen=True)
class Inputs:
    """The action's inputs, checked; "" means not given."""

    command: str = "sync"
    config: str = ""
    paths: tuple[str, ...] = ()
    dry_run: bool = False
    write_back: str = ""
    backend: str = ""
    as_of: str = ""
    post_report: bool = False
    changed_only: bool = True
    remind: bool = False
    secrets: tuple[tuple[str, str], ...] = ()  # (input name, value), non-empty values only

    @classmethod
    def parse(cls, values: Mapping[str, str]) -> Inputs:
        """Inputs from the ACTION_* variables, by input name.

        Raises:
            ConfigError: a value is not one the input accepts.
        """

        def get(name: str) -> str:
            return values.get(name, "").strip()

        command = get("command").lower() or "sync"
        if command not in COMMANDS:
            raise ConfigError(f"input command: '{command}' is not one of {', '.join(COMMANDS)}")
        write_back = get("write-back").lower()
        if write_back and write_back not in WRITE_BACK:
            raise ConfigError(
                f"input write-back: '{write_back}' is not one of {', '.join(WRITE_BACK)} "
                "(leave it empty for sync.write_back of .tracker.yml)"
            )
        backend = get("backend").lower()
        if backend and backend not in BACKENDS:
            raise ConfigError(
                f"input backend: '{backend}' is not one of {', '.join(BACKENDS)} "
                "(leave it empty for `backend:` of .tracker.yml)"
            )
        try:
            paths = tuple(shlex.split(get("paths")))
        except ValueError as exc:
            raise ConfigError(f"input paths: {exc} (quote a path with spaces)") from None
        return cls(
            command=command,
            config=get("config"),
            paths=paths,
            dry_run=_flag(get("dry-run"), "dry-run", default=False),
            write_back=write_back,
            backend=backend,
            as_of=get("as-of"),
            post_report=_flag(get("post-report"), "post-report", default=False),
            changed_only=_flag(get("changed-only"), "changed-only", default=True),
            remind=_flag(get("remind"), "remind", default=False),
            secrets=tuple((n, values[n]) for n in SECRETS if values.get(n, "").strip()),
        )


def _flag(value: str, name: str, *, default: bool) -> bool:
    low = value.lower()
    if not low:
        return default
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"input {name}: '{value}' is not a boolean: use true or false")


@dataclass(frozen=True)
class Step:
    """What the action runs: `tracker` with `argv`, or nothing (`argv` None), and why."""

    argv: tuple[str, ...] | None
    notices: tuple[str, ...] = ()


def decide(inputs: Inputs, event: gha.Event) -> Step:
    """The command line for these inputs on this event."""
    notices: list[str] = []
    if event.problem:
        notices.append(f"{event.problem}; running {inputs.command} without event details")
    command = inputs.command
    base: str | None = None
    name = event.name
    if name in ("pull_request", "pull_request_target"):
        pr = event.pr_number
        action = event.text("action")
        if action == "closed" and event.get("pull_request", "merged") is not True:
            return Step(None, (*notices, f"{pr} was closed without merging: nothing to do"))
        if name == "pull_request" and event.pr_from_fork():
            head = event.text("pull_request", "head", "repo", "full_name") or "a deleted fork"
            if command != "lint":
                notices.append(
                    f"{pr} comes from {head}: in a pull request from a fork the token is "
                    f"read-only and secrets are not passed, so {command} cannot write; running "
                    "lint only (the push to the default branch after the merge can sync)"
                )
            command = "lint"
        if command == "sync":
            if action != "closed":
                return Step(
                    None,
                    (*notices, f"{pr} is {action or 'open'}: sync runs once it is merged"),
                )
            target, default = event.text("pull_request", "base", "ref"), event.default_branch
            if target and default and target != default:
                return Step(
                    None,
                    (
                        *notices,
                        f"{pr} was merged into {target}, not the default branch {default}: "
                        "nothing synced",
                    ),
                )
        base = event.text("pull_request", "base", "sha") or None
    elif name == "push":
        ref = event.text("ref")
        if event.get("deleted") is True:
            return Step(None, (*notices, f"the push deleted {ref or 'a ref'}: nothing to do"))
        default = event.default_branch
        if command == "sync" and default and ref and ref != f"refs/heads/{default}":
            return Step(
                None,
                (
                    *notices,
                    f"push to {ref}, not the default branch {default}: nothing synced "
                    f"(add `branches: [{default}]` to the workflow's push trigger)",
                ),
            )
        before = event.text("before")
        base = before if before and before != gha.NULL_SHA else None
        if command == "lint" and inputs.changed_only and before == gha.NULL_SHA:
            notices.append(
                f"the push created {ref}: no earlier commit to compare with; "
                "linting every postmortem"
            )
    return Step(_argv(inputs, command, base, notices), tuple(notices))


def _argv(inputs: Inputs, command: str, base: str | None, notices: list[str]) -> tuple[str, ...]:
    argv = ["--config", inputs.config] if inputs.config else []
    argv.append(command)

    def unused(name: str, why: str = "") -> None:
        if command == inputs.command:  # not after the event changed the command
            notices.append(f"input {name} is not used by {command}{why}")

    if inputs.as_of:
        argv += ["--as-of", inputs.as_of]
    if command == "sync":
        if inputs.dry_run:
            argv.append("--dry-run")
        if inputs.write_back:
            argv += ["--write-back", inputs.write_back]
        if inputs.remind:
            argv.append("--remind")
    elif inputs.write_back:
        unused("write-back")
    if command == "remind" and inputs.dry_run:
        argv.append("--dry-run")
    if inputs.remind and command not in ("sync", "remind"):
        unused("remind", " (use it with command: sync, or run command: remind)")
    if inputs.backend:
        if command in ("sync", "report", "status"):
            argv += ["--backend", inputs.backend]
        else:
            unused("backend", " (it reads the files, not the tickets)")
    if command == "report" and inputs.post_report:
        if inputs.dry_run:
            notices.append("dry-run: the report is not posted")
        else:
            argv.append("--post")
    elif inputs.post_report:
        unused("post-report")
    if command not in ("sync", "report", "remind") and inputs.dry_run:
        unused("dry-run", " (it writes nothing anyway)")
    if command == "lint" and inputs.changed_only and base:
        argv += ["--changed-since", base]
    if inputs.paths:
        if command in ("sync", "lint"):
            argv += ["--", *inputs.paths]
        else:
            unused("paths", " (it reads the tickets, not the files)")
    return tuple(argv)


def secret_env(inputs: Inputs, config: Config) -> dict[str, str]:
    """Environment variable -> value for every secret input given."""
    out: dict[str, str] = {}
    for name, value in inputs.secrets:
        target = SECRETS[name]
        if isinstance(target, tuple):
            field, default = target
            found: object = config
            for part in field.split("."):  # a section left out of the config is None
                found = getattr(found, part) if found is not None else None
            target = str(found) if found is not None else default
        out[target] = value
    return out


def main() -> NoReturn:
    """Run the action step: read ACTION_* and the event, export secrets, run `tracker`."""
    try:
        inputs = Inputs.parse(gha.action_env())
    except ConfigError as exc:
        print(gha.command("error", str(exc)), flush=True)
        sys.exit(EXIT_USAGE)
    event = gha.event_from_env()
    step = decide(inputs, event)
    for notice in step.notices:
        print(gha.command("notice", notice), flush=True)
    if step.argv is None:
        gha.append_step_summary(
            "### Postmortem tracker: nothing to do\n\n" + "\n".join(step.notices)
        )
        sys.exit(0)
    try:
        config = load_config(inputs.config or None).config
    except ConfigError:
        config = Config()  # the CLI reports the error itself, with the usual exit code
    for var, value in secret_env(inputs, config).items():
        gha.set_env(var, value)
    print("tracker " + shlex.join(step.argv), flush=True)
    cli_main(list(step.argv))


if __name__ == "__main__":
    main()
