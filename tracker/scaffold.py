"""`tracker init`: the files a repository needs, and the configuration reference."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.config import Config, GitHubConfig, JiraConfig

# Third-party actions are pinned to full commit SHAs (a moved tag cannot change what runs).
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2"
DEFAULT_ACTION_REF = "postmortem-tracker/postmortem-tracker@v1"
CONCURRENCY = "postmortem-tracker"


@dataclass(frozen=True)
class PlannedFile:
    path: str
    content: str


def config_text(repo: str | None) -> str:
    repo_line = (
        f"  repo: {repo}\n" if repo else "  # repo: owner/name   (default: $GITHUB_REPOSITORY)\n"
    )
    return f"""# postmortem-tracker configuration; every key: docs/configuration.md.
backend: github
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
  write_back: pull-request
  max_writes: 300
  # An item without a due date gets one, counted from the postmortem date.
  default_due:
    P0: 14
    P1: 28
    default: 56

report:
  stale_after_days: 14
  due_soon_days: 7
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


def _workflow_sync(action: str) -> str:
    return f"""name: Postmortem action items (sync)

on:
  push:
    branches: [main]
    paths: ["postmortems/**", ".tracker.yml"]
  schedule:
    - cron: "17 6 * * *"  # daily: finish work deferred by the write budget
  workflow_dispatch:

permissions:
  contents: write       # the write-back branch
  issues: write         # tickets
  pull-requests: write  # the write-back pull request

concurrency:
  group: {CONCURRENCY}
  cancel-in-progress: false

jobs:
  sync:
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false  # links go back through the API, never a git push
      - uses: {action}
        with:
          command: sync
          # Reminders (opt-in): the daily run above also comments on tickets before they are
          # due, on the day, when overdue, and escalates. Add `remind: {{}}` to .tracker.yml and:
          # remind: "true"
"""


def _workflow_report(action: str) -> str:
    return f"""name: Postmortem action items (weekly report)

on:
  schedule:
    - cron: "0 7 * * 1"  # Mondays 07:00 UTC
  workflow_dispatch:

permissions:
  contents: read
  issues: write  # the report issue

concurrency:
  group: {CONCURRENCY}
  cancel-in-progress: false

jobs:
  report:
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - uses: {action}
        with:
          command: report
          post-report: "true"
          # Chat delivery (opt-in): add `notify: {{slack: {{}}}}` to .tracker.yml and a secret:
          # slack-webhook-url: ${{{{ secrets.SLACK_WEBHOOK_URL }}}}
          # teams-webhook-url: ${{{{ secrets.TEAMS_WEBHOOK_URL }}}}
"""


def _workflow_lint(action: str) -> str:
    return f"""name: Postmortem action items (lint)

on:
  pull_request:
    paths: ["postmortems/**"]

permissions:
  contents: read

jobs:
  lint:
    runs-on: ubuntu-latest
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


def planned_files(repo: str | None, action_ref: str = DEFAULT_ACTION_REF) -> list[PlannedFile]:
    """Every file `tracker init` writes, relative to the repository root."""
    return [
        PlannedFile(".tracker.yml", config_text(repo)),
        PlannedFile("postmortems/TEMPLATE.md", TEMPLATE),
        PlannedFile(".github/workflows/postmortem-sync.yml", _workflow_sync(action_ref)),
        PlannedFile(".github/workflows/postmortem-report.yml", _workflow_report(action_ref)),
        PlannedFile(".github/workflows/postmortem-lint.yml", _workflow_lint(action_ref)),
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


def config_schema() -> dict[str, Any]:
    """The JSON Schema of `.tracker.yml` (for editor completion)."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "postmortem-tracker configuration (.tracker.yml)"
    return schema


def _type_of(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        return "section"
    if "enum" in prop:
        return " \\| ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    if "anyOf" in prop:
        return " or ".join(_type_of(p, defs) for p in prop["anyOf"])
    t = prop.get("type", "any")
    if t == "array":
        return f"list of {_type_of(prop.get('items', {}), defs)}"
    if t == "object":
        extra = prop.get("additionalProperties")
        return f"map to {_type_of(extra, defs)}" if isinstance(extra, dict) else "map"
    return str(t)


def configuration_markdown() -> str:
    """docs/configuration.md, generated from the schema (a test fails when the file drifts)."""
    schema = config_schema()
    defs: dict[str, Any] = schema.get("$defs", {})
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by `tracker config docs`; do not edit by hand. -->",
        "",
        "`.tracker.yml` at the root of the repository, or `--config FILE`. Every key is "
        "optional. Unknown keys are errors. `tracker config schema` prints the JSON Schema "
        "for editor completion.",
        "",
    ]

    base = Config().model_dump(mode="json")
    base["github"] = GitHubConfig().model_dump(mode="json")
    base["jira"] = JiraConfig().model_dump(mode="json")

    def default_for(path: str, name: str, prop: dict[str, Any]) -> str:
        node: Any = base
        for part in [] if path == "top level" else path.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict) and name in node:
            return json.dumps(node[name], ensure_ascii=False)
        return json.dumps(prop["default"]) if "default" in prop else ""

    def section(title: str, node: dict[str, Any]) -> None:
        out.extend([f"## `{title}`", ""])
        if node.get("description"):
            out.extend([node["description"], ""])
        out.extend(["| Key | Type | Default | Meaning |", "|---|---|---|---|"])
        nested: list[tuple[str, dict[str, Any]]] = []
        for name, prop in node.get("properties", {}).items():
            ref = prop.get("$ref") or next(
                (p.get("$ref") for p in prop.get("anyOf", []) if "$ref" in p), None
            )
            default = default_for(title, name, prop).replace("|", "\\|")
            desc = (prop.get("description") or "").replace("|", "\\|").replace("\n", " ")
            if ref:
                sub = defs[ref.split("/")[-1]]
                nested.append((f"{title}.{name}" if title != "top level" else name, sub))
                out.append(f"| `{name}` | section | | see [`{name}`](#{name}) below |")
            else:
                kind = _type_of(prop, defs)
                out.append(f"| `{name}` | {kind} | `{default}` | {desc} |")
        out.append("")
        for sub_title, sub in nested:
            section(sub_title, sub)

    section("top level", schema)
    return "\n".join(out).rstrip("\n") + "\n"
