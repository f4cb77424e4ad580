"""Send one claimed batch over one SMTP connection (yagmail), recording each outcome at once."""

import contextlib
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from functools import cache
from typing import Protocol, TypeVar

import yagmail

from config.errors import KaryashalaError
from config.event import Event, Stage
from config.settings import SMTP_RATE_LIMIT, Settings, load_settings, secret_block_value
from store.models import utc_now
from tasks.common.limits import take_rate_limit
from tasks.common.privacy import mask_contacts
from tasks.mail.ledger import (
    ClaimKeeper,
    RunLogger,
    claim_batch,
    release,
    sent_in_last_day,
)
from tasks.mail.outbox import ensure_local_outbox
from tasks.mail.render import (
    MailAddress,
    Recipient,
    Sender,
    UnusableAddressError,
    build_message,
    calendars,
    mail_address,
    render_mail,
    wire_bytes,
)

# The Prefect event a stage emits when it stops at the daily quota: ops are mailed on it.
QUOTA_REACHED = "karyashala.stage.quota-reached"


class StageStoppedError(KaryashalaError):
    """Sending cannot go on this run (login refused, server unreachable); the ledger is true."""


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    stopped: str | None = None


class TransientError(Exception):
    """Worth another try on a fresh connection: 4xx replies, dropped connections, timeouts."""

    def __init__(self, text: str, timed_out: bool = False) -> None:
        super().__init__(text)
        self.timed_out = timed_out


class PermanentError(Exception):
    """The server refused this message for good: 5xx for the recipient or the content."""


def sender_for(settings: Settings) -> Sender:
    return Sender(
        address=settings.mail_from,
        reply_to=settings.reply_to or settings.mail_from,
        public_url=settings.public_url,
        signing_key=settings.signing_secret(),
        month_spelling=settings.month_spelling,
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
    context = verifying_context() if security != "none" else None
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
        raise TransientError(
            f"cannot connect to {host}:{port} ({type(error).__name__})", timed_out(error)
        ) from error
    return client


@cache
def verifying_context() -> ssl.SSLContext:
    """One for the process: loading the trusted certificates costs ~40 ms, and a wave opens a
    connection per batch."""
    return ssl.create_default_context()


def reply_text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def classify(error: Exception) -> "PermanentError | TransientError":
    """SMTP's answer → transient (try again) or permanent (give up on this one)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()))
        text = f"{code} {reply_text(reply)}"
        return PermanentError(text) if code >= 500 else TransientError(text)
    if isinstance(error, smtplib.SMTPResponseException):
        text = f"{error.smtp_code} {reply_text(error.smtp_error)}"
        return PermanentError(text) if error.smtp_code >= 500 else TransientError(text)
    return TransientError(type(error).__name__, timed_out(error))


def timed_out(error: BaseException) -> bool:
    """smtplib turns a read that timed out into a disconnect that says so."""
    return isinstance(error, TimeoutError) or (
        isinstance(error, smtplib.SMTPServerDisconnected) and "timed out" in str(error)
    )


class Pacer:
    """Keeps sends under the per-minute cap across the batches and connections of one process:
    each send takes the next free slot under a lock, then waits for it outside the lock."""

    next_at = 0.0
    lock = threading.Lock()

    @classmethod
    def wait(cls, per_minute: int | None, sleep: Callable[[float], None]) -> None:
        if not per_minute:
            return
        with cls.lock:
            now = time.monotonic()
            slot = max(now, cls.next_at)
            cls.next_at = slot + 60.0 / per_minute
        if slot > now:
            sleep(slot - now)


@dataclass
class Stalls:
    """Timeouts in a row on fresh connections: a server that takes the mail and never answers
    would otherwise hold each message for every attempt's full timeout."""

    limit: int
    in_a_row: int = 0

    def count(self, failure: TransientError, settings: Settings) -> None:
        if not failure.timed_out:
            self.in_a_row = 0
            return
        self.in_a_row += 1
        if self.in_a_row >= self.limit:
            raise StageStoppedError(
                f"The SMTP server did not answer within {settings.smtp_timeout_seconds:g} s, "
                f"{self.in_a_row} times in a row on fresh connections: it is stuck. This batch's "
                "messages are pending again; run the stage again when the server answers."
            )


def send_one(
    connection: yagmail.SMTP | None,
    message: MIMEMultipart,
    address: MailAddress,
    settings: Settings,
    keeper: ClaimKeeper,
    stalls: Stalls,
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
            keeper.keep_alive()
            take_rate_limit(settings.global_limits, SMTP_RATE_LIMIT)
            connection.smtp.sendmail(
                settings.mail_from,
                [address.address],
                wire_bytes(message),
                mail_options=smtputf8_option(connection, address),
            )
            stalls.in_a_row = 0
            return connection
        except (StageStoppedError, PermanentError):
            raise
        except (smtplib.SMTPException, OSError, TransientError) as error:
            failure = error if isinstance(error, TransientError) else classify(error)
            if isinstance(failure, PermanentError):
                raise failure from None
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            connection = None
            stalls.count(failure, settings)
            if attempt == settings.smtp_max_attempts:
                raise failure from None
            keeper.sleep(settings.smtp_backoff_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


def smtputf8_option(connection: yagmail.SMTP, address: MailAddress) -> list[str]:
    """An address with a non-ASCII local part goes only to a server that offers SMTPUTF8."""
    if not address.smtputf8:
        return []
    connection.smtp.ehlo_or_helo_if_needed()
    if not connection.smtp.has_extn("smtputf8"):
        raise PermanentError(
            "the address has non-ASCII letters before the @, and the SMTP server does not offer "
            "SMTPUTF8: reach this person another way, or use a server that offers it"
        )
    return ["SMTPUTF8"]


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
    lease_seconds: float,
) -> BatchResult:
    """Send each over one connection, committing each outcome before the next; stop cleanly at
    the mailbox's daily quota, giving back what is left."""
    result = BatchResult(claimed=len(outgoing))
    already_today = sent_in_last_day(store_url)
    keeper = ClaimKeeper(store_url, [item.ledger_id for item in outgoing], lease_seconds)
    stalls = Stalls(settings.smtp_stall_limit)
    connection: yagmail.SMTP | None = None

    def fail(item: Item, kind: str, text: str) -> None:
        keeper.failed(item.ledger_id, kind, text)
        result.failed += 1
        logger.warning("Message %s failed (%s): %s", item.ledger_id, kind, text)

    try:
        for index, item in enumerate(outgoing):
            if already_today + result.sent >= settings.smtp_per_day:
                release(store_url, [o.ledger_id for o in outgoing[index:]])
                result.stopped = (
                    f"the daily quota of {settings.smtp_per_day} messages is reached; "
                    "run the stage again tomorrow to send the rest"
                )
                break
            try:
                message = build(item)
                address = mail_address(item.email)
            except Exception as error:  # one message that cannot be built must not stop the rest
                fail(item, "permanent", f"the message could not be built: {build_problem(error)}")
                continue
            Pacer.wait(settings.smtp_per_minute, keeper.sleep)
            try:
                connection = send_one(connection, message, address, settings, keeper, stalls)
            except StageStoppedError:
                release(store_url, [o.ledger_id for o in outgoing[index:]])
                raise
            except (PermanentError, TransientError) as failure:
                kind = "permanent" if isinstance(failure, PermanentError) else "transient"
                fail(item, kind, mask_contacts(str(failure)))
                continue
            keeper.sent(item.ledger_id)
            result.sent += 1
    finally:
        keeper.close()
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()
    return result


def build_problem(error: Exception) -> str:
    """What went wrong building a message, without the data that may be in the error's text."""
    if isinstance(error, UnusableAddressError):
        return str(error)
    return type(error).__name__


def send_stage_batch(
    store_url: str, event: Event, stage: Stage, size: int, run_id: str, logger: "RunLogger"
) -> BatchResult:
    """Claim up to size due messages of the stage and send them over one connection, each
    outcome committed before the next message."""
    settings = load_settings()
    lease = settings.claim_lease_seconds
    recipients = claim_batch(store_url, event.id, stage.id, size, run_id, lease)
    if not recipients:
        return BatchResult()
    sender = sender_for(settings)
    now = utc_now()
    ics = stage_calendars(event, stage, sender)

    def build(recipient: Recipient) -> MIMEMultipart:
        rendered = render_mail(event, stage, recipient, sender)
        calendar = ics.get(recipient.language)
        return build_message(event, stage, recipient, rendered, sender, now, calendar)

    return deliver(store_url, settings, recipients, build, logger, lease)


_calendars_made: dict[tuple[str, str, str], dict[str, bytes]] = {}
_calendars_lock = threading.Lock()
CALENDARS_KEPT = 16


def stage_calendars(event: Event, stage: Stage, sender: Sender) -> dict[str, bytes]:
    """The stage's .ics per language, made once per process for each version of the event (one
    costs ~45 ms, and a wave has a batch every 100 messages on each connection); its DTSTAMP is
    when the first batch was built."""
    key = (event.model_dump_json(), stage.id, sender.address)
    with _calendars_lock:
        if key not in _calendars_made:
            if len(_calendars_made) >= CALENDARS_KEPT:
                _calendars_made.clear()
            _calendars_made[key] = calendars(event, stage, sender, utc_now())
        return _calendars_made[key]
