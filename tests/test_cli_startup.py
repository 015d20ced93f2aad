"""`tracker --help` and `--version` start fast: `tracker.cli` imports no heavy module up front.

pydantic, the parser (markdown-it-py), PyGithub, jira, rich and the backends once made every
command, even `--help`, take a quarter of a second. Commands import them in their bodies; this
test fails when a module-level import brings one back. The timing itself is a benchmark
(benchmarks/startup_bench.py), not a test.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

HEAVY = ("pydantic", "markdown_it", "github", "jira", "rich", "yaml", "sqlite3", "requests")
# The package modules that pull those in (config, parser, engine, backends, report ...).
LIGHT_TRACKER = {"tracker", "tracker.cli", "tracker.discover", "tracker.errors", "tracker.output"}


def modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_module() -> None:
    loaded = modules_after("import tracker.cli")
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []
    assert {m for m in loaded if m.split(".")[0] == "tracker"} <= LIGHT_TRACKER


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["sync", "--help"]])
def test_help_and_version_load_no_heavy_module(args: list[str]) -> None:
    code = (
        "import contextlib, io\nfrom tracker.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({args!r})"
    )
    loaded = modules_after(code)
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []


def test_the_backend_choices_are_the_wiring_registry() -> None:
    from tracker import cli, wiring

    assert cli.BACKEND_NAMES == wiring.BACKEND_NAMES
