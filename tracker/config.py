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
from tracker.notify.settings import DuePolicyConfig, NotifyConfig, RemindConfig
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


def _split_commas(value: Any) -> Any:
    """`labels: "a, b"` (a string where a list belongs) means the labels a and b."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SectionsConfig(_Model):
    """Which headings and labels hold action items."""

    patterns: list[str] = Field(
        default_factory=list,
        description="Extra regular expressions for action-item section names (added to the "
        "built-in list: Action items, Follow-ups, Corrective actions, Remediation, ...).",
        examples=[["^Remediation tasks$", "^Hardening$"]],
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Extra regular expressions for sections that never hold action items "
        "(added to Timeline, Lessons learned, What went well, ...).",
        examples=[["^Appendix"]],
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
        description="Override a rule's severity by code; `off` turns a rule off.",
        examples=[{"PM004": "warning", "PM008": "off"}],
    )
    skip_done: bool = Field(
        True, description="Do not ask done or dropped items for an owner or a due date."
    )

    @field_validator("severity", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `off` (and `no`, `false`) as False: it means the rule is off.
        if isinstance(value, dict):
            return {k: "off" if v is False else v for k, v in value.items()}
        return value

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
        description="Where ticket links go: into the files, a pull request or a commit on the "
        "branch in the GitHub repository ($GITHUB_REPOSITORY, else github.repo; any backend; "
        "the files of the checkout stay as they are), or nowhere. `tracker sync --write-back` "
        "overrides it.",
    )
    close_removed: bool = Field(
        False,
        description="Close tickets whose item was removed from its postmortem, or whose "
        "postmortem file was removed from git (with a comment naming the commit); when off, "
        "`status` and the report list the latter as orphaned.",
    )
    max_closes: int = Field(10, ge=0, description="At most this many such closes per run.")
    adopt: bool = Field(
        False,
        description="An item whose Ticket cell or `tracked in:` label names an existing "
        "ticket the tool did not create takes it over: the marker is added to it. When off, "
        "such an item is a conflict. A ticket number in the item's sentence never binds.",
    )
    done_items: Literal["create-closed", "skip"] = Field(
        "create-closed",
        description="Items already done when first seen: create them closed (keeps completion "
        "history) or skip them.",
    )
    max_writes: int | None = Field(
        None,
        ge=1,
        description="Write budget per run; the rest is deferred to the next run. Unset: the "
        "backend's own (local: none; github: 300, within GitHub's content limits of about "
        "80 writes a minute and 500 an hour; jira: 1000).",
        examples=[300],
    )
    default_due: dict[str, int] = Field(
        default_factory=dict,
        description="Days after the postmortem date by priority when an item has no due date, "
        "and `default` for the rest. Off when empty. Lint then accepts an item without a due "
        "date (PM004).",
        examples=[{"P0": 14, "P1": 28, "default": 56}],
    )
    since: dt.date | None = Field(
        None, description="Skip postmortems dated before this day.", examples=["2026-01-01"]
    )
    due_policy: DuePolicyConfig | None = Field(
        None,
        description="Due dates by severity and priority (calendar or business days) for items "
        "without one; counted from the postmortem date, applied before `default_due`.",
    )


class LocalConfig(_Model):
    """The embedded SQLite backend."""

    path: str = Field(".tracker/local.db", description="SQLite file, relative to the config.")

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        from tracker.discover import glob_problem

        problem = glob_problem(value.replace("[", "").replace("]", ""))  # a path, not a glob
        if problem or not value.strip():
            raise ValueError(problem or "must name a file")
        return value


class RetryConfig(_Model):
    """Waiting for rate limits."""

    max_wait_s: float = Field(
        120.0, ge=0, description="Longest single wait for a rate limit; past it work is deferred."
    )


class GitHubConfig(_Model):
    """GitHub Issues backend, write-back pull requests and report posting."""

    repo: str | None = Field(
        None,
        description="owner/name of the repository with the issues; default $GITHUB_REPOSITORY.",
        examples=["acme/infra"],
    )
    api_url: str | None = Field(
        None,
        description="REST API root, for GitHub Enterprise Server. Default $GITHUB_API_URL, "
        "else https://api.github.com.",
        examples=["https://github.acme.com/api/v3"],
    )
    token_env: str = Field("GITHUB_TOKEN", description="Environment variable with the token.")
    labels: list[str] = Field(
        default_factory=lambda: ["postmortem"],
        description="Labels every ticket gets (created when missing). A string is split at commas.",
        examples=[["postmortem", "reliability"]],
    )
    label_templates: list[str] = Field(
        default_factory=list,
        description="Labels built from the item and its postmortem: {priority}, {severity}, "
        "{type}; a template whose field is empty adds no label.",
        examples=[["sev:{severity}", "priority:{priority}"]],
    )
    due_milestones: bool = Field(
        False, description="Also put each issue in a milestone named after its due date."
    )
    write_spacing_s: float = Field(
        1.0,
        ge=0,
        description="Seconds between two writes (GitHub asks for about one a second to stay "
        "under its secondary rate limits).",
    )
    http_timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for one answer.")
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @field_validator("labels", "label_templates", mode="before")
    @classmethod
    def _split_labels(cls, value: Any) -> Any:
        return _split_commas(value)


class JiraConfig(_Model):
    """Jira Cloud or Data Center backend."""

    url: str | None = Field(
        None,
        description="The site, e.g. https://acme.atlassian.net; with a scoped API token (Cloud) "
        "the gateway https://api.atlassian.com/ex/jira/{cloudId} (then set `site_url`). "
        "Overridden by $TRACKER_JIRA_URL (the action's jira-url input).",
        examples=["https://acme.atlassian.net"],
    )
    site_url: str | None = Field(
        None,
        description="The site people open, for links in tickets and reports, when `url` is "
        "the API gateway. Default: `url`.",
        examples=["https://acme.atlassian.net"],
    )
    deployment: Literal["cloud", "datacenter"] | None = Field(
        None,
        description="Jira Cloud (email + API token) or Data Center (personal access token). "
        "Unset: asked once from serverInfo.",
        examples=["cloud"],
    )
    email_env: str = Field("JIRA_EMAIL", description="Cloud: variable with the account's email.")
    token_env: str = Field(
        "JIRA_API_TOKEN", description="Cloud: variable with the account's API token."
    )
    pat_env: str = Field(
        "JIRA_PAT", description="Data Center: variable with a personal access token."
    )
    project: str | None = Field(
        None, description="Key of the project tickets go to.", examples=["OPS"]
    )
    issue_type: str = Field("Task", description="Issue type of the tickets.")
    labels: list[str] = Field(
        default_factory=lambda: ["postmortem"],
        description="Labels every ticket gets. A string is split at commas.",
        examples=[["postmortem", "reliability"]],
    )
    priority_map: dict[str, str] = Field(
        default_factory=dict,
        description="Priority as written in postmortems -> Jira priority name. Default: "
        "P0 Highest, P1 High, P2 Medium, P3 Low.",
        examples=[{"P0": "Highest", "P1": "High", "P2": "Medium", "P3": "Low"}],
    )
    transitions: dict[str, str] = Field(
        default_factory=dict,
        description="Transition names for done, dropped and reopen, where the workflow's "
        "names differ from the defaults.",
        examples=[{"done": "Done", "dropped": "Won't Do", "reopen": "To Do"}],
    )
    fields: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra fields set on every create (field id -> value), e.g. a component.",
        examples=[{"components": [{"name": "Reliability"}]}],
    )
    wont_do_resolutions: list[str] = Field(
        default_factory=lambda: ["Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce"],
        description="Resolutions that count as dropped, not done.",
    )
    http_timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for one answer.")
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @field_validator("labels", mode="before")
    @classmethod
    def _split_labels(cls, value: Any) -> Any:
        return _split_commas(value)


class ReportConfig(_Model):
    """The weekly report."""

    stale_after_days: int = Field(
        14, ge=1, description="An open item not updated for this many days is stale."
    )
    due_soon_days: int = Field(
        7, ge=0, description="An open item due within this many days is due soon."
    )
    trend_weeks: int = Field(12, ge=1, le=104, description="Weeks shown in the trend chart.")
    close_previous: bool = Field(
        False, description="When posting a week's report issue, close those of earlier weeks."
    )
    nudge: bool = Field(False, description="Mention the owners of overdue items.")
    teams: dict[str, str] = Field(
        default_factory=dict,
        description="Owner -> team, for the per-team table (an owner that is a team, such as "
        "'SRE team', counts as its own team).",
        examples=[{"amara": "Payments", "sven": "Platform"}],
    )
    git_history: bool = Field(
        True,
        description="Read opened, closed and edited days of items, and publish days of "
        "postmortems, from git (one `git log` per run); off: ticket and postmortem dates only.",
    )
    history_ref: str = Field(
        "HEAD", description="The branch or commit whose first-parent history counts."
    )
    slo: float | None = Field(
        None,
        gt=0,
        lt=100,
        description="SLO target in percent (99.9) for postmortems whose front matter names "
        "none; the error budget burned is measured against it.",
        examples=[99.9],
    )
    slo_window_days: float = Field(30, gt=0, description="The SLO's window, in days.")
    repeat_window_days: int = Field(
        90,
        ge=1,
        description="Postmortems sharing a service or tag within this many days are repeats.",
    )
    incidents_file: str | None = Field(
        None,
        description="YAML list of incidents ({id, severity, date}; relative to the config "
        "file): the postmortem coverage counts those without a postmortem.",
        examples=["incidents.yml"],
    )
    coverage_min_severity: str = Field(
        "SEV2", description="Incidents this severe or worse need a postmortem (coverage)."
    )


class Config(_Model):
    """The whole `.tracker.yml`."""

    backend: Literal["local", "github", "jira"] | None = Field(
        None,
        description="Where tickets live. Unset: the local SQLite file, with a notice (an "
        "error under GitHub Actions unless the action's `backend` input says).",
        examples=["github"],
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
        examples=[{"@dana": "dana-acme", "Ravi": "5b10ac8d82e05b22cc7d4ef5"}],
    )
    sections: SectionsConfig = Field(default_factory=SectionsConfig)
    lint: LintConfig = Field(default_factory=LintConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    local: LocalConfig = Field(default_factory=LocalConfig)
    github: GitHubConfig | None = None
    jira: JiraConfig | None = None
    report: ReportConfig = Field(default_factory=ReportConfig)
    remind: RemindConfig | None = Field(
        None,
        description="Reminder comments (`tracker remind`); unset: off. `remind: {}` turns "
        "them on with the defaults.",
    )
    notify: NotifyConfig = Field(default_factory=NotifyConfig)

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

    @field_validator("paths", "exclude")
    @classmethod
    def _inside(cls, value: list[str]) -> list[str]:
        from tracker.discover import glob_problem

        for p in value:
            problem = glob_problem(p)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("owners", mode="before")
    @classmethod
    def _owners_strings(cls, value: Any) -> Any:
        # YAML reads `alice: 12345` (a numeric Jira id) as an int: both sides are names. A list
        # or a mapping is left alone, so validation names it.
        if isinstance(value, dict):
            scalar = (str, int, float)
            return {
                str(k) if isinstance(k, scalar) else k: str(v) if isinstance(v, scalar) else v
                for k, v in value.items()
            }
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
        if part == "[key]":  # pydantic's name for a mapping's key
            out += " (key)"
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if re.fullmatch(r"[\w@/+-]+", part) else repr(part)  # '' or '\x0c'
            out += f".{name}" if out else name
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
            if err["type"] == "list_type" and isinstance(got, str):
                msg = f"a list is needed, not a string: write [{got}] or one `- item` a line"
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
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{shown}{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{shown}: not valid YAML: nested too deeply") from None
    return LoadedConfig(config_from_mapping(data, shown), p, p.parent)


class _Loader(yaml.SafeLoader):
    """yaml.SafeLoader whose value errors (a date 2026-02-30, `!!int abc`) are YAML errors that
    name the setting and its line, instead of escaping as ValueError."""

    where: dict[int, str]

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError, AttributeError, KeyError, IndexError) as exc:
            name = self.where.get(id(node))
            what = f"{name}: " if name else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"{what}cannot read {node.value!r}: {exc}", node.start_mark
            ) from None


def _setting_names(root: yaml.Node) -> dict[int, str]:
    """id(node) -> dotted setting name (e.g. sync.since), for the nodes of a composed tree."""
    out: dict[int, str] = {}
    todo: list[tuple[yaml.Node, str]] = [(root, "")]
    while todo:
        node, name = todo.pop()
        if id(node) in out:
            continue  # an alias: named where it was defined
        out[id(node)] = name
        if isinstance(node, yaml.MappingNode):
            _no_duplicate_keys(node, name)
            for k, v in node.value:
                key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                todo.append((v, f"{name}.{key}" if name else key))
        elif isinstance(node, yaml.SequenceNode):
            todo += [(v, f"{name}[{i}]") for i, v in enumerate(node.value)]
    return out


def _no_duplicate_keys(node: yaml.MappingNode, name: str) -> None:
    """A key given twice: YAML would keep the last silently; name both lines instead."""
    seen: dict[str, yaml.Node] = {}
    for k, _ in node.value:
        if not isinstance(k, yaml.ScalarNode) or k.tag == "tag:yaml.org,2002:merge":
            continue
        key = str(k.value)
        first = seen.setdefault(key, k)
        if first is not k:
            full = f"{name}.{key}" if name else key
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"{full} is set twice, on lines {first.start_mark.line + 1} and "
                f"{k.start_mark.line + 1}: keep one",
                k.start_mark,
            )


def load_yaml(text: str) -> Any:
    """The YAML document in `text`, loaded safely (no Python tags).

    Raises:
        yaml.YAMLError: not YAML, or a value that cannot be built (naming its setting).
        RecursionError: nested too deeply.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        loader.where = _setting_names(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def env(name: str) -> str | None:
    """Read one environment variable (the only place, with gha.py, that touches os.environ)."""
    return os.environ.get(name)


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"
