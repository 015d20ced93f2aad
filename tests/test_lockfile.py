"""requirements/action.txt, what the Action installs with --require-hashes, stays complete:
every runtime dependency of pyproject.toml is pinned with hashes, and nothing is left open."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO

tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11 and later")

LOCK = REPO / "requirements" / "action.txt"


def _name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _lines() -> list[str]:
    """The lock without its comments."""
    text = LOCK.read_text(encoding="utf-8")
    return [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def _pins() -> dict[str, str]:
    entries = re.split(r"\n(?=\S)", "\n".join(_lines()))
    pins: dict[str, str] = {}
    for entry in entries:
        head = entry.split("\\", 1)[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)(?:\s*;.*)?", head)
        assert m, f"not an exact pin: {head!r}"
        assert "--hash=sha256:" in entry, f"{head}: no hash"
        pins[m.group(1).lower()] = m.group(2)
    return pins


def test_every_dependency_is_pinned_with_hashes() -> None:
    pins = _pins()
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(d) for d in project["dependencies"]} | {"setuptools", "colorama"}
    assert wanted <= set(pins), f"not in {LOCK.name}: {sorted(wanted - set(pins))}"
    assert len(pins) >= 25  # the transitive dependencies too


def test_the_lock_names_no_local_index_or_path() -> None:
    text = "\n".join(_lines())
    assert "--find-links" not in text and "--index-url" not in text
    assert not re.search(r"(?m)^\s*(?:-e\s|-r\s|file:|/|\.)", text)
