"""The layering DESIGN.md asks for, checked on the source: SDKs, the environment and click stay
in the modules that own them."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "tracker"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _uses_environ(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(n, ast.Attribute) and n.attr in ("environ", "getenv") for n in ast.walk(tree)
    )


def _modules() -> dict[str, Path]:
    return {p.relative_to(REPO).as_posix(): p for p in PACKAGE.rglob("*.py")}


def test_sdk_imports_stay_in_their_backends() -> None:
    for rel, path in _modules().items():
        names = _imports(path)
        if "github" in names:
            assert rel.startswith("tracker/backends/github"), f"{rel} imports PyGithub"
        if "jira" in names:
            assert rel.startswith("tracker/backends/jira"), f"{rel} imports jira"


def test_environment_is_read_only_at_the_edges() -> None:
    allowed = {"tracker/config.py", "tracker/gha.py"}
    offenders = [rel for rel, path in _modules().items() if _uses_environ(path)]
    assert set(offenders) <= allowed, offenders


def test_click_only_in_the_cli() -> None:
    offenders = [rel for rel, p in _modules().items() if "click" in _imports(p)]
    assert offenders == ["tracker/cli.py"]


def test_the_parser_is_pure() -> None:
    """No clock, no environment, no network, no files: text and path in, values out."""
    forbidden = {"os", "socket", "requests", "urllib", "http", "time", "subprocess", "sqlite3"}
    for rel, path in _modules().items():
        if rel.startswith(("tracker/parse/", "tracker/report/")) or rel in (
            "tracker/lint.py",
            "tracker/planner.py",
        ):
            assert not (_imports(path) & forbidden), f"{rel}: {_imports(path) & forbidden}"
