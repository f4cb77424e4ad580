"""The WhatsApp channel in the message ledger: plan it, list a coordinator's people, and record
a hand-off exactly once, whoever taps first."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from config.event import Event, Stage
from store.db import transaction
from store.models import Coordinator as CoordinatorRow
from store.models import Message, Person, utc_now
from store.queries import people_with_answers
from tasks.common.districts import load_districts
from tasks.mail.ledger import StageCounts, apply_plan, stage_counts
from tasks.whatsapp.message import WhatsAppRecipient
from tasks.whatsapp.plan import CoordinatorMap, coordinator_key, coordinator_map, decide_whatsapp

WHATSAPP = "whatsapp"


def coordinator_stage(stage_id: str) -> str:
    """The ledger's stage for the mails that give coordinators their page of a stage."""
    return f"coordinators-{stage_id}"


@dataclass(frozen=True)
class Planned:
    counts: StageCounts
    coordinators: CoordinatorMap


def plan_whatsapp(store_url: str, event: Event, stage: Stage, sender_address: str) -> Planned:
    """Make the stage's WhatsApp rows agree with who it is for now (a hand-off stays done), and
    give each coordinator who has people to message a row for the mail with their page's link."""
    catalog = load_districts(event.districts)
    coordinators = coordinator_map(event, catalog)
    candidates = people_with_answers(store_url, event.id)
    decision = decide_whatsapp(candidates, stage)
    districts = {one.person_id: one.district for one in candidates}
    needed = {
        coordinator_key(coordinator)
        for person_id in decision.send_to
        for coordinator in coordinators.covering(districts[person_id])
    }
    with transaction(store_url) as session:
        apply_plan(
            session,
            event.id,
            stage.id,
            sender_address,
            "person",
            decision.send_to,
            decision.skipped,
            channel=WHATSAPP,
        )
        known = {
            row.key: row
            for row in session.scalars(
                select(CoordinatorRow).where(CoordinatorRow.event_id == event.id)
            )
        }
        listed = {coordinator_key(one): one for one in event.coordinators}
        for key, coordinator in listed.items():
            row = known.get(key)
            if row is None:
                row = known[key] = CoordinatorRow(event_id=event.id, key=key)
                session.add(row)
            row.name, row.email = coordinator.name, coordinator.email
        for key, row in known.items():
            row.active = key in listed
        session.flush()
        wanted = [row.id for key, row in known.items() if row.active and key in needed]
        apply_plan(
            session,
            event.id,
            coordinator_stage(stage.id),
            sender_address,
            "coordinator",
            wanted,
            {},
        )
    return Planned(stage_counts(store_url, event.id, stage.id, WHATSAPP), coordinators)


@dataclass(frozen=True)
class QueuedMessage:
    """One person's WhatsApp message of a stage, and whether it was handed over."""

    ledger_id: int
    recipient: WhatsAppRecipient
    handed_over_by: str | None
    handed_over_at: datetime | None

    @property
    def handed_over(self) -> bool:
        return self.handed_over_at is not None


def whatsapp_queue(
    store_url: str, event_id: str, stage_id: str, ledger_ids: Sequence[int] | None = None
) -> list[QueuedMessage]:
    """The stage's WhatsApp messages that are due or handed over, in roster order."""
    query = (
        select(
            Message.id,
            Person.id,
            Person.name,
            Person.role,
            Person.district,
            Person.language,
            Person.phone,
            CoordinatorRow.name,
            Message.sent_at,
        )
        .join(Person, Person.id == Message.person_id)
        .outerjoin(CoordinatorRow, CoordinatorRow.id == Message.handed_over_by)
        .where(
            Message.event_id == event_id,
            Message.stage == stage_id,
            Message.channel == WHATSAPP,
            Message.status.in_(("pending", "sent")),
        )
        .order_by(Person.source_row, Person.id)
    )
    if ledger_ids is not None:
        query = query.where(Message.id.in_(ledger_ids))
    with transaction(store_url) as session:
        rows = session.execute(query).all()
    return [
        QueuedMessage(
            ledger_id=ledger_id,
            recipient=WhatsAppRecipient(person_id, name, role, district, language, phone or ""),
            handed_over_by=by,
            handed_over_at=at,
        )
        for ledger_id, person_id, name, role, district, language, phone, by, at in rows
    ]


@dataclass(frozen=True)
class HandOff:
    message: QueuedMessage
    by_this_tap: bool


def record_handoff(
    store_url: str, event_id: str, stage_id: str, ledger_id: int, coordinator: str
) -> HandOff | None:
    """Mark the message handed over by this coordinator (by key) unless someone did first: only
    the first tap sends. None when the stage has no such message."""
    with transaction(store_url) as session:
        coordinator_id = session.scalar(
            select(CoordinatorRow.id).where(
                CoordinatorRow.event_id == event_id, CoordinatorRow.key == coordinator
            )
        )
        now = utc_now()
        taken = session.scalar(
            update(Message)
            .where(
                Message.id == ledger_id,
                Message.event_id == event_id,
                Message.stage == stage_id,
                Message.channel == WHATSAPP,
                Message.status == "pending",
            )
            .values(
                status="sent",
                sent_at=now,
                updated_at=now,
                attempts=Message.attempts + 1,
                handed_over_by=coordinator_id,
            )
            .returning(Message.id)
        )
    found = whatsapp_queue(store_url, event_id, stage_id, [ledger_id])
    return HandOff(found[0], by_this_tap=taken is not None) if found else None
