"""The demo's invitees: the web app on localhost, and a few of them answering through it."""

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import uvicorn

from tasks.outbox import free_port, outbox_path

if TYPE_CHECKING:
    from tasks.press_render import Kind

ANSWER_LINK = re.compile(r"(https?://\S+/r/[\w.-]+)\?answer=yes")


@contextmanager
def local_web_app() -> Iterator[str]:
    """Serve the answer pages on a free local port; links in mails sent meanwhile point here."""
    from web.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    previous = os.environ.get("KARYASHALA_PUBLIC_URL")
    os.environ["KARYASHALA_PUBLIC_URL"] = base
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join()
        if previous is None:
            os.environ.pop("KARYASHALA_PUBLIC_URL", None)
        else:
            os.environ["KARYASHALA_PUBLIC_URL"] = previous


def answer_links(data_dir: Path, stage: str) -> list[str]:
    """The answer links of a stage's mails in the local outbox, in a stable order."""
    found = (ANSWER_LINK.search(text) for text in stage_texts(data_dir, stage))
    return sorted(match.group(1) for match in found if match)


def answer_some(links: list[str]) -> dict[str, int]:
    """Most say yes, some no, one sends a deputy; the rest stay silent for the reminder."""
    plan = ["yes", "yes", "yes", "no", "yes", "", "yes", "", "deputy", "yes"]
    counts: dict[str, int] = {}
    with httpx.Client(timeout=10) as client:
        for index, link in enumerate(links):
            answer = plan[index % len(plan)]
            if not answer:
                continue
            form = {"answer": answer}
            if answer == "deputy":
                form["deputy_name"] = "राहुल यादव"
            client.post(link, data=form).raise_for_status()
            counts[answer] = counts.get(answer, 0) + 1
    return counts


CHECK_IN_CODE = re.compile(r"\b(\d+-[A-Z2-7]{6})\b")


def stage_texts(data_dir: Path, stage: str) -> list[str]:
    texts = []
    for path in sorted((outbox_path(data_dir) / "new").glob("*")):
        message = message_from_bytes(path.read_bytes(), policy=default)
        if str(message["X-Karyashala-Stage"] or "").endswith(f"/{stage}"):
            body = message.get_body(("plain",))
            if body is not None:
                texts.append(body.get_content())
    return texts


def check_in_some(base: str, event_id: str, pin: str, data_dir: Path) -> int:
    """A volunteer at the door checks in most of those who got the logistics mail, by code."""
    codes = sorted(
        {
            found.group(1)
            for text in stage_texts(data_dir, "logistics")
            for found in CHECK_IN_CODE.finditer(text)
        }
    )
    with httpx.Client(base_url=base, timeout=10, follow_redirects=True) as client:
        client.post(f"/c/{event_id}/login", data={"pin": pin, "volunteer": "डेमो"})
        for code in codes[: len(codes) * 4 // 5]:
            client.post(f"/c/{event_id}/code", data={"code": code}).raise_for_status()
    return len(codes) * 4 // 5


def start_review(event: str, kind: "Kind", timeout: float = 120) -> str:
    """A press-note run that waits in this process for its review form; returns its run id
    once the server shows it paused."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.press_note import press_note
    from karyashala.errors import KaryashalaError
    from tasks.press_review import paused_review_ids

    api_url = PREFECT_API_URL.value()
    before = set(paused_review_ids(event, kind))

    def run() -> None:
        with temporary_settings({PREFECT_API_URL: api_url}):
            press_note(event, kind)

    threading.Thread(target=run, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = [run_id for run_id in paused_review_ids(event, kind) if run_id not in before]
        if waiting:
            return waiting[-1]
        time.sleep(0.5)
    raise KaryashalaError(f"The {kind} did not reach its review form within {timeout:.0f} s.")
