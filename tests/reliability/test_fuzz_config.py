"""Fuzzing `.tracker.yml`: whatever the file holds, `tracker lint` exits 0, 1 or 2, never 3.

A config that does not validate is exit 2 with a message naming the setting (`sync.max_writes`,
`owners.alice`, ...) or the YAML line, and no traceback. Three generators: every setting of the
model replaced by a value of another type, unknown keys at every level, and arbitrary YAML-ish
text and bytes (tags, anchors, dates that do not exist, deep nesting, invalid UTF-8).
Derandomised, no example database: CI sees the same examples on each run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from tracker.cli import main
from tracker.config import Config, load_config
from tracker.errors import ConfigError

BASE = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for a in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
    return None


def setting_paths(
    model: type[BaseModel] = Config, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Every setting of the model, sections and leaves: ('sync',), ('sync', 'max_writes'), ..."""
    out: list[tuple[str, ...]] = []
    for name, f in model.model_fields.items():
        path = (*prefix, name)
        out.append(path)
        sub = _model_of(f.annotation)
        if sub is not None:
            out += setting_paths(sub, path)
    return out


def _field(path: tuple[str, ...]) -> Any:
    model: Any = Config
    ann: Any = None
    for part in path:
        ann = model.model_fields[part].annotation
        model = _model_of(ann)
    return ann


PATHS = setting_paths()
SECTIONS = [(), *(p for p in PATHS if _model_of(_field(p)) is not None)]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(),
    st.sampled_from(["", "~", "yes", "no", "1e400", "-1", "0", "P0", "UTC", "github", "**/*.md"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    if path:
        node[path[-1]] = value
    return data


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-config")
    (root / "postmortems").mkdir()
    (root / "postmortems" / "pm.md").write_text(
        "# Outage\n\n## Action items\n\n- [alice] Rotate the key. Due: 2026-07-01\n",
        encoding="utf-8",
    )
    return root


@pytest.fixture(autouse=True)
def _no_actions_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(var, raising=False)
    yield


def lint(root: Path, text: str | bytes, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`tracker --config .tracker.yml lint` in-process: (exit code, stderr)."""
    cfg = root / ".tracker.yml"
    cfg.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    capsys.readouterr()
    old = Path.cwd()
    os.chdir(root)
    try:
        with pytest.raises(SystemExit) as exc:
            main(["--config", str(cfg), "lint", "--format", "json"])
    finally:
        os.chdir(old)
    err = capsys.readouterr().err
    code = exc.value.code if isinstance(exc.value.code, int) else -1
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in (0, 1, 2), (code, err)
    return code, err


def dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


@settings(BASE, max_examples=400)
@given(path=st.sampled_from(PATHS), value=values)
def test_a_setting_of_the_wrong_type_is_exit_2_naming_it(
    repo: Path, capsys: pytest.CaptureFixture[str], path: tuple[str, ...], value: Any
) -> None:
    data = put({}, path, value)
    text = yaml.safe_dump(data, allow_unicode=True)
    try:
        Config.model_validate(yaml.safe_load(text))
        valid = True
    except (ValidationError, ValueError):
        valid = False
    code, err = lint(repo, text, capsys)
    if valid:
        assert code in (0, 1), err
        return
    assert code == 2, err
    assert err.startswith("error: ")
    # The message names the setting (or, for a glob or a pattern, quotes the bad entry).
    assert dotted(path) in err.replace("[", ".").replace("]", "").replace(" (key)", ""), err


@settings(BASE, max_examples=150)
@given(
    section=st.sampled_from(SECTIONS),
    key=st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1, max_size=12),
    value=values,
)
def test_an_unknown_key_is_exit_2_naming_it(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    section: tuple[str, ...],
    key: str,
    value: Any,
) -> None:
    model: Any = Config
    for part in section:
        model = _model_of(model.model_fields[part].annotation)
    if key in model.model_fields:
        return
    text = yaml.safe_dump(put({}, (*section, key), value), allow_unicode=True)
    node = yaml.safe_load(text)
    for part in section:
        node = node[part]
    (key,) = node  # as YAML reads it back (a lone NEL is read as a space)
    code, err = lint(repo, text, capsys)
    assert code == 2, err
    assert "unknown field" in err, err
    shown = key if re.fullmatch(r"[\w@/+-]+", key) else repr(key)
    assert f"  {dotted((*section, shown))}: unknown field" in err, err


YAML_BITS = [
    "sync:", "  max_writes: ", "since: ", "2026-02-30", "2026-13-01", "!!int abc", "!!float x",
    "!!timestamp nope", "!!binary ===", "!!python/object/apply:os.system ['true']", "&a [1, 2]",
    "*a", "*missing", "? [a, b]\n: 1", "{", "}", "[", "]", "- ", ": ", "'", '"', "\t", "%YAML 1.1",
    "---", "...", "owners:", "  alice: ", "lint:", "  severity: {PM001: off}", "paths: ", "\\x00",
    "paths: ['[z-a]']", "local: {path: /etc/x}", "timezone: ", "1e400", "0x1F", "0o17", "null",
    "~", "yes", "<<: *a", "!!set {a}", "!!omap [a]", "\ufeff", "é", "\u2028", "#",
]  # fmt: skip
yaml_texts = st.lists(st.one_of(st.sampled_from(YAML_BITS), st.text(max_size=10)), max_size=12).map(
    lambda parts: "".join(p if p.endswith((" ", ":")) else p + "\n" for p in parts)
)


@settings(BASE, max_examples=400)
@given(yaml_texts)
def test_load_config_only_ever_raises_config_error(repo: Path, text: str) -> None:
    cfg = repo / "any.yml"
    cfg.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_config(cfg)
    except ConfigError as exc:
        assert str(exc).startswith(str(cfg)), exc
        assert "\n" not in str(exc) or "invalid configuration" in str(exc)


@settings(BASE, max_examples=100)
@given(yaml_texts)
def test_lint_with_any_config_text_exits_0_1_or_2(
    repo: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    lint(repo, text, capsys)


@settings(BASE, max_examples=100)
@given(st.binary(max_size=200))
def test_lint_with_any_config_bytes_exits_0_1_or_2(
    repo: Path, capsys: pytest.CaptureFixture[str], data: bytes
) -> None:
    lint(repo, data, capsys)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("sync:\n  since: 2026-02-30\n", ":2:10: not valid YAML: sync.since: cannot read"),
        ("sync: {max_writes: !!int lots}\n", "not valid YAML: sync.max_writes: cannot read"),
        ("report:\n  trend_weeks: !!float x\n", "report.trend_weeks: cannot read"),
        ("owners: {alice: [a, b]}\n", "owners.alice: Input should be a valid string"),
        ("paths: ['postmortems/[z-a].md']\n", "paths: 'postmortems/[z-a].md' is not a valid glob"),
        ("exclude: ['../secrets/*.md']\n", "exclude: '../secrets/*.md' reaches outside"),
        ("local: {path: ../../elsewhere.db}\n", "local.path: '../../elsewhere.db' reaches outside"),
        ("local: {path: /var/tmp/x.db}\n", "local.path: '/var/tmp/x.db' reaches outside"),
        ("paths: " + "[" * 5000 + "]" * 5000 + "\n", "not valid YAML: nested too deeply"),
    ],
)
def test_known_bad_configs(
    repo: Path, capsys: pytest.CaptureFixture[str], text: str, names: str
) -> None:
    code, err = lint(repo, text, capsys)
    assert code == 2 and names in err, err
    assert re.match(r"error: \S*\.tracker\.yml", err), err
