"""collect-confirmations: answers from every channel into the store; status back to the sheet."""

from prefect import flow

from config.event import load_event
from config.settings import load_settings
from tasks.answers.coverage import coverage_for
from tasks.answers.report import AnswerCounts, CollectReport
from tasks.answers.tasks import (
    publish_coverage,
    record_form_answers,
    record_sheet_answers,
    write_status,
)
from tasks.common.task_inputs import untraversed
from tasks.replies.inbox import InboxCounts
from tasks.replies.tasks import (
    fetch_replies,
    find_first_mail_day,
    list_unread_replies,
    list_waiting_replies,
    mark_replies_read,
    publish_waiting_replies,
    record_replies,
)
from tasks.roster.event_check import check_event_roster
from tasks.roster.tasks import read_roster


def read_reply_inbox(store_url: str, event_id: str, batch_size: int) -> InboxCounts:
    """The inbox's mails not read yet, a batch at a time: each batch is committed to the store
    before its mails are marked, so a crash in between loses nothing and counts nothing twice."""
    counts = InboxCounts()
    since = find_first_mail_day(store_url, event_id)
    if since is None:
        return counts
    uids = list_unread_replies(since)
    for start in range(0, len(uids), batch_size):
        mails = fetch_replies(uids[start : start + batch_size])
        batch = record_replies(store_url, event_id, untraversed(mails))
        mark_replies_read(batch.done)
        counts.add(batch.counts)
    return counts


@flow(name="collect-confirmations", flow_run_name="collect-confirmations {event}")
def collect_confirmations(event: str) -> CollectReport:
    """Read the reply inbox, the sheet's answer and attendance columns, reconcile with link
    answers, write back.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
    """
    event_config = load_event(event)
    settings = load_settings()
    store_url = settings.store_url
    inbox = InboxCounts()
    if settings.imap_host:
        inbox = read_reply_inbox(store_url, event_config.id, settings.batch_size)
        waiting = list_waiting_replies(store_url, event_config.id)
        publish_waiting_replies(event_config.id, waiting)
    table = read_roster(event_config.roster)
    roster = check_event_roster(event_config, table)
    form = record_form_answers(store_url, event_config)
    sheet = record_sheet_answers(store_url, event_config, untraversed(table), untraversed(roster))
    written_to = write_status(event_config, untraversed(table), untraversed(sheet))
    coverage = coverage_for(store_url, event_config)
    publish_coverage(event_config, coverage)
    return CollectReport(
        **AnswerCounts.of(coverage).model_dump(),
        event_id=event_config.id,
        new_sheet_answers=sheet.new_answers,
        new_attendance=sheet.new_attendance,
        unclear_rows=sheet.unclear_rows,
        new_form_answers=form.new_answers,
        form_rows_rejected=form.rejected_rows,
        status_written_to=written_to,
        replies_read=inbox.mails_read,
        new_reply_answers=inbox.new_answers,
        replies_unmatched=inbox.unmatched,
        bounces_permanent=inbox.bounced,
        bounces_temporary=inbox.delayed,
        auto_replies=inbox.auto_replies,
    )
