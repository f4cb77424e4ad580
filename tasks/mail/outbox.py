"""The embedded default's mail server: a local SMTP server that keeps every mail in a Maildir.

With no KARYASHALA_SMTP_HOST the stages are sent here, over real SMTP, and `karyashala outbox`
lists what arrived.
"""

import atexit
import mailbox
import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MaildirHandler:
    """Stores each accepted message as it arrived, headers and body untouched."""

    def __init__(self, path: Path) -> None:
        self.maildir = mailbox.Maildir(path, create=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.maildir.add(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalOutbox:
    host: str
    port: int
    path: Path


_running: dict[Path, tuple[Controller, LocalOutbox]] = {}
_lock = threading.Lock()


def outbox_path(data_dir: Path) -> Path:
    return (data_dir / "outbox").resolve()


def ensure_local_outbox(data_dir: Path) -> LocalOutbox:
    """Start the local SMTP server for this data dir once per process."""
    path = outbox_path(data_dir)
    with _lock:
        if path not in _running:
            port = free_port()
            controller = Controller(
                MaildirHandler(path), hostname="127.0.0.1", port=port, enable_SMTPUTF8=True
            )
            controller.start()
            atexit.register(controller.stop)
            _running[path] = (controller, LocalOutbox("127.0.0.1", port, path))
        return _running[path][1]


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    to: str
    subject: str
    message_id: str
    stage: str


def read_outbox(data_dir: Path) -> list[OutboxEntry]:
    path = outbox_path(data_dir)
    if not path.exists():
        return []
    entries = []
    for key, item in mailbox.Maildir(path, create=False).items():
        parsed = message_from_bytes(item.as_bytes(), policy=default)
        entries.append(
            OutboxEntry(
                key=key,
                to=str(parsed["To"] or ""),
                subject=str(make_header(decode_header(str(parsed["Subject"] or "")))),
                message_id=str(parsed["Message-ID"] or ""),
                stage=str(parsed["X-Karyashala-Stage"] or ""),
            )
        )
    return entries
