"""Shared fixtures. The real-postmortem corpus sits beside the repository in CI (../shared)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
SPECS = REPO.parent / "shared" / "specs"
SKIP_REASON = "../shared/corpus not found (it sits beside the repository in CI)"


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


@pytest.fixture
def corpus_dir() -> Path:
    return require_corpus()
