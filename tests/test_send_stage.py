"""send-stage against a real SMTP server on loopback: what arrives, exactly once, through faults."""

import csv
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import yaml
from icalendar import Calendar
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.deployments import run_deployment
from prefect.deployments.runner import RunnerDeployment
from prefect.flow_engine import run_flow
from prefect.flow_runs import resume_flow_run
from prefect.schedules import Schedule
from prefect.types.entrypoint import EntrypointType
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from config.errors import KaryashalaError
from config.event import load_event
from config.settings import load_settings
from flows.send_stage import send_stage
from flows.sync_roster import sync_roster
from store.db import engine_for
from store.models import Message, OptOut, Person, Response, utc_now
from tasks.common.escaping import markdown_text
from tasks.common.tokens import verify_token
from tasks.mail.render import Recipient, RenderedMail, Sender, build_message, wire_bytes
from tests.conftest import HEADER, person_row, send_to, write_event
from tests.support.smtp_server import LoopbackSMTPServer, self_signed_context
from web.app import create_app

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")

FIRST_NAMES = ["अनिल", "बीना", "चेतन", "दीपा", "ईशा", "फ़िरोज़", "गीता", "हरि", "इंदु", "जय"]


def roster_rows(count: int) -> list[list[str]]:
    rows = []
    for n in range(count):
        rows.append(
            person_row(
                name=f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {n}",
                email=f"person{n}@example.org",
                phone=f"98123{n:05d}",
                district=["Gurgaon", "रोहतक", "Hisar"][n % 3],
                language="English" if n % 4 == 0 else "हिंदी",
            )
        )
    return rows


def make_event(
    tmp_path: Path, rows: list[list[str]], stages: list[dict[str, Any]] | None = None
) -> str:
    roster = tmp_path / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    path = write_event(tmp_path, {"source": "csv", "path": str(roster)})
    if stages is not None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["stages"] = stages
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    sync_roster(str(path))
    return str(path)


def ledger(database_url: str, stage: str) -> list[Message]:
    with Session(engine_for(database_url)) as session:
        return list(session.scalars(select(Message).where(Message.stage == stage)))


def person_ids(database_url: str) -> dict[str, int]:
    with Session(engine_for(database_url)) as session:
        return {p.email or p.name: p.id for p in session.scalars(select(Person))}


def add_answer(database_url: str, person_id: int, answer: str) -> None:
    with Session(engine_for(database_url)) as session, session.begin():
        session.add(
            Response(
                event_id="test-workshop",
                person_id=person_id,
                channel="manual",
                answer=answer,
                received_at=utc_now(),
            )
        )


def test_invitation_arrives_whole_in_hindi_with_links_and_calendar(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(3))
    report = send_stage(event, "invitation")
    assert (report.sent, report.failed, report.pending) == (3, 0, 0)
    by_to = {item.recipients[0]: item.message for item in smtp.received}
    message = by_to["person1@example.org"]

    assert message["Subject"] == (
        "निमंत्रण: प्रदेश स्तरीय आईटी एवं सोशल मीडिया कार्यशाला, बुधवार, 1 दिसम्बर 2027"
    )
    assert message["To"].addresses[0].display_name == "बीना 1"
    assert message["To"].addresses[0].addr_spec == "person1@example.org"
    assert message["From"].addresses[0].addr_spec == "invite@karyashala.test"
    assert message["Reply-To"] == "media@karyashala.test"
    person_id = person_ids(database_url)["person1@example.org"]
    assert message["Message-ID"] == f"<test-workshop.invitation.{person_id}@karyashala.test>"
    assert message["List-Unsubscribe"].strip().startswith("<https://rsvp.karyashala.test/u/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    text_body, html_body = text.get_content(), html.get_content()
    assert "आदरणीय बीना 1 जी (जिला संयोजक, रोहतक)" in text_body
    assert "<" not in text_body  # a real text part, not the HTML source
    assert "सुबह साढ़े 10 बजे" in text_body and "सिग्नेचर टावर के पास" in text_body
    assert "हाँ, मैं आऊँगा/आऊँगी" in html_body

    link = next(word for word in text_body.split() if "/r/" in word and "answer=yes" in word)
    token = link.split("/r/")[1].split("?")[0]
    subject = verify_token("test-signing-key-0123456789", "answer", token)
    assert (subject.event_id, subject.person_id) == ("test-workshop", person_id)
    assert "person1" not in token and "98123" not in token

    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    calendar = Calendar.from_ical(attachment.get_content())
    (entry,) = calendar.walk("VEVENT")
    start = entry.decoded("dtstart")
    assert (start.isoformat(), str(start.tzinfo)) == ("2027-12-01T10:30:00+05:30", "Asia/Kolkata")

    english = by_to["person0@example.org"]
    assert english["Subject"].startswith("Invitation: State-level IT and Social Media Workshop")


def test_a_rerun_sends_nothing_twice(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(4))
    send_stage(event, "save-the-date")
    again = send_stage(event, "save-the-date")
    assert (again.sent, again.sent_this_run) == (4, 0)
    assert len(smtp.received) == 4


def test_audiences_and_skip_reasons(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    rows = roster_rows(6)
    rows[5][5] = ""  # no email
    event = make_event(tmp_path, rows)
    ids = person_ids(database_url)
    add_answer(database_url, ids["person0@example.org"], "yes")
    add_answer(database_url, ids["person1@example.org"], "no")
    add_answer(database_url, ids["person2@example.org"], "yes")
    add_answer(database_url, ids["person2@example.org"], "no")  # the later answer counts

    reminder = send_stage(event, "reminder")
    assert reminder.sent == 2 and reminder.skipped == {"no_email": 1}
    # The one with no address is for WhatsApp: the coordinator of every district gets their page.
    assert reminder.whatsapp is not None and reminder.whatsapp.people == 1
    assert {r.recipients[0] for r in smtp.received} == {
        "person3@example.org",
        "person4@example.org",
        "coordinator-north@example.org",
    }

    smtp.received.clear()
    logistics = send_stage(event, "logistics")
    assert logistics.sent == 1
    (item,) = smtp.received
    assert item.recipients == ["person0@example.org"]
    body = item.message.get_body(("plain",))
    assert body is not None and "Your check-in code" in body.get_content()
    images = [p for p in item.message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<check-in-code>"
    assert images[0].get_content().startswith(b"\x89PNG")
    html = item.message.get_body(("html",))
    assert html is not None and 'src="cid:check-in-code"' in html.get_content()


def test_opt_out_link_is_honoured_by_the_next_stage(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(3))
    send_stage(event, "save-the-date")
    message = next(r.message for r in smtp.received if r.recipients == ["person2@example.org"])
    path = (
        message["List-Unsubscribe"].strip().strip("<>").removeprefix("https://rsvp.karyashala.test")
    )
    client = TestClient(create_app(load_settings(), [load_event(event)]))
    shown = client.get(path)
    assert shown.status_code == 200 and "आगे ईमेल न भेजें" in shown.text
    with Session(engine_for(database_url)) as session:
        assert session.scalars(select(OptOut)).all() == []  # opening the link changed nothing
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert client.post(path).status_code == 200  # twice is harmless
    assert client.get(path[:-3] + "xyz").status_code == 400

    smtp.received.clear()
    invitation = send_stage(event, "invitation")
    assert invitation.sent == 2 and invitation.skipped == {"opted_out": 1}
    assert "person2@example.org" not in {r.recipients[0] for r in smtp.received}


def test_inactive_people_are_skipped(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    rows = roster_rows(3)
    event = make_event(tmp_path, rows)
    roster = Path(load_event(event).roster.path or "")
    with roster.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows[:2]])
    sync_roster(event)
    report = send_stage(event, "save-the-date")
    assert report.sent == 2 and report.skipped == {"inactive": 1}


def test_smtp_faults_are_retried_and_refusals_recorded(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(8))
    smtp.refused.add("person3@example.org")
    smtp.faults.extend(["421-on-mail", "451-on-data", "drop-on-data"])
    report = send_stage(event, "save-the-date")
    assert (report.sent, report.failed, report.pending) == (7, 1, 0)
    assert sorted(Counter(smtp.message_ids()).values()) == [1] * 7
    (failed,) = [m for m in ledger(database_url, "save-the-date") if m.status == "failed"]
    assert failed.failure == "permanent"
    assert failed.last_error is not None and failed.last_error.startswith("550")
    assert "person3" not in failed.last_error
    assert smtp.connections >= 4  # each fault was retried on a fresh connection


def test_bad_login_stops_the_stage_and_leaves_the_ledger_true(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackSMTPServer(user="mailer", password="right") as server:
        send_to(server, monkeypatch, SMTP_USER="mailer", SMTP_PASSWORD="wrong")
        event = make_event(tmp_path, roster_rows(3))
        with pytest.raises(KaryashalaError, match="refused the login"):
            send_stage(event, "save-the-date")
        assert {m.status for m in ledger(database_url, "save-the-date")} == {"pending"}
        assert server.received == []
        monkeypatch.setenv("KARYASHALA_SMTP_PASSWORD", "right")
        assert send_stage(event, "save-the-date").sent == 3
        assert server.logins >= 1


def test_an_untrusted_certificate_stops_the_stage(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackSMTPServer(tls_context=self_signed_context(tmp_path)) as server:
        send_to(server, monkeypatch, SMTP_SECURITY="starttls")
        event = make_event(tmp_path, roster_rows(2))
        with pytest.raises(
            KaryashalaError, match=r"certificate of 127\.0\.0\.1.* could not be verified"
        ):
            send_stage(event, "save-the-date")
        assert server.received == []
        assert {m.status for m in ledger(database_url, "save-the-date")} == {"pending"}


def test_daily_quota_stops_cleanly_and_the_next_run_goes_on(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = make_event(tmp_path, roster_rows(7))
    monkeypatch.setenv("KARYASHALA_SMTP_PER_DAY", "5")
    monkeypatch.setenv("KARYASHALA_BATCH_SIZE", "3")
    first = send_stage(event, "save-the-date")
    assert (first.sent, first.pending) == (5, 2)
    assert first.stopped is not None and "daily quota of 5" in first.stopped
    monkeypatch.setenv("KARYASHALA_SMTP_PER_DAY", "500")  # the next day
    second = send_stage(event, "save-the-date")
    assert (second.sent, second.pending, second.sent_this_run) == (7, 0, 2)
    assert sorted(Counter(smtp.message_ids()).values()) == [1] * 7


def flow_run_of(state: State[Any]) -> FlowRun:
    assert state.state_details.flow_run_id is not None
    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


def test_dry_run_renders_every_message_and_sends_none(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    event = make_event(tmp_path, roster_rows(4))
    send_stage(event, "save-the-date")
    with caplog.at_level(logging.INFO, logger="prefect.flow_runs"):
        state = send_stage(event, "invitation", dry_run=True, return_state=True)
    report = state.result()
    assert report.dry_run and len(smtp.received) == 4  # the save-the-date mails only
    files = sorted(Path(report.previews or "").glob("*.eml"))
    assert len(files) == 4
    assert b"multipart/alternative" in files[0].read_bytes()
    run = flow_run_of(state)
    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts()
    assert run.name == f"send-stage {event} invitation (dry run)" and "dry-run" in run.tags
    assert f"Every message due now is previewed in {report.previews}" in caplog.messages
    previews = [a for a in artifact if a.key == "stage-preview-test-workshop-invitation"]
    markdown = str(previews[0].data)
    assert "To send now: **4**; already sent: 0" in markdown
    assert "Daily quota left: **1996** of 2000" in markdown
    assert (
        "Next scheduled stage of the event: **save-the-date** at 2027-11-17 10:00 (Asia/Kolkata)"
        in markdown
    )
    assert f"rendered as .eml files in {markdown_text(report.previews)}" in markdown
    assert re.search(r"person\d+@example\.org", markdown) is None  # addresses are masked


def test_a_sending_run_keeps_its_name(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(1))
    run = flow_run_of(send_stage(event, "save-the-date", return_state=True))
    assert run.name == f"send-stage {event} save-the-date" and "dry-run" not in run.tags


def deploy_send_stage(name: str, event: str, schedules: list[Schedule] | None = None) -> UUID:
    deployment = send_stage.to_deployment(
        name=name,
        parameters={"event": event, "stage": "invitation"},
        schedules=schedules,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    assert isinstance(deployment, RunnerDeployment)
    deployment_id = deployment.apply()
    assert isinstance(deployment_id, UUID)
    return deployment_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_started_by_hand_from_a_deployment_waits_for_approval(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(2))  # its invitation does not require approval
    deploy_send_stage("by-hand", event)
    run = run_deployment("send-stage/by-hand", timeout=0)
    assert isinstance(run, FlowRun) and not run.auto_scheduled
    resumer = resume_when_paused({"decision": "hold"})
    # What a worker's process does with the run, here in this one.
    state = run_flow(send_stage, flow_run=run, parameters=run.parameters, return_type="state")
    resumer.join(timeout=5)
    assert isinstance(state, State) and state.name == "Held"
    report = state.result()
    assert report.sent == 0 and smtp.received == [] and report.approved is False
    assert len(list(Path(report.previews or "").glob("*.eml"))) == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_scheduled_run_of_a_deployment_sends_without_asking(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str, prefect_api_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(2))
    now = utc_now()
    hourly = Schedule(interval=timedelta(hours=1), anchor_date=now - timedelta(minutes=30))
    deployment_id = deploy_send_stage("on-schedule", event, [hourly])
    # The scheduler's own way of making runs, for the hour just past.
    httpx.post(
        f"{prefect_api_url}/deployments/{deployment_id}/schedule",
        json={"start_time": (now - timedelta(hours=1)).isoformat(), "end_time": now.isoformat()},
    ).raise_for_status()
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                expected_start_time=FlowRunFilterExpectedStartTime(before_=now),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
            ),
        )
    assert run.auto_scheduled
    state = run_flow(send_stage, flow_run=run, parameters=run.parameters, return_type="state")
    assert isinstance(state, State) and state.name == "Completed"
    # The sample's invitation goes on WhatsApp too: the rest are the coordinators' page mails.
    invitees = [r for r in smtp.received if not r.recipients[0].startswith("coordinator-")]
    assert state.result().sent == 2 and len(invitees) == 2


def approval_stage() -> list[dict[str, Any]]:
    return [
        {
            "id": "invitation",
            "at": "-7d 10:00",
            "requires_approval": True,
            "answer_links": True,
            "calendar": True,
        }
    ]


def resume_when_paused(run_input: dict[str, Any] | None) -> threading.Thread:
    def resume() -> None:
        with get_client(sync_client=True) as client:
            for _ in range(300):
                paused = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(
                            type=FlowRunFilterStateType(any_=[StateType.PAUSED])
                        )
                    )
                )
                if paused:
                    resume_flow_run(paused[0].id, run_input=run_input)
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=resume, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("run_input", "sent", "state_name"),
    [
        ({"decision": "approve"}, 2, "Completed"),
        ({"decision": "hold"}, 0, "Held"),
        ({"decision": "reject"}, 0, "Rejected"),
        ({}, 0, "Held"),  # a form sent as it came: the safe default
    ],
)
def test_approval_pauses_then_sends_only_on_yes(
    tmp_path: Path,
    smtp: LoopbackSMTPServer,
    database_url: str,
    run_input: dict[str, Any],
    sent: int,
    state_name: str,
) -> None:
    event = make_event(tmp_path, roster_rows(2), approval_stage())
    resumer = resume_when_paused(run_input)
    state = send_stage(event, "invitation", return_state=True)
    resumer.join(timeout=5)
    report = state.result()
    assert state.is_completed() and state.name == state_name
    assert report.sent == sent and len(smtp.received) == sent
    assert report.approved is (sent > 0)
    assert report.approval is not None
    assert report.approval.decision == run_input.get("decision", "hold")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_approval_note_and_time_go_into_the_log_and_the_outcome(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    event = make_event(tmp_path, roster_rows(2), approval_stage())
    before = utc_now()
    resumer = resume_when_paused(
        {"decision": "approve", "note": "Checked with ravi@example.org, *all* good"}
    )
    with caplog.at_level(logging.INFO, logger="prefect.flow_runs"):
        state = send_stage(event, "invitation", return_state=True)
    resumer.join(timeout=5)
    report = state.result()
    assert report.approval is not None and before <= report.approval.at <= utc_now()
    assert report.approval.note == "Checked with ravi@example.org, *all* good"
    with get_client(sync_client=True) as client:
        outcome = next(
            a
            for a in client.read_latest_artifacts()
            if a.key == "stage-outcome-test-workshop-invitation"
        )
    stamp = f"{report.approval.at:%Y-%m-%d %H:%M} UTC"
    assert f"approve at {stamp}: Checked with" in str(outcome.description)
    assert "\\*all\\* good" in str(outcome.description)  # the note's Markdown shown as typed
    said = "\n".join(caplog.messages)
    assert "Approval of invitation: approve (Checked with" in said
    assert "ravi@example.org" not in said + str(outcome.description)  # masked


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_approval_timeout_sends_nothing(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARYASHALA_APPROVAL_TIMEOUT_SECONDS", "3")
    event = make_event(tmp_path, roster_rows(2), approval_stage())
    report = send_stage(event, "invitation")
    assert report.approved is False and report.sent == 0 and smtp.received == []
    assert report.approval is not None and report.approval.decision is None
    assert {m.status for m in ledger(database_url, "invitation")} == {"pending"}


def test_a_name_cannot_break_or_inject_a_header() -> None:
    event = load_event("haryana-it-workshop")
    stage = event.stage("save-the-date")
    recipient = Recipient(
        1,
        9,
        "राम\r\nBcc: victim@example.org",
        None,
        None,
        "r@example.org",
        "hi",
        "<x.1@karyashala.test>",
    )
    sender = Sender(
        "invite@karyashala.test", "invite@karyashala.test", "http://x", "k" * 20, "halant"
    )
    message = build_message(
        event,
        stage,
        recipient,
        RenderedMail("विषय\nBcc: x@y.z", "<p>x</p>", "x", "http://x/u/t"),
        sender,
        utc_now(),
    )
    raw = wire_bytes(message)
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in header_block and b"\nBcc:" not in header_block
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["Bcc"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["r@example.org"]
    assert parsed["To"].addresses[0].display_name == "राम Bcc: victim@example.org"
    assert parsed["Subject"] == "विषय Bcc: x@y.z"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_killed_mid_stage_then_rerun_at_once_sends_everyone_once(
    tmp_path: Path, database_url: str, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default lease and batch: the rerun sees the dead sender's process is gone."""
    with LoopbackSMTPServer(delay=0.05) as server:
        send_to(server, monkeypatch)
        event = make_event(tmp_path, roster_rows(60))
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "karyashala.cli",
                "invite",
                "--event",
                event,
                "--stage",
                "save-the-date",
                "--json",
            ],
            env={**os.environ, "PREFECT_API_URL": prefect_api_url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server.wait_for(15, timeout=120)
        child.send_signal(signal.SIGKILL)
        child.wait()
        arrived_before = len(server.received)
        assert 15 <= arrived_before < 60
        started = time.monotonic()
        report = send_stage(event, "save-the-date")
        rerun_seconds = time.monotonic() - started
        assert (report.sent, report.pending, report.failed, report.stopped) == (60, 0, 0, None)
        assert rerun_seconds < load_settings().claim_lease_seconds  # did not wait out the lease
        counts = Counter(server.message_ids())
        assert len(counts) == 60
        assert sum(1 for n in counts.values() if n > 1) <= 1  # only the one in flight, if any
        assert max(counts.values()) <= 2


def test_cli_invite_json_contract(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str, prefect_api_url: str
) -> None:
    rows = roster_rows(3)
    rows[2][5] = ""
    event = make_event(tmp_path, rows)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "karyashala.cli",
            "invite",
            "--event",
            event,
            "--stage",
            "save-the-date",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PREFECT_API_URL": prefect_api_url},
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["sent"], payload["failed"], payload["pending"]) == (2, 0, 0)
    assert payload["skipped"] == {"no_email": 1}


def test_unknown_stage_is_a_clear_error(tmp_path: Path, smtp: LoopbackSMTPServer) -> None:
    event = make_event(tmp_path, roster_rows(1))
    with pytest.raises(KaryashalaError, match=r"no stage 'invitations'.*invitation"):
        send_stage(event, "invitations")


def test_embedded_outbox_receives_over_smtp(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KARYASHALA_SMTP_HOST", raising=False)
    event = make_event(tmp_path, roster_rows(2))
    send_stage(event, "save-the-date")
    from tasks.mail.outbox import read_outbox

    entries = read_outbox(load_settings().data_dir)
    assert sorted(e.stage for e in entries) == ["test-workshop/save-the-date"] * 2
    assert all(
        (isinstance(e.subject, str) and "कार्यशाला" in e.subject) or "Workshop" in e.subject
        for e in entries
    )
