"""GitHub Actions glue: workflow-command annotations, $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

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
