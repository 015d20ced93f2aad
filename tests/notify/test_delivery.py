"""Slack, Teams and e-mail delivery over loopback: payloads recorded by a receiver on
127.0.0.1 validate against JSON schemas written from the Block Kit, Teams workflow-webhook and
Adaptive Card docs (tests/notify/schemas); limits hold; failures are clear and keep secrets."""

from __future__ import annotations

import datetime as dt
import email
import json
import ssl
from email.message import Message as Mail
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.notify.servers import self_signed, smtp_server, webhook
from tracker.config import Config
from tracker.errors import DeliveryError
from tracker.model import Marker, Ticket
from tracker.notify import mail, slack, teams
from tracker.notify.deliver import deliver, post_json
from tracker.notify.message import digest_message, owner_items, report_message
from tracker.notify.settings import NotifyConfig
from tracker.report import compute_for_config

SCHEMAS = Path(__file__).parent / "schemas"
DAY = dt.date(2026, 6, 1)


@cache
def validator(name: str) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def problems(name: str, data: Any) -> list[str]:
    return [e.message for e in validator(name).iter_errors(data)]


def tickets(n: int, title: str = "Add an alert on queue depth") -> list[Ticket]:
    out = []
    for i in range(n):
        key = f"pm-{i % 3}/item{i}"
        out.append(
            Ticket(
                ref=f"#{i + 1}",
                url=f"https://github.example/acme/infra/issues/{i + 1}",
                title=f"{title} <{i}> & more",
                state="open",
                owners=(f"user{i % 4}",),
                due=DAY - dt.timedelta(days=1 + i),
                marker=Marker(key=key, path=f"postmortems/{i % 3}.md", hash="h"),
                created_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                updated_at=dt.datetime(2026, 5, 30, tzinfo=dt.timezone.utc),
            )
        )
    return out


def report(n: int, **kw: Any) -> Any:
    return compute_for_config(tickets(n, **kw), DAY, Config())


def test_slack_payload_is_valid_block_kit_within_50_blocks() -> None:
    msg = report_message(report(80), "https://github.example/acme/infra/issues/900", top=80)
    data = slack.payload(msg)
    assert problems("slack-webhook.json", data) == []
    assert len(data["blocks"]) == 50
    assert data["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Postmortem action items: 2026-W23"},
    }
    closing = data["blocks"][-1]["elements"][0]["text"]
    shown = sum(1 for b in data["blocks"] if b["type"] == "section" and "issues/" in str(b))
    assert closing.startswith(f"{80 - shown} more not shown.")
    assert "<https://github.example/acme/infra/issues/900|Full report>" in closing
    # Ticket text is escaped: '<0>' cannot become a link or a mention.
    first = next(b for b in data["blocks"] if "issues/80|#80" in str(b))
    assert "&lt;79&gt; &amp; more" in first["text"]["text"]


def test_slack_shows_deltas_when_the_report_has_them_and_copes_without() -> None:
    plain = report(3)
    msg = report_message(plain, None)
    assert dict(msg.facts)["Open"] == "3"
    object.__setattr__(plain, "deltas", {"open": 2, "overdue": -1, "completion_rate": 0.05})
    with_deltas = dict(report_message(plain, None).facts)
    assert with_deltas["Open"] == "3 (+2)"
    assert with_deltas["Overdue"] == "3 (-1)"
    assert with_deltas["Completion"] == "0% (+5 pts)"
    assert problems("slack-webhook.json", slack.payload(report_message(plain, None))) == []


def test_teams_payload_is_an_adaptive_card_under_28_kb() -> None:
    msg = report_message(report(300, title="x" * 200), "https://example.test/r", top=40)
    data = teams.payload(msg)
    assert problems("teams-workflow.json", data) == []
    assert teams.size(data) <= teams.MAX_BYTES
    body = data["attachments"][0]["content"]["body"]
    assert body[-1]["text"].endswith("more not shown.")
    assert data["attachments"][0]["content"]["actions"][0]["url"] == "https://example.test/r"
    small = teams.payload(report_message(report(2), None))
    assert problems("teams-workflow.json", small) == []
    assert "actions" not in small["attachments"][0]["content"]


def test_schemas_reject_what_the_services_refuse() -> None:
    too_many = {"blocks": [{"type": "divider"}] * 51}
    assert problems("slack-webhook.json", too_many)
    long_header = {
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    }
    assert problems("slack-webhook.json", long_header)
    wrong = teams.payload(report_message(report(1), None))
    wrong["attachments"][0]["contentType"] = "application/json"
    assert problems("teams-workflow.json", wrong)


def test_webhooks_receive_the_payloads_over_loopback() -> None:
    cfg = NotifyConfig.model_validate({"slack": {}, "teams": {"webhook_env": "MY_TEAMS"}})
    msg = report_message(report(5), "https://example.test/r")
    with webhook() as s, webhook() as t:
        env = {"SLACK_WEBHOOK_URL": s.url, "MY_TEAMS": t.url}
        sent = deliver(msg, cfg, env.get)
        assert [(x.channel, x.ok) for x in sent] == [("slack", True), ("teams", True)]
        assert s.posts[0]["json"] == slack.payload(msg)
        assert s.posts[0]["content_type"] == "application/json"
        assert t.posts[0]["json"] == teams.payload(msg)
        assert problems("slack-webhook.json", s.posts[0]["json"]) == []
        assert problems("teams-workflow.json", t.posts[0]["json"]) == []


def test_a_failed_webhook_is_a_clear_error_without_the_url() -> None:
    cfg = NotifyConfig.model_validate({"slack": {}, "teams": {}})
    msg = report_message(report(1), None)
    with webhook() as s, webhook() as t:
        s.status, s.answer = 404, b"no_service"
        sent = deliver(msg, cfg, {"SLACK_WEBHOOK_URL": s.url, "TEAMS_WEBHOOK_URL": t.url}.get)
        assert [(x.channel, x.ok) for x in sent] == [("slack", False), ("teams", True)]
        error = sent[0].error or ""
        assert "Slack webhook (SLACK_WEBHOOK_URL) answered 404: no_service" in error
        assert "SECRET-PATH" not in error and "127.0.0.1" not in error
    missing = deliver(msg, cfg, {}.get)
    assert "the variable SLACK_WEBHOOK_URL is empty or unset" in (missing[0].error or "")


def test_an_unreachable_webhook_names_the_variable_not_the_url() -> None:
    with webhook() as s:
        url = s.url
    with pytest.raises(DeliveryError) as info:
        post_json(url, {"text": "x"}, what="Slack webhook (SLACK_WEBHOOK_URL)", timeout_s=5)
    assert "could not be reached" in str(info.value)
    assert "SECRET-PATH" not in str(info.value)


# --- e-mail ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("cryptography")
    return self_signed(tmp_path_factory.mktemp("tls"))


def email_cfg(port: int) -> NotifyConfig:
    return NotifyConfig.model_validate(
        {
            "email": {
                "host": "127.0.0.1",
                "port": port,
                "sender": "tracker@acme.test",
                "to": ["sre@acme.test"],
                "username_env": "SMTP_USER",
                "password_env": "SMTP_PASSWORD",
                "owner_emails": {"user1": "user1@acme.test"},
            }
        }
    )


def parts(raw: bytes) -> dict[str, str]:
    parsed: Mail = email.message_from_bytes(raw)
    return {
        p.get_content_type(): p.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for p in parsed.walk()
        if not p.is_multipart()
    }


def test_mail_goes_over_starttls_with_text_and_html(cert: tuple[Path, Path]) -> None:
    tls = ssl.create_default_context(cafile=str(cert[0]))
    env = {"SMTP_USER": "bot", "SMTP_PASSWORD": "pw"}.get
    msg = report_message(report(3), "https://example.test/r")
    with smtp_server(*cert) as box:
        sent = deliver(msg, email_cfg(box.port), env, tls=tls)
    assert [(x.channel, x.ok) for x in sent] == [("email", True)]
    assert box.logins == [("bot", "pw")] and box.tls_before_auth == [True]
    [got] = box.mails
    assert got["rcpt"] == ["sre@acme.test"] and got["tls"] is True
    body = parts(got["data"])
    assert set(body) == {"text/plain", "text/html"}
    assert "3 open action items, 3 overdue" in body["text/plain"]
    assert '<a href="https://github.example/acme/infra/issues/3">#3</a>' in body["text/html"]
    assert "&lt;2&gt; &amp; more" in body["text/html"]


def test_mail_refuses_a_server_without_starttls(cert: tuple[Path, Path]) -> None:
    env = {"SMTP_USER": "bot", "SMTP_PASSWORD": "pw"}.get
    with smtp_server(*cert, offer_tls=False) as box:
        sent = deliver(report_message(report(1), None), email_cfg(box.port), env)
    assert not sent[0].ok and "does not offer STARTTLS" in (sent[0].error or "")
    assert box.logins == [] and box.mails == []


def test_mail_login_refused_names_the_variables(cert: tuple[Path, Path]) -> None:
    tls = ssl.create_default_context(cafile=str(cert[0]))
    env = {"SMTP_USER": "bot", "SMTP_PASSWORD": "wrong"}.get
    with smtp_server(*cert) as box:
        sent = deliver(report_message(report(1), None), email_cfg(box.port), env, tls=tls)
    error = sent[0].error or ""
    assert "refused the login (535)" in error and "password_env" in error
    assert "wrong" not in error
    assert box.mails == []


def test_mail_without_host_or_sender_is_a_config_error() -> None:
    cfg = NotifyConfig.model_validate({"email": {"to": ["sre@acme.test"]}})
    [sent] = deliver(report_message(report(1), None), cfg, {}.get)
    assert not sent.ok and "notify.email: set host" in (sent.error or "")


def test_owner_digest_mail_goes_to_the_owner(cert: tuple[Path, Path]) -> None:
    tls = ssl.create_default_context(cafile=str(cert[0]))
    rep = report(8)
    items = owner_items(rep, "@user1", {})
    assert [i.ticket for i in items] == ["#6", "#2"]  # most overdue first
    msg = digest_message(rep, "user1", items, None)
    with smtp_server(*cert) as box:
        deliver(msg, email_cfg(box.port), {"SMTP_USER": "u", "SMTP_PASSWORD": "pw"}.get,
                to=["user1@acme.test"], tls=tls)  # fmt: skip
    assert box.mails[0]["rcpt"] == ["user1@acme.test"]
    assert "Your postmortem action items, user1" in mail.html(msg)
