"""The production recipe, run: `prefect server start` on PostgreSQL, `karyashala deploy`,
process workers, the store on PostgreSQL, mails at an SMTP server, the UI in a browser (the
recipe itself, shared with tests/test_review_ui.py, is tests/support/production.py)."""

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.db import engine_for
from store.models import Message
from tests.conftest import CHROMIUM, SCREENSHOTS
from tests.support.production import FINAL, Production, blocking


def test_deployed_event_runs_on_a_worker_with_the_store_on_postgresql(
    production: Production,
) -> None:
    event = production.event("prod-workshop", 30)
    deployed = production.karyashala("deploy", "--event", str(event))
    assert deployed.returncode == 0, deployed.stderr
    assert "send-stage/invitation · prod-workshop" in deployed.stdout
    assert "2027-11-24 10:00 (once)" in deployed.stdout

    synced = production.run("sync-roster/prod-workshop")
    assert synced.state is not None and synced.state.type == StateType.COMPLETED
    with temporary_settings({PREFECT_API_URL: production.server.api_url}):
        started = blocking(run_deployment, "send-stage/invitation · prod-workshop", timeout=0)
    assert isinstance(started, FlowRun)
    production.approve(started.id)
    sent = production.wait(started.id, FINAL)
    assert sent.state is not None and sent.state.type == StateType.COMPLETED
    assert sent.name == f"send-stage {event} invitation"
    assert "event:prod-workshop" in sent.tags
    assert production.sent_to("prod-workshop/invitation") == Counter(
        {f"prod-workshop.{n}@example.org": 1 for n in range(30)}
    )
    collected = production.run("collect-confirmations/prod-workshop")
    assert collected.state is not None and collected.state.type == StateType.COMPLETED
    with Session(engine_for(production.store_url)) as session:
        rows = session.execute(
            select(Message.stage, Message.channel, Message.status, func.count())
            .where(Message.event_id == "prod-workshop")
            .group_by(Message.stage, Message.channel, Message.status)
        ).all()
    ledger = {(stage, channel, status): count for stage, channel, status, count in rows}
    # The sample's invitation also goes on WhatsApp: each person's message waits for a
    # coordinator's tap, and each coordinator with people got the mail with their page.
    assert ledger.pop(("coordinators-invitation", "email", "sent")) >= 1
    assert ledger == {
        ("invitation", "email", "sent"): 30,
        ("invitation", "whatsapp", "pending"): 30,
    }


def test_two_workers_on_one_stage_send_each_person_once(production: Production) -> None:
    production.add_worker("worker-b")
    production.deployed("prod-crowd", 2000)
    production.run("sync-roster/prod-crowd")
    with temporary_settings({PREFECT_API_URL: production.server.api_url}):
        runs = [run_deployment("send-stage/invitation · prod-crowd", timeout=0) for _ in range(2)]
    for run in runs:
        production.approve(run.id)  # type: ignore[union-attr]
    finished = [production.wait(run.id, FINAL, timeout=600) for run in runs]  # type: ignore[union-attr]
    assert [run.state.type for run in finished if run.state] == [StateType.COMPLETED] * 2
    received = production.sent_to("prod-crowd/invitation")
    assert len(received) == 2000 and set(received.values()) == {1}
    with Session(engine_for(production.store_url)) as session:
        rows = session.execute(
            select(Message.stage, Message.status, Message.claimed_by, func.count())
            .where(Message.event_id == "prod-crowd", Message.channel == "email")
            .group_by(Message.stage, Message.status, Message.claimed_by)
        ).all()
    assert {(stage, status) for stage, status, _, _ in rows} == {
        ("invitation", "sent"),
        ("coordinators-invitation", "sent"),
    }
    by_run = Counter({run: count for stage, _, run, count in rows if stage == "invitation"})
    assert len(by_run) == 2, f"one run did all the work: {by_run}"
    assert by_run.total() == 2000
    # The three districts' coordinators each get the mail with their page, once.
    assert sum(count for stage, _, _, count in rows if stage != "invitation") == 3


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_prefect_ui_lists_the_deployments_and_shows_the_hindi_press_note(
    production: Production, browser: Any
) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    production.deployed("prod-workshop", 30)
    written = production.run("press-note/announcement · prod-workshop", review=False)
    assert written.state is not None and written.state.type == StateType.COMPLETED
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{production.server.url}/deployments")
    page.wait_for_selector(
        "text=/(invitation|reminder|summary) · prod-(workshop|crowd)/", timeout=60_000
    )
    page.screenshot(path=str(SCREENSHOTS / "prefect-ui-deployments.png"), full_page=True)

    page.goto(f"{production.server.url}/artifacts/key/press-announcement-prod-workshop")
    page.wait_for_selector("text=Created press-announcement-prod-workshop", timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "prefect-ui-press-note-versions.png"))
    page.locator("text=/^[0-9a-f]{8}$/").first.click()  # the latest version
    page.wait_for_selector("text=सिग्नेचर टावर", timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "prefect-ui-press-note.png"), full_page=True)

    with temporary_settings({PREFECT_API_URL: production.server.api_url}):
        review = blocking(run_deployment, "press-note/summary · prod-workshop", timeout=0)
    assert isinstance(review, FlowRun)
    production.wait(review.id, {StateType.PAUSED}, timeout=300)
    page.goto(f"{production.server.url}/runs/flow-run/{review.id}")
    page.get_by_role("button", name="Resume").click()
    page.wait_for_selector("text=Edited Text", timeout=60_000)  # a field of the form
    page.screenshot(path=str(SCREENSHOTS / "prefect-ui-review-form.png"), full_page=True)
    with temporary_settings({PREFECT_API_URL: production.server.api_url}):
        blocking(resume_flow_run, review.id, run_input={"decision": "keep as draft"})
    done = production.wait(review.id, FINAL)
    assert done.state is not None and done.state.type == StateType.COMPLETED
