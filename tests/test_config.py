"""Configuration: the shipped example validates; errors name the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tracker.config import Config, config_from_mapping, load_config
from tracker.errors import ConfigError


def test_shipped_example_validates() -> None:
    loaded = load_config(REPO / "config.example.yml")
    cfg = loaded.config
    assert cfg.backend == "local"
    assert cfg.sync.default_due == {"P0": 14, "P1": 28, "default": 56}
    assert "homework" in cfg.parse_options().section_patterns


def test_defaults_without_a_file(tmp_path: Path) -> None:
    loaded = load_config(cwd=tmp_path)
    assert loaded.path is None
    assert loaded.config == Config()
    assert loaded.config.paths == ["postmortems/**/*.md", "docs/postmortems/**/*.md"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lables": []}, "lables: unknown field; known fields:"),
        ({"github": {"lables": ["x"]}}, "github.lables: unknown field; did you mean 'labels'?"),
        ({"backend": "gitlab"}, "backend: Input should be 'local', 'github' or 'jira'"),
        ({"timezone": "Mars/Base"}, "timezone: unknown time zone 'Mars/Base'"),
        ({"lint": {"severity": {"PM999": "off"}}}, "unknown rule code 'PM999'"),
        ({"lint": {"severity": {"PM001": "loud"}}}, "lint.severity.PM001: Input should be"),
        ({"sections": {"patterns": ["(unclosed"]}}, "'(unclosed' is not a valid regular"),
        ({"sync": {"since": "last year"}}, "sync.since: Input should be a valid date"),
        ([1, 2], "must hold a mapping of settings"),
    ],
)
def test_errors_name_field_and_fix(data: object, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        config_from_mapping(data, ".tracker.yml")
    assert message in str(exc.value)
    assert str(exc.value).startswith(".tracker.yml")


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    (tmp_path / ".tracker.yml").write_text("", encoding="utf-8")
    assert load_config(cwd=tmp_path).config == Config()


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    (tmp_path / ".tracker.yml").write_text("owners: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(cwd=tmp_path)


def _load(tmp_path: Path, text: str) -> object:
    (tmp_path / ".tracker.yml").write_text(text, encoding="utf-8")
    return load_config(cwd=tmp_path).config


def test_yaml_off_turns_a_rule_off(tmp_path: Path) -> None:
    cfg = _load(tmp_path, "lint:\n  severity: {PM008: off, PM004: warning}\n")
    assert cfg.lint.severity == {"PM008": "off", "PM004": "warning"}  # type: ignore[attr-defined]


def test_a_key_given_twice_names_both_lines(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, "sync:\n  max_closes: 3\n  # again\n  max_closes: 4\n")
    assert str(exc.value) == (
        ".tracker.yml:4:3: not valid YAML: sync.max_closes is set twice, on lines 2 and 4: keep one"
    )
    with pytest.raises(ConfigError, match="backend is set twice, on lines 1 and 2"):
        _load(tmp_path, "backend: local\nbackend: github\n")


def test_labels_as_one_string_are_split_other_lists_say_how(tmp_path: Path) -> None:
    cfg = _load(tmp_path, 'github:\n  labels: "postmortem, sre"\njira:\n  labels: ops\n')
    assert cfg.github.labels == ["postmortem", "sre"]  # type: ignore[attr-defined]
    assert cfg.jira.labels == ["ops"]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, 'paths: "postmortems/*.md"\n')
    assert "paths: a list is needed, not a string: write [postmortems/*.md]" in str(exc.value)


def test_every_documented_key_has_a_meaning_and_an_example() -> None:
    from tracker import config_docs

    rows = [
        [c.strip() for c in line.strip().strip("|").split(" | ")]
        for line in config_docs.configuration_markdown().splitlines()
        if line.startswith("| `")
    ]
    assert len(rows) > 50
    blank = [r[0] for r in rows if r[1] != "section" and not (r[3] and r[4])]
    assert blank == [], f"keys without an example or a meaning: {blank}"
    # Each example is YAML that sets that key to a value the key accepts.
    for r in rows:
        if r[1] != "section":
            parsed = yaml.safe_load(r[3].strip("`"))
            assert [f"`{k}`" for k in parsed] == [r[0]]
