"""Configuration: the shipped example validates; errors name the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

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
