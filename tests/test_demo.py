"""`karyashala demo --ui`: the whole timeline against a local Prefect server that stays up, with
the sample event deployed and a worker that runs it."""

import base64
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from karyashala.prefect_server import without_prefect_settings
from tasks.common.processes import children, is_running
from tasks.mail.outbox import free_port, read_outbox
from tests.support.prefect_server import ignore_ctrl_c

KARYASHALA = str(Path(sys.executable).parent / "karyashala")
REVIEW_LINE = re.compile(r"The announcement waits for review: (http://\S+/runs/flow-run/(\S+))")
TRY_FIRST = re.compile(r"Try (sync-roster/\S+) first: http://\S+/deployments/deployment/([\w-]+)")
LAST_LINE = re.compile(r"press Ctrl\+C to stop them")
CHART = re.compile(r"data:image/svg\+xml;base64,([\w+/=]+)")


def read_until(process: subprocess.Popen[str], pattern: re.Pattern[str], timeout: float) -> str:
    """The child's output up to and including the first line matching pattern (read by a
    thread: select() on a buffered pipe can miss lines already in the buffer)."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stream = process.stdout

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if pattern.search(line):
            return "".join(seen)
    raise AssertionError("no such line; the demo printed:\n" + "".join(seen[-40:]))


def descendants(pid: int) -> set[int]:
    """Every live process below pid (its children, theirs, and so on)."""
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for parent in frontier for child in children(parent)}
        found |= frontier
    return found


def clicked(url: str, tries: int = 5) -> dict[str, Any]:
    """What a button's POST returns. The demo's server keeps its state in SQLite, which is busy
    while runs start: it answers 503 for a moment, and a person clicks again."""
    for _ in range(tries):
        response = httpx.post(url, json={}, timeout=10)
        if response.status_code != 503:
            break
        time.sleep(2)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def run_every_deployment(base: str, deployments: list[dict[str, Any]]) -> dict[str, str]:
    """Start a run of each deployment as "Quick run" does and approve every form that pauses
    one, as ops would in the UI; the state each run ends in, by flow and deployment name."""
    flows = {
        flow["id"]: flow["name"]
        for flow in httpx.post(f"{base}/api/flows/filter", json={}, timeout=10).json()
    }
    names = {}
    for deployment in deployments:
        run = clicked(f"{base}/api/deployments/{deployment['id']}/create_flow_run")
        names[run["id"]] = f"{flows[deployment['flow_id']]}/{deployment['name']}"
    ended: dict[str, str] = {}
    deadline = time.monotonic() + 600
    while len(ended) < len(names) and time.monotonic() < deadline:
        for run_id in names.keys() - ended.keys():
            state = httpx.get(f"{base}/api/flow_runs/{run_id}", timeout=10).json()["state"]
            if state["type"] == "PAUSED":
                # Refused (503) until the paused run has saved its form: asked again next round.
                httpx.post(
                    f"{base}/api/flow_runs/{run_id}/resume",
                    json={"run_input": {"decision": "approve"}},
                    timeout=10,
                )
            elif state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                ended[run_id] = state["type"]
        time.sleep(1)
    assert len(ended) == len(names), (
        f"still running: {[names[run] for run in names.keys() - ended.keys()]}"
    )
    return {names[run_id]: state for run_id, state in ended.items()}


def latest_markdown(base: str, key: str) -> str:
    found = httpx.post(
        f"{base}/api/artifacts/filter",
        json={"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1},
        timeout=10,
    ).json()
    return str(found[0]["data"])


def start_demo(directory: Path, port: int) -> subprocess.Popen[str]:
    """`karyashala demo --ui` as from a terminal of its own: Ctrl+C there signals its whole
    process group. Started as a shell starts a command in the background, with Ctrl+C ignored,
    which the command inherits: it must still stop on the Ctrl+C it asks for."""
    env = {
        **without_prefect_settings(),
        "KARYASHALA_DATA_DIR": str(directory / "data"),
        "COLUMNS": "200",
    }
    env.pop("KARYASHALA_DATABASE_URL", None)
    return subprocess.Popen(
        [KARYASHALA, "demo", "--ui", "--port", str(port)],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        preexec_fn=ignore_ctrl_c,
    )


def assert_all_gone(processes: set[int]) -> None:
    """The demo's server, its worker and the run waiting for review are all gone."""
    assert len(processes) >= 3
    deadline = time.monotonic() + 30
    while any(is_running(pid) for pid in processes) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [pid for pid in processes if is_running(pid)]


def test_demo_ui_deploys_the_sample_runs_it_and_leaves_nothing_behind(tmp_path: Path) -> None:
    port = free_port()
    process = start_demo(tmp_path, port)
    processes: set[int] = set()
    try:
        output = read_until(process, LAST_LINE, timeout=600)
        processes = descendants(process.pid)
        found = REVIEW_LINE.search(output)
        assert found is not None
        run_id = found.group(2)
        base = f"http://127.0.0.1:{port}"
        run = httpx.get(f"{base}/api/flow_runs/{run_id}", timeout=10).json()
        assert run["state"]["type"] == "PAUSED" and run["parameters"]["kind"] == "announcement"
        assert run["deployment_id"] is not None  # run by the worker, from its deployment
        assert httpx.get(base, timeout=10).status_code == 200  # the UI is served
        for line in ("Stage invitation", "Checked in at the door", "Press note: summary"):
            assert line in output
        # The invitation went by both channels: a coordinator's taps on their page, over HTTP.
        assert "A coordinator handed over 3 on WhatsApp (real HTTP)" in output
        assert re.search(r"\d+ by email, 3 on WhatsApp by coordinators", output)
        notes = tmp_path / "data" / "events" / "haryana-it-workshop" / "press"
        assert (notes / "announcement" / "v1" / "draft.docx").is_file()
        assert (notes / "summary" / "v1" / "draft.md").is_file()
        assert len(list((tmp_path / "data" / "outbox" / "new").iterdir())) > 100

        # The deployment it names first runs on the worker, to the end; so does every other
        # one, with its review or approval given in the form where it asks.
        first = TRY_FIRST.search(output)
        assert first is not None and first.group(1) == "sync-roster/haryana-it-workshop"
        deployments = httpx.post(f"{base}/api/deployments/filter", json={}, timeout=10).json()
        assert first.group(2) in {deployment["id"] for deployment in deployments}
        ended = run_every_deployment(base, deployments)
        assert len(ended) == len(deployments) >= 9
        assert {name: state for name, state in ended.items() if state != "COMPLETED"} == {}

        # Ops heard that the announcement waits, in the local outbox, with the link to it.
        waiting = [
            entry
            for entry in read_outbox(tmp_path / "data")
            if "समीक्षा बाकी / Waiting for review" in entry.subject
        ]
        assert {entry.to for entry in waiting} == {"media-ops@example.org", "it-cell@example.org"}

        # Collected again after the door closed: coverage counts who came, and its chart says
        # what its colours and numbers are.
        coverage = latest_markdown(base, "coverage-summary-haryana-it-workshop")
        attended = re.search(r"attended \| (\d+) \|", coverage)
        assert attended is not None and int(attended.group(1)) > 0
        chart = CHART.search(coverage)
        assert chart is not None
        svg = base64.b64decode(chart.group(1)).decode()
        assert "आ रहे हैं / confirmed" in svg and "the number after a bar: confirmed" in svg
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl+C
        assert process.wait(timeout=120) == 0
    assert (tmp_path / "data" / "prefect-server.log").is_file()
    with pytest.raises(httpx.HTTPError):  # the server went with Ctrl+C
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
    assert_all_gone(processes)


def test_a_killed_demo_leaves_nothing_behind(tmp_path: Path) -> None:
    process = start_demo(tmp_path, free_port())
    try:
        read_until(process, LAST_LINE, timeout=600)
        processes = descendants(process.pid)
    finally:
        process.kill()  # no Ctrl+C, no cleanup: the children notice by themselves
        process.wait()
    assert_all_gone(processes)
