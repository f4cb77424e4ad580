"""A SIGKILLed command leaves no Prefect server behind: neither the temporary one Prefect starts
without PREFECT_API_URL, nor the one `prefect_server()` starts for `demo --ui`."""

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from karyashala.prefect_env import PARENT_PID, PARENT_POLL_SECONDS, SHUTDOWN_GRACE_SECONDS
from karyashala.prefect_server import WORKER_START, without_prefect_settings
from tasks.common.processes import children
from tasks.mail.outbox import free_port
from tests.conftest import HEADER, person_row, write_event
from tests.support.prefect_server import ignore_ctrl_c

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="finds child processes through /proc"
)
TEMPORARY_SERVER = "prefect.server.api.server:create_app"
SERVER_START = "karyashala.prefect_server"
# A parent that runs prefect_server() until it is killed, as `demo --ui` does.
SERVER_PARENT = """
import sys, time
from pathlib import Path
from karyashala.prefect_server import prefect_server
with prefect_server(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])) as url:
    print(url, flush=True)
    time.sleep(600)
"""


def command_environment(data_dir: Path) -> dict[str, str]:
    """A fresh data dir and no Prefect settings, so the command starts its own server; without
    our watch settings too, so the command under test sets them itself."""
    env = {
        k: v
        for k, v in without_prefect_settings().items()
        if not k.startswith("UVICORN_") and k not in {PARENT_PID, "KARYASHALA_DATABASE_URL"}
    }
    return {**env, "KARYASHALA_DATA_DIR": str(data_dir), "COLUMNS": "200"}


def roster_event(directory: Path) -> str:
    roster = directory / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, person_row()])
    return str(write_event(directory, {"source": "csv", "path": str(roster)}))


def start_roster_sync(event: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "karyashala.cli", "roster", "sync", "--event", event],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def wait_for_child(parent: subprocess.Popen[bytes], marker: str, log: Path) -> int:
    """The pid of parent's child whose command line names marker."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert parent.poll() is None, log.read_text(errors="replace")[-3000:]
        for child in children(parent.pid):
            if marker in command_line(child):
                return child
        time.sleep(0.1)
    raise AssertionError(f"no {marker} child; the parent wrote:\n{log.read_text()[-3000:]}")


def running(pid: int) -> bool:
    """Whether pid still runs; a zombie has ended, its reaper just has not collected it yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


# How soon a server is gone once its parent is: noticed within a poll, then its shutdown, cut
# short after the grace (a server still starting acts on SIGTERM only once started), and a
# second for a busy machine to schedule it.
GONE_WITHIN = PARENT_POLL_SECONDS + SHUTDOWN_GRACE_SECONDS + 1.0


def seconds_until_gone(pid: int, timeout: float) -> float:
    start = time.monotonic()
    while running(pid):
        assert time.monotonic() - start < timeout, f"process {pid} outlived its parent"
        time.sleep(0.1)
    return time.monotonic() - start


def port_of(pid: int) -> int:
    arguments = command_line(pid)
    return int(arguments[arguments.index("--port") + 1])


def wait_until_healthy(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no server answered on port {port}")


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_a_killed_command_takes_its_temporary_server_with_it(tmp_path: Path) -> None:
    event = roster_event(tmp_path)
    env = command_environment(tmp_path / "data")
    log = tmp_path / "first.log"
    command = start_roster_sync(event, env, log)
    try:
        server = wait_for_child(command, TEMPORARY_SERVER, log)
        port = port_of(server)
        wait_until_healthy(port)
    finally:
        kill(command)
    assert seconds_until_gone(server, timeout=10) < GONE_WITHIN
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)

    again = subprocess.run(
        [sys.executable, "-m", "karyashala.cli", "roster", "sync", "--event", event, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["active_people"] == 1


def test_a_command_killed_while_its_server_starts_leaves_none(tmp_path: Path) -> None:
    """Killed before the server could begin watching it: the server finds another parent."""
    log = tmp_path / "command.log"
    command = start_roster_sync(roster_event(tmp_path), command_environment(tmp_path), log)
    try:
        server = wait_for_child(command, TEMPORARY_SERVER, log)
    finally:
        kill(command)
    seconds_until_gone(server, timeout=30)


def test_prefect_server_goes_with_its_killed_parent(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "parent.log"
    env = command_environment(tmp_path)
    arguments = [str(tmp_path / "prefect"), str(port), str(tmp_path / "server.log")]
    with log.open("wb") as output:
        parent = subprocess.Popen(
            [sys.executable, "-c", SERVER_PARENT, *arguments],
            env=env,
            stdout=subprocess.PIPE,
            stderr=output,
        )
    try:
        server = wait_for_child(parent, SERVER_START, log)
        assert parent.stdout is not None
        assert parent.stdout.readline().decode().strip() == f"http://127.0.0.1:{port}"
    finally:
        kill(parent)
        if parent.stdout is not None:
            parent.stdout.close()
    assert seconds_until_gone(server, timeout=10) < GONE_WITHIN
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)


def test_a_worker_started_with_ctrl_c_ignored_stops_when_asked(
    prefect_api_url: str, tmp_path: Path
) -> None:
    """A worker stops on SIGTERM by sending itself SIGINT. Started from a shell's background (or
    anything else that ignores Ctrl+C), it would inherit SIGINT ignored and run on until
    killed."""
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [*WORKER_START, "--pool", "stop-test"],
            env={**without_prefect_settings(), "PREFECT_API_URL": prefect_api_url},
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=ignore_ctrl_c,
        )
    try:
        deadline = time.monotonic() + 60
        while "started" not in log.read_text(encoding="utf-8", errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        worker.terminate()
        assert worker.wait(timeout=10) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
