"""The atheris harness (fuzz/fuzz_parse.py) keeps working: its target runs on seeded inputs.

The long runs happen outside CI (fuzz/README.md); this only keeps the harness from rotting.
"""

from __future__ import annotations

import importlib.util
import random
from types import ModuleType

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_parse", REPO / "fuzz" / "fuzz_parse.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_target_holds_on_seeded_inputs(harness: ModuleType) -> None:
    rng = random.Random(7)
    harness.BLOWUP_EVERY = 1 << 30  # the 1 MB timing is for long runs, not for CI
    for n in range(60):
        data = b"\x00"[: n % 2] + rng.randbytes(rng.choice((16, 64, 256, 1024)))
        harness.one_input(data)


def test_the_seed_postmortems_pass_every_property(harness: ModuleType) -> None:
    for path in sorted((REPO / "examples" / "postmortems").rglob("*.md")):
        harness.check(path.read_bytes())


def test_the_dictionary_lists_every_token(harness: ModuleType) -> None:
    text = (REPO / "fuzz" / "markdown.dict").read_text(encoding="utf-8")
    entries = [line for line in text.splitlines() if line.startswith('"')]
    assert len(entries) == len(harness.TOKENS)
