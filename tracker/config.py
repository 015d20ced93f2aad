"""`.tracker.yml`: pydantic models, loading with errors that name the file, field and fix."""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tracker.errors import ConfigError
from tracker.parse import ParseOptions
from tracker.parse.sections import DEFAULT_EXCLUDE_PATTERNS, DEFAULT_SECTION_PATTERNS

DEFAULT_CONFIG_NAME = ".tracker.yml"
DEFAULT_PATHS = ("postmortems/**/*.md", "docs/postmortems/**/*.md")
DEFAULT_EXCLUDE = ("**/TEMPLATE.md", "**/template.md", "**/_template*.md", "**/*-template.md")
DEFAULT_PLACEHOLDER_OWNERS = (
    "tbd",
    "tba",
    "tbc",
    "todo",
    "team",
    "the team",
    "everyone",
    "everybody",
    "all",
    "ops",
    "sre",
    "devops",
    "eng",
    "engineering",
    "someone",
    "somebody",
    "anyone",
    "nobody",
    "n/a",
    "na",
    "none",
    "unknown",
    "unassigned",
    "?",
    "-",
    "oncall",
    "on-call",
    "us",
    "we",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SectionsConfig(_Model):
    """Which headings and labels hold action items."""

    patterns: list[str] = Field(
        default_factory=list,
        description="Extra regular expressions for action-item section names (added to the "
        "built-in list: Action items, Follow-ups, Corrective actions, Remediation, ...).",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Extra regular expressions for sections that never hold action items "
        "(added to Timeline, Lessons learned, What went well, ...).",
    )
    replace_defaults: bool = Field(
        False, description="Use only `patterns` and `exclude`, not the built-in lists."
    )

    @field_validator("patterns", "exclude")
    @classmethod
    def _valid_regex(cls, value: list[str]) -> list[str]:
        for p in value:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"'{p}' is not a valid regular expression: {exc}") from exc
        return value


Severity = Literal["error", "warning", "info", "off"]


class LintConfig(_Model):
    """Lint rules: limits and per-rule severities."""

    max_items: int = Field(10, ge=1, description="More items than this is flagged (PM007).")
    placeholder_owners: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PLACEHOLDER_OWNERS),
        description="Owner names that are placeholders or teams, not a person (PM002).",
    )
    team_suffixes: list[str] = Field(
        default_factory=lambda: ["team", "teams", "squad", "group", "crew", "guild"],
        description="An owner ending with one of these words is a team (PM002).",
    )
    severity: dict[str, Severity] = Field(
        default_factory=dict,
        description="Override a rule's severity by code, e.g. {PM004: warning, PM008: off}.",
    )
    skip_done: bool = Field(
        True, description="Do not ask done or dropped items for an owner or a due date."
    )

    @field_validator("severity")
    @classmethod
    def _known_codes(cls, value: dict[str, str]) -> dict[str, str]:
        from tracker.lint import RULES

        for code in value:
            if code not in RULES:
                hint = difflib.get_close_matches(code, list(RULES), n=1)
                extra = f" (did you mean {hint[0]}?)" if hint else ""
                raise ValueError(f"unknown rule code '{code}'{extra}; see `tracker lint --help`")
        return value


class SyncConfig(_Model):
    """How `tracker sync` writes tickets and links."""

    write_back: Literal["file", "pull-request", "commit", "none"] = Field(
        "file",
        description="Where ticket links go: into the files (CLI), a pull request or a commit "
        "(GitHub Action), or nowhere.",
    )
    close_removed: bool = Field(
        False, description="Close tickets whose item was removed from its postmortem."
    )
    max_closes: int = Field(10, ge=0, description="At most this many such closes per run.")
    done_items: Literal["create-closed", "skip"] = Field(
        "create-closed",
        description="Items already done when first seen: create them closed (keeps completion "
        "history) or skip them.",
    )
    max_writes: int = Field(
        300, ge=1, description="Write budget per run for every backend; the rest is deferred."
    )
    default_due: dict[str, int] = Field(
        default_factory=dict,
        description="Days after the postmortem date by priority when an item has no due date, "
        "e.g. {P0: 14, P1: 28, default: 56}. Off when empty.",
    )
    since: dt.date | None = Field(None, description="Skip postmortems dated before this day.")


class LocalConfig(_Model):
    """The embedded SQLite backend."""

    path: str = Field(".tracker/local.db", description="SQLite file, relative to the config.")


class RetryConfig(_Model):
    max_wait_s: float = Field(
        120.0, ge=0, description="Longest single wait for a rate limit; past it work is deferred."
    )


class GitHubConfig(_Model):
    """GitHub Issues backend, write-back pull requests and report posting."""

    repo: str | None = Field(None, description="owner/name; default $GITHUB_REPOSITORY.")
    api_url: str | None = Field(
        None, description="Default $GITHUB_API_URL, else https://api.github.com."
    )
    token_env: str = Field("GITHUB_TOKEN", description="Environment variable with the token.")
    labels: list[str] = Field(default_factory=lambda: ["postmortem"])
    label_templates: list[str] = Field(
        default_factory=list, description="e.g. ['sev:{severity}', 'priority:{priority}']"
    )
    due_milestones: bool = False
    write_spacing_s: float = Field(1.0, ge=0)
    http_timeout_s: float = Field(30.0, gt=0)
    retry: RetryConfig = Field(default_factory=RetryConfig)


class JiraConfig(_Model):
    """Jira Cloud or Data Center backend."""

    url: str | None = None
    deployment: Literal["cloud", "datacenter"] | None = None
    email_env: str = "JIRA_EMAIL"
    token_env: str = "JIRA_API_TOKEN"
    pat_env: str = "JIRA_PAT"
    project: str | None = None
    issue_type: str = "Task"
    labels: list[str] = Field(default_factory=lambda: ["postmortem"])
    priority_map: dict[str, str] = Field(default_factory=dict)
    transitions: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, Any] = Field(default_factory=dict)
    wont_do_resolutions: list[str] = Field(
        default_factory=lambda: ["Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce"]
    )
    http_timeout_s: float = Field(30.0, gt=0)
    retry: RetryConfig = Field(default_factory=RetryConfig)


class ReportConfig(_Model):
    """The weekly report."""

    stale_after_days: int = Field(14, ge=1)
    due_soon_days: int = Field(7, ge=0)
    trend_weeks: int = Field(12, ge=1, le=104)
    close_previous: bool = False
    nudge: bool = Field(False, description="Mention the owners of overdue items.")


class Config(_Model):
    """The whole `.tracker.yml`."""

    backend: Literal["local", "github", "jira"] | None = Field(
        None, description="Where tickets live. Unset: the local SQLite file, with a notice."
    )
    timezone: str = Field("UTC", description="IANA zone for dates and ISO weeks.")
    paths: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PATHS),
        description="Globs (relative to the config file) that find postmortems.",
    )
    exclude: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDE), description="Globs never parsed."
    )
    owners: dict[str, str] = Field(
        default_factory=dict,
        description="Owner as written in postmortems -> GitHub login, Jira accountId or username.",
    )
    sections: SectionsConfig = Field(default_factory=SectionsConfig)
    lint: LintConfig = Field(default_factory=LintConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    local: LocalConfig = Field(default_factory=LocalConfig)
    github: GitHubConfig | None = None
    jira: JiraConfig | None = None
    report: ReportConfig = Field(default_factory=ReportConfig)

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone '{value}': use an IANA name such as Europe/Berlin or UTC"
            ) from exc
        return value

    @field_validator("owners", mode="before")
    @classmethod
    def _owners_strings(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value

    def parse_options(self) -> ParseOptions:
        s = self.sections
        patterns = (
            tuple(s.patterns)
            if s.replace_defaults
            else (DEFAULT_SECTION_PATTERNS + tuple(s.patterns))
        )
        exclude = (
            tuple(s.exclude)
            if s.replace_defaults
            else (DEFAULT_EXCLUDE_PATTERNS + tuple(s.exclude))
        )
        known = frozenset(k.casefold().lstrip("@") for k in self.owners)
        return ParseOptions(section_patterns=patterns, exclude_patterns=exclude, known_owners=known)


class LoadedConfig:
    """A validated config and where it came from (paths are relative to its folder)."""

    def __init__(self, config: Config, path: Path | None, root: Path) -> None:
        self.config = config
        self.path = path
        self.root = root


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _known_fields(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        current = next(
            (a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
    return list(getattr(current, "model_fields", {}) or [])


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = _field_path(loc)
        if err["type"] == "extra_forbidden":
            known = _known_fields(Config, loc)
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            fix = f"did you mean '{hint[0]}'?" if hint else f"known fields: {', '.join(known)}"
            lines.append(f"  {where}: unknown field; {fix}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
            lines.append(f"  {where}: {msg}{shown}")
    return "\n".join(lines)


def config_from_mapping(data: Any, source: str = DEFAULT_CONFIG_NAME) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the file must hold a mapping of settings (key: value), "
            f"not a {type(data).__name__}"
        )
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def load_config(path: str | Path | None = None, *, cwd: Path | None = None) -> LoadedConfig:
    """Load `path`, or `.tracker.yml` in `cwd` when it exists, else the defaults.

    Raises:
        ConfigError: the file is unreadable, not YAML, or does not validate.
    """
    base = cwd or Path.cwd()
    explicit = path is not None
    p = Path(path) if path is not None else base / DEFAULT_CONFIG_NAME
    if not p.is_absolute():
        p = base / p
    if not p.exists():
        if explicit:
            raise ConfigError(
                f"{path}: config file not found; create one with `tracker init` "
                "or drop --config to use the defaults"
            )
        return LoadedConfig(Config(), None, base)
    shown = str(path) if explicit else DEFAULT_CONFIG_NAME
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read the config file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{shown}{where}: not valid YAML: {problem}") from None
    return LoadedConfig(config_from_mapping(data, shown), p, p.parent)


def env(name: str) -> str | None:
    """Read one environment variable (the only place, with gha.py, that touches os.environ)."""
    return os.environ.get(name)


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"
