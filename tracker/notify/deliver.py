"""Deliver a message to every configured channel: Slack, Teams (webhooks) and e-mail.

Webhook URLs and SMTP passwords come from the environment variables the config names and are
never part of a message, an error or a log line: errors name the variable instead. One channel
failing does not stop the others; the caller gets every failure to report.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.errors import ConfigError, DeliveryError
from tracker.notify import mail, slack, teams
from tracker.notify.message import Message
from tracker.notify.settings import NotifyConfig

Env = Callable[[str], str | None]


@dataclass(frozen=True)
class Sent:
    channel: str  # "slack", "teams", "email"
    ok: bool
    error: str | None = None


def post_json(url: str, data: Mapping[str, Any], *, what: str, timeout_s: float) -> None:
    """POST JSON to a webhook; `what` names it in errors ("Slack webhook (SLACK_WEBHOOK_URL)").

    Raises:
        DeliveryError: not an http(s) URL, no answer, or an answer other than 2xx.
    """
    if not url.startswith(("https://", "http://")):
        raise DeliveryError(f"{what} is not an http(s) URL: set the variable to the webhook URL")
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310
            resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise DeliveryError(
            f"{what} answered {exc.code}{': ' + detail if detail else ''}; the message was not "
            "delivered (the report itself is kept)"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(
            f"{what} could not be reached ({reason}); nothing was delivered"
        ) from None


def _secret(env: Env, name: str, what: str) -> str:
    value = (env(name) or "").strip()
    if not value:
        raise ConfigError(
            f"{what}: the variable {name} is empty or unset; set it from a secret (in the "
            f"workflow: env: {name}: ${{{{ secrets.{name} }}}}, or the action's input)"
        )
    return value


def channels(cfg: NotifyConfig) -> list[str]:
    out = []
    if cfg.slack is not None:
        out.append("slack")
    if cfg.teams is not None:
        out.append("teams")
    if cfg.email is not None:
        out.append("email")
    return out


def deliver(
    msg: Message,
    cfg: NotifyConfig,
    env: Env,
    *,
    to: Sequence[str] | None = None,
    only: Sequence[str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> list[Sent]:
    """Send `msg` to each configured channel (or those in `only`); `to` overrides the e-mail
    recipients (a digest goes to its owner). Never raises for one channel's failure."""
    results: list[Sent] = []
    for channel in channels(cfg):
        if only is not None and channel not in only:
            continue
        try:
            _one(channel, msg, cfg, env, to, tls)
        except (DeliveryError, ConfigError) as exc:
            results.append(Sent(channel, False, str(exc)))
        else:
            results.append(Sent(channel, True))
    return results


def _one(
    channel: str,
    msg: Message,
    cfg: NotifyConfig,
    env: Env,
    to: Sequence[str] | None,
    tls: ssl.SSLContext | None,
) -> None:
    if channel == "slack" and cfg.slack is not None:
        name = cfg.slack.webhook_env
        what = f"Slack webhook ({name})"
        post_json(_secret(env, name, what), slack.payload(msg), what=what, timeout_s=cfg.timeout_s)
    elif channel == "teams" and cfg.teams is not None:
        name = cfg.teams.webhook_env
        what = f"Teams workflow webhook ({name})"
        post_json(_secret(env, name, what), teams.payload(msg), what=what, timeout_s=cfg.timeout_s)
    elif channel == "email" and cfg.email is not None:
        em = cfg.email
        if not em.host or not em.sender:
            raise ConfigError(
                "notify.email: set host (the SMTP server) and sender (the From: address)"
            )
        rcpt = list(to if to is not None else em.to)
        if not rcpt:
            raise ConfigError("notify.email: no recipients; set notify.email.to")
        user = (
            _secret(env, em.username_env, "notify.email.username_env") if em.username_env else None
        )
        pw = _secret(env, em.password_env, "notify.email.password_env") if em.password_env else None
        mail.send(
            mail.build(msg, em.sender, rcpt),
            host=em.host,
            port=em.port,
            starttls=em.starttls,
            username=user,
            password=pw,
            timeout_s=em.timeout_s,
            context=tls,
        )
