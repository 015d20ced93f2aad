"""The parser's fast paths give what the general code gives: they only skip work.

Table rows without a backslash or backtick are split with `str.split`, a row that holds anything
but pipes, dashes, colons and spaces is no delimiter row without splitting it, text without a
markup character skips the emphasis rules, and front matter goes through libyaml when present.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, corpus_files
from tracker.parse import table
from tracker.parse.markdown import load_front_matter, split_front_matter
from tracker.parse.table import Cell, split_row
from tracker.parse.values import visible_text

ROW_CHARS = st.sampled_from(list("| \t-:ax*_~<>\u00a0\u2003\r\n\x1c.é"))
PLAIN_ROWS = st.lists(ROW_CHARS, max_size=30).map("".join)
ANY_ROWS = st.lists(st.one_of(ROW_CHARS, st.sampled_from(["\\", "`", "``"])), max_size=30).map(
    "".join
)


def cells(found: list[Cell]) -> list[tuple[str, int, int]]:
    return [(c.text, c.start, c.end) for c in found]


@settings(max_examples=3000, deadline=None)
@given(PLAIN_ROWS)
def test_plain_split_is_the_character_loop(line: str) -> None:
    s = line.rstrip("\r\n")
    assert cells(table._split_plain(s)) == cells(table._split_escaped(s))


def reference_is_delimiter_row(line: str) -> bool:
    """`is_delimiter_row` as it was before its cheap pre-check."""
    if "-" not in line:
        return False
    found = split_row(line)
    return all(table._DELIM_CELL_RE.match(c.text) or not c.text for c in found) and any(
        c.text for c in found
    )


@settings(max_examples=3000, deadline=None)
@given(ANY_ROWS)
def test_delimiter_row_pre_check_rejects_only_what_splitting_rejects(line: str) -> None:
    assert table.is_delimiter_row(line) == reference_is_delimiter_row(line)


@pytest.mark.parametrize(
    "line", ["|---|:--|--:|", " | - | :-: |", "---|---", "|---|\\-|", "|`-`|---|", "| - | x |"]
)
def test_delimiter_rows(line: str) -> None:
    assert table.is_delimiter_row(line) == reference_is_delimiter_row(line)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="`<*_~\\"), max_size=40))
def test_text_without_markup_reads_as_the_full_rules_read_it(text: str) -> None:
    # A trailing lone backslash forces the full rules and changes nothing else in the text.
    full = visible_text(text + " \\")
    assert full == (visible_text(text) + " \\").lstrip()


def front_matters() -> dict[str, str]:
    files = [*sorted((REPO / "examples").rglob("*.md")), *corpus_files()]
    files += sorted((REPO / "tests").rglob("*.md"))
    out = {}
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        fm, _ = split_front_matter(text.splitlines())
        if fm is not None:
            out[p.relative_to(REPO.parent).as_posix()] = fm
    return out


FRONT = front_matters()
FRONT.update(
    {
        "dates and lists": "id: pm-1\ndate: 2026-06-15\nowners: [ann, bob]\nsev: 2\nok: yes\n",
        "timestamp": "date: 2026-06-15 10:30:00+02:00\ntitle: 'DB: down'\n",
        "anchors": "a: &x {k: 1}\nb: *x\n",
    }
)


@pytest.mark.parametrize("name", list(FRONT))
def test_both_yaml_loaders_read_front_matter_alike(name: str) -> None:
    text = FRONT[name]
    assert load_front_matter(text) == yaml.safe_load(text)
    if yaml.__with_libyaml__:
        assert yaml.load(text, Loader=yaml.CSafeLoader) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text", ["a: [1, 2\nb: 3\n", "date: 2026-02-30\n", "key: value\n  bad: indent\n", "\t- x"]
)
def test_invalid_front_matter_fails_as_safe_load_fails(text: str) -> None:
    with pytest.raises(Exception) as expected:
        yaml.safe_load(text)
    with pytest.raises(type(expected.value)) as got:
        load_front_matter(text)
    assert str(got.value) == str(expected.value)


def test_the_corpus_has_front_matter_to_compare(corpus_dir: Path) -> None:
    assert any(name.startswith("shared/corpus/") for name in FRONT)
