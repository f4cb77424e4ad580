"""Replies that wait for a person (questions, unclear ones, and those nobody could be matched
to), and settling them: an answer recorded as the person's reply, or nothing."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.errors import KaryashalaError
from store.db import transaction
from store.models import InboxMessage, Person, Response, utc_now
from store.queries import REPLY_ANSWERS, waiting_reply_count

Settlement = Literal["confirmed", "declined", "deputy", "ignore"]
SETTLEMENTS: tuple[Settlement, ...] = ("confirmed", "declined", "deputy", "ignore")


class SettleError(KaryashalaError):
    """A decision names a reply that does not wait, or a person who is not in the roster."""


class WaitingReply(BaseModel):
    """A reply as ops see it to settle it: who (if known), what they wrote, what it seemed."""

    id: int
    name: str | None = Field(description="The person it came from; None: nobody matched.")
    district: str | None
    role: str | None
    roster_row: int | None
    sender: str | None = Field(description="The sender's address, for a reply nobody matched.")
    seemed: str = Field(description="question or unclear (or an answer, when nobody matched).")
    deputy_name: str | None
    text: str
    sent_at: datetime


class WaitingList(BaseModel):
    """`karyashala replies --event … --json`."""

    event_id: str
    waiting: list[WaitingReply]


@dataclass(frozen=True)
class Decision:
    reply_id: int
    answer: Settlement
    deputy_name: str | None = None
    roster_row: int | None = None


class SettleReport(BaseModel):
    """What settling did: the replies recorded as answers, those set aside, those skipped."""

    event_id: str
    answered: list[int] = Field(default_factory=list)
    ignored: list[int] = Field(default_factory=list)
    skipped: list[int] = Field(
        default_factory=list, description="No longer waiting (settled meanwhile)."
    )
    still_waiting: int = 0


def waiting_replies(store_url: str, event_id: str) -> list[WaitingReply]:
    with transaction(store_url) as session:
        rows = session.execute(
            select(InboxMessage, Person)
            .outerjoin(Person, Person.id == InboxMessage.person_id)
            .where(InboxMessage.event_id == event_id, InboxMessage.state == "waiting")
            .order_by(InboxMessage.sent_at, InboxMessage.id)
        ).all()
        return [
            WaitingReply(
                id=reply.id,
                name=person.name if person else None,
                district=person.district if person else None,
                role=person.role if person else None,
                roster_row=person.source_row if person else None,
                sender=reply.sender if person is None else None,
                seemed=reply.answer or "unclear",
                deputy_name=reply.deputy_name,
                text=reply.new_text or "",
                sent_at=reply.sent_at,
            )
            for reply, person in rows
        ]


def _person_at_row(session: Session, event_id: str, row: int) -> int | None:
    return session.scalar(
        select(Person.id).where(
            Person.event_id == event_id, Person.source_row == row, Person.active.is_(True)
        )
    )


def settle_replies(
    store_url: str, event_id: str, decisions: list[Decision], by: str, skip_settled: bool
) -> SettleReport:
    """Record each decision at once, or none: an unknown reply, one settled already (unless
    skip_settled), a reply nobody matched without a roster row, or a row with nobody on it
    stops them all with what is wrong."""
    report = SettleReport(event_id=event_id)
    with transaction(store_url) as session:
        replies = {
            reply.id: reply
            for reply in session.scalars(
                select(InboxMessage)
                .where(
                    InboxMessage.event_id == event_id,
                    InboxMessage.id.in_([d.reply_id for d in decisions]),
                )
                .with_for_update()
            )
        }
        problems: list[str] = []
        now = utc_now()
        for decision in decisions:
            reply = replies.get(decision.reply_id)
            if reply is None or reply.kind != "reply":
                problems.append(f"reply {decision.reply_id} is not a reply of {event_id}")
                continue
            if reply.state != "waiting":
                if skip_settled:
                    report.skipped.append(reply.id)
                else:
                    problems.append(f"reply {reply.id} does not wait any more ({reply.state})")
                continue
            if decision.answer == "ignore":
                reply.state, reply.settled_as = "settled", "ignore"
                reply.settled_by, reply.settled_at = by, now
                report.ignored.append(reply.id)
                continue
            person_id = reply.person_id
            if decision.roster_row is not None:
                person_id = _person_at_row(session, event_id, decision.roster_row)
                if person_id is None:
                    problems.append(
                        f"reply {reply.id}: nobody active is in roster row {decision.roster_row}"
                    )
                    continue
            if person_id is None:
                problems.append(
                    f"reply {reply.id} came from nobody in the roster: give the roster row of "
                    "the person who wrote it"
                )
                continue
            response = Response(
                event_id=event_id,
                person_id=person_id,
                channel="reply",
                answer=REPLY_ANSWERS[decision.answer],
                deputy_name=(decision.deputy_name or "").strip()[:120] or reply.deputy_name,
                raw_text=reply.new_text,
                received_at=reply.sent_at,
            )
            session.add(response)
            session.flush()
            reply.person_id, reply.response_id = person_id, response.id
            reply.state, reply.settled_as = "settled", decision.answer
            reply.settled_by, reply.settled_at = by, now
            report.answered.append(reply.id)
        if problems:
            raise SettleError("Nothing was recorded: " + "; ".join(problems) + ".")
        report.still_waiting = waiting_reply_count(session, event_id)
    return report
