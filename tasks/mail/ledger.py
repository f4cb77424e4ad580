"""The message ledger in the store: plan a stage, claim batches, record each outcome at once."""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from config.event import Event, Stage
from store.db import engine_for, transaction
from store.models import Message, Person, utc_now
from store.queries import insert_ignoring_existing, people_with_answers
from tasks.mail.audience import decide_audience
from tasks.mail.render import Recipient, message_id_for

EMAIL = "email"


@dataclass(frozen=True)
class StageCounts:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failed_permanent: int = 0


def ledger_row(
    event_id: str,
    stage_id: str,
    sender_address: str,
    status: str,
    skip_reason: str | None,
    kind: "RecipientKind",
    key: int,
) -> dict[str, object]:
    """A new ledger row; its Message-ID is the same on every resend to that recipient."""
    now = utc_now()
    return {
        "event_id": event_id,
        "stage": stage_id,
        "person_id": key if kind == "person" else None,
        "media_contact_id": key if kind == "media" else None,
        "channel": EMAIL,
        "status": status,
        "skip_reason": skip_reason,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
        "message_id": message_id_for(
            event_id, stage_id, key if kind == "person" else f"media-{key}", sender_address
        ),
    }


RecipientKind = Literal["person", "media"]


def plan_stage(store_url: str, event: Event, stage: Stage, sender_address: str) -> StageCounts:
    """Make the ledger agree with the stage's audience now; what was sent stays sent."""
    decision = decide_audience(people_with_answers(store_url, event.id), stage.audience)
    with transaction(store_url) as session:
        apply_plan(
            session,
            event.id,
            stage.id,
            sender_address,
            "person",
            decision.send_to,
            decision.skipped,
        )
    return stage_counts(store_url, event.id, stage.id)


def apply_plan(
    session: Session,
    event_id: str,
    stage_id: str,
    sender_address: str,
    kind: RecipientKind,
    send_to: Sequence[int],
    skipped: Mapping[int, str],
) -> None:
    """One stage's ledger rows to agree with whom it goes to now, by person or newsroom id: new
    rows for new recipients, skipped ones back to pending, pending ones no longer wanted skipped.
    A row sent stays sent."""
    column = Message.person_id if kind == "person" else Message.media_contact_id
    existing: dict[int | None, Message] = {
        key: row
        for key, row in session.execute(
            select(column, Message).where(
                Message.event_id == event_id, Message.stage == stage_id, Message.channel == EMAIL
            )
        )
    }
    now = utc_now()
    new_rows: list[dict[str, object]] = []

    def add(key: int, status: str, reason: str | None) -> None:
        new_rows.append(ledger_row(event_id, stage_id, sender_address, status, reason, kind, key))

    for key in send_to:
        row = existing.get(key)
        if row is None:
            add(key, "pending", None)
        elif row.status == "skipped":
            row.status, row.skip_reason, row.updated_at = "pending", None, now
    for key, reason in skipped.items():
        row = existing.get(key)
        if row is None:
            add(key, "skipped", reason)
        elif row.status in ("pending", "failed", "skipped"):
            row.status, row.skip_reason, row.updated_at = "skipped", reason, now
    wanted = set(send_to) | set(skipped)
    for known, row in existing.items():
        if known not in wanted and row.status == "pending":
            row.status, row.skip_reason, row.updated_at = "skipped", "no_longer_in_audience", now
    insert_ignoring_existing(session, Message, new_rows)


def stage_counts(store_url: str, event_id: str, stage_id: str) -> StageCounts:
    with transaction(store_url) as session:
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
            Message.id,
            Person.id,
            Person.name,
            Person.role,
            Person.district,
            Person.email,
            Person.language,
            Message.message_id,
        )
        .join(Person, Person.id == Message.person_id)
        .where(Message.id.in_(ledger_ids))
        .order_by(Message.id)
    )
    return [
        Recipient(
            ledger_id=ledger_id,
            person_id=person_id,
            name=name,
            role=role,
            district=district,
            email=email or "",
            language=language,
            message_id=message_id,
        )
        for ledger_id, person_id, name, role, district, email, language, message_id in rows
    ]


def due_recipients(
    store_url: str, event_id: str, stage_id: str, lease_seconds: float
) -> list[Recipient]:
    """What a run would send now, without claiming it (for previews)."""
    with transaction(store_url) as session:
        ids = list(
            session.scalars(select(Message.id).where(due(event_id, stage_id, "", lease_seconds)))
        )
        return recipients(session, ids)


def claim_batch(
    store_url: str, event_id: str, stage_id: str, size: int, run_id: str, lease_seconds: float
) -> list[Recipient]:
    """Take up to size due messages for this run; others running the same stage skip them."""
    with transaction(store_url) as session:
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


def record_sent(store_url: str, ledger_id: int) -> None:
    record_attempt(store_url, ledger_id, status="sent", sent_at=utc_now(), failure=None)


def record_failure(store_url: str, ledger_id: int, failure: str, error: str) -> None:
    record_attempt(store_url, ledger_id, status="failed", failure=failure, last_error=error[:1000])


def record_attempt(store_url: str, ledger_id: int, **outcome: object) -> None:
    """One attempt's outcome, committed on its own before the next message goes."""
    values = {"last_error": None, **outcome}
    with engine_for(store_url).begin() as connection:
        connection.execute(
            update(Message)
            .where(Message.id == ledger_id)
            .values(**values, attempts=Message.attempts + 1, updated_at=utc_now())
        )


def release(store_url: str, ledger_ids: list[int]) -> None:
    """Give claimed messages back, unsent, for the next run."""
    if not ledger_ids:
        return
    with transaction(store_url) as session:
        session.execute(
            update(Message)
            .where(Message.id.in_(ledger_ids), Message.status == "sending")
            .values(status="pending", claimed_by=None, claimed_at=None, updated_at=utc_now())
        )


def sent_in_last_day(store_url: str) -> int:
    """Sent in the last 24 hours, for every event: the quota is per mailbox."""
    with transaction(store_url) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.sent_at >= utc_now() - timedelta(days=1))
            )
            or 0
        )
