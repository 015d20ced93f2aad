"""From a loaded config to the objects a command needs: backend, sync policy, today's date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tracker.backends import Backend, LocalBackend
from tracker.config import LoadedConfig, env, in_github_actions
from tracker.errors import ConfigError
from tracker.sync import SyncPolicy

BACKEND_NAMES = ("local", "github", "jira")


@dataclass(frozen=True)
class BuiltBackend:
    backend: Backend
    name: str
    notice: str | None = None  # one line for the user, e.g. "no backend configured: ..."


def today(loaded: LoadedConfig) -> dt.date:
    """The current date in the configured time zone (the CLI's only clock read)."""
    return dt.datetime.now(ZoneInfo(loaded.config.timezone)).date()


def sync_policy(loaded: LoadedConfig) -> SyncPolicy:
    cfg = loaded.config
    labels: tuple[str, ...] = ("postmortem",)
    templates: tuple[str, ...] = ()
    if cfg.backend == "github" and cfg.github is not None:
        labels, templates = tuple(cfg.github.labels), tuple(cfg.github.label_templates)
    elif cfg.backend == "jira" and cfg.jira is not None:
        labels = tuple(cfg.jira.labels)
    return SyncPolicy(
        close_removed=cfg.sync.close_removed,
        max_closes=cfg.sync.max_closes,
        done_items=cfg.sync.done_items,
        max_writes=cfg.sync.max_writes,
        default_due=dict(cfg.sync.default_due),
        since=cfg.sync.since,
        owners=dict(cfg.owners),
        labels=labels or ("postmortem",),
        label_templates=templates,
    )


def build_backend(loaded: LoadedConfig, override: str | None = None) -> BuiltBackend:
    """The backend `--backend` or the config names; the local file when neither does.

    Raises:
        ConfigError: no backend configured under GitHub Actions, or its settings are missing.
    """
    cfg = loaded.config
    name = override or cfg.backend
    notice = None
    if name is None:
        if in_github_actions():
            raise ConfigError(
                ".tracker.yml: no backend configured; under GitHub Actions a local database "
                "would be thrown away with the runner: set `backend: github` (or jira) in "
                ".tracker.yml, or pass --backend"
            )
        name = "local"
        notice = (
            f"no backend configured: tickets go to the local file {cfg.local.path} "
            "(set `backend: github` or `backend: jira` in .tracker.yml to sync real tickets)"
        )
    if name == "local":
        path = loaded.root / cfg.local.path
        return BuiltBackend(LocalBackend(path), "local", notice)
    if name == "github":
        return BuiltBackend(_github(loaded), "github")
    if name == "jira":
        return BuiltBackend(_jira(loaded), "jira")
    raise ConfigError(f"unknown backend '{name}': use one of {', '.join(BACKEND_NAMES)}")


def _github(loaded: LoadedConfig) -> Backend:
    from tracker.backends import github  # noqa: PLC0415 - PyGithub loads only when used
    from tracker.config import GitHubConfig  # noqa: PLC0415

    cfg = loaded.config
    gh = cfg.github or GitHubConfig()
    return github.from_config(
        gh,
        dict(cfg.owners),
        token=env(gh.token_env),
        env_repo=env("GITHUB_REPOSITORY"),
        env_api_url=env("GITHUB_API_URL"),
    )


def _jira(loaded: LoadedConfig) -> Backend:
    from tracker.backends import jira  # noqa: PLC0415 - the jira library loads only when used
    from tracker.config import JiraConfig  # noqa: PLC0415

    cfg = loaded.config
    jc = cfg.jira or JiraConfig()
    return jira.from_config(
        jc,
        dict(cfg.owners),
        email=env(jc.email_env),
        token=env(jc.token_env),
        pat=env(jc.pat_env),
    )
