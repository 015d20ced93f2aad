"""The `.tracker.yml` sections of reminders, delivery and due-date policy (pydantic, no I/O).

They live here rather than in `tracker/config.py` to keep that module small; `Config` imports
them. Secrets are never values here: only the names of the environment variables holding them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            f"'{value}' is not an environment variable name: name the variable that holds the "
            "secret (e.g. SLACK_WEBHOOK_URL), never the secret itself"
        )
    return value


class DuePolicyConfig(_Model):
    """Due dates by severity and priority for items the file gives none."""

    severity: dict[str, int] = Field(
        default_factory=dict,
        description="Days by postmortem severity, e.g. {SEV1: 14, SEV2: 30}.",
        examples=[{"SEV1": 14, "SEV2": 30}],
    )
    priority: dict[str, int] = Field(
        default_factory=dict,
        description="Days by item priority, e.g. {P0: 7, P1: 21}.",
        examples=[{"P0": 7, "P1": 21}],
    )
    default: int | None = Field(
        None,
        ge=0,
        description="Days for items no rule above matches; unset: no due date.",
        examples=[56],
    )
    days: Literal["calendar", "business"] = Field(
        "calendar",
        description="Count calendar days, or business days (Monday to Friday, not `holidays`).",
    )
    holidays: list[dt.date] = Field(
        default_factory=list,
        description="Days business-day counting skips (YYYY-MM-DD).",
        examples=[["2026-12-25", "2027-01-01"]],
    )

    @field_validator("severity", "priority")
    @classmethod
    def _non_negative(cls, value: dict[str, int]) -> dict[str, int]:
        for name, days in value.items():
            if days < 0:
                raise ValueError(f"{name}: {days} days; use 0 or more")
        return value


StageName = Literal["due_soon", "due", "overdue", "escalate"]
_ALL_STAGES: tuple[StageName, ...] = ("due_soon", "due", "overdue", "escalate")


class RemindConfig(_Model):
    """Reminder comments on tickets before and after their due date (`tracker remind`)."""

    due_soon_days: int = Field(
        3, ge=1, description="`due_soon`: this many days before the due date."
    )
    overdue_every_days: int = Field(
        7, ge=1, description="`overdue`: the day after the due date, then every this many days."
    )
    escalate_after_days: int | None = Field(
        14, ge=1, description="`escalate`: this many days overdue; unset: never escalate."
    )
    escalate_to: list[str] = Field(
        default_factory=list,
        description="Who `escalate` mentions: a person (as in `owners:`), a GitHub team "
        "(@org/team), or `owner` / `facilitator` (the postmortem's front matter).",
        examples=[["@acme/sre-leads"]],
    )
    stages: list[StageName] = Field(
        default_factory=lambda: list(_ALL_STAGES),
        description="The stages to send.",
        examples=[["due_soon", "overdue", "escalate"]],
    )
    quiet_hours: str | None = Field(
        None,
        description="No comments between these local times, e.g. '20:00-08:00' (the config's "
        "`timezone`); a later run sends them.",
        examples=["22:00-07:00"],
    )
    skip_weekends: bool = Field(False, description="No comments on Saturdays and Sundays.")
    max_comments_per_day: int = Field(
        50, ge=1, description="Daily write budget for reminder comments; the rest waits."
    )
    state_path: str = Field(
        ".tracker/remind.db",
        description="SQLite journal of sent reminders, relative to the config (each comment "
        "also carries a hidden marker, so a lost journal never repeats one).",
    )

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = value.replace(" ", "").split("-")
        if len(parts) != 2 or not all(_HHMM.fullmatch(p) for p in parts):
            raise ValueError(f"'{value}' is not a time window: write HH:MM-HH:MM, e.g. 20:00-08:00")
        return "-".join(parts)


class SlackConfig(_Model):
    """Slack incoming webhook."""

    webhook_env: str = Field(
        "SLACK_WEBHOOK_URL", description="Environment variable holding the webhook URL."
    )

    @field_validator("webhook_env")
    @classmethod
    def _name(cls, value: str) -> str:
        return _env_name(value)


class TeamsConfig(_Model):
    """Microsoft Teams workflow webhook (Power Automate 'post to a channel when a webhook
    request is received')."""

    webhook_env: str = Field(
        "TEAMS_WEBHOOK_URL", description="Environment variable holding the webhook URL."
    )

    @field_validator("webhook_env")
    @classmethod
    def _name(cls, value: str) -> str:
        return _env_name(value)


class EmailConfig(_Model):
    """E-mail over SMTP with STARTTLS."""

    host: str | None = Field(
        None, description="SMTP server (needed to send).", examples=["smtp.example.com"]
    )
    port: int = Field(
        587, ge=1, le=65535, examples=[587], description="SMTP port (587 for STARTTLS)."
    )
    starttls: bool = Field(True, description="Upgrade with STARTTLS (refuse to send without).")
    username_env: str | None = Field(
        None, description="Variable holding the SMTP user name.", examples=["SMTP_USER"]
    )
    password_env: str | None = Field(
        None, description="Variable holding the SMTP password.", examples=["SMTP_PASSWORD"]
    )
    sender: str | None = Field(
        None, description="From: address (needed to send).", examples=["postmortems@example.com"]
    )
    to: list[str] = Field(
        default_factory=list,
        description="Recipients of the weekly report.",
        examples=[["sre@example.com"]],
    )
    owner_emails: dict[str, str] = Field(
        default_factory=dict,
        description="Owner (as in `owners:` or as written) -> address, for per-owner digests.",
        examples=[{"amara": "amara@example.com"}],
    )
    timeout_s: float = Field(
        30.0, gt=0, examples=[30], description="Seconds to wait for the server."
    )

    @field_validator("username_env", "password_env")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return None if value is None else _env_name(value)


class NotifyConfig(_Model):
    """Where the weekly report and per-owner digests are delivered."""

    slack: SlackConfig | None = None
    teams: TeamsConfig | None = None
    email: EmailConfig | None = None
    report_url: str | None = Field(
        None,
        description="Link to the full report in messages; default: the posted report issue.",
        examples=["https://github.com/acme/infra/issues?q=label%3Apostmortem-report"],
    )
    top_items: int = Field(10, ge=1, le=40, description="Overdue items listed in a message.")
    timeout_s: float = Field(15.0, gt=0, description="Webhook request timeout.", examples=[30])
