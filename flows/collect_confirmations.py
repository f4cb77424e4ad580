"""collect-confirmations: answers from every channel into the store; status back to the sheet."""

from prefect import flow

from config.event import load_event
from config.settings import load_settings
from flows.common import untraversed
from tasks.answers.coverage import coverage_for
from tasks.answers.report import AnswerCounts, CollectReport
from tasks.answers.tasks import (
    publish_coverage,
    record_form_answers,
    record_sheet_answers,
    write_status,
)
from tasks.roster.event_check import check_event_roster
from tasks.roster.tasks import read_roster


@flow(name="collect-confirmations", flow_run_name="collect-confirmations {event}")
def collect_confirmations(event: str) -> CollectReport:
    """Read the sheet's answer and attendance columns, reconcile with link answers, write back.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
    """
    event_config = load_event(event)
    store_url = load_settings().store_url
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
    )
