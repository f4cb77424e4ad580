"""`prefect server start` as a child process, with its UI, for `demo --ui` and the tests.

Run as `python -m karyashala.prefect_server server start …`, this module is that command,
stopping once the process that started it is gone."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from config.errors import KaryashalaError
from karyashala.prefect_env import PARENT_PID, exit_with_parent

PREFECT = str(Path(sys.executable).parent / "prefect")
# `prefect server start` through this module, so that a SIGKILLed parent does not leave it up.
SERVER_START = [sys.executable, "-m", "karyashala.prefect_server", "server", "start"]


def without_prefect_settings() -> dict[str, str]:
    """This process's environment less its PREFECT_* settings, for a child with its own."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def server_environment(home: Path, api_url: str, database_url: str | None) -> dict[str, str]:
    """The child's environment: its own home and database, no client settings of ours, and our
    pid, which its watch on its parent checks."""
    env = without_prefect_settings()
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_UI_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
    )
    env[PARENT_PID] = str(os.getpid())
    if database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    return env


@contextmanager
def prefect_server(
    home: Path, port: int, log: Path, database_url: str | None = None, timeout: float = 180
) -> Iterator[str]:
    """A Prefect server with its UI on 127.0.0.1:port until the block ends; yields its URL.
    The database is SQLite in home unless database_url names another (PostgreSQL)."""
    url = f"http://127.0.0.1:{port}"
    home.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*SERVER_START, "--host", "127.0.0.1", "--port", str(port)],
            env=server_environment(home, f"{url}/api", database_url),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_healthy(process, url, log, timeout)
            yield url
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ask a child to stop; kill it if it has not after 20 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_healthy(
    process: subprocess.Popen[bytes], url: str, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise KaryashalaError(f"The Prefect server stopped while starting; see {log}.")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise KaryashalaError(f"The Prefect server did not answer within {timeout:.0f} s; see {log}.")


def run_prefect_cli() -> None:
    """The `prefect` console script in this process, its arguments ours, after starting the
    watch on our parent: that server runs uvicorn in process, out of reach of UVICORN_LOOP."""
    exit_with_parent()
    from prefect.cli import app

    app()


if __name__ == "__main__":
    run_prefect_cli()
