"""The remind and digest runs: config and backend in, the pieces of `tracker.notify` wired."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tracker.config import Config
from tracker.errors import ConfigError
from tracker.model import Ticket
from tracker.notify import deliver as delivery
from tracker.notify.message import digest_message, digest_owners, owner_items, policy_keys
from tracker.notify.remind import (
    Commenter,
    Dialect,
    Outcome,
    People,
    Reminder,
    github_dialect,
    jira_dialect,
    plan,
    quiet,
    send,
)
from tracker.notify.settings import RemindConfig
from tracker.notify.stages import Stages
from tracker.notify.state import Journal
from tracker.parse.markdown import split_front_matter
from tracker.report import compute_for_config


def run_id() -> str:
    """host:pid:nonce; a claim whose process on this host is gone is taken over at once."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def schedule(cfg: RemindConfig) -> Stages:
    return Stages(
        due_soon_days=cfg.due_soon_days,
        overdue_every_days=cfg.overdue_every_days,
        escalate_after_days=cfg.escalate_after_days,
        enabled=frozenset(cfg.stages),
    )


def require(cfg: Config) -> RemindConfig:
    if cfg.remind is None:
        raise ConfigError(
            ".tracker.yml: reminders are off; add `remind: {}` (defaults: 3 days before, on the "
            "day, weekly when overdue, escalation after 14 days) and run again"
        )
    return cfg.remind


def dialect_for(name: str, backend: object) -> Dialect:
    if name == "jira":
        mention = getattr(backend, "mention", None)
        if not callable(mention):
            raise ConfigError("the jira backend cannot mention users")
        return jira_dialect(mention)
    return github_dialect(name)


def front_matter_reader(root: Path) -> Callable[[str], Mapping[str, object]]:
    """path of a postmortem -> its front matter (empty when unreadable), cached per run."""
    cache: dict[str, Mapping[str, object]] = {}

    def read(path: str) -> Mapping[str, object]:
        if path not in cache:
            data: Any = None
            try:
                lines = (root / path).read_text(encoding="utf-8").splitlines()
                text, _ = split_front_matter(lines)
                data = yaml.safe_load(text) if text else None
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                data = None
            cache[path] = data if isinstance(data, dict) else {}
        return cache[path]

    return read


def journal_for(cfg: RemindConfig, root: Path) -> Journal:
    return Journal(root / cfg.state_path, run_id(), alive=process_alive)


def process_alive(run: str) -> bool:
    host, _, rest = run.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: trust the lease
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RemindRun:
    planned: list[Reminder]
    outcome: Outcome | None  # None for a dry run
    dialect: Dialect
    people: People


def remind(
    config: Config,
    root: Path,
    backend: Commenter,
    backend_name: str,
    tickets: Sequence[Ticket],
    *,
    day: dt.date,
    now: dt.datetime,
    dry_run: bool,
    honour_quiet: bool,
    journal: Journal | None = None,
) -> RemindRun:
    cfg = require(config)
    journal = journal or journal_for(cfg, root)
    people = People(dict(config.owners), tuple(cfg.escalate_to), front_matter_reader(root))
    dialect = dialect_for(backend_name, backend)
    done = journal.all_sent()
    planned = plan(tickets, day, schedule(cfg), lambda key, due: done.get((key, due), frozenset()))
    if dry_run:
        return RemindRun(planned, None, dialect, people)
    held = quiet(now, cfg.quiet_hours, cfg.skip_weekends) if honour_quiet else None
    if held is None and cfg.skip_weekends and day.weekday() >= 5:
        held = "weekend (remind.skip_weekends)"
    if held is not None:
        return RemindRun(planned, Outcome(held=held), dialect, people)
    outcome = send(
        planned,
        backend,
        journal,
        dialect,
        people,
        now=now,
        day=day,
        budget=cfg.max_comments_per_day,
    )
    return RemindRun(planned, outcome, dialect, people)


@dataclass
class DigestResult:
    owner: str
    items: int
    sent: list[delivery.Sent] = field(default_factory=list)
    skipped: str | None = None


def digests(
    config: Config,
    tickets: Sequence[Ticket],
    day: dt.date,
    env: delivery.Env,
    *,
    journal: Journal | None,
    link: str | None,
    dry_run: bool,
) -> list[DigestResult]:
    """One message per owner with overdue or due-soon items, once per owner, day and channel."""
    report = compute_for_config(list(tickets), day, config)
    notify = config.notify
    chans = delivery.channels(notify)
    if not chans and not dry_run:
        raise ConfigError(
            ".tracker.yml: digests need a channel; add notify.slack, notify.teams or notify.email"
        )
    emails = {
        k.casefold().lstrip("@"): v
        for k, v in (notify.email.owner_emails if notify.email else {}).items()
    }
    out: list[DigestResult] = []
    by_policy = policy_keys(tickets)
    for owner in digest_owners(report):
        items = owner_items(report, owner, config.owners)
        msg = digest_message(report, owner, items, link, notify.top_items, by_policy)
        result = DigestResult(owner, len(items))
        out.append(result)
        if dry_run:
            continue
        for chan in chans:
            to = None
            if chan == "email":
                addr = emails.get(owner.casefold().lstrip("@"))
                if addr is None:
                    result.sent.append(
                        delivery.Sent(
                            "email", False, f"no address for {owner} in notify.email.owner_emails"
                        )
                    )
                    continue
                to = [addr]
            if journal is not None and not journal.digest_once(owner, day, chan):
                continue  # already delivered today
            sent = delivery.deliver(msg, notify, env, to=to, only=[chan])
            if journal is not None and not all(s.ok for s in sent):
                journal.forget_digest(owner, day, chan)  # a later run may try again
            result.sent += sent
    return out


def _row(rem: Reminder, stages: Sequence[str]) -> dict[str, Any]:
    return {"ticket": rem.ticket.ref, "key": rem.key, "due": rem.due.isoformat(),
            "stages": list(stages)}  # fmt: skip


def remind_json(run: RemindRun, digests: Sequence[DigestResult], dry_run: bool) -> dict[str, Any]:
    """`tracker remind --format json`: what was planned, sent, found, held back or failed."""
    out = run.outcome or Outcome()
    return {
        "dry_run": dry_run,
        "planned": [_row(r, r.stages) for r in run.planned],
        "held": out.held,
        "sent": [_row(r, st) for r, st in out.sent],
        "already_sent": [_row(r, st) for r, st in out.found],
        "deferred": [_row(r, r.stages) for r in out.deferred],
        "busy": [_row(r, r.stages) for r in out.busy],
        "failed": [{**_row(r, r.stages), "error": e} for r, e in out.failed],
        "digests": [
            {
                "owner": d.owner,
                "items": d.items,
                "sent": [{"channel": s.channel, "ok": s.ok, "error": s.error} for s in d.sent],
            }
            for d in digests
        ],
    }
