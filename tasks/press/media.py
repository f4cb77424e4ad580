"""An approved press note to the event's media list, through the message ledger: each newsroom
gets each kind of note once, whatever is rerun."""

from dataclasses import dataclass
from datetime import datetime
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from pathlib import Path

from sqlalchemy import select

from config.event import Event
from config.settings import load_settings
from store.db import transaction
from store.models import MediaContact, Message, utc_now
from tasks.mail.claims import Holder
from tasks.mail.ledger import RunLogger, StageCounts, apply_plan, claim, stage_counts
from tasks.mail.render import Sender, address_message, text_part
from tasks.mail.smtp import BatchResult, deliver, sender_for
from tasks.press.files import NoteFiles
from tasks.press.render import Kind, headline, plain_note

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


def plan_media(store_url: str, event: Event, kind: Kind, sender_address: str) -> StageCounts:
    """The media list of the event file into the store, and a ledger row for each newsroom."""
    stage = press_stage(kind)
    listed = {contact.email.strip().lower(): contact.outlet for contact in event.media}
    with transaction(store_url) as session:
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
            contacts[email].outlet = outlet
        for email, row in contacts.items():
            row.active = email in listed
        session.flush()
        active = [row.id for row in contacts.values() if row.active]
        apply_plan(session, event.id, stage, sender_address, "media", active, {})
    return stage_counts(store_url, event.id, stage)


def claim_newsrooms(store_url: str, event_id: str, stage: str, run_id: str) -> list[Newsroom]:
    settings = load_settings()
    with transaction(store_url) as session:
        holder = Holder.this_process(run_id)
        ids = claim(session, event_id, stage, 10_000, holder, settings.claim_lease_seconds)
        rows = session.execute(
            select(Message.id, MediaContact.outlet, MediaContact.email, Message.message_id)
            .join(MediaContact, MediaContact.id == Message.media_contact_id)
            .where(Message.id.in_(ids))
            .order_by(Message.id)
        )
        return [Newsroom(*row) for row in rows]


def press_message(
    event: Event,
    stage: str,
    newsroom: Newsroom,
    markdown: str,
    files: NoteFiles,
    sender: Sender,
    now: datetime,
) -> MIMEMultipart:
    """The note as text and HTML, and the Word file attached."""
    alternative = MIMEMultipart("alternative")
    alternative.attach(text_part(plain_note(markdown), "plain"))
    alternative.attach(text_part(Path(files.html).read_text(encoding="utf-8"), "html"))
    message = MIMEMultipart("mixed")
    message.attach(alternative)
    attachment = MIMEApplication(Path(files.docx).read_bytes(), DOCX_TYPE)
    attachment.add_header("Content-Disposition", "attachment", filename=f"{event.id}.docx")
    message.attach(attachment)
    address_message(
        message,
        event,
        stage,
        sender,
        "hi",
        (newsroom.outlet, newsroom.email),
        headline(markdown),
        newsroom.message_id,
        now,
    )
    return message


def send_note_to_media(
    store_url: str,
    event: Event,
    kind: Kind,
    markdown: str,
    files: NoteFiles,
    run_id: str,
    logger: RunLogger,
) -> BatchResult:
    """One SMTP connection for the media list; each outcome committed before the next."""
    settings = load_settings()
    sender = sender_for(settings)
    stage = press_stage(kind)
    now = utc_now()
    newsrooms = claim_newsrooms(store_url, event.id, stage, run_id)
    return deliver(
        store_url,
        settings,
        newsrooms,
        lambda newsroom: press_message(event, stage, newsroom, markdown, files, sender, now),
        logger,
        settings.claim_lease_seconds,
    )
