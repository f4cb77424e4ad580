"""send-stage after a crash, beside another sender, against a stuck server, to odd addresses,
and after the event: every case ends with each person's mail sent once or a stated reason."""

import subprocess
import threading
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from config.errors import KaryashalaError
from config.settings import load_settings
from flows.send_stage import send_stage
from store.db import engine_for
from store.models import Message, utc_now
from tasks.common.processes import process_start
from tasks.mail.claims import HOST
from tests.conftest import person_row, send_to
from tests.support.smtp_server import LoopbackSMTPServer
from tests.test_send_stage import ledger, make_event, roster_rows

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")

STAGE = "save-the-date"


def hold(database_url: str, count: int, **holder: object) -> list[int]:
    """Mark the first count messages of the stage as being sent by another run."""
    with Session(engine_for(database_url)) as session, session.begin():
        ids = list(
            session.scalars(
                select(Message.id).where(Message.stage == STAGE).order_by(Message.id).limit(count)
            )
        )
        session.execute(
            update(Message)
            .where(Message.id.in_(ids))
            .values(status="sending", claimed_by="the-other-run", updated_at=utc_now(), **holder)
        )
    return ids


def test_a_silent_sender_on_another_machine_is_waited_for_then_taken_over(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(12))
    send_stage(event, STAGE, dry_run=True)  # plans the ledger
    lease = load_settings().claim_lease_seconds
    last_heard = utc_now() - timedelta(seconds=lease - 4)  # its lease runs out in 4 s
    hold(database_url, 5, claim_host="sender-2.example", claim_pid=4242, claimed_at=last_heard)
    report = send_stage(event, STAGE)
    assert (report.sent, report.pending, report.stopped) == (12, 0, None)
    assert len(set(smtp.message_ids())) == len(smtp.message_ids()) == 12


def test_a_live_sender_on_another_machine_keeps_its_messages(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(12))
    send_stage(event, STAGE, dry_run=True)
    held = hold(
        database_url, 5, claim_host="sender-2.example", claim_pid=4242, claimed_at=utc_now()
    )
    working = threading.Event()

    def renew_like_a_live_sender() -> None:
        while not working.wait(2):
            with Session(engine_for(database_url)) as session, session.begin():
                session.execute(
                    update(Message).where(Message.id.in_(held)).values(claimed_at=utc_now())
                )

    renewer = threading.Thread(target=renew_like_a_live_sender)
    renewer.start()
    try:
        report = send_stage(event, STAGE)
    finally:
        working.set()
        renewer.join()
    assert (report.sent, report.pending) == (7, 5)
    assert report.stopped is not None
    assert "5 message(s) held by another run (sender-2.example, pid 4242" in report.stopped
    assert "still sending" in report.stopped
    assert len(smtp.message_ids()) == 7


def test_a_live_sender_on_this_machine_is_named_at_once(
    tmp_path: Path, smtp: LoopbackSMTPServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(6))
    send_stage(event, STAGE, dry_run=True)
    sender = subprocess.Popen(["sleep", "120"])
    try:
        started = process_start(sender.pid)
        hold(
            database_url,
            2,
            claim_host=HOST,
            claim_pid=sender.pid,
            claim_process_start=started,
            claimed_at=utc_now(),
        )
        began = time.monotonic()
        report = send_stage(event, STAGE)
        assert time.monotonic() - began < 20  # named, not waited for
        assert report.stopped is not None and f"pid {sender.pid}" in report.stopped
        assert (report.sent, report.pending) == (4, 2)
        sender.kill()
        sender.wait()
        # Once that process is gone its messages are taken over at once.
        report = send_stage(event, STAGE)
        assert (report.sent, report.pending, report.stopped) == (6, 0, None)
    finally:
        sender.kill()
        sender.wait()
    assert len(set(smtp.message_ids())) == len(smtp.message_ids()) == 6


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_server_that_never_answers_stops_the_batch_with_a_clear_reason(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackSMTPServer() as server:
        send_to(server, monkeypatch)
        event = make_event(tmp_path, roster_rows(20))
        server.stalled = True
        began = time.monotonic()
        with pytest.raises(KaryashalaError, match=r"did not answer within 30 s, 2 times in a row"):
            send_stage(event, STAGE)
        waited = time.monotonic() - began
    settings = load_settings()
    # Two timeouts and one backoff, not 20 messages times 4 attempts of 30 s.
    assert waited < settings.smtp_stall_limit * settings.smtp_timeout_seconds + 30
    statuses = Counter(row.status for row in ledger(database_url, STAGE))
    assert statuses == {"pending": 20}


class StoreRestartingServer(LoopbackSMTPServer):
    """Cuts every connection to the store while it takes the mail to one address, as a
    database restarting in the middle of a wave would."""

    def __init__(self, database_url: str, restart_at: str) -> None:
        super().__init__()
        self.database_url = database_url
        self.restart_at = restart_at
        self.cut = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.restart_at in envelope.rcpt_tos:
            with create_engine(self.database_url, poolclass=NullPool).connect() as connection:
                self.cut += len(
                    connection.execute(
                        text(
                            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    ).all()
                )
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_store_restarting_mid_batch_loses_and_repeats_nothing(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = StoreRestartingServer(database_url, restart_at="person3@example.org")
    with server:
        send_to(server, monkeypatch)
        event = make_event(tmp_path, roster_rows(8))
        report = send_stage(event, STAGE)
    assert server.cut > 0  # connections to the store really were cut mid-wave
    assert (report.sent, report.failed, report.pending, report.stopped) == (8, 0, 0, None)
    arrived = Counter(server.message_ids())
    assert len(arrived) == 8 and set(arrived.values()) == {1}
    rows = ledger(database_url, STAGE)
    assert {row.status for row in rows} == {"sent"}
    assert sorted(row.attempts for row in rows) == [1] * 8


IDN_ADDRESSES = ["user@डाटामेल.भारत", "jürgen@münchen.example"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("smtputf8", [True, False])
def test_international_addresses_go_out_and_never_block_the_batch(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, smtputf8: bool
) -> None:
    rows = [
        person_row(name=f"व्यक्ति {n}", email=email, phone=f"98124{n:05d}")
        for n, email in enumerate([*IDN_ADDRESSES, *(f"p{n}@example.org" for n in range(6))])
    ]
    with LoopbackSMTPServer(smtputf8=smtputf8) as server:
        send_to(server, monkeypatch)
        event = make_event(tmp_path, rows)
        report = send_stage(event, STAGE)
    envelopes = {recipient for item in server.received for recipient in item.recipients}
    assert "user@xn--c2bd4bq1db8d.xn--h2brj9c" in envelopes  # the IDN domain as A-labels
    assert {f"p{n}@example.org" for n in range(6)} <= envelopes
    utf8_mail = [item for item in server.received if "jürgen@münchen.example" in item.recipients]
    if smtputf8:
        assert (report.sent, report.failed) == (8, 0)
        (item,) = utf8_mail
        to = message_from_bytes(item.data, policy=default.clone(utf8=True))["To"]
        assert "jürgen@münchen.example".encode() in item.data
        assert "व्यक्ति 1" in str(to)
    else:
        assert (report.sent, report.failed) == (7, 1)
        assert utf8_mail == []
        (failed,) = [row for row in ledger(database_url, STAGE) if row.status == "failed"]
        assert failed.failure == "permanent"
        assert failed.last_error is not None and "SMTPUTF8" in failed.last_error
        assert "jürgen" not in failed.last_error


def move_event_to_the_past(path: str) -> None:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    data["starts_at"] = (utc_now() - timedelta(days=3)).isoformat()
    Path(path).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_an_ended_event_sends_only_what_is_meant_for_after_it(
    tmp_path: Path, smtp: LoopbackSMTPServer
) -> None:
    event = make_event(tmp_path, roster_rows(3))
    move_event_to_the_past(event)
    with pytest.raises(KaryashalaError, match=r"ended at .*'reminder' is not sent after it"):
        send_stage(event, "reminder")
    assert smtp.received == []
    assert send_stage(event, "reminder", dry_run=True).dry_run  # a preview is harmless
    assert send_stage(event, STAGE, force=True).sent == 3
