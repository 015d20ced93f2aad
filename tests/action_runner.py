"""Run action.yml the way the runner runs a composite action, on this machine, without network.

Each step's `env:` and `with:` are evaluated from the inputs and contexts with a tiny evaluator
(property paths only: `${{ inputs.x }}`, `${{ github.token }}`, `${{ steps.id.outputs.y }}`...;
anything else fails the test, so the action cannot start using expressions this runner would
evaluate wrongly). `run:` scripts go to bash as the runner does
(`bash --noprofile --norc -eo pipefail`), each with its own $GITHUB_OUTPUT and
$GITHUB_STEP_SUMMARY files. `actions/setup-python` is not run: its `python-path` output is a
stand-in interpreter whose `-m venv DIR` makes DIR/bin/python run this test's interpreter (where
the repository is installed) and log `pip` commands instead of downloading anything, so the
install step's script runs for real.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO

ACTION = REPO / "action.yml"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*")

STAND_IN_PYTHON = """#!/usr/bin/env bash
# Stands in for the interpreter actions/setup-python installs.
set -eu
if [ "$1" = -m ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin"
  cat > "$3/bin/python" <<EOS
#!/usr/bin/env bash
if [ "\\$1" = -m ] && [ "\\$2" = pip ]; then echo "\\$*" >> "$3/pip.log"; exit 0; fi
exec "{python}" "\\$@"
EOS
  chmod +x "$3/bin/python"
  exit 0
fi
echo "stand-in python: unexpected arguments: $*" >&2
exit 99
"""


def load_action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return data


def lookup(path: str, context: dict[str, Any]) -> Any:
    """A context value; like GitHub, a missing event field or step output is null (""), but a
    missing input, context or step is a mistake in action.yml and fails the test."""
    parts = path.split(".")
    lenient_from = 3 if parts[0] == "steps" else 2 if parts[:2] == ["github", "event"] else 99
    node: Any = context
    for depth, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            if depth >= lenient_from:
                return None
            raise KeyError(f"${{{{ {path} }}}}: {part!r} is not in the test runner's context")
        node = node[part]
    return node


def evaluate(value: Any, context: dict[str, Any]) -> str:
    """A string with every `${{ a.b.c }}` replaced; other expression forms are refused."""
    text = "" if value is None else str(value)

    def one(m: re.Match[str]) -> str:
        expr = m.group(1)
        if not _PATH.fullmatch(expr):
            raise AssertionError(f"the test runner evaluates property paths only, not {expr!r}")
        got = lookup(expr, context)
        if isinstance(got, bool):
            return "true" if got else "false"
        return "" if got is None else str(got)

    return _EXPR.sub(one, text)


def read_env_file(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `k=v` lines and `k<<DELIM` blocks."""
    out: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n") if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            value: list[str] = []
            while lines[i] != delim:
                value.append(lines[i])
                i += 1
            i += 1
            out[name] = "\n".join(value)
        else:
            name, _, val = line.partition("=")
            out[name] = val
    return out


@dataclass
class StepRun:
    name: str
    kind: str  # "run" | "skipped"
    env: dict[str, str] = field(default_factory=dict)
    with_: dict[str, str] = field(default_factory=dict)
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    returncode: int

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    @property
    def stderr(self) -> str:
        return "".join(s.stderr for s in self.steps)

    @property
    def summary(self) -> str:
        return "".join(s.summary for s in self.steps)

    def annotations(self, level: str) -> list[str]:
        return [x for x in self.stdout.splitlines() if x.startswith(f"::{level} ")]


def run_action(
    *,
    workspace: Path,
    temp: Path,
    inputs: dict[str, str],
    event_name: str,
    event_path: Path,
    event: dict[str, Any],
    env: dict[str, str],
    token: str,
) -> ActionRun:
    """Every step of action.yml in order, stopping at the first that fails (as the runner does)."""
    action = load_action()
    declared = action["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    context: dict[str, Any] = {
        "github": {
            "token": token,
            "action_path": str(REPO),
            "workspace": str(workspace),
            "event_name": event_name,
            "event": event,
        },
        "runner": {"temp": str(temp), "os": "Linux"},
        "steps": {},
    }
    context["inputs"] = {
        name: inputs[name] if name in inputs else evaluate(spec.get("default", ""), context)
        for name, spec in declared.items()
    }
    stand_in = temp / "setup-python" / "python"
    stand_in.parent.mkdir(parents=True, exist_ok=True)
    stand_in.write_text(STAND_IN_PYTHON.replace("{python}", sys.executable), encoding="utf-8")
    stand_in.chmod(0o755)
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "TRACKER_", "ACTION_"))
    }
    base_env.update(
        {
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(REPO),
            "RUNNER_TEMP": str(temp),
            **env,
        }
    )
    runs: list[StepRun] = []
    code = 0
    for n, step in enumerate(action["runs"]["steps"]):
        sid = step.get("id", f"__{n}")
        step_env = {k: evaluate(v, context) for k, v in (step.get("env") or {}).items()}
        with_ = {k: evaluate(v, context) for k, v in (step.get("with") or {}).items()}
        uses = step.get("uses", "")
        if uses:
            assert uses.startswith("actions/setup-python@"), f"no stand-in for {uses}"
            outputs = {"python-path": str(stand_in), "python-version": with_["python-version"]}
            runs.append(
                StepRun(step.get("name", sid), "skipped", step_env, with_, 0, "", "", outputs)
            )
            context["steps"][sid] = {"outputs": outputs, "outcome": "success"}
            continue
        script = step["run"]
        assert "${{" not in script, f"step {sid}: `run:` must not contain an expression"
        assert step.get("shell") == "bash", f"step {sid}: shell must be bash"
        files = temp / "_runner" / sid
        files.mkdir(parents=True, exist_ok=True)
        out_file, summary_file = files / "output", files / "summary"
        out_file.write_text("", encoding="utf-8")
        summary_file.write_text("", encoding="utf-8")
        (files / "script.sh").write_text(script, encoding="utf-8")
        proc_env = {
            **base_env,
            **step_env,
            "GITHUB_OUTPUT": str(out_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(files / "script.sh")],
            cwd=workspace,
            env=proc_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        outputs = read_env_file(out_file)
        summary = summary_file.read_text(encoding="utf-8")
        runs.append(
            StepRun(
                step.get("name", sid),
                "run",
                step_env,
                with_,
                proc.returncode,
                proc.stdout,
                proc.stderr,
                outputs,
                summary,
            )
        )
        context["steps"][sid] = {"outputs": outputs}
        if proc.returncode != 0:
            code = proc.returncode
            break
    action_outputs = {}
    for name, spec in action.get("outputs", {}).items():
        try:
            action_outputs[name] = evaluate(spec["value"], context)
        except KeyError:  # a step that did not run
            action_outputs[name] = ""
    return ActionRun(runs, action_outputs, code)


def git(cwd: Path, *args: str) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def git_repo(root: Path, base: dict[str, str], head: dict[str, str]) -> tuple[str, str]:
    """A repository with two commits on `master`: `base`'s files, then `head`'s; their SHAs."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "master")
    shas = []
    for files in (base, head):
        for rel, text in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", "change")
        shas.append(git(root, "rev-parse", "HEAD"))
    return shas[0], shas[1]
