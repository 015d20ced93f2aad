"""`tracker init`: the files a repository needs, and the configuration reference."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker import config_docs, release

# Third-party actions are pinned to full commit SHAs (a moved tag cannot change what runs);
# Dependabot (the dependabot.yml below) updates the SHA and its version comment together.
CHECKOUT = "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8  # v5.0.0"
DEFAULT_ACTION_REF = release.action_ref()[0]
CONCURRENCY = "postmortem-tracker"
DEFAULT_BRANCH = "main"  # when git cannot tell (not a repository yet)


@dataclass(frozen=True)
class PlannedFile:
    path: str
    content: str


def config_text(repo: str | None) -> str:
    repo_line = (
        f"  repo: {repo}\n" if repo else "  # repo: owner/name   (default: $GITHUB_REPOSITORY)\n"
    )
    return f"""# postmortem-tracker configuration; every key: docs/configuration.md.
#
# No `backend:` here, on purpose: `tracker sync` in a shell keeps tickets in the local file
# .tracker/local.db (no credentials needed, no file changed), and the workflows in
# .github/workflows pass `backend: github`. Set `backend: github` here to sync real issues
# from a shell too (with GITHUB_TOKEN set).
timezone: UTC

paths:
  - postmortems/**/*.md
exclude:
  - "**/TEMPLATE.md"

# Owners as written in postmortems -> GitHub logins, e.g.  "@dana": dana-acme
owners: {{}}

github:
{repo_line}  labels: [postmortem]
  label_templates: ["priority:{{priority}}"]

sync:
  # `none`: a sync in a shell writes no ticket links into the files (they would point at the
  # local file); the sync workflow passes `write-back: pull-request`.
  write_back: none
  # An item without a due date gets one, counted from the postmortem date.
  default_due:
    P0: 14
    P1: 28
    default: 56

report:
  stale_after_days: 14
  due_soon_days: 7
"""


DEPENDABOT = """# Keeps the commit-pinned actions of .github/workflows current: Dependabot opens a
# pull request that moves each SHA and its `# vX.Y.Z` comment together.
version: 2
updates:
  - package-ecosystem: github-actions
    directory: /
    schedule:
      interval: weekly
"""


TEMPLATE = """---
id: YYYY-MM-DD-short-name
title: Short description of the incident
date: YYYY-MM-DD
severity: SEV2
status: Draft
authors: []
---

# Short description of the incident

## Summary

What happened, in two or three sentences.

## Impact

Who was affected, for how long, and how badly.

## Timeline

| Time (UTC) | Event |
|---|---|
| 00:00 | First alert |

## Root cause

## Contributing factors

## Detection

How we found out, and how we could have found out sooner.

## What went well

## What was difficult

## Action items

One owner and a due date for every item; a few items that prevent a repeat beat a long list.

| Item | Owner | Due | Priority | Ticket |
|---|---|---|---|---|
| Describe one concrete change | @handle | YYYY-MM-DD | P1 | |

## Lessons learned
"""


_DRY_RUN_INPUT = """  workflow_dispatch:
    inputs:
      dry-run:
        description: Print what would change; write nothing
        type: boolean
        default: false
"""


def _workflow_sync(action: str, branch: str) -> str:
    return f"""name: Postmortem action items (sync)

on:
  push:
    branches: [{branch}]
    paths: ["postmortems/**", ".tracker.yml"]
  schedule:
    - cron: "17 6 * * *"  # daily: finish work deferred by the write budget
{_DRY_RUN_INPUT}
permissions: {{}}  # each job names what it needs

concurrency:
  group: {CONCURRENCY}
  cancel-in-progress: false

jobs:
  sync:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: write       # the write-back branch
      issues: write         # tickets
      pull-requests: write  # the write-back pull request
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false  # links go back through the API, never a git push
      - uses: {action}
        with:
          command: sync
          backend: github
          write-back: pull-request
          dry-run: ${{{{ inputs.dry-run == true }}}}
          # Reminders (opt-in): the daily run above also comments on tickets before they are
          # due, on the day, when overdue, and escalates. Add `remind: {{}}` to .tracker.yml and:
          # remind: "true"
"""


def _workflow_report(action: str) -> str:
    return f"""name: Postmortem action items (weekly report)

on:
  schedule:
    - cron: "0 7 * * 1"  # Mondays 07:00 UTC
{_DRY_RUN_INPUT}
permissions: {{}}  # each job names what it needs

concurrency:
  group: {CONCURRENCY}
  cancel-in-progress: false

jobs:
  report:
    runs-on: ubuntu-latest
    timeout-minutes: 15
    permissions:
      contents: read
      issues: write  # the report issue
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - uses: {action}
        with:
          command: report
          backend: github
          post-report: "true"
          dry-run: ${{{{ inputs.dry-run == true }}}}  # true: job summary only, not posted
          # Chat delivery (opt-in): add `notify: {{slack: {{}}}}` to .tracker.yml and a secret:
          # slack-webhook-url: ${{{{ secrets.SLACK_WEBHOOK_URL }}}}
          # teams-webhook-url: ${{{{ secrets.TEAMS_WEBHOOK_URL }}}}
"""


def _workflow_lint(action: str) -> str:
    return f"""name: Postmortem action items (lint)

on:
  pull_request:
    paths: ["postmortems/**"]

permissions: {{}}  # each job names what it needs

jobs:
  lint:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      contents: read
    steps:
      - uses: {CHECKOUT}
        with:
          fetch-depth: 0  # to list the postmortems this pull request changes
          persist-credentials: false
      - uses: {action}
        with:
          command: lint
"""


def repo_from_git(root: Path) -> str | None:
    """owner/name of the `origin` remote when it is on GitHub, read from .git/config."""
    cfg = root / ".git" / "config"
    try:
        text = cfg.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    m = re.search(r'\[remote "origin"\][^\[]*?url\s*=\s*(\S+)', text)
    if not m:
        return None
    url = m.group(1)
    gh = re.search(r"github\.com[:/]([\w.-]+/[\w.-]+?)(?:\.git)?/?$", url)
    return gh.group(1) if gh else None


def planned_files(
    repo: str | None, action_ref: str = DEFAULT_ACTION_REF, branch: str = DEFAULT_BRANCH
) -> list[PlannedFile]:
    """Every file `tracker init` writes, relative to the repository root."""
    return [
        PlannedFile(".tracker.yml", config_text(repo)),
        PlannedFile("postmortems/TEMPLATE.md", TEMPLATE),
        PlannedFile(".github/workflows/postmortem-sync.yml", _workflow_sync(action_ref, branch)),
        PlannedFile(".github/workflows/postmortem-report.yml", _workflow_report(action_ref)),
        PlannedFile(".github/workflows/postmortem-lint.yml", _workflow_lint(action_ref)),
        PlannedFile(".github/dependabot.yml", DEPENDABOT),
    ]


def write_files(root: Path, files: list[PlannedFile], force: bool) -> list[tuple[str, str]]:
    """Write the files; return (path, what happened) for each. Never overwrites without force."""
    done: list[tuple[str, str]] = []
    for f in files:
        target = root / f.path
        if target.exists():
            if target.read_text(encoding="utf-8", errors="replace") == f.content:
                done.append((f.path, "unchanged"))
                continue
            if not force:
                done.append((f.path, "exists, kept (use --force to overwrite)"))
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        existed = target.exists()
        target.write_text(f.content, encoding="utf-8")
        done.append((f.path, "overwritten" if existed else "created"))
    return done


IGNORED = ".tracker/"  # the local backend's database: never committed


def ensure_gitignore(root: Path) -> tuple[str, str]:
    """Add `.tracker/` to .gitignore unless a line already ignores it; (path, what happened)."""
    target = root / ".gitignore"
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    lines = {line.strip() for line in text.splitlines()}
    if lines & {IGNORED, IGNORED.rstrip("/"), "/" + IGNORED, "/" + IGNORED.rstrip("/")}:
        return ".gitignore", "unchanged"
    sep = "" if not text or text.endswith("\n") else "\n"
    comment = "# postmortem-tracker's local ticket database\n"
    target.write_text(text + sep + comment + IGNORED + "\n", encoding="utf-8")
    return ".gitignore", "updated" if text else "created"


def config_schema() -> dict[str, Any]:
    """The JSON Schema of `.tracker.yml` (for editor completion)."""
    return config_docs.config_schema()


def configuration_markdown() -> str:
    """docs/configuration.md (a test fails when the file drifts)."""
    return config_docs.configuration_markdown()
