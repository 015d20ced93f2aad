"""A message as e-mail (text and HTML parts), sent over SMTP with STARTTLS (stdlib only)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from html import escape

from tracker.errors import DeliveryError
from tracker.notify.message import Message, message_text


def html(msg: Message) -> str:
    """The HTML part: headline, figures, the listed items with links, the full-report link."""
    rows = "".join(
        f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>" for k, v in msg.facts
    )
    parts = [
        f"<h2>{escape(msg.title)}</h2>",
        f"<p>{escape(msg.summary)}</p>",
        f"<table>{rows}</table>" if rows else "",
    ]
    if msg.entries:
        items = "".join(
            f'<li><a href="{escape(e.url, quote=True)}">{escape(e.ref)}</a> '
            f"{escape(e.title)}<br><small>{escape(e.detail)}</small></li>"
            if e.url.startswith(("https://", "http://"))
            else f"<li>{escape(e.ref)} {escape(e.title)}<br><small>{escape(e.detail)}</small></li>"
            for e in msg.entries
        )
        parts += [f"<h3>{escape(msg.section)}</h3>", f"<ul>{items}</ul>"]
    if msg.more:
        parts.append(f"<p>{msg.more} more not shown.</p>")
    if msg.link and msg.link.startswith(("https://", "http://")):
        parts.append(f'<p><a href="{escape(msg.link, quote=True)}">Full report</a></p>')
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>\n"


def build(msg: Message, sender: str, to: Sequence[str]) -> EmailMessage:
    """The e-mail: multipart/alternative with the text part first, then HTML."""
    mail = EmailMessage()
    mail["Subject"] = msg.title
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(message_text(msg))
    mail.add_alternative(html(msg), subtype="html")
    return mail


def send(
    mail: EmailMessage,
    *,
    host: str,
    port: int,
    starttls: bool = True,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 30.0,
    context: ssl.SSLContext | None = None,
) -> None:
    """Send one e-mail; STARTTLS before any credential goes over the wire.

    Raises:
        DeliveryError: the server cannot be reached, refuses STARTTLS, the login or a recipient.
    """
    where = f"SMTP server {host}:{port}"
    try:
        with smtplib.SMTP(host, port, timeout=timeout_s) as smtp:
            smtp.ehlo()
            if starttls:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"{where} does not offer STARTTLS: the mail was not sent; use a server "
                        "that does, or set notify.email.starttls: false on a trusted network"
                    )
                smtp.starttls(context=context or ssl.create_default_context())
                smtp.ehlo()
            if username and password:
                smtp.login(username, password)
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"{where} refused the login ({exc.smtp_code}): check the user name and password in "
            "the variables notify.email.username_env / password_env name"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(
            f"{where} refused the recipients {', '.join(sorted(exc.recipients))}"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise DeliveryError(f"{where}: the mail was not sent: {exc}") from None
    except OSError as exc:
        raise DeliveryError(
            f"cannot reach {where}: {exc.strerror or exc}; check notify.email.host and port"
        ) from None
