"""Shared fixtures. The real-postmortem corpus sits beside the repository in CI (../shared)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
SPECS = REPO.parent / "shared" / "specs"
SKIP_REASON = "../shared/corpus not found (it sits beside the repository in CI)"
SPECS_SKIP_REASON = "../shared/specs not found (the API specs sit beside the repository in CI)"


def corpus_files() -> list[Path]:
    """The corpus documents, or [] when the corpus is absent."""
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.glob("*.md") if p.name != "INDEX.md")


def require_corpus() -> Path:
    """The corpus folder; skips the test when absent unless TRACKER_REQUIRE_CORPUS=1."""
    if CORPUS.is_dir():
        return CORPUS
    if os.environ.get("TRACKER_REQUIRE_CORPUS") == "1":
        pytest.fail(f"TRACKER_REQUIRE_CORPUS=1 but {SKIP_REASON}")
    pytest.skip(SKIP_REASON)


def require_specs() -> Path:
    """The API specs folder; skips the test when absent unless TRACKER_REQUIRE_CORPUS=1."""
    if SPECS.is_dir():
        return SPECS
    if os.environ.get("TRACKER_REQUIRE_CORPUS") == "1":
        pytest.fail(f"TRACKER_REQUIRE_CORPUS=1 but {SPECS_SKIP_REASON}")
    pytest.skip(SPECS_SKIP_REASON)


@pytest.fixture
def corpus_dir() -> Path:
    return require_corpus()


# The CLI reads the clock in one place (wiring.today). Tests never do: "today" is this day,
# before every due date the tests write unless they pass --as-of.
TEST_TODAY = __import__("datetime").date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tracker.wiring.today", lambda _loaded: TEST_TODAY)
