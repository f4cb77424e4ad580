"""collect-confirmations' work: answers and attendance from the sheet into the store, and each
person's status back to the sheet."""

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select

from config.errors import RosterSourceError
from config.event import Event
from config.settings import load_settings
from store.db import transaction
from store.models import Attendance, Response, utc_now
from store.queries import (
    ANSWER_STATUS,
    Answer,
    attended_ids,
    bounced_ids,
    latest_answers,
    read_answers,
)
from tasks.answers.status_sheet import PersonStatus, parse_answer, parse_attended, status_write
from tasks.common.escaping import write_csv
from tasks.common.sheets import read_worksheet, write_ranges
from tasks.common.tokens import InvalidTokenError, verify_token
from tasks.roster.check import CheckedRoster, RosterTable, column_index
from tasks.roster.store import diff_with_store


@dataclass
class SheetCollection:
    rows_by_person: dict[int, int] = field(default_factory=dict)
    statuses: dict[int, PersonStatus] = field(default_factory=dict)
    new_answers: int = 0
    new_attendance: int = 0
    unclear_rows: list[int] = field(default_factory=list)


def _column(table: RosterTable, title: str | None, setting: str, sheet: str) -> int | None:
    return column_index(table.header, title, setting, sheet) if title else None


def read_sheet_answers(
    store_url: str, event: Event, table: RosterTable, roster: CheckedRoster
) -> SheetCollection:
    """A sheet answer is a new response only when the cell changed since the last one read, so a
    link answer given after it still counts, and a new manual entry overrides that again."""
    answer_at = _column(table, event.roster.answer_column, "roster.answer_column", "the roster")
    attended_at = _column(
        table, event.roster.attendance_column, "roster.attendance_column", "the roster"
    )
    result = SheetCollection()
    cells = {offset + table.first_data_row: row for offset, row in enumerate(table.rows)}
    with transaction(store_url) as session:
        diff = diff_with_store(session, event.id, roster)
        for person_id, person in [*diff.unchanged, *diff.changed, *diff.returned]:
            result.rows_by_person[person_id] = person.source_row
        answers = read_answers(session, event.id)
        last_sheet = {a.person_id: a.answer for a in answers if a.channel == "sheet"}
        attended = attended_ids(session, event.id)
        now = utc_now()
        for person_id, row in result.rows_by_person.items():
            cells_of_row = cells.get(row, [])
            if answer_at is not None and answer_at < len(cells_of_row):
                try:
                    answer = parse_answer(cells_of_row[answer_at])
                except ValueError:
                    result.unclear_rows.append(row)
                    answer = None
                if answer is not None and last_sheet.get(person_id) != answer:
                    session.add(
                        Response(
                            event_id=event.id,
                            person_id=person_id,
                            channel="sheet",
                            answer=answer,
                            raw_text=cells_of_row[answer_at][:200],
                            received_at=now,
                        )
                    )
                    answers.append(Answer(person_id, answer, "sheet", now))
                    result.new_answers += 1
            if (
                attended_at is not None
                and attended_at < len(cells_of_row)
                and parse_attended(cells_of_row[attended_at])
                and person_id not in attended
            ):
                session.add(
                    Attendance(
                        event_id=event.id, person_id=person_id, recorded_by="sheet", recorded_at=now
                    )
                )
                result.new_attendance += 1
        for person_id, latest in latest_answers(answers).items():
            result.statuses[person_id] = PersonStatus(
                ANSWER_STATUS.get(latest.answer, "none"), latest.channel, latest.received_at
            )
        for person_id in bounced_ids(session, event.id) - result.statuses.keys():
            result.statuses[person_id] = PersonStatus("bounced", "", None)
    return result


@dataclass
class FormCollection:
    new_answers: int = 0
    rejected_rows: list[int] = field(default_factory=list)


def read_form_answers(store_url: str, event: Event) -> FormCollection:
    """Rows of the form's responses worksheet whose token verifies become answers (once each);
    the others are listed, not applied."""
    form = event.rsvp.form
    result = FormCollection()
    if form is None or event.roster.source != "sheets" or not event.roster.spreadsheet_key:
        return result
    settings = load_settings()
    cells = read_worksheet(event.roster.spreadsheet_key, form.worksheet, settings)
    if not cells:
        return result
    table = RosterTable(header=cells[0], rows=cells[1:])
    sheet = f"the form worksheet {form.worksheet!r}"
    token_at = _column(table, form.token_column, "rsvp.form.token_column", sheet)
    answer_at = _column(table, form.answer_column, "rsvp.form.answer_column", sheet)
    deputy_at = _column(table, form.deputy_column, "rsvp.form.deputy_column", sheet)
    if token_at is None or answer_at is None:
        raise RosterSourceError(
            f"The form worksheet {form.worksheet!r} has no column {form.token_column!r} or "
            f"{form.answer_column!r}: fix rsvp.form in the event file."
        )
    key = settings.signing_secret()
    with transaction(store_url) as session:
        seen = set(
            session.scalars(
                select(Response.raw_text).where(
                    Response.event_id == event.id, Response.channel == "form"
                )
            )
        )
        for offset, cells_of_row in enumerate(table.rows):
            row = offset + table.first_data_row
            padded = cells_of_row + [""] * (len(table.header) - len(cells_of_row))
            if not any(cell.strip() for cell in padded):
                continue
            try:
                subject = verify_token(key, "answer", padded[token_at].strip())
                answer = parse_answer(padded[answer_at])
            except (InvalidTokenError, ValueError):
                result.rejected_rows.append(row)
                continue
            marker = f"form row {row}"
            if subject.event_id != event.id or answer is None:
                result.rejected_rows.append(row)
                continue
            if marker in seen:
                continue
            deputy = padded[deputy_at].strip()[:120] if deputy_at is not None else ""
            session.add(
                Response(
                    event_id=event.id,
                    person_id=subject.person_id,
                    channel="form",
                    answer=answer,
                    deputy_name=deputy or None,
                    raw_text=marker,
                )
            )
            result.new_answers += 1
    return result


def write_status_columns(event: Event, table: RosterTable, collection: SheetCollection) -> str:
    """Status, channel and time of the last answer for every person: one RAW write."""
    settings = load_settings()
    data, _ = status_write(
        table.header, collection.rows_by_person, collection.statuses, ZoneInfo(event.timezone)
    )
    roster = event.roster
    if roster.source == "sheets":
        assert roster.spreadsheet_key is not None
        write_ranges(roster.spreadsheet_key, roster.worksheet, data, settings)
        return "the roster worksheet"
    path = settings.event_output_dir(event.id) / "status.csv"
    columns = [[row[0] for row in item["values"]] for item in data]
    write_csv(path, zip(*columns, strict=True))
    return str(path)
