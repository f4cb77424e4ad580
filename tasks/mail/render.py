"""Render one stage's mail for one person and build the MIME message. Pure: no network."""

import base64
import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.charset import BASE64, Charset
from email.encoders import encode_base64
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32, compat32
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import Literal, Protocol, cast
from urllib.parse import quote

import segno
from email_validator import EmailNotValidError, validate_email

from config import TEMPLATES_DIR
from config.event import Event, Stage
from tasks.common.districts import load_districts
from tasks.common.hindi import MonthSpelling
from tasks.common.templating import environment
from tasks.common.tokens import check_in_code, sign_token
from tasks.mail.calendar import event_calendar


class Addressee(Protocol):
    """Whom a message speaks to, whatever carries it."""

    @property
    def person_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str | None: ...
    @property
    def district(self) -> str | None: ...
    @property
    def language(self) -> str: ...


@dataclass(frozen=True)
class Recipient:
    """What a mail needs of one person; read from the store for each batch."""

    ledger_id: int
    person_id: int
    name: str
    role: str | None
    district: str | None
    email: str
    language: str
    message_id: str


@dataclass(frozen=True)
class Sender:
    address: str
    reply_to: str
    public_url: str
    signing_key: str
    month_spelling: MonthSpelling  # KARYASHALA_MONTH_SPELLING: as the press notes spell it


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    html: str
    text: str
    opt_out_url: str


class UnusableAddressError(ValueError):
    """An address no mail can be sent to as it is written."""


@dataclass(frozen=True)
class MailAddress:
    """An address as SMTP takes it: IDN domains as A-labels (xn--…); a non-ASCII local part as
    UTF-8, which only a server offering SMTPUTF8 accepts."""

    address: str
    smtputf8: bool


def mail_address(email: str) -> MailAddress:
    try:
        valid = validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise UnusableAddressError("the email address is not valid") from None
    if valid.ascii_email:
        return MailAddress(valid.ascii_email, smtputf8=False)
    return MailAddress(valid.normalized, smtputf8=True)


def to_header(name: str, email: str) -> str:
    """Name and address for a To header, the name RFC 2047-encoded on one line."""
    address = mail_address(email)
    if not address.smtputf8:
        return formataddr((one_line(name), address.address), charset=UTF8)
    placeholder = "recipient@invalid"
    header = formataddr((one_line(name), placeholder), charset=UTF8)
    utf8 = header.replace(placeholder, address.address)
    # Raw UTF-8 bytes smuggled as surrogates: the 8bit WIRE policy writes them back unchanged.
    return utf8.encode("utf-8").decode("ascii", "surrogateescape")


def message_id_for(event_id: str, stage_id: str, recipient: int | str, sender_address: str) -> str:
    """The same Message-ID on every resend of one stage to one recipient, and no personal data."""
    return f"<{event_id}.{stage_id}.{recipient}@{mail_domain(sender_address)}>"


def mail_domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def links_for(sender: Sender, event: Event, person_id: int) -> dict[str, str]:
    base = sender.public_url.rstrip("/")
    answer = sign_token(sender.signing_key, "answer", event.id, person_id)
    opt_out = sign_token(sender.signing_key, "opt-out", event.id, person_id)
    links = {
        "answer": f"{base}/r/{answer}",
        "yes": f"{base}/r/{answer}?answer=yes",
        "no": f"{base}/r/{answer}?answer=no",
        "opt_out": f"{base}/u/{opt_out}",
        "form": "",
    }
    form = event.rsvp.form
    if form is not None and form.prefill_url:
        links["form"] = form.prefill_url.replace("{token}", quote(answer))
    return links


Language = Literal["hi", "en"]


def message_language(language: str) -> Language:
    """A person's language as messages are written: English or else Hindi."""
    return "en" if language == "en" else "hi"


def message_context(
    event: Event,
    stage: Stage,
    person: Addressee,
    sender: Sender,
) -> dict[str, object]:
    """What every message of a stage to one person says of them, the event and their links, in
    their language: a mail and a WhatsApp text render the same context."""
    language = message_language(person.language)
    catalog = load_districts(event.districts)
    district = catalog.canonical(person.district) if person.district else None
    role = event.role_named(person.role) if person.role else None
    return {
        "event": event,
        "stage": stage,
        "lang": language,
        "t": lambda text: getattr(text, language),
        "person": {
            "name": person.name,
            # in the message's language where the event gives one, else as the sheet writes it
            "role": getattr(role, language) if role else person.role,
            "district": getattr(district, language) if district else None,
        },
        "links": links_for(sender, event, person.person_id),
        "month_spelling": sender.month_spelling,
        "check_in_code": (
            check_in_code(sender.signing_key, event.id, person.person_id)
            if stage.check_in_code
            else None
        ),
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
    }


def render_mail(event: Event, stage: Stage, recipient: Recipient, sender: Sender) -> RenderedMail:
    """Subject, HTML and a real plain-text body from templates/email/<stage>/<language>/."""
    env = environment(TEMPLATES_DIR)
    context = message_context(event, stage, recipient, sender)
    folder = f"email/{stage.template_folder}/{context['lang']}"
    subject = env.get_template(f"{folder}/subject.txt.j2").render(context)
    links = cast(dict[str, str], context["links"])
    return RenderedMail(
        subject=" ".join(subject.split()),
        html=env.get_template(f"{folder}/body.html.j2").render(context),
        text=env.get_template(f"{folder}/body.txt.j2").render(context) + "\n",
        opt_out_url=links["opt_out"],
    )


def one_line(text: str) -> str:
    """Header text on one line, whatever it held: a line break can never start a new header."""
    return " ".join(text.split())


def _utf8() -> Charset:
    """UTF-8 as base64 for bodies and headers, whatever another library registered globally."""
    charset = Charset("utf-8")
    charset.header_encoding = charset.body_encoding = BASE64
    return charset


UTF8 = _utf8()


QR_CONTENT_ID = "check-in-code"


def qr_png(code: str) -> bytes:
    """The check-in code as a QR image a volunteer's phone can scan."""
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def text_part(text: str, subtype: str) -> MIMENonMultipart:
    """UTF-8 text as base64: the part set_payload(text, UTF8) makes, without its round trips
    through surrogate escapes and a second parse of the Content-Type."""
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part.set_payload(base64.encodebytes(text.encode()).decode("ascii"))
    part["Content-Transfer-Encoding"] = "base64"
    return part


class WirePolicy(Compat32):
    """compat32 that folds each distinct header once: a wave's messages repeat most of their
    headers (From, Date, every part's Content-Type and MIME-Version), and folding one through
    email.header costs more than sending it."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if not isinstance(value, str):  # a Header object is folded as it is
            return super().fold_binary(name, value)
        return folded_header(self.linesep, self.max_line_length, self.cte_type, name, value)


@lru_cache(maxsize=512)
def folded_header(
    linesep: str, max_line_length: int | None, cte_type: str, name: str, value: str
) -> bytes:
    """A header as compat32 folds it under these settings (all that its folding reads)."""
    policy = compat32.clone(linesep=linesep, max_line_length=max_line_length, cte_type=cte_type)
    return policy.fold_binary(name, value)


# 8bit: a header that holds raw UTF-8 (an SMTPUTF8 address) goes out as it is.
WIRE = WirePolicy(linesep="\r\n", cte_type="8bit")


def wire_bytes(message: MIMEMultipart) -> bytes:
    """The message as SMTP carries it: CRLF line ends (smtplib sends bytes unchanged)."""
    return message.as_bytes(policy=WIRE)


def multipart(subtype: str) -> MIMEMultipart:
    """A multipart with its boundary chosen now, in the form the email package gives one.

    Left to the generator, a boundary is checked against the text of the parts with a regular
    expression compiled for it, each time a message is written. Every part build_message makes
    is base64, no line of which starts with '--', and each multipart draws a boundary of its
    own."""
    return MIMEMultipart(subtype, boundary=f"{'=' * 15}{secrets.randbelow(10**19):019d}==")


def calendars(event: Event, stage: Stage, sender: Sender, now: datetime) -> dict[str, bytes]:
    """The stage's .ics per language, made once per batch (building one costs ~45 ms)."""
    if not stage.calendar:
        return {}
    domain = mail_domain(sender.address)
    return {lang: event_calendar(event, lang, domain, now) for lang in ("hi", "en")}


def build_message(
    event: Event,
    stage: Stage,
    recipient: Recipient,
    rendered: RenderedMail,
    sender: Sender,
    now: datetime,
    calendar: bytes | None = None,
) -> MIMEMultipart:
    """A text and an HTML part (and the .ics); every header goes through one_line and RFC 2047."""
    alternative = multipart("alternative")
    alternative.attach(text_part(rendered.text, "plain"))
    alternative.attach(text_part(rendered.html, "html"))
    body: MIMEMultipart = alternative
    if stage.check_in_code:
        body = multipart("related")
        body.attach(alternative)
        code = check_in_code(sender.signing_key, event.id, recipient.person_id)
        image = MIMEImage(qr_png(code), "png")
        image.add_header("Content-ID", f"<{QR_CONTENT_ID}>")
        image.add_header("Content-Disposition", "inline", filename="check-in.png")
        body.attach(image)
    if calendar is None:
        message = body
    else:
        message = multipart("mixed")
        message.attach(body)
        attachment = MIMEBase("text", "calendar", method="PUBLISH", charset="utf-8")
        attachment.set_payload(calendar)
        encode_base64(attachment)
        attachment.add_header("Content-Disposition", "attachment", filename=f"{event.id}.ics")
        message.attach(attachment)
    language = message_language(recipient.language)
    address_message(
        message,
        event,
        stage.id,
        sender,
        language,
        (recipient.name, recipient.email),
        rendered.subject,
        recipient.message_id,
        now,
    )
    message["List-Unsubscribe"] = f"<{rendered.opt_out_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


@lru_cache(maxsize=64)
def encoded_subject(subject: str) -> str:
    """The subject on one line, RFC 2047-encoded, once for each text: a stage's subject is the
    same for everyone who reads its language. compat32 folds the encoded words it is given as
    the Header object they came from would have been folded (the same bytes)."""
    return Header(one_line(subject), UTF8, header_name="Subject").encode()


def address_message(
    message: MIMEMultipart,
    event: Event,
    stage_id: str,
    sender: Sender,
    language: str,
    to: tuple[str, str],
    subject: str,
    message_id: str,
    now: datetime,
) -> None:
    """The headers every mail of ours carries, each on one line and RFC 2047-encoded."""
    sender_name = getattr(event.sender_name or event.organiser_unit, language)
    message["From"] = formataddr((one_line(sender_name), sender.address), charset=UTF8)
    message["To"] = to_header(*to)
    message["Reply-To"] = sender.reply_to
    message["Subject"] = encoded_subject(subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["X-Karyashala-Stage"] = f"{event.id}/{stage_id}"
