"""The production recipe, run: `prefect server start` on PostgreSQL, `karyashala deploy`,
process workers, the store on PostgreSQL, mails at an SMTP server, the UI in a browser."""

import csv
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import load_settings
from karyashala.prefect_server import stop_process
from store.db import engine_for
from store.models import Message
from tests.conftest import (
    CHROMIUM,
    HEADER,
    SCREENSHOTS,
    person_row,
    postgres_admin_url,
    write_event,
)
from tests.support.prefect_server import (
    PrefectServer,
    clean_environment,
    create_database,
    database_url,
    drop_database,
    start_worker,
)
from tests.support.smtp_server import LoopbackSMTPServer

pytestmark = pytest.mark.xdist_group("production")

KARYASHALA = str(Path(sys.executable).parent / "karyashala")
FINAL = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}


def blocking(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a Prefect function that dispatches on a running event loop (Playwright keeps one
    in this thread) in its blocking form."""
    return function(*args, **{**kwargs, "_sync": True})


@dataclass
class Production:
    server: PrefectServer
    smtp: LoopbackSMTPServer
    env: dict[str, str]
    store_url: str
    directory: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, name: str) -> None:
        pool = load_settings().work_pool
        log = self.directory / f"{name}.log"
        self.workers.append(start_worker(self.server.api_url, pool, name, self.env, log))

    def karyashala(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KARYASHALA, *args], env=self.env, capture_output=True, text=True, timeout=300
        )

    def deployed(self, event_id: str, people: int) -> Path:
        """The event written and deployed (again: deploying is idempotent)."""
        event = self.event(event_id, people)
        result = self.karyashala("deploy", "--event", str(event))
        assert result.returncode == 0, result.stderr
        return event

    def event(self, event_id: str, people: int) -> Path:
        roster = self.directory / f"{event_id}.csv"
        with roster.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(
                [
                    HEADER,
                    *(
                        person_row(
                            name=f"व्यक्ति {n}",
                            email=f"{event_id}.{n}@example.org",
                            phone=f"98{n:08d}",
                            district=["Gurugram", "Hisar", "Rohtak"][n % 3],
                        )
                        for n in range(people)
                    ),
                ]
            )
        return write_event(self.directory, {"source": "csv", "path": str(roster)}, event_id)

    def run(self, name: str, timeout: float = 300, **parameters: Any) -> FlowRun:
        """Start a run of a deployment through the API and wait for it to end."""
        with temporary_settings({PREFECT_API_URL: self.server.api_url}):
            started = blocking(run_deployment, name, parameters=parameters or None, timeout=0)
            assert isinstance(started, FlowRun)
            return self.wait(started.id, FINAL, timeout)

    def approve(self, run_id: UUID, timeout: float = 300) -> None:
        """A send-stage run started by hand waits for a yes: give it."""
        self.wait(run_id, {StateType.PAUSED}, timeout)
        with temporary_settings({PREFECT_API_URL: self.server.api_url}):
            blocking(resume_flow_run, run_id, run_input={"decision": "approve"})

    def wait(self, run_id: UUID, states: set[StateType], timeout: float = 300) -> FlowRun:
        with (
            temporary_settings({PREFECT_API_URL: self.server.api_url}),
            get_client(sync_client=True) as client,
        ):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                run = client.read_flow_run(run_id)
                if run.state is not None and run.state.type in states:
                    return run
                time.sleep(0.5)
        logs = "\n".join(
            p.read_text(errors="replace")[-3000:] for p in self.directory.glob("*.log")
        )
        raise AssertionError(f"run {run_id} did not reach {states} in {timeout} s\n{logs}")

    def sent_to(self, stage: str) -> Counter[str]:
        return Counter(
            item.recipients[0]
            for item in self.smtp.received
            if str(item.message["X-Karyashala-Stage"]).endswith(stage)
        )


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("no PostgreSQL reachable; set KARYASHALA_TEST_POSTGRES_URL")
    directory = tmp_path_factory.mktemp("production")
    store = create_database(admin_url, "karyashala_store")
    with PrefectServer(directory / "prefect", admin_url) as server, LoopbackSMTPServer() as smtp:
        env = clean_environment(
            PREFECT_API_URL=server.api_url,
            KARYASHALA_DATABASE_URL=database_url(admin_url, store, "postgresql+psycopg"),
            KARYASHALA_DATA_DIR=str(directory / "data"),
            KARYASHALA_SMTP_HOST="127.0.0.1",
            KARYASHALA_SMTP_PORT=str(smtp.port),
            KARYASHALA_SMTP_SECURITY="none",
            KARYASHALA_MAIL_FROM="invite@karyashala.test",
            KARYASHALA_SIGNING_KEY="production-test-signing-key",
            KARYASHALA_SMTP_PER_MINUTE="600000",
        )
        setup = Production(server, smtp, env, env["KARYASHALA_DATABASE_URL"], directory)
        setup.add_worker("worker-a")
        try:
            yield setup
        finally:
            for worker in setup.workers:
                stop_process(worker)
            engine_for(setup.store_url).dispose()
            drop_database(admin_url, store)


def test_deployed_event_runs_on_a_worker_with_the_store_on_postgresql(
    production: Production,
) -> None:
    event = production.event("prod-workshop", 30)
    deployed = production.karyashala("deploy", "--event", str(event))
    assert deployed.returncode == 0, deployed.stderr
    assert "send-stage/invitation · prod-workshop" in deployed.stdout
    assert "2027-11-24 10:00 (once)" in deployed.stdout

    synced = production.run("sync-roster/prod-workshop")
    assert synced.state is not None and synced.state.type == StateType.COMPLETED
    with temporary_settings({PREFECT_API_URL: production.server.api_url}):
        started = blocking(run_deployment, "send-stage/invitation · prod-workshop", timeout=0)
    assert isinstance(started, FlowRun)
    production.approve(started.id)
    sent = production.wait(started.id, FINAL)
    assert sent.state is not None and sent.state.type == StateType.COMPLETED
    assert sent.name == f"send-stage {event} invitation"
    assert "event:prod-workshop" in sent.tags
    assert production.sent_to("prod-workshop/invitation") == Counter(
        {f"prod-workshop.{n}@example.org": 1 for n in range(30)}
    )
    collected = production.run("collect-confirmations/prod-workshop")
    assert collected.state is not None and collected.state.type == StateType.COMPLETED
    with Session(engine_for(production.store_url)) as session:
        rows = session.execute(
            select(Message.stage, Message.channel, Message.status, func.count())
            .where(Message.event_id == "prod-workshop")
            .group_by(Message.stage, Message.channel, Message.status)
        ).all()
    ledger = {(stage, channel, status): count for stage, channel, status, count in rows}
    # The sample's invitation also goes on WhatsApp: each person's message waits for a
    # coordinator's tap, and each coordinator with people got the mail with their page.
    assert ledger.pop(("coordinators-invitation", "email", "sent")) >= 1
    assert ledger == {
        ("invitation", "email", "sent"): 30,
        ("invitation", "whatsapp", "pending"): 30,
    }


def test_two_workers_on_one_stage_send_each_person_once(production: Production) -> None:
    production.add_worker("worker-b")
    production.deployed("prod-crowd", 2000)
    production.run("sync-roster/prod-crowd")
    with temporary_settings({PREFECT_API_URL: production.server.api_url}):
        runs = [run_deployment("send-stage/invitation · prod-crowd", timeout=0) for _ in range(2)]
    for run in runs:
        production.approve(run.id)  # type: ignore[union-attr]
    finished = [production.wait(run.id, FINAL, timeout=600) for run in runs]  # type: ignore[union-attr]
    assert [run.state.type for run in finished if run.state] == [StateType.COMPLETED] * 2
    received = production.sent_to("prod-crowd/invitation")
    assert len(received) == 2000 and set(received.values()) == {1}
    with Session(engine_for(production.store_url)) as session:
        by_run = session.execute(
            select(Message.claimed_by, func.count())
            .where(Message.event_id == "prod-crowd", Message.status == "sent")
            .group_by(Message.claimed_by)
        ).all()
    assert len(by_run) == 2, f"one run did all the work: {by_run}"
    assert sum(count for _, count in by_run) == 2000


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_prefect_ui_lists_the_deployments_and_shows_the_hindi_press_note(
    production: Production, browser: Any
) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    production.deployed("prod-workshop", 30)
    written = production.run("press-note/announcement · prod-workshop", review=False)
    assert written.state is not None and written.state.type == StateType.COMPLETED
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{production.server.url}/deployments")
    page.wait_for_selector(
        "text=/(invitation|reminder|summary) · prod-(workshop|crowd)/", timeout=60_000
    )
    page.screenshot(path=str(SCREENSHOTS / "prefect-ui-deployments.png"), full_page=True)

    page.goto(f"{production.server.url}/artifacts/key/press-announcement-prod-workshop")
    page.wait_for_selector("text=Created press-announcement-prod-workshop", timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "prefect-ui-press-note-versions.png"))
    page.locator("text=/^[0-9a-f]{8}$/").first.click()  # the latest version
    page.wait_for_selector("text=सिग्नेचर टावर", timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "prefect-ui-press-note.png"), full_page=True)

    with temporary_settings({PREFECT_API_URL: production.server.api_url}):
        review = blocking(run_deployment, "press-note/summary · prod-workshop", timeout=0)
    assert isinstance(review, FlowRun)
    production.wait(review.id, {StateType.PAUSED}, timeout=300)
    page.goto(f"{production.server.url}/runs/flow-run/{review.id}")
    page.get_by_role("button", name="Resume").click()
    page.wait_for_selector("text=Edited Text", timeout=60_000)  # a field of the form
    page.screenshot(path=str(SCREENSHOTS / "prefect-ui-review-form.png"), full_page=True)
    with temporary_settings({PREFECT_API_URL: production.server.api_url}):
        blocking(resume_flow_run, review.id, run_input={"decision": "keep as draft"})
    done = production.wait(review.id, FINAL)
    assert done.state is not None and done.state.type == StateType.COMPLETED
