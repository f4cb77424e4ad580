"""Tables of the store. Changes here need a migration under store/migrations/versions."""

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC times in and out, also on SQLite (which keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        dict[str, str]: JSON,
        datetime: UTCDateTime(),
    }


class RosterSync(Base):
    """One run of sync-roster: where it read from and what changed."""

    __tablename__ = "roster_sync"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60), index=True)
    source: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    rows_read: Mapped[int] = mapped_column(default=0)
    added: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    problem_count: Mapped[int] = mapped_column(default=0)


class Person(Base):
    """An invitee of one event's roster. Removed from the sheet means inactive, never deleted."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_event_email", "event_id", "email"),
        Index("ix_person_event_phone", "event_id", "phone"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60), index=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8), default="hi")
    external_id: Mapped[str | None] = mapped_column(String(200))
    extra: Mapped[dict[str, str]] = mapped_column(default=dict)
    rejected: Mapped[dict[str, str]] = mapped_column(default=dict)
    source_row: Mapped[int] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)
    first_sync_id: Mapped[int] = mapped_column(ForeignKey("roster_sync.id"))
    last_sync_id: Mapped[int] = mapped_column(ForeignKey("roster_sync.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class RosterProblem(Base):
    """Something wrong in one row of the sheet, as found by one sync."""

    __tablename__ = "roster_problem"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("roster_sync.id"), index=True)
    source_row: Mapped[int] = mapped_column()
    field: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(30))
    message_hi: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)


class MediaContact(Base):
    """A newsroom on an event's media list, which gets the approved press notes."""

    __tablename__ = "media_contact"
    __table_args__ = (UniqueConstraint("event_id", "email", name="uq_media_contact_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60))
    outlet: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(default=True)


class Coordinator(Base):
    """A district coordinator of an event, who hands its WhatsApp messages over from their own
    phone; the key (a digest of the address) names them in their page's link."""

    __tablename__ = "coordinator"
    __table_args__ = (UniqueConstraint("event_id", "key", name="uq_coordinator_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(default=True)


class Message(Base):
    """The ledger: one row per (event, stage, person, newsroom or coordinator, channel); a rerun
    sends only what is due. A WhatsApp row is sent once a coordinator handed it over."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("event_id", "stage", "person_id", "channel", name="uq_message_once"),
        UniqueConstraint(
            "event_id", "stage", "media_contact_id", "channel", name="uq_message_media_once"
        ),
        UniqueConstraint(
            "event_id", "stage", "coordinator_id", "channel", name="uq_message_coordinator_once"
        ),
        Index("ix_message_due", "event_id", "stage", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60))
    stage: Mapped[str] = mapped_column(String(60))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    media_contact_id: Mapped[int | None] = mapped_column(ForeignKey("media_contact.id"))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    failure: Mapped[str | None] = mapped_column(String(20))
    skip_reason: Mapped[str | None] = mapped_column(String(30))
    message_id: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    claim_host: Mapped[str | None] = mapped_column(String(255))
    claim_pid: Mapped[int | None] = mapped_column()
    claim_process_start: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    handed_over_by: Mapped[int | None] = mapped_column(ForeignKey("coordinator.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class Response(Base):
    """One answer from one person by one channel; all are kept, the status is derived."""

    __tablename__ = "response"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    answer: Mapped[str] = mapped_column(String(20))
    deputy_name: Mapped[str | None] = mapped_column(Text)
    raw_text: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utc_now)


class Attendance(Base):
    """Someone came: a person of the roster or a walk-in."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    walk_in_name: Mapped[str | None] = mapped_column(Text)
    walk_in_district: Mapped[str | None] = mapped_column(String(80))
    walk_in_phone: Mapped[str | None] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)


class OptOut(Base):
    """A person asked for no more mail about an event (List-Unsubscribe)."""

    __tablename__ = "opt_out"
    __table_args__ = (UniqueConstraint("event_id", "person_id", name="uq_opt_out_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utc_now)


class DoorPin(Base):
    """The salt of an event's door PIN, which is derived from the signing key and it; no row
    means the first PIN. A new salt (`karyashala rsvp pin --rotate`) is a new PIN and ends every
    volunteer session signed in with the old one."""

    __tablename__ = "door_pin"

    event_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    rotated_at: Mapped[datetime] = mapped_column(default=utc_now)


class InboxMessage(Base):
    """A mail read from the reply inbox, once: a reply, a bounce or an auto-reply, and what
    became of it. The key (a hash of its Message-ID, else of the mail) makes a second reading
    of the same mail, after a crash before the mailbox was marked, change nothing."""

    __tablename__ = "inbox_message"
    __table_args__ = (
        UniqueConstraint("event_id", "mail_key", name="uq_inbox_message_once"),
        Index("ix_inbox_message_state", "event_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60))
    mail_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    matched_by: Mapped[str | None] = mapped_column(String(20))
    sender: Mapped[str | None] = mapped_column(String(320))
    answer: Mapped[str | None] = mapped_column(String(20))
    deputy_name: Mapped[str | None] = mapped_column(Text)
    new_text: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id"))
    settled_as: Mapped[str | None] = mapped_column(String(20))
    settled_by: Mapped[str | None] = mapped_column(String(40))
    settled_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime] = mapped_column()
    read_at: Mapped[datetime] = mapped_column(default=utc_now)


class MailBounce(Base):
    """An address a bounce named: a permanent failure makes that person's address unusable
    until the roster gives them another; a temporary one is only counted."""

    __tablename__ = "mail_bounce"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(60), index=True)
    inbox_message_id: Mapped[int] = mapped_column(ForeignKey("inbox_message.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    permanent: Mapped[bool] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utc_now)


class LimitHit(Base):
    """One POST counted against a limit of the web pages (a link's answers, an address's bad
    links or wrong PINs, an event's wrong PINs, a volunteer's POSTs), shared by every process
    that serves them and kept across a restart. The key is a digest of what is limited, so no
    address or name is kept; hits older than their limit's window are deleted as new ones come."""

    __tablename__ = "limit_hit"
    __table_args__ = (
        Index("ix_limit_hit_key", "scope", "key", "at"),
        Index("ix_limit_hit_at", "scope", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column()
