"""From a loaded config to the objects a command needs: backend, sync policy, today's date."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tracker.backends import Backend, LocalBackend
from tracker.config import LoadedConfig, env, in_github_actions
from tracker.errors import ConfigError
from tracker.notify.due_policy import DuePolicy
from tracker.sync import SyncPolicy

if TYPE_CHECKING:
    from tracker.forge import Forge

BACKEND_NAMES = ("local", "github", "jira")
JIRA_URL_ENV = "TRACKER_JIRA_URL"  # overrides jira.url when set and not empty

# Writes per run when sync.max_writes is unset. Local writes cost nothing: no budget. GitHub
# allows about 80 content-creating requests a minute and 500 an hour (secondary limits), so
# 300 a run leaves room for the other workflows of the repository. Jira Cloud has no published
# per-hour write quota for API tokens (burst limits answer 429 with Retry-After, which the
# backend honours), and creates go 50 to a request: 1000 a run.
NO_BUDGET = sys.maxsize
WRITE_BUDGETS: dict[str, int] = {"local": NO_BUDGET, "github": 300, "jira": 1000}


@dataclass(frozen=True)
class BuiltBackend:
    backend: Backend
    name: str
    notice: str | None = None  # one line for the user, e.g. "no backend configured: ..."


def today(loaded: LoadedConfig) -> dt.date:
    """The current date in the configured time zone (the CLI's only clock read)."""
    return dt.datetime.now(ZoneInfo(loaded.config.timezone)).date()


def now(loaded: LoadedConfig) -> dt.datetime:
    """The current time in the configured time zone (reminders' quiet hours and claims)."""
    return dt.datetime.now(ZoneInfo(loaded.config.timezone))


def write_budget(loaded: LoadedConfig, backend: str) -> int:
    """sync.max_writes, else the backend's own budget (none for the local file)."""
    return loaded.config.sync.max_writes or WRITE_BUDGETS.get(backend, 300)


def sync_policy(loaded: LoadedConfig, backend: str | None = None) -> SyncPolicy:
    """The sync settings for `backend` (the one in use; default: the config's)."""
    cfg = loaded.config
    name = backend or cfg.backend or "local"
    labels: tuple[str, ...] = ("postmortem",)
    templates: tuple[str, ...] = ()
    if name == "github" and cfg.github is not None:
        labels, templates = tuple(cfg.github.labels), tuple(cfg.github.label_templates)
    elif name == "jira" and cfg.jira is not None:
        labels = tuple(cfg.jira.labels)
    return SyncPolicy(
        close_removed=cfg.sync.close_removed,
        max_closes=cfg.sync.max_closes,
        done_items=cfg.sync.done_items,
        max_writes=write_budget(loaded, name),
        default_due=dict(cfg.sync.default_due),
        since=cfg.sync.since,
        owners=dict(cfg.owners),
        labels=labels or ("postmortem",),
        label_templates=templates,
        due_policy=_due_policy(loaded),
        adopt=cfg.sync.adopt,
        owners_need_map=cfg.backend == "jira",
    )


def _due_policy(loaded: LoadedConfig) -> DuePolicy | None:
    dp = loaded.config.sync.due_policy
    if dp is None:
        return None
    return DuePolicy(
        severity=dict(dp.severity),
        priority=dict(dp.priority),
        default=dp.default,
        days=dp.days,
        holidays=frozenset(dp.holidays),
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
        if path.exists():
            notice = None  # said on the first run; daily runs stay quiet
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
        source_commit=source_commit(loaded),
        source_prefix=repo_prefix(loaded.root),
    )


def _jira(loaded: LoadedConfig) -> Backend:
    from tracker.backends import jira  # noqa: PLC0415 - the jira library loads only when used
    from tracker.config import JiraConfig  # noqa: PLC0415

    cfg = loaded.config
    jc = cfg.jira or JiraConfig()
    url = env(JIRA_URL_ENV)
    if url:  # the action's jira-url input: one workflow, several Jira sites
        jc = jc.model_copy(update={"url": url})
    return jira.from_config(
        jc,
        dict(cfg.owners),
        email=env(jc.email_env),
        token=env(jc.token_env),
        pat=env(jc.pat_env),
        source_url=postmortem_link_base(loaded),
    )


def source_commit(loaded: LoadedConfig) -> str | None:
    """The commit the postmortems were read at: $GITHUB_SHA under Actions, else the checkout's
    HEAD; links built on it are permalinks."""
    from tracker.gitdiff import head_commit  # noqa: PLC0415

    sha = env("GITHUB_SHA") or ""
    if len(sha) == 40 and all(c in "0123456789abcdef" for c in sha):
        return sha
    return head_commit(loaded.root)


def postmortem_link_base(loaded: LoadedConfig) -> str | None:
    """https://github.com/OWNER/NAME/blob/SHA[/folder]: where `<path>#L<line>` of a postmortem
    is, at the commit read; None without a GitHub repository or a commit."""
    from tracker.config import GitHubConfig  # noqa: PLC0415

    gh = loaded.config.github or GitHubConfig()
    repo = env("GITHUB_REPOSITORY") or gh.repo
    sha = source_commit(loaded)
    if not repo or not sha:
        return None
    api = gh.api_url or env("GITHUB_API_URL") or "https://api.github.com"
    server = env("GITHUB_SERVER_URL") or (
        "https://github.com"
        if api.rstrip("/") == "https://api.github.com"
        else api.split("/api/")[0]
    )
    prefix = repo_prefix(loaded.root).strip("/")
    return f"{server.rstrip('/')}/{repo}/blob/{sha}" + (f"/{prefix}" if prefix else "")


# --- the GitHub repository itself (forge.py), whatever the backend -----------------------------


def forge_configured(loaded: LoadedConfig) -> bool:
    """A GitHub repository is configured: a `github:` section, or GITHUB_REPOSITORY (Actions)."""
    return loaded.config.github is not None or bool(env("GITHUB_REPOSITORY"))


def forge_token_missing(loaded: LoadedConfig) -> tuple[str, str] | None:
    """(repository, token variable) when the report repository has no token in the
    environment; None when the token is there."""
    from tracker.config import GitHubConfig  # noqa: PLC0415

    gh = loaded.config.github or GitHubConfig()
    if env(gh.token_env):
        return None
    return (gh.repo or env("GITHUB_REPOSITORY") or "the GitHub repository", gh.token_env)


def build_forge(loaded: LoadedConfig, purpose: str, *, files: bool = False) -> Forge:
    """The repository for report issues (github.repo, else $GITHUB_REPOSITORY) or, with
    `files`, for write-back commits (the checkout's $GITHUB_REPOSITORY first: tickets may live
    in another repository than the postmortems). Any backend may configure it.

    Raises:
        ConfigError: no repository or no token; `purpose` says what needed them.
    """
    from tracker import forge  # noqa: PLC0415 - PyGithub loads only when used
    from tracker.config import GitHubConfig  # noqa: PLC0415

    gh = loaded.config.github or GitHubConfig()
    checkout = env("GITHUB_REPOSITORY")
    return forge.from_config(
        (checkout or gh.repo) if files else (gh.repo or checkout),
        env(gh.token_env),
        token_env=gh.token_env,
        api_url=gh.api_url or env("GITHUB_API_URL"),
        purpose=purpose,
        write_spacing_s=gh.write_spacing_s,
        http_timeout_s=gh.http_timeout_s,
        max_wait_s=gh.retry.max_wait_s,
    )


def write_back_base() -> str | None:
    """The branch write-back commits on: the pull request's base or the pushed branch under
    GitHub Actions; None (the repository's default branch) elsewhere."""
    if env("GITHUB_BASE_REF"):  # pull_request events
        return env("GITHUB_BASE_REF")
    ref = env("GITHUB_REF") or ""
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None


def repo_prefix(root: Path) -> str:
    """The config folder's path inside its git checkout ("" at the top, or with no checkout):
    what turns the postmortem paths of a run into paths of the repository."""
    here = root.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            rel = here.relative_to(folder).as_posix()
            return "" if rel == "." else rel + "/"
    return ""
