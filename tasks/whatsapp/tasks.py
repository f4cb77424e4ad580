"""The WhatsApp concern's Prefect tasks, and the hand-off that a stage's flow calls: each task a
thin wrapper of a plain function."""

from collections import Counter
from typing import Protocol

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from config.event import Event, Stage
from config.settings import Settings
from tasks.common.task_inputs import untraversed
from tasks.mail.ledger import StageCounts, stage_counts
from tasks.mail.smtp import BatchResult, sender_for
from tasks.whatsapp.coordinators import mail_coordinator_pages, people_by_coordinator
from tasks.whatsapp.handoff import WHATSAPP, Planned, plan_whatsapp, whatsapp_queue
from tasks.whatsapp.message import whatsapp_link
from tasks.whatsapp.report import WhatsAppReport
from tasks.whatsapp.sheet import whatsapp_sheet_rows, write_whatsapp_links

plan_whatsapp_channel = task(name="plan-whatsapp", cache_policy=NO_CACHE)(plan_whatsapp)
write_links = task(name="write-whatsapp-links", cache_policy=NO_CACHE)(write_whatsapp_links)


@task(name="mail-coordinator-pages", cache_policy=NO_CACHE)
def mail_coordinators(
    store_url: str, event: Event, stage: Stage, people: Counter[str], run_id: str
) -> BatchResult:
    """Each coordinator with messages still to send gets their page's link, once per stage."""
    return mail_coordinator_pages(store_url, event, stage, people, run_id, get_run_logger())


def whatsapp_report(
    counts: StageCounts, mails: BatchResult | None = None, links_written_to: str | None = None
) -> WhatsAppReport:
    return WhatsAppReport(
        people=counts.sent + counts.pending,
        handed_over=counts.sent,
        waiting=counts.pending,
        skipped=counts.skipped,
        coordinator_mails_sent=mails.sent if mails else 0,
        links_written_to=links_written_to,
    )


class WhatsAppSender(Protocol):
    """How a planned stage's WhatsApp messages leave. CoordinatorHandOff gives them to the
    district coordinators' own phones; a sender through an API would send each and record it
    sent, behind this same call."""

    def deliver(
        self, event: Event, stage: Stage, planned: Planned, settings: Settings, run_id: str
    ) -> WhatsAppReport: ...


class CoordinatorHandOff:
    """Every link into the roster spreadsheet (or a file) for ops, and each coordinator's page
    of their people mailed to them; the messages go when a coordinator taps them there."""

    def deliver(
        self, event: Event, stage: Stage, planned: Planned, settings: Settings, run_id: str
    ) -> WhatsAppReport:
        store_url = settings.store_url
        sender = sender_for(settings)
        queue = whatsapp_queue(store_url, event.id, stage.id)
        links = [whatsapp_link(event, stage, message.recipient, sender) for message in queue]
        written_to = write_links(
            event, stage, untraversed(whatsapp_sheet_rows(stage, queue, links))
        )
        waiting = [message for message in queue if not message.handed_over]
        people = people_by_coordinator(event, planned.coordinators, waiting)
        mails = mail_coordinators(store_url, event, stage, people, run_id)
        counts = stage_counts(store_url, event.id, stage.id, WHATSAPP)
        return whatsapp_report(counts, mails, written_to)
