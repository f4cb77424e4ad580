"""An approved press note to the event's media list, through the message ledger: each newsroom
gets each kind of note once, whatever is rerun."""

from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.utils import format_datetime, formataddr
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from config.event import Event
from config.settings import load_settings
from store.db import transaction
from store.models import MediaContact, Message, utc_now
from tasks.ledger import (
    StageCounts,
    claim,
    insert_new,
    ledger_row,
    stage_counts,
)
from tasks.mail_render import UTF8, Sender, one_line, text_part
from tasks.press_files import NoteFiles
from tasks.press_render import Kind, headline, plain_note
from tasks.smtp_send import BatchResult, deliver, sender_for

DOCX_TYPE = "vnd.openxmlformats-officedocument.wordprocessingml.document"


def press_stage(kind: Kind) -> str:
    """The ledger's stage for a kind of note: one per kind, so a newsroom never gets it twice."""
    return f"press-{kind}"


@dataclass(frozen=True)
class Newsroom:
    ledger_id: int
    outlet: str
    email: str
    message_id: str


@task(name="plan-press-mail", cache_policy=NO_CACHE)
def plan_media(url: str, event: Event, kind: Kind, sender_address: str) -> StageCounts:
    """The media list of the event file into the store, and a ledger row for each newsroom."""
    stage = press_stage(kind)
    listed = {contact.email.strip().lower(): contact.outlet for contact in event.media}
    with transaction(url) as session:
        contacts = {
            row.email: row
            for row in session.scalars(
                select(MediaContact).where(MediaContact.event_id == event.id)
            )
        }
        for email, outlet in listed.items():
            if email not in contacts:
                contacts[email] = MediaContact(event_id=event.id, outlet=outlet, email=email)
                session.add(contacts[email])
            contacts[email].outlet, contacts[email].active = outlet, True
        for email, row in contacts.items():
            row.active = email in listed
        session.flush()
        ledger = {
            row.media_contact_id: row
            for row in session.scalars(
                select(Message).where(Message.event_id == event.id, Message.stage == stage)
            )
        }
        new_rows = []
        for row in contacts.values():
            message = ledger.get(row.id)
            if message is None and row.active:
                new_rows.append(
                    ledger_row(event.id, stage, sender_address, "pending", None,
                               media_contact_id=row.id)
                )  # fmt: skip
            elif message is not None and not row.active and message.status == "pending":
                message.status, message.skip_reason = "skipped", "no_longer_in_audience"
                message.updated_at = utc_now()
        insert_new(session, new_rows)
    return stage_counts(url, event.id, stage)


def claim_newsrooms(url: str, event_id: str, stage: str, run_id: str) -> list[Newsroom]:
    settings = load_settings()
    with transaction(url) as session:
        ids = claim(session, event_id, stage, 10_000, run_id, settings.claim_lease_seconds)
        rows = session.execute(
            select(Message.id, MediaContact.outlet, MediaContact.email, Message.message_id)
            .join(MediaContact, MediaContact.id == Message.media_contact_id)
            .where(Message.id.in_(ids))
            .order_by(Message.id)
        )
        return [Newsroom(*row) for row in rows]


def press_message(
    event: Event, stage: str, newsroom: Newsroom, markdown: str, files: NoteFiles,
    sender: Sender, now: datetime,
) -> MIMEMultipart:  # fmt: skip
    """The note as text and HTML, and the Word file attached."""
    alternative = MIMEMultipart("alternative")
    alternative.attach(text_part(plain_note(markdown), "plain"))
    alternative.attach(text_part(Path(files.html).read_text(encoding="utf-8"), "html"))
    message = MIMEMultipart("mixed")
    message.attach(alternative)
    attachment = MIMEApplication(Path(files.docx).read_bytes(), DOCX_TYPE)
    attachment.add_header("Content-Disposition", "attachment", filename=f"{event.id}.docx")
    message.attach(attachment)
    sender_name = (event.sender_name or event.organiser_unit).hi
    message["From"] = formataddr((one_line(sender_name), sender.address), charset=UTF8)
    message["To"] = formataddr((one_line(newsroom.outlet), newsroom.email), charset=UTF8)
    message["Reply-To"] = sender.reply_to
    message["Subject"] = Header(one_line(headline(markdown)), UTF8, header_name="Subject")  # type: ignore[assignment]
    message["Date"] = format_datetime(now)
    message["Message-ID"] = newsroom.message_id
    message["X-Karyashala-Stage"] = f"{event.id}/{stage}"
    return message


@task(name="send-press-note", cache_policy=NO_CACHE)
def send_to_media(
    url: str, event: Event, kind: Kind, markdown: str, files: NoteFiles, run_id: str
) -> BatchResult:
    """One SMTP connection for the media list; each outcome committed before the next."""
    settings = load_settings()
    sender = sender_for(settings)
    stage = press_stage(kind)
    now = utc_now()
    newsrooms = claim_newsrooms(url, event.id, stage, run_id)
    return deliver(
        url, settings, newsrooms,
        lambda newsroom: press_message(event, stage, newsroom, markdown, files, sender, now),
    )  # fmt: skip
