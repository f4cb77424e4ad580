"""The mails of the reply inbox into the store: a reply to its person (by the Message-ID it
answers, else by its sender), a confident answer as a response, the rest waiting for a person;
a bounce's addresses, a permanent one on the ledger; auto-replies only noted. A batch is one
transaction; a mail already in the store (read before a crash) changes nothing again."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from store.db import transaction
from store.models import InboxMessage, MailBounce, Message, Person, Response, utc_now
from store.queries import REPLY_ANSWERS
from tasks.replies.classify import Classification
from tasks.replies.mail import InboxMail, ReadMail, read_mail

BOUNCED = "bounced"
EMAIL = "email"  # the ledger's channel of mail; a bounce says nothing of the others
BOUNCE_NOTE = "mail bounced: the address does not exist or refuses mail (reply inbox)"


@dataclass
class InboxCounts:
    """What one reading of the inbox found; the waiting total is over all reads."""

    mails_read: int = 0
    new_answers: int = 0
    waiting: int = 0
    unmatched: int = 0
    bounced: int = 0
    delayed: int = 0
    auto_replies: int = 0

    def add(self, other: "InboxCounts") -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class RecordedBatch:
    """The UIDs whose outcome is in the store (to be marked), and what was new among them."""

    done: list[str] = field(default_factory=list)
    counts: InboxCounts = field(default_factory=InboxCounts)


@dataclass(frozen=True)
class LedgerMatch:
    event_id: str
    person_id: int | None
    ledger_id: int


def address_forms(address: str) -> set[str]:
    """The address as typed, and with its domain in the other IDNA form."""
    local, _, domain = address.strip().lower().rpartition("@")
    forms = {address.strip().lower()}
    try:
        if domain.isascii() and "xn--" in domain:
            forms.add(f"{local}@{domain.encode('ascii').decode('idna')}")
        elif not domain.isascii():
            forms.add(f"{local}@{domain.encode('idna').decode('ascii')}")
    except UnicodeError:
        pass
    return forms


def first_mail_day(store_url: str, event_id: str) -> date | None:
    """The day before the event's first mail went out: no reply can be older (None: nothing
    was sent yet, so there is nothing to read)."""
    with transaction(store_url) as session:
        first = session.scalar(
            select(func.min(Message.sent_at)).where(Message.event_id == event_id)
        )
    return (first - timedelta(days=1)).date() if first is not None else None


def _ledger(session: Session, references: Iterable[str]) -> dict[str, LedgerMatch]:
    wanted = sorted(set(references))
    if not wanted:
        return {}
    rows = session.execute(
        select(Message.message_id, Message.event_id, Message.person_id, Message.id).where(
            Message.message_id.in_(wanted), Message.channel == EMAIL
        )
    )
    return {mid: LedgerMatch(event, person, ledger) for mid, event, person, ledger in rows}


def _people_by_address(
    session: Session, event_id: str, addresses: set[str]
) -> dict[str, tuple[int, str]]:
    """Each address (as a mail names it) of a person of the roster: their id and the address
    as the roster has it."""
    forms = {form: address for address in addresses for form in address_forms(address)}
    if not forms:
        return {}
    rows = session.execute(
        select(Person.email, Person.id).where(
            Person.event_id == event_id, func.lower(Person.email).in_(sorted(forms))
        )
    )
    return {forms[email.lower()]: (person_id, email) for email, person_id in rows if email}


def _mark_bounced(
    session: Session, event_id: str, person_id: int, ledger_ids: list[int], now: datetime
) -> None:
    """The mail that bounced failed, with the reason `bounced`; later stages skip the person
    while the roster keeps that address (store.queries)."""
    if not ledger_ids:
        latest = session.scalar(
            select(Message.id)
            .where(
                Message.event_id == event_id,
                Message.person_id == person_id,
                Message.channel == EMAIL,
                Message.status == "sent",
            )
            .order_by(Message.sent_at.desc())
            .limit(1)
        )
        ledger_ids = [latest] if latest is not None else []
    if ledger_ids:
        session.execute(
            update(Message)
            .where(Message.id.in_(ledger_ids), Message.status == "sent")
            .values(status="failed", failure=BOUNCED, last_error=BOUNCE_NOTE, updated_at=now)
        )


def _record_bounce(
    session: Session,
    event_id: str,
    row: InboxMessage,
    mail: ReadMail,
    people: dict[str, tuple[int, str]],
    ours: list[LedgerMatch],
    counts: InboxCounts,
) -> None:
    found = mail.classification
    now = utc_now()
    named = [(a, True) for a in found.bounced] + [(a, False) for a in found.delayed]
    referenced = {m.person_id for m in ours if m.person_id is not None}
    for address, permanent in named:
        person_id, roster_address = people.get(address, (None, address))
        if person_id is None and len(named) == 1 and len(referenced) == 1:
            person_id = next(iter(referenced))
        session.add(
            MailBounce(
                event_id=event_id,
                inbox_message_id=row.id,
                person_id=person_id,
                address=roster_address,
                permanent=permanent,
                received_at=now,
            )
        )
        if permanent:
            counts.bounced += 1
            if person_id is not None:
                ledger_ids = [m.ledger_id for m in ours if m.person_id == person_id]
                _mark_bounced(session, event_id, person_id, ledger_ids, now)
        else:
            counts.delayed += 1


def _record_reply(
    session: Session,
    event_id: str,
    row: InboxMessage,
    found: Classification,
    counts: InboxCounts,
) -> None:
    answer = REPLY_ANSWERS.get(found.answer or "")
    if row.person_id is None or answer is None:
        row.state = "waiting"
        counts.waiting += 1
        counts.unmatched += row.person_id is None
        return
    response = Response(
        event_id=event_id,
        person_id=row.person_id,
        channel="reply",
        answer=answer,
        deputy_name=found.deputy_name,
        raw_text=found.new_text,
        received_at=row.sent_at,
    )
    session.add(response)
    session.flush()
    row.response_id, row.state = response.id, "answered"
    counts.new_answers += 1


def _read_all(mails: list[InboxMail]) -> list[ReadMail]:
    return [read_mail(mail) for mail in mails]


def record_mails(store_url: str, event_id: str, mails: list[InboxMail]) -> RecordedBatch:
    """Every mail of the batch that is this event's, or nobody's, into the store at once. A
    mail that answers another event's Message-ID is left for that event's run."""
    read = _read_all(mails)
    result = RecordedBatch()
    now = utc_now()
    with transaction(store_url) as session:
        known = set(
            session.scalars(
                select(InboxMessage.mail_key).where(
                    InboxMessage.event_id == event_id,
                    InboxMessage.mail_key.in_(sorted({m.key for m in read})),
                )
            )
        )
        ledger = _ledger(session, (ref for mail in read for ref in mail.references))
        addresses = {
            address
            for mail in read
            for address in (*mail.classification.bounced, *mail.classification.delayed)
        }
        addresses |= {m.sender for m in read if m.sender}
        people = _people_by_address(session, event_id, addresses)
        for mail in read:
            matches = [ledger[ref] for ref in mail.references if ref in ledger]
            ours = [match for match in matches if match.event_id == event_id]
            if matches and not ours:
                continue
            result.done.append(mail.uid)
            if mail.key in known:
                continue
            known.add(mail.key)
            result.counts.mails_read += 1
            found = mail.classification
            by_reference = next((m.person_id for m in ours if m.person_id is not None), None)
            by_sender = (
                people.get(mail.sender or "", (None, ""))[0] if found.kind == "reply" else None
            )
            row = InboxMessage(
                event_id=event_id,
                mail_key=mail.key,
                kind=found.kind,
                person_id=by_reference or by_sender,
                matched_by="message_id" if by_reference else "sender" if by_sender else None,
                sender=mail.sender if found.kind == "reply" else None,
                answer=found.answer,
                deputy_name=found.deputy_name,
                new_text=found.new_text or None,
                state="ignored",
                sent_at=min(mail.sent_at or now, now),
                read_at=now,
            )
            session.add(row)
            session.flush()
            if found.kind == "bounce":
                row.state = "recorded"
                _record_bounce(session, event_id, row, mail, people, ours, result.counts)
            elif found.kind == "reply":
                _record_reply(session, event_id, row, found, result.counts)
            else:
                result.counts.auto_replies += 1
    return result
