"""collect-confirmations: answers from every channel into the store; status back to the sheet."""

from prefect import flow

from config.event import load_event
from config.settings import load_settings
from flows.inputs import whole
from tasks.collect import (
    coverage_for,
    publish_coverage,
    record_form_answers,
    record_sheet_answers,
    write_status,
)
from tasks.event_roster import check_event_roster
from tasks.roster_source import read_roster


@flow(name="collect-confirmations", flow_run_name="collect-confirmations {event}")
def collect_confirmations(event: str) -> dict[str, object]:
    """Read the sheet's answer and attendance columns, reconcile with link answers, write back.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
    """
    event_config = load_event(event)
    url = load_settings().store_url
    table = read_roster(event_config.roster)
    checked = check_event_roster(event_config, table)
    form = record_form_answers(url, event_config)
    collection = record_sheet_answers(url, event_config, whole(table), whole(checked))
    written_to = write_status(event_config, whole(table), whole(collection))
    result = coverage_for(url, event_config)
    publish_coverage(event_config, result)
    return {
        "confirmed": result.confirmed, "declined": result.declined, "deputy": result.deputy,
        "no_answer": result.no_answer, "attended": result.attended,
        "districts_without_confirmed_convener": result.districts_without_confirmed_convener,
        "new_sheet_answers": collection.new_answers, "new_attendance": collection.new_attendance,
        "unclear_rows": collection.unclear_rows, "status_written_to": written_to,
        "new_form_answers": form.new_answers, "form_rows_rejected": form.rejected_rows,
    }  # fmt: skip
