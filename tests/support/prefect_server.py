"""A real `prefect server start` with its database on PostgreSQL, and process workers."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tasks.outbox import free_port

PREFECT = str(Path(sys.executable).parent / "prefect")


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **more}


class PrefectServer:
    """`prefect server start` on a loopback port, its database a PostgreSQL database of its own."""

    def __init__(self, home: Path, admin_url: str) -> None:
        self.home = home
        self.admin_url = admin_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api"
        self.database = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None

    def __enter__(self) -> "PrefectServer":
        self.database = create_database(self.admin_url, "prefect_server")
        self.home.mkdir(parents=True, exist_ok=True)
        self.log = (self.home / "server.log").open("wb")
        env = clean_environment(
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_DATABASE_CONNECTION_URL=database_url(
                self.admin_url, self.database, "postgresql+asyncpg"
            ),
            PREFECT_UI_API_URL=self.api_url,
        )
        self.process = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prefect server exited; see {self.home / 'server.log'}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"prefect server did not come up; see {self.home / 'server.log'}")

    def __exit__(self, *exc: object) -> None:
        stop(self.process)
        if self.log is not None:
            self.log.close()
        if self.database:
            drop_database(self.admin_url, self.database)


def start_worker(
    api_url: str, pool: str, name: str, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """A process worker that runs one flow run at a time and polls every second."""
    return subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", pool, "--name", name, "--limit", "1"],
        env={**env, "PREFECT_API_URL": api_url, "PREFECT_WORKER_QUERY_SECONDS": "1",
             "PREFECT_WORKER_HEARTBEAT_SECONDS": "5"},
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
