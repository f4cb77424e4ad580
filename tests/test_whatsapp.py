"""The WhatsApp channel: each person's text and click-to-chat link, planned once in the ledger,
handed over by district coordinators from their own phones through a page of their people."""

import csv
import json
import re
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from config.event import load_event
from config.settings import load_settings
from flows.send_stage import send_stage
from flows.sync_roster import sync_roster
from store.db import engine_for
from store.models import Message, Person
from tests.conftest import HEADER, person_row, write_event
from tests.support.smtp_server import LoopbackSMTPServer
from web.app import create_app

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")

KARYASHALA = str(Path(sys.executable).parent / "karyashala")
GURUGRAM_COORDINATOR = {
    "name": "रमेश यादव",
    "email": "ramesh.coordinator@example.org",
    "districts": ["Gurugram"],
}
STATE_COORDINATOR = {"name": "अजय सैनी", "email": "ajay.coordinator@example.org"}
PAGE_LINK = re.compile(r"(https://rsvp\.karyashala\.test/w/[\w.-]+)")


def roster() -> list[list[str]]:
    return [
        person_row(name="राजेश शर्मा", email="rajesh@example.org", phone="9812345678"),
        person_row(name="सुमन देवी", email="", phone="9812300001", district="Rohtak"),
        person_row(name="किशन लाल", email="", phone="", district="Hisar"),
        person_row(name="अनीता रानी", email="anita@example.org", phone="", district="Gurugram"),
    ]


def make_event(tmp_path: Path, invitation_channels: list[str]) -> str:
    path = tmp_path / "roster.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *roster()])
    event = write_event(tmp_path, {"source": "csv", "path": str(path)})
    data = yaml.safe_load(event.read_text(encoding="utf-8"))
    data["coordinators"] = [GURUGRAM_COORDINATOR, STATE_COORDINATOR]
    for stage in data["stages"]:
        stage.pop("channels", None)
        if stage["id"] == "invitation":
            stage["channels"] = invitation_channels
    event.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    sync_roster(str(event))
    return str(event)


def whatsapp_ledger(database_url: str, stage: str) -> dict[str, tuple[str, str | None]]:
    """Each person's WhatsApp row of the stage: its status and skip reason, by name."""
    with Session(engine_for(database_url)) as session:
        rows = session.execute(
            select(Person.name, Message.status, Message.skip_reason)
            .join(Person, Person.id == Message.person_id)
            .where(Message.stage == stage, Message.channel == "whatsapp")
        )
        return {name: (status, reason) for name, status, reason in rows}


def plan(event: str, stage: str) -> dict[str, Any]:
    done = subprocess.run(
        [KARYASHALA, "whatsapp", "--event", event, "--stage", stage, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def outline(planned: dict[str, Any]) -> tuple[object, ...]:
    people = sorted((link["person_id"], link["district"]) for link in planned["links"])
    return planned["people"], planned["skipped"], people, sorted(planned["coordinator_pages"])


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def chat_text(url: str) -> str:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "wa.me")
    return parse_qs(parts.query)["text"][0]


def test_a_mail_only_stage_reaches_those_without_email_on_whatsapp(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, ["email"])
    report = send_stage(event, "save-the-date")
    assert report.sent == 2  # the two with an address
    assert {item.recipients[0] for item in smtp.received} == {
        "rajesh@example.org",
        "anita@example.org",
        "ajay.coordinator@example.org",  # सुमन देवी of Rohtak is on their page
    }
    assert whatsapp_ledger(database_url, "save-the-date") == {
        "सुमन देवी": ("pending", None),  # a phone and no address: WhatsApp
        "किशन लाल": ("skipped", "unreachable"),  # neither
    }
    assert report.whatsapp is not None
    assert (report.whatsapp.people, report.whatsapp.waiting) == (1, 1)
    assert report.whatsapp.skipped == {"unreachable": 1}


def test_planning_twice_changes_nothing_and_prints_the_contract(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", "test-signing-key-0123456789")
    monkeypatch.setenv("KARYASHALA_PUBLIC_URL", "https://rsvp.karyashala.test")
    event = make_event(tmp_path, ["email", "whatsapp"])
    first = plan(event, "invitation")
    ledger = whatsapp_ledger(database_url, "invitation")
    again = plan(event, "invitation")
    assert whatsapp_ledger(database_url, "invitation") == ledger
    # The same people and pages; only the signing time inside each link's token moves on.
    assert outline(again) == outline(first)

    assert first["people"] == 2
    assert first["skipped"] == {"no_phone": 1, "unreachable": 1}
    by_district = {link["district"]: link for link in first["links"]}
    assert set(by_district) == {"Gurugram", "Rohtak"}
    text = chat_text(by_district["Rohtak"]["url"])
    assert by_district["Rohtak"]["url"].startswith("https://wa.me/919812300001?text=")
    assert "सुमन देवी जी" in text
    assert re.search(r"https://rsvp\.karyashala\.test/r/[\w.-]+", text)
    # Gurugram has its own coordinator; Rohtak only the one who covers every district.
    pages = first["coordinator_pages"]
    assert set(pages) == {"Gurugram", "Rohtak"} and pages["Gurugram"] != pages["Rohtak"]


def test_coordinators_hand_over_once_whoever_taps_first(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, ["email", "whatsapp"])
    report = send_stage(event, "invitation")
    assert report.whatsapp is not None
    assert (report.whatsapp.people, report.whatsapp.coordinator_mails_sent) == (2, 2)
    assert Path(report.whatsapp.links_written_to or "").is_file()
    pages = {
        item.recipients[0]: PAGE_LINK.search(plain_text(item.message))
        for item in smtp.received
        if "coordinator" in item.recipients[0]
    }
    district_page = pages["ramesh.coordinator@example.org"]
    state_page = pages["ajay.coordinator@example.org"]
    assert district_page is not None and state_page is not None
    client = TestClient(create_app(load_settings(), [load_event(event)]))
    district_path = urlsplit(district_page.group(1)).path
    state_path = urlsplit(state_page.group(1)).path

    # Opening the pages (a link scanner, a preview) records nothing.
    shown = client.get(district_path)
    assert shown.status_code == 200 and "राजेश शर्मा" in shown.text
    assert "सुमन देवी" not in shown.text  # Rohtak is not theirs
    assert client.head(state_path).status_code == 200
    assert "सुमन देवी" in client.get(state_path).text
    assert set(whatsapp_ledger(database_url, "invitation").values()) == {("pending", None)} | {
        ("skipped", "no_phone"),
        ("skipped", "unreachable"),
    }

    form = re.search(r'action="([^"]+)"', shown.text)
    assert form is not None
    tapped = client.post(form.group(1), follow_redirects=False)
    assert tapped.status_code == 303
    text = chat_text(tapped.headers["location"])
    assert "राजेश शर्मा जी" in text and "/r/" in text
    assert whatsapp_ledger(database_url, "invitation")["राजेश शर्मा"] == ("sent", None)

    # The state coordinator sees it sent, and by whom; a late tap sends nothing again.
    state_view = client.get(state_path).text
    assert "भेजा गया: रमेश यादव" in state_view
    late = client.post(form.group(1).replace(district_path, state_path), follow_redirects=False)
    assert late.status_code == 200 and "पहले ही भेजा जा चुका है" in late.text
    with Session(engine_for(database_url)) as session:
        row = session.scalars(
            select(Message).where(Message.channel == "whatsapp", Message.status == "sent")
        ).one()
        assert row.attempts == 1 and row.sent_at is not None

    # Status says how the invitation reached people, by channel, and the call list per person.
    status = subprocess.run(
        [KARYASHALA, "status", "--event", event, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(status.stdout)["reached"]["invitation"] == {"email": 2, "whatsapp": 1}

    # A link that was altered opens nothing.
    assert client.get(district_path[:-2] + "xx").status_code == 400
