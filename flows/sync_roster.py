"""sync-roster: read the roster, check it, store it, and tell ops what is wrong, in their sheet."""

from prefect import flow

from config.event import load_event
from config.settings import load_settings
from tasks.common.task_inputs import untraversed
from tasks.replies.tasks import read_bounced_addresses
from tasks.roster.event_check import with_bounced_emails
from tasks.roster.report import SyncReport, build_report
from tasks.roster.tasks import (
    check_roster,
    publish_sync_report,
    read_roster,
    store_roster,
    write_problems,
)


@flow(name="sync-roster", flow_run_name="sync-roster {event}", log_prints=False)
def sync_roster(event: str) -> SyncReport:
    """Read the whole roster once, normalise and check it, store it, write the problems back.

    Args:
        event: Event id (a file under config/events/) or a path to an event YAML file.
    """
    event_config = load_event(event)
    store_url = load_settings().store_url
    roster = with_bounced_emails(
        event_config,
        check_roster(event_config, untraversed(read_roster(event_config.roster))),
        read_bounced_addresses(store_url, event_config.id),
    )
    stored = store_roster(
        store_url, event_config.id, event_config.roster.source, untraversed(roster)
    )
    report = build_report(event_config, roster, stored)
    report.problems_written_to = write_problems(event_config, untraversed(roster.problems))
    publish_sync_report(untraversed(report))
    return report
