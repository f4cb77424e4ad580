"""Store reads and writes that several concerns share: answers, attendance, people with their
current answer, and inserting rows that may already be there."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from config.event import AnswerStatus
from store.db import transaction
from store.models import (
    Attendance,
    InboxMessage,
    MailBounce,
    Message,
    OptOut,
    Person,
    Response,
)

ANSWER_STATUS: dict[str, AnswerStatus] = {"yes": "confirmed", "no": "declined", "deputy": "deputy"}
# A reply's answer (confirmed, declined, deputy) as a response stores it.
REPLY_ANSWERS: dict[str, str] = {status: answer for answer, status in ANSWER_STATUS.items()}


@dataclass(frozen=True)
class Answer:
    person_id: int
    answer: str
    channel: str
    received_at: datetime


@dataclass(frozen=True)
class Candidate:
    """A person of the roster with what decides whom a stage goes to and whom to call."""

    person_id: int
    active: bool
    email: str | None
    role: str | None
    unit: str | None
    district: str | None
    language: str
    answer: AnswerStatus
    attended: bool
    opted_out: bool
    name: str = ""
    phone: str | None = None
    bounced: bool = False


def latest_answers(answers: Iterable[Answer]) -> dict[int, Answer]:
    """Every answer is kept; the latest a person gave, by any channel, is the one that counts."""
    latest: dict[int, Answer] = {}
    for answer in answers:
        known = latest.get(answer.person_id)
        if known is None or answer.received_at >= known.received_at:
            latest[answer.person_id] = answer
    return latest


def current_answers(answers: Iterable[Answer]) -> dict[int, AnswerStatus]:
    return {
        person_id: ANSWER_STATUS.get(answer.answer, "none")
        for person_id, answer in latest_answers(answers).items()
    }


def read_answers(session: Session, event_id: str, person_id: int | None = None) -> list[Answer]:
    """Every answer of the event (or of one person), oldest first."""
    query = select(
        Response.person_id, Response.answer, Response.channel, Response.received_at
    ).where(Response.event_id == event_id)
    if person_id is not None:
        query = query.where(Response.person_id == person_id)
    return [Answer(*row) for row in session.execute(query.order_by(Response.received_at))]


def attended_ids(session: Session, event_id: str) -> set[int]:
    """People of the roster checked in (walk-ins have no person)."""
    return set(
        session.scalars(
            select(Attendance.person_id).where(
                Attendance.event_id == event_id, Attendance.person_id.is_not(None)
            )
        )
    )


def channels_reached(session: Session, event_id: str) -> dict[int, dict[str, list[str]]]:
    """By person: each stage that reached them and by which channels (a mail sent, a WhatsApp
    message handed over), stages in the order they reached them."""
    rows = session.execute(
        select(Message.person_id, Message.stage, Message.channel)
        .where(
            Message.event_id == event_id,
            Message.status == "sent",
        )
        .order_by(Message.sent_at, Message.channel)
    )
    reached: dict[int, dict[str, list[str]]] = {}
    for person_id, stage, channel in rows:
        if person_id is not None:  # not a newsroom's or a coordinator's mail
            reached.setdefault(person_id, {}).setdefault(stage, []).append(channel)
    return reached


def bounced_ids(session: Session, event_id: str) -> set[int]:
    """People whose address in the roster now is one a bounce said fails for good; another
    address in the roster clears it."""
    rows = session.execute(
        select(Person.id)
        .join(MailBounce, MailBounce.person_id == Person.id)
        .where(
            MailBounce.event_id == event_id,
            MailBounce.permanent.is_(True),
            func.lower(MailBounce.address) == func.lower(Person.email),
        )
    )
    return set(rows.scalars())


def bounced_addresses(store_url: str, event_id: str) -> set[str]:
    """Addresses of the event's roster that bounced for good (lower case)."""
    with transaction(store_url) as session:
        return {
            address.lower()
            for address in session.scalars(
                select(MailBounce.address).where(
                    MailBounce.event_id == event_id, MailBounce.permanent.is_(True)
                )
            )
        }


def waiting_reply_count(session: Session, event_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.event_id == event_id, InboxMessage.state == "waiting")
        )
        or 0
    )


def people_with_answers(store_url: str, event_id: str) -> list[Candidate]:
    """Everyone of the event's roster, active or not, with their current answer."""
    with transaction(store_url) as session:
        answers = current_answers(read_answers(session, event_id))
        attended = attended_ids(session, event_id)
        bounced = bounced_ids(session, event_id)
        opted_out = set(
            session.scalars(select(OptOut.person_id).where(OptOut.event_id == event_id))
        )
        rows = session.execute(
            select(
                Person.id,
                Person.active,
                Person.email,
                Person.role,
                Person.unit,
                Person.district,
                Person.language,
                Person.name,
                Person.phone,
            ).where(Person.event_id == event_id)
        )
        return [
            Candidate(
                person_id=person_id,
                active=active,
                email=email,
                role=role,
                unit=unit,
                district=district,
                language=language,
                answer=answers.get(person_id, "none"),
                attended=person_id in attended,
                opted_out=person_id in opted_out,
                name=name,
                phone=phone,
                bounced=person_id in bounced,
            )
            for person_id, active, email, role, unit, district, language, name, phone in rows
        ]


def insert_ignoring_existing(session: Session, table: Any, rows: list[dict[str, object]]) -> None:
    """Add rows whose unique key is not there yet: two writers adding the same row at once each
    add what is missing, and neither fails on what the other added."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(table).on_conflict_do_nothing(), rows)
