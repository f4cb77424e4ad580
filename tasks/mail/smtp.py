"""Send one claimed batch over one SMTP connection (yagmail), recording each outcome at once."""

import contextlib
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from logging import Logger, LoggerAdapter
from typing import Any, Protocol, TypeVar

import yagmail

from config.errors import KaryashalaError
from config.event import Event, Stage
from config.settings import SMTP_RATE_LIMIT, Settings, load_settings, secret_block_value
from store.models import utc_now
from tasks.common.limits import take_rate_limit
from tasks.common.privacy import mask_contacts
from tasks.mail.ledger import record_failure, record_sent, release, sent_in_last_day
from tasks.mail.outbox import ensure_local_outbox
from tasks.mail.render import (
    Recipient,
    Sender,
    build_message,
    calendars,
    render_mail,
    wire_bytes,
)

RunLogger = Logger | LoggerAdapter[Any]


class StageStoppedError(KaryashalaError):
    """Sending cannot go on this run (login refused, server unreachable); the ledger is true."""


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    stopped: str | None = None


class TransientError(Exception):
    """Worth another try on a fresh connection: 4xx replies, dropped connections, timeouts."""


class PermanentError(Exception):
    """The server refused this message for good: 5xx for the recipient or the content."""


def sender_for(settings: Settings) -> Sender:
    return Sender(
        address=settings.mail_from,
        reply_to=settings.reply_to or settings.mail_from,
        public_url=settings.public_url,
        signing_key=settings.signing_secret(),
    )


def smtp_password(settings: Settings) -> str | None:
    if settings.smtp_password_block:
        return str(secret_block_value(settings.smtp_password_block))
    return settings.smtp_password.get_secret_value() if settings.smtp_password else None


def open_connection(settings: Settings) -> yagmail.SMTP:
    """Log in once; certificates are verified; never keyring, never a prompt."""
    if settings.smtp_host is None:
        outbox = ensure_local_outbox(settings.data_dir)
        host, port, security = outbox.host, outbox.port, "none"
    else:
        host, security = settings.smtp_host, settings.smtp_security
        port = settings.smtp_port or {"ssl": 465, "starttls": 587, "none": 25}[security]
    password = smtp_password(settings)
    context = ssl.create_default_context()
    login = settings.smtp_user or settings.mail_from
    client = yagmail.SMTP(
        user={login: login},  # a plain string without "@" would get "@gmail.com" appended
        password=password,
        host=host,
        port=port,
        smtp_ssl=security == "ssl",
        smtp_starttls={"context": context} if security == "starttls" else False,
        smtp_skip_login=settings.smtp_user is None,
        soft_email_validation=False,
        timeout=settings.smtp_timeout_seconds,
        **({"context": context} if security == "ssl" else {}),
    )
    try:
        client.login()
    except smtplib.SMTPAuthenticationError as error:
        raise StageStoppedError(
            f"The SMTP server refused the login ({error.smtp_code}): check KARYASHALA_SMTP_USER "
            "and the SMTP password. Nothing more was sent; run the stage again once fixed."
        ) from None
    except ssl.SSLCertVerificationError as error:
        raise StageStoppedError(
            f"The TLS certificate of {host}:{port} could not be verified ({error.verify_message}). "
            "Nothing was sent; check KARYASHALA_SMTP_HOST and the server's certificate."
        ) from None
    except (OSError, smtplib.SMTPException) as error:
        raise TransientError(f"cannot connect to {host}:{port} ({type(error).__name__})") from error
    return client


def reply_text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def classify(error: Exception) -> Exception:
    """SMTP's answer → transient (try again) or permanent (give up on this one)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()))
        text = f"{code} {reply_text(reply)}"
        return PermanentError(text) if code >= 500 else TransientError(text)
    if isinstance(error, smtplib.SMTPResponseException):
        text = f"{error.smtp_code} {reply_text(error.smtp_error)}"
        return PermanentError(text) if error.smtp_code >= 500 else TransientError(text)
    return TransientError(type(error).__name__)


class Pacer:
    """Keeps sends under the per-minute cap across the batches of one process."""

    next_at = 0.0

    @classmethod
    def wait(cls, per_minute: int | None) -> None:
        if not per_minute:
            return
        now = time.monotonic()
        if cls.next_at > now:
            time.sleep(cls.next_at - now)
        cls.next_at = max(now, cls.next_at) + 60.0 / per_minute


def send_one(
    connection: yagmail.SMTP | None,
    message: MIMEMultipart,
    address: str,
    settings: Settings,
) -> yagmail.SMTP:
    """Try a message until it is sent, refused for good, or out of attempts; returns the live
    connection (a fresh one after a fault)."""
    for attempt in range(1, settings.smtp_max_attempts + 1):
        try:
            if connection is None:
                try:
                    connection = open_connection(settings)
                except TransientError as error:
                    if attempt == settings.smtp_max_attempts:
                        raise StageStoppedError(
                            f"The SMTP server is unreachable: {error}. Nothing more was sent; "
                            "run the stage again when it is back."
                        ) from None
                    raise
            take_rate_limit(settings.global_limits, SMTP_RATE_LIMIT)
            connection.smtp.sendmail(settings.mail_from, [address], wire_bytes(message))
            return connection
        except StageStoppedError:
            raise
        except (smtplib.SMTPException, OSError, TransientError) as error:
            failure = error if isinstance(error, TransientError) else classify(error)
            if isinstance(failure, PermanentError):
                raise failure from None
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            connection = None
            if attempt == settings.smtp_max_attempts:
                raise failure from None
            time.sleep(settings.smtp_backoff_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


class Outgoing(Protocol):
    """One ledger row to send: a person of the roster or a newsroom."""

    @property
    def ledger_id(self) -> int: ...

    @property
    def email(self) -> str: ...


Item = TypeVar("Item", bound=Outgoing)


def deliver(
    store_url: str,
    settings: Settings,
    outgoing: Sequence[Item],
    build: Callable[[Item], MIMEMultipart],
    logger: RunLogger,
) -> BatchResult:
    """Send each over one connection, committing each outcome before the next; stop cleanly at
    the mailbox's daily quota, giving back what is left."""
    result = BatchResult()
    already_today = sent_in_last_day(store_url)
    connection: yagmail.SMTP | None = None
    try:
        for index, item in enumerate(outgoing):
            if already_today + result.sent >= settings.smtp_per_day:
                release(store_url, [o.ledger_id for o in outgoing[index:]])
                result.stopped = (
                    f"the daily quota of {settings.smtp_per_day} messages is reached; "
                    "run the stage again tomorrow to send the rest"
                )
                break
            message = build(item)
            Pacer.wait(settings.smtp_per_minute)
            try:
                connection = send_one(connection, message, item.email, settings)
            except StageStoppedError:
                release(store_url, [o.ledger_id for o in outgoing[index:]])
                raise
            except (PermanentError, TransientError) as failure:
                kind = "permanent" if isinstance(failure, PermanentError) else "transient"
                text = mask_contacts(str(failure))
                record_failure(store_url, item.ledger_id, kind, text)
                result.failed += 1
                logger.warning("Message %s failed (%s): %s", item.ledger_id, kind, text)
                continue
            record_sent(store_url, item.ledger_id)
            result.sent += 1
    finally:
        if connection is not None:
            connection.close()
    return result


def send_stage_batch(
    store_url: str, event: Event, stage: Stage, recipients: list[Recipient], logger: "RunLogger"
) -> BatchResult:
    """One connection for the batch; each outcome is committed before the next message."""
    settings = load_settings()
    sender = sender_for(settings)
    now = utc_now()
    ics = calendars(event, stage, sender, now)

    def build(recipient: Recipient) -> MIMEMultipart:
        rendered = render_mail(event, stage, recipient, sender)
        calendar = ics.get(recipient.language)
        return build_message(event, stage, recipient, rendered, sender, now, calendar)

    return deliver(store_url, settings, recipients, build, logger)
