"""sync-roster: read the roster, check it, store it, and tell ops what is wrong, in their sheet."""

from prefect import flow

from config.event import load_event
from config.settings import load_settings
from flows.inputs import whole
from tasks.event_roster import check_event_roster
from tasks.roster_report import SyncReport, build_report, publish_sync_report, write_problems
from tasks.roster_source import read_roster
from tasks.roster_store import store_roster


@flow(name="sync-roster", flow_run_name="sync-roster {event}", log_prints=False)
def sync_roster(event: str) -> SyncReport:
    """Read the whole roster once, normalise and check it, store it, write the problems back.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
    """
    event_config = load_event(event)
    table = read_roster(event_config.roster)
    checked = check_event_roster(event_config, table)
    stored = store_roster(
        load_settings().store_url, event_config.id, event_config.roster.source, whole(checked)
    )
    report = build_report(event_config, checked, stored)
    report.problems_written_to = write_problems(event_config, whole(checked.problems))
    publish_sync_report(report)
    return report
