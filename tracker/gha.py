"""GitHub Actions glue: annotations, $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY, the event, ACTION_*."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.model import Problem

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(s: str) -> str:
    # https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def annotation(path: str, problem: Problem) -> str:
    """One `::error file=...,line=...::message` workflow command."""
    props = [f"file={_escape_property(path)}"]
    if problem.line is not None:
        props.append(f"line={problem.line}")
        if problem.column is not None:
            props.append(f"col={problem.column}")
    props.append(f"title={_escape_property(problem.code)}")
    return f"::{_LEVEL[problem.severity]} {','.join(props)}::{_escape_data(problem.message)}"


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def write_outputs(values: dict[str, str]) -> None:
    """Append `name=value` pairs to $GITHUB_OUTPUT (multi-line values use a delimiter)."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as fh:
        for name, value in values.items():
            if "\n" in value:
                delim = f"ghadelimiter_{uuid.uuid4().hex}"
                fh.write(f"{name}<<{delim}\n{value}\n{delim}\n")
            else:
                fh.write(f"{name}={value}\n")


def append_step_summary(markdown: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(markdown.rstrip("\n") + "\n")


# --- events -------------------------------------------------------------------------------
# Payload fields: https://docs.github.com/webhooks/webhook-events-and-payloads

NULL_SHA = "0" * 40


@dataclass(frozen=True)
class Event:
    """The event that started the run, read leniently: unknown keys are normal, missing ones None.

    `name` is GITHUB_EVENT_NAME ("" outside Actions); `problem` says why the payload could not
    be read, if it could not.
    """

    name: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    problem: str | None = None

    def get(self, *keys: str) -> Any:
        """The value at a key path, or None when any step is missing or not an object."""
        node: Any = self.payload
        for key in keys:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
        return node

    def text(self, *keys: str) -> str:
        """A string value at a key path, or "" (numbers and booleans are not strings here)."""
        value = self.get(*keys)
        return value if isinstance(value, str) else ""

    @property
    def default_branch(self) -> str:
        return self.text("repository", "default_branch")

    @property
    def pr_number(self) -> str:
        n = self.get("pull_request", "number")
        if n is None:
            n = self.get("number")
        return f"#{n}" if isinstance(n, int) else "the pull request"

    def pr_from_fork(self) -> bool:
        """A cross-repository pull request: its `pull_request` run gets a read-only token.

        The head repository differs from the base one; a null `head.repo` is a deleted fork.
        `head.repo.fork` alone is only a hint (a repository that is itself a fork has it on
        every branch), so it counts only when the names cannot be compared.
        """
        head = self.get("pull_request", "head", "repo")
        if head is None:
            return self.get("pull_request") is not None
        if not isinstance(head, Mapping):
            return False
        head_name = head.get("full_name")
        base_name = self.get("pull_request", "base", "repo", "full_name")
        if isinstance(head_name, str) and isinstance(base_name, str):
            return head_name.casefold() != base_name.casefold()
        return head.get("fork") is True


def read_event(name: str | None, path: str | None) -> Event:
    """The event named `name` with the payload in the file at `path`; never raises."""
    if not path:
        return Event(name or "")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return Event(name or "", {}, f"cannot read the event payload {path}: {exc}")
    if not isinstance(data, dict):
        return Event(name or "", {}, f"the event payload {path} is not a JSON object")
    return Event(name or "", data)


def event_from_env() -> Event:
    """The current run's event, from GITHUB_EVENT_NAME and GITHUB_EVENT_PATH."""
    return read_event(os.environ.get("GITHUB_EVENT_NAME"), os.environ.get("GITHUB_EVENT_PATH"))


# --- the composite action's environment (action.yml passes every input through `env:`) ------

ACTION_ENV_PREFIX = "ACTION_"


def action_env() -> dict[str, str]:
    """Every ACTION_* variable the action's run step sets, by input name (`ACTION_AS_OF` -> as-of).

    A composite action gets no INPUT_* variables, so action.yml names them itself.
    """
    return {
        key[len(ACTION_ENV_PREFIX) :].lower().replace("_", "-"): value
        for key, value in os.environ.items()
        if key.startswith(ACTION_ENV_PREFIX)
    }


def set_env(name: str, value: str) -> None:
    """Export one variable to this process and the commands it runs (a secret, by its name)."""
    os.environ[name] = value


def command(kind: str, message: str) -> str:
    """A `::notice::` / `::warning::` / `::error::` workflow command without a file."""
    return f"::{kind}::{_escape_data(message)}"


def cap_annotations(
    ranked: Iterable[tuple[str, Problem]], per_level: int = 10
) -> tuple[list[tuple[str, Problem]], int]:
    """The first `per_level` problems of each severity, in order, and how many were left off.

    GitHub shows at most 10 error, 10 warning and 10 notice annotations per step; the rest would
    be dropped silently, so the most important go first and the summary names the others.
    """
    shown: list[tuple[str, Problem]] = []
    seen: dict[str, int] = {}
    hidden = 0
    for path, problem in ranked:
        n = seen.get(problem.severity, 0)
        if n < per_level:
            shown.append((path, problem))
        else:
            hidden += 1
        seen[problem.severity] = n + 1
    return shown, hidden
