"""The door: volunteers sign in with the event's PIN and check people in by code, search or
as walk-ins; every check-in is recorded with who did it and when."""

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from config.event import load_event
from config.settings import load_settings
from store.db import engine_for
from store.models import Attendance, Person
from tasks.common.tokens import check_in_code, volunteer_pin
from tests.conftest import person_row
from tests.test_send_stage import make_event
from web.app import create_app

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")
KEY = "door-test-key-0123456789"


@pytest.fixture
def door(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TestClient, int]:
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", KEY)
    event = make_event(
        tmp_path,
        [
            person_row(name="सुनीता मलिक", email="s@example.org", phone="9812345678"),
            person_row(name="अनिल कुमार", email="a@example.org", phone="9812300001"),
        ],
    )
    settings = load_settings()
    with Session(engine_for(settings.store_url)) as session:
        sunita = session.scalars(select(Person.id).where(Person.email == "s@example.org")).one()
    return TestClient(create_app(settings, [load_event(event)])), sunita


def attendance() -> list[tuple[int | None, str | None, str]]:
    with Session(engine_for(load_settings().store_url)) as session:
        rows = session.execute(
            select(Attendance.person_id, Attendance.walk_in_name, Attendance.recorded_by)
        )
        return [(p, w, r) for p, w, r in rows]


def sign_in(client: TestClient) -> None:
    pin = volunteer_pin(KEY, "test-workshop")
    response = client.post("/c/test-workshop/login", data={"pin": pin, "volunteer": "रीना"})
    assert response.status_code == 200 and "स्वयंसेवक / Volunteer: रीना" in response.text


def test_without_the_pin_nothing_is_shown_or_recorded(door: tuple[TestClient, int]) -> None:
    client, sunita = door
    assert "पिन / PIN" in client.get("/c/test-workshop").text
    wrong = client.post("/c/test-workshop/login", data={"pin": "000000", "volunteer": "x"})
    assert "पिन सही नहीं है" in wrong.text
    client.post("/c/test-workshop/person", data={"person_id": str(sunita)})
    assert "सुनीता" not in client.get("/c/test-workshop?q=सुनीता").text
    assert attendance() == []


def test_check_in_by_code_once_with_who_did_it(door: tuple[TestClient, int]) -> None:
    client, sunita = door
    sign_in(client)
    code = check_in_code(KEY, "test-workshop", sunita)
    first = client.post("/c/test-workshop/code", data={"code": code.lower()})
    assert "सुनीता मलिक: प्रवेश दर्ज" in first.text
    again = client.post("/c/test-workshop/code", data={"code": code})
    assert "पहले ही" in again.text
    forged = client.post("/c/test-workshop/code", data={"code": f"{sunita}-AAAAAA"})
    assert "यह कोड सही नहीं है" in forged.text
    assert attendance() == [(sunita, None, "रीना")]


def test_search_by_phone_then_walk_in(door: tuple[TestClient, int]) -> None:
    client, _ = door
    sign_in(client)
    found = client.get("/c/test-workshop?q=0001")
    assert "अनिल कुमार" in found.text and "सुनीता" not in found.text
    client.post(
        "/c/test-workshop/walk-in",
        data={"name": "नया  व्यक्ति", "district": "Gurgaon", "phone": "98123 99999"},
    )
    assert attendance() == [(None, "नया व्यक्ति", "रीना")]


def test_printable_list_is_sorted_by_district_with_codes(
    door: tuple[TestClient, int], tmp_path: Path
) -> None:
    from tasks.answers.attendance_list import write_attendance_list

    _, sunita = door
    html = write_attendance_list(
        load_event(str(tmp_path / "test-workshop.yaml")), load_settings()
    ).read_text(encoding="utf-8")
    assert "उपस्थिति सूची" in html and "गुरुग्राम / Gurugram" in html
    assert html.index("अनिल कुमार") < html.index("सुनीता मलिक")
    assert check_in_code(KEY, "test-workshop", sunita) in html
    assert "Noto Sans Devanagari" in html
