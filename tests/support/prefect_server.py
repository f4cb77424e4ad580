"""A real `prefect server start` with its database on PostgreSQL, and process workers."""

import signal
import subprocess
import uuid
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from karyashala.prefect_server import (
    PREFECT,
    prefect_server,
    without_prefect_settings,
)
from tasks.mail.outbox import free_port


def create_database(admin_url: str, prefix: str) -> str:
    """A fresh database on the PostgreSQL of admin_url; returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def database_url(admin_url: str, name: str, driver: str) -> str:
    url = make_url(admin_url).set(drivername=driver, database=name)
    return url.render_as_string(hide_password=False)


def clean_environment(**more: str) -> dict[str, str]:
    """This process's environment without its Prefect settings (a test harness sets some)."""
    return {**without_prefect_settings(), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **more}


class PrefectServer:
    """`prefect server start` on a loopback port, its database a PostgreSQL database of its own."""

    def __init__(self, home: Path, admin_url: str) -> None:
        self.home = home
        self.admin_url = admin_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api"
        self.database = ""
        self.stack = ExitStack()

    def __enter__(self) -> "PrefectServer":
        self.database = create_database(self.admin_url, "prefect_server")
        self.stack.callback(drop_database, self.admin_url, self.database)
        self.home.mkdir(parents=True, exist_ok=True)
        url = database_url(self.admin_url, self.database, "postgresql+asyncpg")
        self.stack.enter_context(
            prefect_server(self.home, self.port, self.home / "server.log", url)
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


def start_worker(
    api_url: str, pool: str, name: str, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """A process worker that runs one flow run at a time and polls every second, started the
    way the production recipe starts one (`prefect worker start`), with Ctrl+C at its default
    whatever the tests were started with: a worker stops on SIGTERM by sending itself SIGINT."""
    return subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", pool, "--name", name, "--limit", "1"],
        env={
            **env,
            "PREFECT_API_URL": api_url,
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_HEARTBEAT_SECONDS": "5",
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        preexec_fn=default_ctrl_c,
    )


def ignore_ctrl_c() -> None:
    """Ctrl+C as a process started in a shell's background has it: ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
