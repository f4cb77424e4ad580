"""An SMTP server on loopback (aiosmtpd) that keeps what arrives and misbehaves on demand."""

import asyncio
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

Fault = Literal["421-on-mail", "451-on-data", "drop-on-data"]


@dataclass
class Received:
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LoopbackSMTPServer:
    """Faults are consumed one per message attempt, in order; refused addresses always fail."""

    def __init__(
        self,
        user: str | None = None,
        password: str | None = None,
        delay: float = 0.0,
        tls_context: ssl.SSLContext | None = None,
        smtputf8: bool = True,
    ) -> None:
        self.received: list[Received] = []
        self.faults: deque[Fault] = deque()
        self.refused: set[str] = set()
        self.delay = delay
        self.stalled = False  # when set, DATA is taken and never answered
        self.logins = 0
        self.connections = 0
        self._lock = threading.Lock()
        self.port = free_port()
        auth: dict[str, Any] = {}
        if user is not None:
            auth = {
                "authenticator": self._authenticator(user, password or ""),
                "auth_require_tls": False,
            }
        if tls_context is not None:
            auth["tls_context"] = tls_context
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8, **auth
        )

    def __enter__(self) -> "LoopbackSMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def _authenticator(self, user: str, password: str) -> Any:
        def check(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            if not isinstance(data, LoginPassword):
                return AuthResult(success=False, handled=False)
            ok = data.login.decode() == user and data.password.decode() == password
            if ok:
                self.logins += 1
            return AuthResult(success=ok, handled=False)

        return check

    def message_ids(self) -> list[str]:
        with self._lock:
            return [item.message_id for item in self.received]

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self._lock:
            self.connections += 1
        return responses

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.faults and self.faults[0] == "421-on-mail":
            self.faults.popleft()
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.7.0 Try again later, closing connection"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 Recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.faults and self.faults[0] in ("451-on-data", "drop-on-data"):
            fault = self.faults.popleft()
            if fault == "drop-on-data":
                server.transport.close()
                return "421 closing"
            return "451 4.3.0 Temporary local problem, try again"
        if self.stalled:
            await asyncio.sleep(3600)
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.received.append(Received(list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 2.0.0 Message accepted"

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a certificate no client trusts."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context
