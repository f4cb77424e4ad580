"""Shared fixtures: one Prefect test server per session, a fresh store per test, fake Sheets."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from xdist.scheduler import LoadScopeScheduling

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from config import EVENTS_DIR
from store.db import engine_for
from store.models import Person, Response, utc_now
from tests.support.fake_sheets import FakeSheets
from tests.support.prefect_server import create_database, drop_database
from tests.support.prefect_server import database_url as database_url_for
from tests.support.smtp_server import LoopbackSMTPServer

if TYPE_CHECKING:
    from tests.support.production import Production

SAMPLE_EVENT = EVENTS_DIR / "haryana-it-workshop.yaml"
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FIGURES = "figures"


# Test files whose tests share servers started once per module or session (Prefect servers
# with workers, dovecot), by the name of what they share: each such group runs whole on one
# worker; every other test goes to whichever worker is free.
SHARED_SERVERS = {
    "tests/test_production.py": "production recipe",
    "tests/test_review_ui.py": "production recipe",
    "tests/test_automations.py": "automations",
    "tests/test_replies_inbox.py": "dovecot",
    "tests/test_reply_corpus.py": "reply corpus",
}


# Test files whose tests take longest (real servers and workers, the default timeouts waited
# out), started first, the longest first: the workers take the rest as they come, and a long
# one started last would leave the others idle at the end of the run.
STARTED_FIRST = (
    "tests/test_production.py",
    "tests/test_review_ui.py",
    "tests/test_demo.py",
    "tests/test_automations.py",
    "tests/test_replies_inbox.py",
    "tests/test_send_recovery.py",
    "tests/test_smtp_connections.py",
    "tests/test_cli_process.py",
    "tests/test_browser.py",
)


def test_file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of STARTED_FIRST first, in its order; the others after, as collected."""
    first = {name: rank for rank, name in enumerate(STARTED_FIRST)}
    items.sort(key=lambda item: first.get(test_file(item.nodeid), len(first)))


class BySharedServers(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no types
    """xdist's scheduling by scope, a scope being a group of SHARED_SERVERS or one test, handed
    out in the order of the collection (STARTED_FIRST), not by the size of the scope."""

    def __init__(self, config: pytest.Config, log: Any) -> None:
        config.option.loadscopereorder = False
        super().__init__(config, log)

    def _split_scope(self, nodeid: str) -> str:
        return SHARED_SERVERS.get(test_file(nodeid), nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> BySharedServers:
    return BySharedServers(config, log)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Two workers a core for `-n auto`: most tests spend their time waiting on servers they
    started (Prefect, SMTP, IMAP, Chromium), on polling and on the default timeouts, not on
    the CPU."""
    return 2 * len(os.sched_getaffinity(0))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Figures a test recorded (`record_property(FIGURES, text)`), at the end of the run: a
    test's own print is not shown when the tests run on several workers."""
    reports = [report for reports in terminalreporter.stats.values() for report in reports]
    figures = [
        str(value)
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in report.user_properties
        if name == FIGURES
    ]
    if figures:
        terminalreporter.section("figures")
        for text in figures:
            terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def prefect_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Prefect test server for the session; flows in this process and in CLI children use it
    (a command started without PREFECT_API_URL starts a temporary server of its own, some 10 s of
    CPU: tests/test_cli_process.py and the demo's tests start theirs on purpose)."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_RESULTS_LOCAL_STORAGE_PATH,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    results = tmp_path_factory.mktemp("prefect-results")
    with (
        prefect_test_harness(server_startup_timeout=60),
        temporary_settings(
            {
                PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                PREFECT_RESULTS_LOCAL_STORAGE_PATH: results,
            }
        ),
        pytest.MonkeyPatch.context() as environment,
    ):
        api_url = str(PREFECT_API_URL.value())
        environment.setenv("PREFECT_API_URL", api_url)
        yield api_url


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator["Production"]:
    """The production recipe (tests/support/production.py), once for the tests that run it."""
    from tests.support.production import production_recipe

    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("no PostgreSQL reachable; set KARYASHALA_TEST_POSTGRES_URL")
    with production_recipe(tmp_path_factory.mktemp("production"), admin_url) as setup:
        yield setup


def postgres_admin_url() -> str | None:
    """PostgreSQL for the store tests: required where KARYASHALA_TEST_POSTGRES_URL is set."""
    configured = os.environ.get("KARYASHALA_TEST_POSTGRES_URL")
    url = configured or DEFAULT_POSTGRES
    try:
        with create_engine(url).connect():
            return url
    except OperationalError:
        if configured:
            raise
        return None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("no PostgreSQL reachable; set KARYASHALA_TEST_POSTGRES_URL")
    name = create_database(admin_url, "karyashala_test")
    yield database_url_for(admin_url, name, "postgresql+psycopg")
    drop_database(admin_url, name)


@pytest.fixture
def karyashala_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> dict[str, str]:
    """The settings a flow reads, pointed at this test's data dir and store."""
    env = {
        "KARYASHALA_DATA_DIR": str(tmp_path / "data"),
        "KARYASHALA_DATABASE_URL": database_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def fake_sheets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeSheets]:
    with FakeSheets() as fake:
        credentials = fake.service_account_file(tmp_path / "service-account.json")
        monkeypatch.setenv("KARYASHALA_SHEETS_ENDPOINT", fake.base_url)
        monkeypatch.setenv("KARYASHALA_GOOGLE_CREDENTIALS_PATH", str(credentials))
        monkeypatch.setenv("KARYASHALA_SHEETS_BACKOFF_SECONDS", "0.01")
        monkeypatch.setenv("KARYASHALA_SHEETS_TIMEOUT_SECONDS", "2")
        yield fake


def write_event(directory: Path, roster: dict[str, Any], event_id: str = "test-workshop") -> Path:
    """The sample event with another id and roster source, as a YAML file in directory."""
    data = yaml.safe_load(SAMPLE_EVENT.read_text(encoding="utf-8"))
    data["id"] = event_id
    data["roster"] = {"columns": data["roster"]["columns"], **roster}
    path = directory / f"{event_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


HEADER = ["नाम", "पद", "मोर्चा/इकाई", "जिला", "मोबाइल", "ईमेल", "भाषा", "टिप्पणी"]


def link_answer(database_url: str, email: str, answer: str) -> None:
    """An invitee's answer through the link in their mail, stored as the answer page stores it."""
    with Session(engine_for(database_url)) as session, session.begin():
        person_id = session.scalars(select(Person.id).where(Person.email == email)).one()
        session.add(
            Response(
                event_id="test-workshop",
                person_id=person_id,
                channel="link",
                answer=answer,
                received_at=utc_now(),
            )
        )


def person_row(
    name: str = "राजेश शर्मा",
    role: str = "जिला संयोजक",
    unit: str = "आईटी एवं सोशल मीडिया",
    district: str = "Gurugram",
    phone: str = "9812345678",
    email: str = "rajesh@example.org",
    language: str = "हिंदी",
    remark: str = "",
) -> list[str]:
    return [name, role, unit, district, phone, email, language, remark]


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackSMTPServer]:
    with LoopbackSMTPServer() as server:
        send_to(server, monkeypatch)
        yield server


def send_to(server: LoopbackSMTPServer, monkeypatch: pytest.MonkeyPatch, **more: str) -> None:
    """Point the settings at a loopback server, with more KARYASHALA_* settings by name."""
    settings = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(server.port),
        "SMTP_SECURITY": "none",
        "MAIL_FROM": "invite@karyashala.test",
        "REPLY_TO": "media@karyashala.test",
        "SIGNING_KEY": "test-signing-key-0123456789",
        "PUBLIC_URL": "https://rsvp.karyashala.test",
        "SMTP_BACKOFF_SECONDS": "0.01",
        **more,
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"KARYASHALA_{name}", value)


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-quic",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()
