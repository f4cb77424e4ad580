"""Each coordinator's page of people for a stage, and the mail that gives them its link, once
per stage through the message ledger."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.mime.multipart import MIMEMultipart

from sqlalchemy import select

from config import TEMPLATES_DIR
from config.event import Event, Stage
from config.settings import Settings, load_settings
from store.db import transaction
from store.models import Coordinator as CoordinatorRow
from store.models import Message, utc_now
from tasks.common.districts import load_districts
from tasks.common.templating import environment
from tasks.common.tokens import sign_coordinator_link
from tasks.mail.claims import Holder
from tasks.mail.ledger import RunLogger, claim
from tasks.mail.render import Sender, address_message, message_language, text_part
from tasks.mail.smtp import BatchResult, deliver, sender_for
from tasks.whatsapp.handoff import QueuedMessage, coordinator_stage
from tasks.whatsapp.plan import CoordinatorMap, coordinator_key

NO_DISTRICT = "(no district)"


def coordinator_page(sender: Sender, event_id: str, stage_id: str, key: str) -> str:
    token = sign_coordinator_link(sender.signing_key, event_id, stage_id, key)
    return f"{sender.public_url.rstrip('/')}/w/{token}"


def people_by_coordinator(
    event: Event, coordinators: CoordinatorMap, queue: Sequence[QueuedMessage]
) -> Counter[str]:
    """How many messages of the queue are on each coordinator's page, by coordinator key."""
    counts: Counter[str] = Counter()
    for message in queue:
        for coordinator in coordinators.covering(message.recipient.district):
            counts[coordinator_key(coordinator)] += 1
    return counts


@dataclass(frozen=True)
class CoordinatorMail:
    ledger_id: int
    key: str
    name: str
    email: str
    message_id: str


def claim_coordinator_mails(
    store_url: str, event_id: str, stage_id: str, run_id: str, settings: Settings
) -> list[CoordinatorMail]:
    with transaction(store_url) as session:
        holder = Holder.this_process(run_id)
        stage = coordinator_stage(stage_id)
        ids = claim(session, event_id, stage, 10_000, holder, settings.claim_lease_seconds)
        rows = session.execute(
            select(
                Message.id,
                CoordinatorRow.key,
                CoordinatorRow.name,
                CoordinatorRow.email,
                Message.message_id,
            )
            .join(CoordinatorRow, CoordinatorRow.id == Message.coordinator_id)
            .where(Message.id.in_(ids))
            .order_by(Message.id)
        )
        return [CoordinatorMail(*row) for row in rows]


def coordinator_message(
    event: Event, stage: Stage, mail: CoordinatorMail, people: int, sender: Sender, now: datetime
) -> MIMEMultipart:
    """The coordinator's mail, in their language, with the link to their page."""
    listed = next(one for one in event.coordinators if coordinator_key(one) == mail.key)
    language = message_language(listed.language)
    context = {
        "event": event,
        "stage": stage,
        "lang": language,
        "t": lambda text: getattr(text, language),
        "coordinator": mail.name,
        "people": people,
        "page": coordinator_page(sender, event.id, stage.id, mail.key),
        "starts_at": event.starts_at,
        "month_spelling": sender.month_spelling,
    }
    env = environment(TEMPLATES_DIR)
    folder = f"whatsapp/coordinator/{language}"
    subject = env.get_template(f"{folder}/subject.txt.j2").render(context)
    message = MIMEMultipart("alternative")
    message.attach(text_part(env.get_template(f"{folder}/body.txt.j2").render(context), "plain"))
    address_message(
        message,
        event,
        coordinator_stage(stage.id),
        sender,
        language,
        (mail.name, mail.email),
        subject,
        mail.message_id,
        now,
    )
    return message


def mail_coordinator_pages(
    store_url: str,
    event: Event,
    stage: Stage,
    people: Counter[str],
    run_id: str,
    logger: RunLogger,
) -> BatchResult:
    """Each coordinator with people to message gets the link to their page, once per stage."""
    settings = load_settings()
    sender = sender_for(settings)
    now = utc_now()
    mails = claim_coordinator_mails(store_url, event.id, stage.id, run_id, settings)
    return deliver(
        store_url,
        settings,
        mails,
        lambda mail: coordinator_message(event, stage, mail, people[mail.key], sender, now),
        logger,
        settings.claim_lease_seconds,
    )


def coordinator_pages(
    event: Event,
    stage: Stage,
    coordinators: CoordinatorMap,
    queue: Sequence[QueuedMessage],
    sender: Sender,
) -> dict[str, str]:
    """The page of the first coordinator of each district that has people in the queue (its
    own before one for every district), by district (as the district list names it, or as the
    roster wrote it; NO_DISTRICT for people with none); a district that no coordinator covers
    has none, and ops send its messages from the links themselves."""
    catalog = load_districts(event.districts)
    pages: dict[str, str] = {}
    for message in queue:
        written = message.recipient.district
        covering = coordinators.covering(written)
        if not covering:
            continue
        coordinator = covering[0]
        known = catalog.canonical(written or "")
        district = known.en if known else (written or NO_DISTRICT)
        pages[district] = coordinator_page(sender, event.id, stage.id, coordinator_key(coordinator))
    return dict(sorted(pages.items()))
