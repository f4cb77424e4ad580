"""What the store needs to know of a mail from the inbox besides its classification: its key,
the Message-IDs it answers or reports on, who sent it and when. Pure."""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.errors import MessageError
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from tasks.replies.classify import Classification, classify_message, header_text, parse

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Parts of a bounce that carry the headers of the mail that did not arrive.
ORIGINAL_PARTS = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")


@dataclass(frozen=True)
class InboxMail:
    """One mail as the mailbox holds it: its UID in the folder and its bytes."""

    uid: str
    raw: bytes


@dataclass(frozen=True)
class ReadMail:
    uid: str
    key: str
    classification: Classification
    references: tuple[str, ...]
    sender: str | None
    sent_at: datetime | None


def message_ids(value: str) -> list[str]:
    return MESSAGE_ID.findall(value)


def _original_headers(message: Message) -> list[str]:
    """Message-IDs named in the copy of the original mail a bounce carries."""
    found: list[str] = []
    for part in message.walk():
        if part.get_content_type() not in ORIGINAL_PARTS:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            for inner in payload:
                if isinstance(inner, Message):
                    found += message_ids(str(inner.get("Message-ID", "")))
        else:
            text = part.get_payload(decode=True)
            headers = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
            for line in headers.splitlines():
                if line.casefold().startswith("message-id:"):
                    found += message_ids(line)
    return found


def mail_key(message: Message, raw: bytes) -> str:
    """The same for every copy of one mail: its Message-ID, else its bytes, hashed."""
    own = message_ids(str(message.get("Message-ID", "")))
    return hashlib.sha256(own[0].encode() if own else raw).hexdigest()


def sent_at(message: Message) -> datetime | None:
    try:
        moment = parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None


def sender(message: Message) -> str | None:
    addresses = [address for _, address in getaddresses([header_text(message, "From")])]
    return addresses[0].strip().lower() if addresses and "@" in addresses[0] else None


def read_mail(mail: InboxMail) -> ReadMail:
    message = parse(mail.raw)
    try:
        classification = classify_message(mail.raw)
    except (ValueError, LookupError, TypeError, AttributeError, MessageError) as error:
        # One mail nobody can read waits for a person; it does not stop the others.
        classification = Classification(
            kind="reply",
            answer="unclear",
            new_text=f"(This mail could not be read: {type(error).__name__}. Open it in the "
            "reply inbox.)",
        )
    references = [
        *message_ids(str(message.get("In-Reply-To", ""))),
        *message_ids(str(message.get("References", ""))),
    ]
    if classification.kind == "bounce":
        references += _original_headers(message)
    return ReadMail(
        uid=mail.uid,
        key=mail_key(message, mail.raw),
        classification=classification,
        references=tuple(dict.fromkeys(references)),
        sender=sender(message),
        sent_at=sent_at(message),
    )
