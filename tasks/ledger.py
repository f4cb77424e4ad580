"""The message ledger in the store: plan a stage, claim batches, record each outcome at once."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from config.event import Event, Stage
from store.db import engine_for, transaction
from store.models import Attendance, Message, OptOut, Person, Response, utc_now
from tasks.audience import Answer, Candidate, current_answers, decide_audience
from tasks.mail_render import Recipient, message_id_for

EMAIL = "email"


@dataclass(frozen=True)
class StageCounts:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failed_permanent: int = 0


def load_candidates(session_url: str, event_id: str) -> list[Candidate]:
    with transaction(session_url) as session:
        answers = current_answers(
            Answer(person_id, answer, channel, received_at)
            for person_id, answer, channel, received_at in session.execute(
                select(
                    Response.person_id, Response.answer, Response.channel, Response.received_at
                ).where(Response.event_id == event_id)
            )
        )
        attended = set(
            session.scalars(
                select(Attendance.person_id).where(
                    Attendance.event_id == event_id, Attendance.person_id.is_not(None)
                )
            )
        )
        opted_out = set(
            session.scalars(select(OptOut.person_id).where(OptOut.event_id == event_id))
        )
        rows = session.execute(
            select(
                Person.id, Person.active, Person.email, Person.role, Person.unit,
                Person.district, Person.language, Person.name, Person.phone,
            ).where(Person.event_id == event_id)
        )  # fmt: skip
        return [
            Candidate(
                person_id=person_id, active=active, email=email, role=role, unit=unit,
                district=district, language=language, answer=answers.get(person_id, "none"),
                attended=person_id in attended, opted_out=person_id in opted_out, name=name,
                phone=phone,
            )
            for person_id, active, email, role, unit, district, language, name, phone in rows
        ]  # fmt: skip


def ledger_row(
    event_id: str, stage_id: str, sender_address: str, status: str, skip_reason: str | None,
    person_id: int | None = None, media_contact_id: int | None = None,
) -> dict[str, object]:  # fmt: skip
    recipient = person_id if person_id is not None else f"media-{media_contact_id}"
    return {
        "event_id": event_id, "stage": stage_id, "person_id": person_id,
        "media_contact_id": media_contact_id, "channel": EMAIL, "status": status,
        "skip_reason": skip_reason, "attempts": 0, "created_at": utc_now(),
        "updated_at": utc_now(),
        "message_id": message_id_for(event_id, stage_id, recipient, sender_address),
    }  # fmt: skip


def insert_new(session: Session, rows: list[dict[str, object]]) -> None:
    """Add ledger rows that are not there yet: two runs planning one stage at once each add
    what is missing, and neither fails on what the other added."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(Message).on_conflict_do_nothing(), rows)


@task(name="plan-stage", cache_policy=NO_CACHE)
def plan_stage(url: str, event: Event, stage: Stage, sender_address: str) -> StageCounts:
    """Make the ledger agree with the audience now; what was sent stays sent."""
    decision = decide_audience(load_candidates(url, event.id), stage.audience)
    now = utc_now()
    new_rows: list[dict[str, object]] = []
    with transaction(url) as session:
        existing = {
            row.person_id: row
            for row in session.scalars(
                select(Message).where(
                    Message.event_id == event.id,
                    Message.stage == stage.id,
                    Message.channel == EMAIL,
                )
            )
        }
        for person_id in decision.send_to:
            row = existing.get(person_id)
            if row is None:
                new_rows.append(
                    ledger_row(event.id, stage.id, sender_address, "pending", None, person_id)
                )
            elif row.status == "skipped":
                row.status, row.skip_reason, row.updated_at = "pending", None, now
        for person_id, reason in decision.skipped.items():
            row = existing.get(person_id)
            if row is None:
                new_rows.append(
                    ledger_row(event.id, stage.id, sender_address, "skipped", reason, person_id)
                )
            elif row.status in ("pending", "failed", "skipped"):
                row.status, row.skip_reason, row.updated_at = "skipped", reason, now
        wanted = set(decision.send_to) | set(decision.skipped)
        for known, row in existing.items():
            if known not in wanted and row.status == "pending":
                row.status, row.skip_reason = "skipped", "no_longer_in_audience"
                row.updated_at = now
        insert_new(session, new_rows)
    return stage_counts(url, event.id, stage.id)


def stage_counts(url: str, event_id: str, stage_id: str) -> StageCounts:
    with transaction(url) as session:
        rows = session.execute(
            select(Message.status, Message.failure, Message.skip_reason, func.count())
            .where(Message.event_id == event_id, Message.stage == stage_id)
            .group_by(Message.status, Message.failure, Message.skip_reason)
        ).all()
    by_status: Counter[str] = Counter()
    skipped: dict[str, int] = {}
    permanent = 0
    for status, failure, reason, count in rows:
        by_status[status] += count
        if status == "skipped":
            skipped[reason or "unknown"] = skipped.get(reason or "unknown", 0) + count
        if status == "failed" and failure == "permanent":
            permanent += count
    return StageCounts(
        sent=by_status["sent"],
        failed=by_status["failed"],
        pending=by_status["pending"] + by_status["sending"],
        skipped=skipped,
        failed_permanent=permanent,
    )


def due(event_id: str, stage_id: str, run_id: str, lease_seconds: float) -> ColumnElement[bool]:
    """Messages a run may take: pending, failed for now (not by this run), or left mid-send."""
    stale = utc_now() - timedelta(seconds=lease_seconds)
    return and_(
        Message.event_id == event_id,
        Message.stage == stage_id,
        or_(
            Message.status == "pending",
            and_(
                Message.status == "failed",
                Message.failure == "transient",
                or_(Message.claimed_by.is_(None), Message.claimed_by != run_id),
            ),
            and_(Message.status == "sending", Message.claimed_at < stale),
        ),
    )


def recipients(session: Session, ledger_ids: list[int]) -> list[Recipient]:
    rows = session.execute(
        select(
            Message.id, Person.id, Person.name, Person.role, Person.district,
            Person.email, Person.language, Message.message_id,
        )
        .join(Person, Person.id == Message.person_id)
        .where(Message.id.in_(ledger_ids))
        .order_by(Message.id)
    )  # fmt: skip
    return [
        Recipient(
            ledger_id=ledger_id, person_id=person_id, name=name, role=role, district=district,
            email=email or "", language=language, message_id=message_id,
        )
        for ledger_id, person_id, name, role, district, email, language, message_id in rows
    ]  # fmt: skip


def due_recipients(url: str, event_id: str, stage_id: str, lease_seconds: float) -> list[Recipient]:
    """What a run would send now, without claiming it (for previews)."""
    with transaction(url) as session:
        ids = list(
            session.scalars(select(Message.id).where(due(event_id, stage_id, "", lease_seconds)))
        )
        return recipients(session, ids)


@task(name="claim-batch", cache_policy=NO_CACHE)
def claim_batch(
    url: str, event_id: str, stage_id: str, size: int, run_id: str, lease_seconds: float
) -> list[Recipient]:
    """Take up to size due messages for this run; others running the same stage skip them."""
    with transaction(url) as session:
        ids = claim(session, event_id, stage_id, size, run_id, lease_seconds)
        return recipients(session, ids) if ids else []


def claim(
    session: Session, event_id: str, stage_id: str, size: int, run_id: str, lease_seconds: float
) -> list[int]:
    """Mark up to size due rows as this run's (row locks, SKIP LOCKED on PostgreSQL)."""
    ids = list(
        session.scalars(
            select(Message.id)
            .where(due(event_id, stage_id, run_id, lease_seconds))
            .order_by(Message.id)
            .limit(size)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        now = utc_now()
        session.execute(
            update(Message)
            .where(Message.id.in_(ids))
            .values(status="sending", claimed_by=run_id, claimed_at=now, updated_at=now)
        )
    return ids


def record_sent(url: str, ledger_id: int) -> None:
    now = utc_now()
    with engine_for(url).begin() as connection:
        connection.execute(
            update(Message)
            .where(Message.id == ledger_id)
            .values(
                status="sent", sent_at=now, updated_at=now, failure=None, last_error=None,
                attempts=Message.attempts + 1,
            )
        )  # fmt: skip


def record_failure(url: str, ledger_id: int, failure: str, error: str) -> None:
    with engine_for(url).begin() as connection:
        connection.execute(
            update(Message)
            .where(Message.id == ledger_id)
            .values(
                status="failed", failure=failure, last_error=error[:1000],
                attempts=Message.attempts + 1, updated_at=utc_now(),
            )
        )  # fmt: skip


def release(url: str, ledger_ids: list[int]) -> None:
    """Give claimed messages back, unsent, for the next run."""
    if not ledger_ids:
        return
    with transaction(url) as session:
        session.execute(
            update(Message)
            .where(Message.id.in_(ledger_ids), Message.status == "sending")
            .values(status="pending", claimed_by=None, claimed_at=None, updated_at=utc_now())
        )


def sent_in_last_day(url: str) -> int:
    """Sent in the last 24 hours, for every event: the quota is per mailbox."""
    with transaction(url) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.sent_at >= utc_now() - timedelta(days=1))
            )
            or 0
        )
