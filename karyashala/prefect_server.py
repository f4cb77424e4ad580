"""`prefect server start` as a child process, with its UI, and a process worker beside it, for
`demo --ui` and the tests.

Run as `python -m karyashala.prefect_server server start …` (or `worker start …`), this module
is that command, stopping once the process that started it is gone."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from config.errors import KaryashalaError
from karyashala.prefect_env import PARENT_PID, PARENT_POLL_SECONDS, exit_with_parent
from tasks.common.processes import children

PREFECT = str(Path(sys.executable).parent / "prefect")
# `prefect server start` and `prefect worker start` through this module, so that a SIGKILLed
# parent does not leave them up.
SERVER_START = [sys.executable, "-m", "karyashala.prefect_server", "server", "start"]
WORKER_START = [sys.executable, "-m", "karyashala.prefect_server", "worker", "start"]


def without_prefect_settings() -> dict[str, str]:
    """This process's environment less its PREFECT_* settings, for a child with its own."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def server_environment(home: Path, api_url: str, database_url: str | None) -> dict[str, str]:
    """The child's environment: its own home and database, no client settings of ours, the UI's
    address (automations link to runs with it), and our pid, which its watch on its parent
    checks."""
    env = without_prefect_settings()
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_UI_API_URL=api_url,
        PREFECT_UI_URL=api_url.removesuffix("/api"),
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


@contextmanager
def prefect_worker(
    api_url: str, pool: str, log: Path, **environment: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A process worker on the pool until the block ends; its flow runs get this process's
    environment and these settings. Stopping it stops the runs it has in flight.

    It has a session of its own, so that Ctrl+C in the terminal reaches only us: a worker told
    twice to stop (the terminal's SIGINT, then ours) kills itself at once and leaves its runs."""
    env = {**os.environ, **environment, "PREFECT_API_URL": api_url, PARENT_PID: str(os.getpid())}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*WORKER_START, "--pool", pool],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
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


def end_runs_with_parent() -> None:
    """A worker starts each flow run in a session of its own, out of reach of its shutdown when
    its parent is killed (the server stops then too, and a run waiting for review would wait on
    it for a day): once the parent is gone, kill the runs' process groups. Linux only (/proc)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        for group in {process_group(child) for child in children(os.getpid())} - {os.getpgrp()}:
            with suppress(OSError):
                os.killpg(group, signal.SIGKILL)

    threading.Thread(target=watch, name="end-runs-with-parent", daemon=True).start()


def take_ctrl_c_back() -> None:
    """Ctrl+C back at Python's own, for a process started with it ignored (in a shell's
    background, or by a parent that ignores it), which Python leaves ignored and passes on to
    what it starts. A worker stops on SIGTERM by sending itself SIGINT: ignored, it would run
    on until killed."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def process_group(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except OSError:
        return os.getpgrp()  # gone already: nothing to kill


def run_prefect_cli() -> None:
    """The `prefect` console script in this process, its arguments ours, after starting the
    watch on our parent: that server runs uvicorn in process, out of reach of UVICORN_LOOP."""
    exit_with_parent()
    if sys.argv[1:2] == ["worker"]:
        end_runs_with_parent()
        take_ctrl_c_back()
    from prefect.cli import app

    app()


if __name__ == "__main__":
    run_prefect_cli()
