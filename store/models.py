"""Tables of the store. Changes here need a migration under store/migrations/versions."""

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        dict[str, str]: JSON,
        datetime: DateTime(timezone=True),
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
