"""Checking an event's roster the way its YAML says: columns, districts, language, region."""

from dataclasses import replace

from config.event import Event, RosterSource
from tasks.answers.status_sheet import status_headers
from tasks.common.districts import load_districts
from tasks.roster.check import CheckedRoster, RosterTable, check_roster, make_problem


def working_columns(roster: RosterSource) -> frozenset[str]:
    """Columns that hold answers and status, not facts about the person."""
    own = {roster.answer_column, roster.attendance_column, *status_headers()}
    return frozenset(title for title in own if title)


def check_event_roster(event: Event, table: RosterTable) -> CheckedRoster:
    """check_roster with the event's columns, districts, language and phone region."""
    return check_roster(
        table,
        event.roster.columns,
        load_districts(event.districts),
        default_language=event.default_language,
        region=event.roster.default_region,
        working_columns=working_columns(event.roster),
    )


def with_bounced_emails(event: Event, roster: CheckedRoster, bounced: set[str]) -> CheckedRoster:
    """The roster with an `email_bounced` problem on each row whose address bounced for good;
    a row given another address has none."""
    title = event.roster.columns.mapped().get("email")
    if not bounced or title is None:
        return roster
    catalog = load_districts(event.districts)
    found = [
        make_problem("email_bounced", person.source_row, "email", title, catalog, person.name)
        for person in roster.people
        if person.email and person.email.lower() in bounced
    ]
    if not found:
        return roster
    problems = sorted([*roster.problems, *found], key=lambda problem: problem.row)
    return replace(roster, problems=problems)
