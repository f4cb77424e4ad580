"""The production recipe, shared by the tests that run it: `prefect server start` on
PostgreSQL, `karyashala deploy`, process workers, the store on PostgreSQL, an SMTP server."""

import csv
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings

from config.settings import load_settings
from karyashala.prefect_server import stop_process
from store.db import engine_for
from tests.conftest import HEADER, person_row, write_event
from tests.support.prefect_server import (
    PrefectServer,
    clean_environment,
    create_database,
    database_url,
    drop_database,
    start_worker,
)
from tests.support.smtp_server import LoopbackSMTPServer

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


@contextmanager
def production_recipe(directory: Path, admin_url: str) -> Iterator[Production]:
    """A Prefect server and its store on PostgreSQL, one worker, an SMTP server, until the end."""
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
            # The tests on this one store send more than the default day's quota (2,000)
            # together: the 2,000 people of the crowd test plus the others' mails.
            KARYASHALA_SMTP_PER_DAY="100000",
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
