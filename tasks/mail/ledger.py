"""The message ledger in the store: plan a stage, claim batches, record each outcome at once."""

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from logging import Logger, LoggerAdapter
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Update,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from config.event import Event, Stage
from store.db import engine_for, transaction, writers_turn
from store.models import Message, Person, utc_now
from store.queries import insert_ignoring_existing, people_with_answers
from tasks.mail.audience import decide_audience
from tasks.mail.claims import HOST, HeldClaim, Holder, is_gone
from tasks.mail.render import Recipient, message_id_for

EMAIL = "email"
RunLogger = Logger | LoggerAdapter[Any]
COUNTDOWN_STEP_SECONDS = 5.0
UNCLAIMED: dict[str, object] = {
    "claimed_by": None,
    "claimed_at": None,
    "claim_host": None,
    "claim_pid": None,
    "claim_process_start": None,
}


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
    channel: str = EMAIL,
) -> dict[str, object]:
    """A new ledger row; its Message-ID is the same on every resend to that recipient."""
    now = utc_now()
    return {
        "event_id": event_id,
        "stage": stage_id,
        **{RECIPIENT_COLUMNS[one].key: key if one == kind else None for one in RECIPIENT_COLUMNS},
        "channel": channel,
        "status": status,
        "skip_reason": skip_reason,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
        "message_id": message_id_for(
            event_id, stage_id, key if kind == "person" else f"{kind}-{key}", sender_address
        ),
    }


RecipientKind = Literal["person", "media", "coordinator"]
RECIPIENT_COLUMNS = {
    "person": Message.person_id,
    "media": Message.media_contact_id,
    "coordinator": Message.coordinator_id,
}


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
    channel: str = EMAIL,
) -> None:
    """One stage's ledger rows to agree with whom it goes to now, by person or newsroom id: new
    rows for new recipients, skipped ones back to pending, pending ones no longer wanted skipped.
    A row sent stays sent."""
    column = RECIPIENT_COLUMNS[kind]
    existing: dict[int | None, Message] = {
        key: row
        for key, row in session.execute(
            select(column, Message).where(
                Message.event_id == event_id,
                Message.stage == stage_id,
                Message.channel == channel,
                column.is_not(None),
            )
        )
    }
    now = utc_now()
    new_rows: list[dict[str, object]] = []

    def add(key: int, status: str, reason: str | None) -> None:
        new_rows.append(
            ledger_row(event_id, stage_id, sender_address, status, reason, kind, key, channel)
        )

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


def stage_counts(store_url: str, event_id: str, stage_id: str, channel: str = EMAIL) -> StageCounts:
    with transaction(store_url) as session:
        rows = session.execute(
            select(Message.status, Message.failure, Message.skip_reason, func.count())
            .where(
                Message.event_id == event_id,
                Message.stage == stage_id,
                Message.channel == channel,
            )
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
    """Mails a run may take: pending, failed for now (not by this run), or left mid-send. (A
    WhatsApp message goes when a coordinator hands it over, never by a run.)"""
    stale = utc_now() - timedelta(seconds=lease_seconds)
    return and_(
        Message.event_id == event_id,
        Message.stage == stage_id,
        Message.channel == EMAIL,
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
    """Take up to size due messages for this run; others running the same stage skip them, and
    so do this run's other batches, which claim at the same time."""
    with transaction(store_url, writes=True) as session:
        holder = Holder.this_process(run_id)
        ids = claim(session, event_id, stage_id, size, holder, lease_seconds)
        return recipients(session, ids) if ids else []


def claim(
    session: Session,
    event_id: str,
    stage_id: str,
    size: int,
    holder: Holder,
    lease_seconds: float,
) -> list[int]:
    """Mark up to size due rows as the holder's (row locks, SKIP LOCKED on PostgreSQL); first
    give back what a sender on this machine held when its process died."""
    free_abandoned(session, event_id, stage_id)
    ids = list(
        session.scalars(
            select(Message.id)
            .where(due(event_id, stage_id, holder.run_id, lease_seconds))
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
            .values(status="sending", claimed_at=now, updated_at=now, **holder.claim_values())
        )
    return ids


def free_abandoned(session: Session, event_id: str, stage_id: str) -> None:
    """Rows held by a process of this machine that is gone go back to pending at once."""
    holders = session.execute(
        select(Message.claim_pid, Message.claim_process_start)
        .where(
            Message.event_id == event_id,
            Message.stage == stage_id,
            Message.status == "sending",
            Message.claim_host == HOST,
        )
        .distinct()
    ).all()
    for pid, started in holders:
        if is_gone(HOST, pid, started):
            session.execute(
                update(Message)
                .where(
                    Message.event_id == event_id,
                    Message.stage == stage_id,
                    Message.status == "sending",
                    Message.claim_host == HOST,
                    Message.claim_pid == pid,
                )
                .values(status="pending", updated_at=utc_now(), **UNCLAIMED)
            )


def held_elsewhere(store_url: str, event_id: str, stage_id: str, run_id: str) -> list[HeldClaim]:
    """Messages of the stage that other runs hold, by holder."""
    with transaction(store_url) as session:
        rows = session.execute(
            select(
                Message.claimed_by,
                Message.claim_host,
                Message.claim_pid,
                func.count(),
                func.min(Message.updated_at),
                func.max(Message.claimed_at),
            )
            .where(
                Message.event_id == event_id,
                Message.stage == stage_id,
                Message.status == "sending",
                or_(Message.claimed_by.is_(None), Message.claimed_by != run_id),
            )
            .group_by(Message.claimed_by, Message.claim_host, Message.claim_pid)
        ).all()
    return [
        HeldClaim(held_by or "", host or "unknown host", pid, count, since, renewed_at or since)
        for held_by, host, pid, count, since, renewed_at in rows
    ]


def wait_for_holders(
    store_url: str,
    event_id: str,
    stage_id: str,
    run_id: str,
    lease_seconds: float,
    logger: "RunLogger",
) -> tuple[bool, str | None]:
    """What to do about messages other runs hold: (True, None) when their holder fell silent
    and its lease ran out (claim them), else (False, why they stay, or None if none is held).

    A holder on this machine is alive (a dead one's rows were freed when claiming); one on
    another machine is waited for, with a countdown, until its lease runs out, unless it
    renews its claim meanwhile, which only a live sender does."""
    held = held_elsewhere(store_url, event_id, stage_id, run_id)
    if not held:
        return False, None
    if alive := [holder for holder in held if holder.local]:
        return False, "; ".join(holder.describe() for holder in alive)
    last_seen = {holder.run_id: holder.renewed_at for holder in held}
    while True:
        expires = max(holder.renewed_at for holder in held) + timedelta(seconds=lease_seconds)
        left = (expires - utc_now()).total_seconds()
        if left <= 0:
            return True, None
        logger.warning(
            "%d message(s) are held by a run on another machine that has not renewed its claim "
            "since %s UTC: taking them over in %d s unless it does",
            sum(holder.count for holder in held),
            f"{max(holder.renewed_at for holder in held):%H:%M:%S}",
            round(left),
        )
        time.sleep(min(left, COUNTDOWN_STEP_SECONDS))
        held = held_elsewhere(store_url, event_id, stage_id, run_id)
        if not held:
            return True, None
        renewed = [h for h in held if h.renewed_at > last_seen.get(h.run_id, h.renewed_at)]
        if renewed:
            return False, "; ".join(holder.describe() for holder in renewed)


class ClaimKeeper:
    """A live sender's hold on its batch: records each outcome, committed before the next
    message goes, and keeps its claim on the rest, renewed after each outcome and while it waits
    (a rate limit, a backoff), so its lease never runs out while it works.

    One store connection serves the batch: one taken from the pool for each message costs a
    ping before and a rollback after, which on a store across a network are two round trips."""

    def __init__(self, store_url: str, ledger_ids: Sequence[int], lease_seconds: float) -> None:
        self.engine = engine_for(store_url)
        self.held = list(ledger_ids)
        self.every = lease_seconds / 3
        self.renewed = time.monotonic()
        self.connection: Connection | None = None
        # the batches sending at once take turns to write to SQLite, as transaction() has them
        self.one_writer = writers_turn(self.engine)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def sent(self, ledger_id: int) -> None:
        self.record(ledger_id, status="sent", sent_at=utc_now(), failure=None)

    def failed(self, ledger_id: int, failure: str, error: str) -> None:
        self.record(ledger_id, status="failed", failure=failure, last_error=error[:1000])

    def record(self, ledger_id: int, **outcome: object) -> None:
        """One attempt's outcome, committed on its own; the message is no longer held."""
        values = {"last_error": None, **outcome, "updated_at": utc_now()}
        self.execute(
            attempt_statement(tuple(values)),
            {"ledger_id": ledger_id, **{f"new_{name}": value for name, value in values.items()}},
        )
        self.held.remove(ledger_id)
        self.keep_alive()

    def keep_alive(self) -> None:
        """Renew the claim on what is still to send: the lease starts again from now."""
        if time.monotonic() - self.renewed >= self.every:
            if self.held:
                self.execute(
                    update(Message)
                    .where(Message.id.in_(self.held), Message.status == "sending")
                    .values(claimed_at=utc_now())
                )
            self.renewed = time.monotonic()

    def sleep(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            time.sleep(min(left, self.every))
            self.keep_alive()

    def execute(
        self, statement: Executable, parameters: Mapping[str, object] | None = None
    ) -> None:
        """Run and commit; once more on a fresh connection when the store dropped this one (a
        database restarted mid-batch), as a connection taken from the pool would have been."""
        for last_try in (False, True):
            if self.connection is None:
                self.connection = self.engine.connect()
            try:
                with self.one_writer, self.connection.begin():
                    self.connection.execute(statement, parameters)
                return
            except DBAPIError as error:
                self.connection.close()
                self.connection = None
                if last_try or not error.connection_invalidated:
                    raise


@cache
def attempt_statement(columns: tuple[str, ...]) -> Update:
    """The UPDATE recording an attempt, built once: building one costs more than running it."""
    return (
        update(Message)
        .where(Message.id == bindparam("ledger_id"))
        .values(
            {
                **{name: bindparam(f"new_{name}") for name in columns},
                "attempts": Message.attempts + 1,
            }
        )
    )


def release(store_url: str, ledger_ids: list[int]) -> None:
    """Give claimed messages back, unsent, for the next run."""
    if not ledger_ids:
        return
    with transaction(store_url) as session:
        session.execute(
            update(Message)
            .where(Message.id.in_(ledger_ids), Message.status == "sending")
            .values(status="pending", updated_at=utc_now(), **UNCLAIMED)
        )


def sent_in_last_day(store_url: str) -> int:
    """Sent in the last 24 hours, for every event: the quota is per mailbox."""
    with transaction(store_url) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.channel == EMAIL, Message.sent_at >= utc_now() - timedelta(days=1))
            )
            or 0
        )
