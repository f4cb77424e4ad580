"""`karyashala demo --ui`: the whole timeline against a local Prefect server that stays up."""

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from karyashala.prefect_server import without_prefect_settings
from tasks.mail.outbox import free_port

KARYASHALA = str(Path(sys.executable).parent / "karyashala")
REVIEW_LINE = re.compile(r"The announcement waits for review: (http://\S+/runs/flow-run/(\S+))")


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
    raise AssertionError("no review line; the demo printed:\n" + "".join(seen[-40:]))


def test_demo_ui_runs_the_timeline_and_leaves_the_review_form_up(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **without_prefect_settings(),
        "KARYASHALA_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
    }
    env.pop("KARYASHALA_DATABASE_URL", None)
    process = subprocess.Popen(
        [KARYASHALA, "demo", "--ui", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        output = read_until(process, REVIEW_LINE, timeout=420)
        found = REVIEW_LINE.search(output)
        assert found is not None
        run_id = found.group(2)
        base = f"http://127.0.0.1:{port}"
        run = httpx.get(f"{base}/api/flow_runs/{run_id}", timeout=10).json()
        assert run["state"]["type"] == "PAUSED" and run["parameters"]["kind"] == "announcement"
        assert httpx.get(base, timeout=10).status_code == 200  # the UI is served
        for line in ("Stage invitation", "Checked in at the door", "Press note: summary"):
            assert line in output
        notes = tmp_path / "data" / "events" / "haryana-it-workshop" / "press"
        assert (notes / "announcement" / "v1" / "draft.docx").is_file()
        assert (notes / "summary" / "v1" / "draft.md").is_file()
        assert len(list((tmp_path / "data" / "outbox" / "new").iterdir())) > 100
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    assert (tmp_path / "data" / "prefect-server.log").is_file()
    with pytest.raises(httpx.HTTPError):  # the server went with Ctrl+C
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
