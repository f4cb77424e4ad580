"""Ops hear about runs that need them: the automations `karyashala deploy` puts on a real
`prefect server start` mail them, through our SMTP block, at an SMTP server on loopback."""

import csv
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings

from config.settings import load_settings
from deployments.notify import NOTICES
from karyashala.prefect_server import prefect_server, prefect_worker
from tests.conftest import HEADER, person_row, write_event
from tests.support.prefect_server import clean_environment
from tests.support.smtp_server import LoopbackSMTPServer, Received, free_port

KARYASHALA = str(Path(sys.executable).parent / "karyashala")
OPS = ["media-ops@example.org", "it-cell@example.org"]
SMTP_USER, SMTP_PASSWORD = "karyashala-mailer", "smtp-secret-8812"
DAILY_QUOTA = 2
FINAL = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}


@dataclass
class Ops:
    """A Prefect server, an SMTP server with a login, and the environment of our commands."""

    url: str
    smtp: LoopbackSMTPServer
    env: dict[str, str]
    directory: Path

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def deploy(self, event_id: str, people: int, ops: list[str] = OPS) -> str:
        """The event, with its ops and a roster, deployed through the command line; returns the
        event file's path."""
        roster = self.directory / f"{event_id}.csv"
        with roster.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(
                [
                    HEADER,
                    *(
                        person_row(name=f"व्यक्ति {n}", email=f"p{n}@example.org", phone=f"98{n:08d}")
                        for n in range(people)
                    ),
                ]
            )
        path = write_event(self.directory, {"source": "csv", "path": str(roster)}, event_id)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        path.write_text(yaml.safe_dump({**data, "ops": ops}, allow_unicode=True), "utf-8")
        result = subprocess.run(
            [KARYASHALA, "deploy", "--event", str(path)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert SMTP_PASSWORD not in result.stdout + result.stderr
        assert "PREFECT_UI_URL" not in result.stderr  # the server knows its address
        told = f"Ops ({len(ops)} addresses) are mailed" if ops else "The event file names no ops"
        assert told in result.stdout
        return str(path)

    def notices(self, event_id: str) -> dict[str, UUID]:
        """The event's automations that mail ops, by name."""
        with (
            temporary_settings({PREFECT_API_URL: self.api_url}),
            get_client(sync_client=True) as client,
        ):
            found = client.read_automations()
        return {item.name: item.id for item in found if f"event:{event_id}" in item.tags}

    def start(self, name: str, **parameters: Any) -> UUID:
        with temporary_settings({PREFECT_API_URL: self.api_url}):
            started = run_deployment(name, parameters=parameters or None, timeout=0)
        assert isinstance(started, FlowRun)
        return started.id

    def wait(self, run_id: UUID, states: set[StateType], timeout: float = 300) -> StateType:
        with (
            temporary_settings({PREFECT_API_URL: self.api_url}),
            get_client(sync_client=True) as client,
        ):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                state = client.read_flow_run(run_id).state
                if state is not None and state.type in states:
                    return state.type
                time.sleep(0.5)
        logs = "\n".join(
            p.read_text(errors="replace")[-3000:] for p in self.directory.glob("*.log")
        )
        raise AssertionError(f"run {run_id} did not reach {states} in {timeout} s\n{logs}")

    def mails_about(self, run_id: UUID, subject: str, timeout: float = 120) -> list[EmailMessage]:
        """The mails to ops whose subject starts so and that link to the run, once each ops
        address has one."""
        link = f"{self.url}/runs/flow-run/{run_id}"

        def found() -> list[Received]:
            return [
                item
                for item in self.smtp.received
                if str(item.message["Subject"]).startswith(subject)
                and link in plain_text(item.message)
            ]

        deadline = time.monotonic() + timeout
        while len(found()) < len(OPS) and time.monotonic() < deadline:
            time.sleep(0.2)
        mails = found()
        assert sorted(item.recipients[0] for item in mails) == sorted(OPS), [
            str(item.message["Subject"]) for item in self.smtp.received
        ]
        return [item.message for item in mails]


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return "" if body is None else str(body.get_content())


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    directory = tmp_path_factory.mktemp("automations")
    home = directory / "prefect"
    with (
        prefect_server(home, free_port(), directory / "server.log") as url,
        LoopbackSMTPServer(user=SMTP_USER, password=SMTP_PASSWORD) as smtp,
    ):
        env = clean_environment(
            PREFECT_API_URL=f"{url}/api",
            KARYASHALA_DATA_DIR=str(directory / "data"),
            KARYASHALA_SMTP_HOST="127.0.0.1",
            KARYASHALA_SMTP_PORT=str(smtp.port),
            KARYASHALA_SMTP_SECURITY="none",
            KARYASHALA_SMTP_USER=SMTP_USER,
            KARYASHALA_SMTP_PASSWORD=SMTP_PASSWORD,
            KARYASHALA_MAIL_FROM="karyashala@example.org",
            KARYASHALA_SMTP_PER_DAY=str(DAILY_QUOTA),
            KARYASHALA_SIGNING_KEY="automations-test-signing-key",
        )
        env.pop("KARYASHALA_DATABASE_URL", None)
        # No limit on runs at a time: a run waiting for review keeps its process.
        with prefect_worker(
            f"{url}/api", load_settings().work_pool, directory / "worker.log", **env
        ):
            yield Ops(url, smtp, env, directory)


def test_ops_are_mailed_when_a_run_waits_for_review_and_when_one_fails(ops: Ops) -> None:
    path = ops.deploy("notice-workshop", people=3)
    review = ops.start("press-note/announcement · notice-workshop")
    assert ops.wait(review, {StateType.PAUSED, *FINAL}) == StateType.PAUSED
    failing = ops.start("sync-roster/notice-workshop", event=f"{path}.missing")
    assert ops.wait(failing, FINAL) == StateType.FAILED

    for mail in ops.mails_about(review, "समीक्षा बाकी / Waiting for review: press-note"):
        text = plain_text(mail)
        assert "announcement · notice-workshop" in text
        assert "आपकी समीक्षा के लिए रुका है" in text and 'press "Resume"' in text
    for mail in ops.mails_about(failing, "रन विफल / Run Failed: sync-roster"):
        assert "No event file" in plain_text(mail)  # why, from the run's state
    assert ops.smtp.logins > 0  # through the login of KARYASHALA_SMTP_USER

    notices = ops.notices("notice-workshop")
    assert len(notices) == len(NOTICES)
    ops.deploy("notice-workshop", people=3)  # again: the same automations, updated
    assert ops.notices("notice-workshop") == notices
    ops.deploy("notice-workshop", people=3, ops=[])  # nobody to mail: they go
    assert ops.notices("notice-workshop") == {}


def test_ops_are_mailed_when_a_stage_stops_at_the_daily_quota(ops: Ops) -> None:
    ops.deploy("quota-workshop", people=DAILY_QUOTA + 3)
    synced = ops.start("sync-roster/quota-workshop")
    assert ops.wait(synced, FINAL) == StateType.COMPLETED
    stage = ops.start("send-stage/invitation · quota-workshop")
    # A stage started by hand asks for an approval first.
    assert ops.wait(stage, {StateType.PAUSED, *FINAL}) == StateType.PAUSED
    with temporary_settings({PREFECT_API_URL: ops.api_url}):
        resume_flow_run(stage, run_input={"decision": "approve"})
    assert ops.wait(stage, FINAL) == StateType.COMPLETED

    for mail in ops.mails_about(stage, "दैनिक कोटा पूरा / Daily quota reached: invitation"):
        assert f"the daily quota of {DAILY_QUOTA} messages is reached" in plain_text(mail)
