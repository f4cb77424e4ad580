"""The demo: the sample workshop's timeline from roster to summary, and its invitees (the web app
on localhost, and a few of them answering and checking in through it)."""

import html
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import httpx
import uvicorn
from rich.table import Table

from karyashala.cli.answers import status
from karyashala.cli.common import out
from karyashala.cli.invite import send
from karyashala.cli.press import write_press_draft
from karyashala.cli.roster import sync
from tasks.mail.ledger import stage_counts
from tasks.mail.outbox import free_port, outbox_path
from tasks.whatsapp.handoff import WHATSAPP, coordinator_stage
from tasks.whatsapp.message import CLICK_TO_CHAT

SAMPLE_EVENT = "haryana-it-workshop"
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
COORDINATOR_PAGE = re.compile(r"(https?://\S+/w/[\w.-]+)")
SEND_BUTTON = re.compile(r'<form method="post" action="([^"]+)"')


def hand_over_some(data_dir: Path, stage: str, taps: int = 3) -> int:
    """The first coordinator's page, from the mail that gave them its link, and a few of its
    "Send on WhatsApp" buttons tapped: each ends at wa.me with the text filled in."""
    pages = [
        found.group(1)
        for text in stage_texts(data_dir, coordinator_stage(stage))
        if (found := COORDINATOR_PAGE.search(text))
    ]
    if not pages:
        return 0
    tapped = 0
    with httpx.Client(timeout=10) as client:
        page = client.get(pages[0])
        page.raise_for_status()
        origin = f"{page.url.scheme}://{page.url.netloc.decode()}"
        for action in SEND_BUTTON.findall(page.text)[:taps]:
            sent = client.post(origin + html.unescape(action))
            if sent.status_code == 303 and sent.headers["location"].startswith(CLICK_TO_CHAT):
                tapped += 1
    return tapped


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


def start_review(deployment: str, timeout: float = 300) -> str:
    """Run a press-note deployment on the worker; returns the run's id once it waits for its
    review form."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import FlowRun, StateType
    from prefect.deployments import run_deployment

    from config.errors import KaryashalaError

    started = run_deployment(deployment, timeout=0)
    assert isinstance(started, FlowRun)  # run_deployment is sync here
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(started.id).state
            if state is not None and state.type == StateType.PAUSED:
                return str(started.id)
            if state is not None and state.is_final():
                break
            time.sleep(0.5)
    raise KaryashalaError(
        f"{deployment} did not reach its review form within {timeout:.0f} s; see the worker's log."
    )


def run_demo_timeline() -> list[tuple[str, str]]:
    """The sample workshop from roster to summary; returns what it did, line by line."""
    from config.event import load_event
    from config.settings import load_settings
    from flows.collect_confirmations import collect_confirmations
    from web.check_in import door_pin

    event = load_event(SAMPLE_EVENT)
    settings = load_settings()
    data_dir = settings.data_dir
    did: list[tuple[str, str]] = []
    out.rule("Karyashala demo: the Haryana state IT and social-media workshop")
    synced = sync(SAMPLE_EVENT, as_json=False)
    did.append(
        (
            "Roster synced",
            f"{synced.active_people} people, {len(synced.problems)} "
            f"problems listed in {synced.problems_written_to}",
        )
    )
    out.rule("Press note: the announcement")
    announcement = write_press_draft(SAMPLE_EVENT, "announcement", as_json=False)
    with local_web_app() as base:
        out.print(f"Answer pages served at {base}")
        for stage in event.stages:
            out.rule(f"Stage: {stage.id}")
            sent = send(SAMPLE_EVENT, stage.id, dry_run=False, as_json=False)
            reached = f"{sent.sent} by email"
            if sent.whatsapp is not None and sent.whatsapp.people:
                tapped = hand_over_some(data_dir, stage.id)
                out.print(f"A coordinator handed over {tapped} on WhatsApp (real HTTP)")
                on_whatsapp = stage_counts(settings.store_url, event.id, stage.id, WHATSAPP)
                reached += (
                    f", {on_whatsapp.sent} on WhatsApp by coordinators "
                    f"({on_whatsapp.pending} more on their pages)"
                )
            did.append((f"Stage {stage.id}", reached))
            if stage.id == "invitation":
                answered = answer_some(answer_links(data_dir, "invitation"))
                out.print(f"Invitees answered through the web app (real HTTP): {answered}")
                collected = collect_confirmations(SAMPLE_EVENT)
                summary = (
                    f"confirmed {collected.confirmed}, deputy {collected.deputy}, "
                    f"declined {collected.declined}, no_answer {collected.no_answer}"
                )
                out.print(f"Collected: {summary}; status written to {collected.status_written_to}")
                did.append(("Answers through the web app, collected", summary))
            if stage.id == "logistics":
                pin = door_pin(load_settings(), event.id)
                came = check_in_some(base, event.id, pin, data_dir)
                out.print(f"The day: volunteers checked in {came} people at the door (real HTTP)")
                did.append(("Checked in at the door", f"{came} people"))
                # Collected once more after the door closes: coverage shows who attended.
                attended = collect_confirmations(SAMPLE_EVENT).attended
                did.append(("Collected after the door closed", f"{attended} attended"))
    out.rule("Answers")
    status(SAMPLE_EVENT, as_json=False)
    out.rule("Press note: the summary")
    summary_note = write_press_draft(SAMPLE_EVENT, "summary", as_json=False)
    for report in (announcement, summary_note):
        did.append((f"Press note: {report.kind}", report.markdown))
    did.append(("Mails", f"{outbox_path(data_dir)} (list them: .venv/bin/karyashala outbox)"))
    return did


def print_demo_report(did: list[tuple[str, str]]) -> None:
    out.rule("Done")
    table = Table(title="What the demo did")
    table.add_column("What")
    table.add_column("Result / where", overflow="fold")
    for what, result in did:
        table.add_row(what, result)
    out.print(table, soft_wrap=True)
    approve = f"press-note approve --event {SAMPLE_EVENT} --kind announcement [--send]"
    out.print(
        f"Approve a note with: .venv/bin/karyashala {approve}", soft_wrap=True, highlight=False
    )
