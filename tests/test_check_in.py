"""The door: volunteers sign in with the event's PIN and check people in by code, search or
as walk-ins; every check-in is recorded with who did it and when. Wrong PINs are limited per
address and per event, right ones never; a new PIN ends every session; hostile input gets a
page, never a server error."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from config.event import load_event
from config.settings import load_settings
from store.db import engine_for
from store.models import Attendance, Person
from tasks.common.tokens import check_in_code
from tests.conftest import person_row
from tests.test_cli import karyashala
from tests.test_send_stage import make_event
from web.app import create_app
from web.check_in import (
    POSTS_PER_VOLUNTEER,
    WRONG_PINS_PER_ADDRESS,
    WRONG_PINS_PER_EVENT,
    door_pin,
)

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


def sign_in(client: TestClient, volunteer: str = "रीना") -> None:
    pin = door_pin(load_settings(), "test-workshop")
    response = client.post("/c/test-workshop/login", data={"pin": pin, "volunteer": volunteer})
    assert response.status_code == 200 and f"स्वयंसेवक / Volunteer: {volunteer}" in response.text


def login(client: TestClient, pin: str) -> int:
    response = client.post("/c/test-workshop/login", data={"pin": pin, "volunteer": "x"})
    return int(response.status_code)


def wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 1_000_000:06d}"


def devanagari(digits: str) -> str:
    return digits.translate(str.maketrans("0123456789", "०१२३४५६७८९"))


def from_address(client: TestClient, address: str) -> TestClient:
    return TestClient(client.app, client=(address, 40_000))


def shown_pin(event: str, *options: str) -> str:
    """The PIN `karyashala rsvp pin` prints."""
    shown = karyashala("rsvp", "pin", "--event", event, *options)
    assert shown.returncode == 0, shown.stderr
    pins: list[str] = re.findall(r"Volunteer PIN: (\d{6})", shown.stdout)
    assert len(pins) == 1
    return pins[0]


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


def test_volunteers_behind_one_address_sign_in_and_wrong_pins_there_are_limited(
    door: tuple[TestClient, int],
) -> None:
    client, _ = door
    pin = door_pin(load_settings(), "test-workshop")
    for number in range(40):  # a crowd on the venue's Wi-Fi: right PINs never count
        sign_in(client, f"स्वयंसेवक {number}")
    typos = [login(client, wrong(pin)) for _ in range(WRONG_PINS_PER_ADDRESS)]
    assert typos == [200] * WRONG_PINS_PER_ADDRESS
    refused = client.post("/c/test-workshop/login", data={"pin": pin, "volunteer": "x"})
    assert refused.status_code == 429 and "कुछ मिनट बाद" in refused.text
    assert login(from_address(client, "198.51.100.7"), pin) == 200


def test_wrong_pins_from_many_addresses_are_limited_per_event_until_a_new_pin(
    door: tuple[TestClient, int], tmp_path: Path
) -> None:
    client, _ = door
    pin = door_pin(load_settings(), "test-workshop")
    for number in range(WRONG_PINS_PER_EVENT // WRONG_PINS_PER_ADDRESS):
        guesser = from_address(client, f"198.51.100.{number}")
        guesses = [login(guesser, wrong(pin)) for _ in range(WRONG_PINS_PER_ADDRESS)]
        assert guesses == [200] * WRONG_PINS_PER_ADDRESS
    volunteer = from_address(client, "203.0.113.5")
    refused = volunteer.post("/c/test-workshop/login", data={"pin": pin, "volunteer": "रीना"})
    assert refused.status_code == 429 and "नया पिन" in refused.text
    new_pin = shown_pin(str(tmp_path / "test-workshop.yaml"), "--rotate")
    assert login(volunteer, new_pin) == 200


def test_a_new_pin_ends_every_session_signed_in_with_the_old_one(
    door: tuple[TestClient, int], tmp_path: Path
) -> None:
    client, sunita = door
    event = str(tmp_path / "test-workshop.yaml")
    old_pin = shown_pin(event)
    assert old_pin == door_pin(load_settings(), "test-workshop")
    sign_in(client)
    new_pin = shown_pin(event, "--rotate")
    assert new_pin != old_pin and new_pin == door_pin(load_settings(), "test-workshop")
    assert shown_pin(event) == new_pin
    assert "पिन / PIN" in client.get("/c/test-workshop").text
    client.post("/c/test-workshop/person", data={"person_id": str(sunita)})
    assert attendance() == []
    assert (
        "पिन सही नहीं है"
        in client.post("/c/test-workshop/login", data={"pin": old_pin, "volunteer": "रीना"}).text
    )
    sign_in(client)
    client.post("/c/test-workshop/person", data={"person_id": str(sunita)})
    assert attendance() == [(sunita, None, "रीना")]


def test_volunteers_behind_one_address_do_not_share_a_budget_of_check_ins(
    door: tuple[TestClient, int],
) -> None:
    client, sunita = door
    reena, anil = client, from_address(client, "testclient")
    sign_in(reena)
    sign_in(anil, "अनिल")
    code = check_in_code(KEY, "test-workshop", sunita)
    for volunteer in (reena, anil):
        for _ in range(POSTS_PER_VOLUNTEER * 2 // 3):
            posted = volunteer.post("/c/test-workshop/code", data={"code": code})
            assert posted.status_code == 200 and "सुनीता मलिक" in posted.text
    assert attendance() == [(sunita, None, "रीना")]


def test_pin_and_code_typed_in_devanagari_digits_work(door: tuple[TestClient, int]) -> None:
    client, sunita = door
    pin = door_pin(load_settings(), "test-workshop")
    signed_in = client.post(
        "/c/test-workshop/login", data={"pin": f" {devanagari(pin)} ", "volunteer": "रीना"}
    )
    assert "स्वयंसेवक / Volunteer: रीना" in signed_in.text
    code = check_in_code(KEY, "test-workshop", sunita)
    checked_in = client.post("/c/test-workshop/code", data={"code": devanagari(code).lower()})
    assert "सुनीता मलिक: प्रवेश दर्ज" in checked_in.text


def test_unparseable_ids_and_codes_get_a_page_never_a_server_error(
    door: tuple[TestClient, int],
) -> None:
    client, sunita = door
    sign_in(client)
    for form in (
        {"person_id": str(sunita + 1000)},
        {"person_id": "abc"},
        {"person_id": "9" * 30},
        {"person_id": "-1"},
        {"person_id": "1.0"},
        {"person_id": "²"},
        {"person_id": ""},
        {},
    ):
        refused = client.post("/c/test-workshop/person", data=form)
        assert refused.status_code == 400 and "यह व्यक्ति नहीं मिला" in refused.text
    for code in ("²-ABCDEF", "9" * 30 + "-ABCDEF", "-", "\x00", "१-"):
        refused = client.post("/c/test-workshop/code", data={"code": code})
        assert refused.status_code == 200 and "यह कोड सही नहीं है" in refused.text
    assert attendance() == []


def test_hostile_text_at_the_door_is_cleaned_not_a_server_error(
    door: tuple[TestClient, int],
) -> None:
    client, _ = door
    assert login(client, "\x00१२") == 200
    sign_in(client)
    assert "सुनीता" not in client.get("/c/test-workshop?q=%25%25").text
    assert "सुनीता मलिक" in client.get("/c/test-workshop?q=सुनी%00ता").text
    client.post("/c/test-workshop/walk-in", data={"name": "नया\x00 व्यक्ति", "phone": "\x00"})
    assert attendance() == [(None, "नया व्यक्ति", "रीना")]
