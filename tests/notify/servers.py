"""Loopback receivers for delivery tests: a webhook that records JSON posts, and a small SMTP
server (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA) that records the mail it accepts."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Webhook:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    answer: bytes = b"ok"


@contextmanager
def webhook() -> Iterator[Webhook]:
    """An HTTP receiver on 127.0.0.1; set `.status` to answer an error."""
    hook = Webhook("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(size)
            hook.posts.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "json": json.loads(body),
                }
            )
            self.send_response(hook.status)
            self.send_header("Content-Length", str(len(hook.answer)))
            self.end_headers()
            self.wfile.write(hook.answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook/SECRET-PATH-123"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), made with `cryptography`."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * 30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Smtp:
    port: int
    mails: list[dict[str, Any]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    tls_before_auth: list[bool] = field(default_factory=list)


@contextmanager
def smtp_server(
    cert: Path, key: Path, *, offer_tls: bool = True, password: str = "pw"
) -> Iterator[Smtp]:
    """A one-connection-at-a-time SMTP server on 127.0.0.1 speaking just enough RFC 5321."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    box = Smtp(listener.getsockname()[1])
    stop = threading.Event()

    def session(conn: socket.socket) -> None:
        tls = False
        stream = conn.makefile("rb")

        def say(line: str) -> None:
            conn.sendall(line.encode() + b"\r\n")

        say("220 test ESMTP")
        mail: dict[str, Any] = {"rcpt": []}
        while True:
            raw = stream.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                caps = ["250-test", "250-AUTH PLAIN"]
                if offer_tls and not tls:
                    caps.append("250-STARTTLS")
                caps.append("250 8BITMIME")
                for c in caps:
                    say(c)
            elif verb == "STARTTLS":
                say("220 go ahead")
                conn = ctx.wrap_socket(conn, server_side=True)
                stream = conn.makefile("rb")
                tls = True
            elif verb == "AUTH":
                parts = base64.b64decode(line.split()[2]).decode().split("\0")
                user, pw = parts[1], parts[2]
                box.logins.append((user, pw))
                box.tls_before_auth.append(tls)
                say("235 ok" if pw == password else "535 bad credentials")
            elif verb == "MAIL":
                mail = {"from": line[10:].strip("<>"), "rcpt": [], "tls": tls}
                say("250 ok")
            elif verb == "RCPT":
                mail["rcpt"].append(line[8:].strip("<>"))
                say("250 ok")
            elif verb == "DATA":
                say("354 end with .")
                data: list[bytes] = []
                while True:
                    chunk = stream.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                mail["data"] = b"".join(data)
                box.mails.append(mail)
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:  # the listener was shut down
                return
            with conn, suppress(OSError, ssl.SSLError):
                session(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        stop.set()
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        thread.join(5)
