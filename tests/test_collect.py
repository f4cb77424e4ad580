"""collect-confirmations against the fake Sheets server: sheet answers, link answers, write-back."""

import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.errors import RosterSourceError
from flows.collect_confirmations import collect_confirmations
from flows.sync_roster import sync_roster
from store.db import engine_for
from store.models import Person, Response
from tasks.common.tokens import sign_token
from tests.conftest import HEADER, link_answer, person_row, write_event
from tests.support.fake_sheets import FakeSheets, Worksheet

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")
KEY = "collect-sheet"
SHEET_HEADER = [*HEADER, "उत्तर", "उपस्थित"]


def sheet_event(tmp_path: Path, fake: FakeSheets, rows: list[list[str]]) -> str:
    fake.add_spreadsheet(KEY, {"सूची": [SHEET_HEADER, *rows]})
    path = write_event(
        tmp_path,
        {
            "source": "sheets",
            "spreadsheet_key": KEY,
            "worksheet": "सूची",
            "answer_column": "उत्तर",
            "attendance_column": "उपस्थित",
        },
    )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["roster"]["answer_column"] == "उत्तर"
    sync_roster(str(path))
    return str(path)


def row(n: int, answer: str = "", attended: str = "") -> list[str]:
    person = person_row(
        name=f"व्यक्ति {n}",
        email=f"p{n}@example.org",
        phone=f"98123000{n:02d}",
        district=["Gurgaon", "Hisar", "Rohtak"][n % 3],
    )
    return [*person, answer, attended]


def status_cell(fake: FakeSheets, sheet_row: int) -> str:
    values = fake.values(KEY, "सूची")
    column = values[0].index("स्थिति / Status")
    cells = values[sheet_row - 1]
    return cells[column] if column < len(cells) else ""


def test_sheet_answers_link_answers_and_the_write_back(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets
) -> None:
    event = sheet_event(tmp_path, fake_sheets, [row(0), row(1, "हाँ"), row(2, "शायद"), row(3)])
    link_answer(database_url, "p0@example.org", "yes")
    fake_sheets.requests.clear()
    first = collect_confirmations(event)
    assert first.confirmed == 2 and first.no_answer == 2, first
    assert first.unclear_rows == [4]
    writes = [r for r in fake_sheets.api_requests() if r.method == "POST"]
    assert len(writes) == 1 and writes[0].body["valueInputOption"] == "RAW"
    assert status_cell(fake_sheets, 2) == "आ रहे हैं / confirmed"
    assert status_cell(fake_sheets, 3) == "आ रहे हैं / confirmed"
    assert status_cell(fake_sheets, 5) == "उत्तर नहीं / no answer"

    time.sleep(0.01)
    fake_sheets.spreadsheets[KEY]["सूची"].rows[1] = row(0, "नहीं")  # a call after the link answer
    second = collect_confirmations(event)
    assert status_cell(fake_sheets, 2) == "नहीं आ रहे / declined"
    assert second.declined == 1

    time.sleep(0.01)
    link_answer(database_url, "p0@example.org", "yes")  # the invitee changes their mind again
    third = collect_confirmations(event)
    assert third.new_sheet_answers == 0  # the unchanged cell is not a new answer
    assert status_cell(fake_sheets, 2) == "आ रहे हैं / confirmed"
    with Session(engine_for(database_url)) as session:
        kept = session.scalars(select(Response.channel).order_by(Response.id)).all()
    assert kept == ["link", "sheet", "sheet", "link"]  # every answer is kept

    resync = sync_roster(event)
    assert (resync.changed, resync.added, resync.removed) == (0, 0, 0)


def test_attendance_column_counts(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets
) -> None:
    event = sheet_event(tmp_path, fake_sheets, [row(0, "हाँ", "उपस्थित"), row(1, "", "")])
    assert collect_confirmations(event).attended == 1
    assert collect_confirmations(event).attended == 1  # collecting twice counts once


def test_write_back_is_one_request_for_any_number_of_people(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets
) -> None:
    event = sheet_event(tmp_path, fake_sheets, [row(n, "हाँ" if n % 2 else "") for n in range(60)])
    fake_sheets.requests.clear()
    collect_confirmations(event)
    api = fake_sheets.api_requests()
    assert [r.method for r in api] == ["GET", "GET", "POST"]


def test_form_rows_with_a_valid_token_count_once_and_bad_ones_are_listed(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", "form-test-key-0123456789")
    event = sheet_event(tmp_path, fake_sheets, [row(0), row(1), row(2)])
    data = yaml.safe_load(Path(event).read_text(encoding="utf-8"))
    data["rsvp"] = {
        "form": {
            "worksheet": "Form responses 1",
            "token_column": "Token",
            "answer_column": "आप आएँगे?",
            "deputy_column": "प्रतिनिधि",
        }
    }
    Path(event).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with Session(engine_for(database_url)) as session:
        ids = dict(session.execute(select(Person.email, Person.id)).all())
    key = "form-test-key-0123456789"
    good = sign_token(key, "answer", "test-workshop", ids["p0@example.org"])
    deputy = sign_token(key, "answer", "test-workshop", ids["p2@example.org"])
    fake_sheets.spreadsheets[KEY]["Form responses 1"] = Worksheet(
        9,
        "Form responses 1",
        rows=[
            ["Timestamp", "Token", "आप आएँगे?", "प्रतिनिधि"],
            ["1/12/2027 9:00", good, "हाँ", ""],
            ["1/12/2027 9:05", good[:-3] + "abc", "हाँ", ""],
            ["1/12/2027 9:07", deputy, "प्रतिनिधि", "राहुल यादव"],
        ],
    )
    first = collect_confirmations(event)
    assert (first.new_form_answers, first.form_rows_rejected) == (2, [3])
    assert (first.confirmed, first.deputy) == (1, 1)
    assert collect_confirmations(event).new_form_answers == 0


def test_coverage_chart_has_a_bar_per_district() -> None:
    from collections import Counter

    from tasks.answers.chart import answers_chart

    svg = answers_chart({"Gurugram": Counter(confirmed=3, declined=1), "Nuh": Counter(no_answer=2)})
    assert svg.count("<rect") == 4  # three bars on a white background
    assert ">Gurugram<" in svg and "confirmed: 3" in svg


def test_a_second_answer_column_is_an_error_naming_both(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets
) -> None:
    event = sheet_event(tmp_path, fake_sheets, [row(1, "हाँ")])
    fake_sheets.spreadsheets[KEY]["सूची"].rows[0].append(" उत्तर ")
    with pytest.raises(RosterSourceError) as error:
        collect_confirmations(event)
    assert "I ('उत्तर') and K ('उत्तर')" in str(error.value)
    assert "roster.answer_column must name exactly one" in str(error.value)
