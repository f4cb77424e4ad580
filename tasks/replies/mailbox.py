"""The reply inbox over IMAP (imap-tools): the mails not read yet, their bytes, and the mark
that says a mail's outcome is in the store. Certificates are verified; mails stay unread
(\\Seen) for the people who read the mailbox too."""

import imaplib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date

from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError

from config.errors import KaryashalaError
from config.settings import Settings, secret_block_value
from tasks.replies.mail import InboxMail

READ_KEYWORD = "$KaryashalaRead"
FETCH_UID = re.compile(rb"UID (\d+)")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}


class InboxError(KaryashalaError):
    """The reply inbox cannot be reached, refuses the login, or drops the connection."""


def imap_password(settings: Settings) -> str | None:
    if settings.imap_password_block:
        return str(secret_block_value(settings.imap_password_block))
    return settings.imap_password.get_secret_value() if settings.imap_password else None


def where(settings: Settings) -> str:
    port = settings.imap_port or DEFAULT_PORTS[settings.imap_security]
    return f"the reply inbox {settings.imap_host}:{port} ({settings.imap_security})"


def _mailbox(settings: Settings) -> BaseMailBox:
    assert settings.imap_host is not None
    port = settings.imap_port or DEFAULT_PORTS[settings.imap_security]
    timeout = settings.imap_timeout_seconds
    if settings.imap_security == "ssl":
        return MailBox(
            settings.imap_host, port, timeout=timeout, ssl_context=ssl.create_default_context()
        )
    if settings.imap_security == "starttls":
        return MailBoxStartTls(
            settings.imap_host, port, timeout=timeout, ssl_context=ssl.create_default_context()
        )
    return MailBoxUnencrypted(settings.imap_host, port, timeout=timeout)


@contextmanager
def open_mailbox(settings: Settings) -> Iterator[BaseMailBox]:
    """Logged in, in the replies' folder; every failure an InboxError that names the server,
    never the user or the password."""
    try:
        mailbox = _mailbox(settings)
        mailbox.login(settings.imap_user or "", imap_password(settings) or "", settings.imap_folder)
    except (ImapToolsError, imaplib.IMAP4.error, OSError) as error:
        raise InboxError(
            f"Cannot open {where(settings)}, folder {settings.imap_folder!r} "
            f"({type(error).__name__}): check KARYASHALA_IMAP_HOST, _PORT, _SECURITY, _USER, "
            "the password and _FOLDER. Nothing was read; the next run tries again."
        ) from None
    try:
        yield mailbox
    except (ImapToolsError, imaplib.IMAP4.error, OSError) as error:
        raise InboxError(
            f"{where(settings)} failed in the middle ({type(error).__name__}). Nothing is "
            "lost: what was stored stays, and the next run reads the rest."
        ) from None
    finally:
        with suppress(ImapToolsError, imaplib.IMAP4.error, OSError):
            mailbox.logout()


def unread_uids(settings: Settings, since: date) -> list[str]:
    """Mails that arrived since that day and carry no mark of ours yet, oldest first."""
    with open_mailbox(settings) as mailbox:
        return mailbox.uids(AND(no_keyword=READ_KEYWORD, date_gte=since))


def fetch_mails(settings: Settings, uids: list[str]) -> list[InboxMail]:
    """The mails' bytes as they arrived (BODY.PEEK: they stay unread)."""
    if not uids:
        return []
    with open_mailbox(settings) as mailbox:
        status, data = mailbox.client.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
        if status != "OK":
            raise imaplib.IMAP4.error(f"FETCH answered {status}")
    mails = []
    for item in data:
        if isinstance(item, tuple):
            found = FETCH_UID.search(item[0])
            if found:
                mails.append(InboxMail(uid=found.group(1).decode(), raw=item[1]))
    return mails


def mark_read(settings: Settings, uids: list[str]) -> None:
    """Put our keyword on mails whose outcome is committed; nothing else is changed (no
    expunge, no \\Seen)."""
    if not uids:
        return
    with open_mailbox(settings) as mailbox:
        status, _ = mailbox.client.uid("STORE", ",".join(uids), "+FLAGS", f"({READ_KEYWORD})")
        if status != "OK":
            raise imaplib.IMAP4.error(f"STORE answered {status}")
