"""The review forms in Prefect's default UI, in headless Chromium against `prefect server start`
with a worker (the production recipe): what ops see before they decide, and what their answer
does. Screenshots go to test-artifacts/ for a person to look at."""

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from config.event import load_event
from deployments.plan import deployment_name
from flows.press_note import PressNoteReview
from flows.send_stage import StageApproval
from tests.conftest import CHROMIUM, SCREENSHOTS
from tests.support.production import FINAL, Production, blocking

EVENT_ID = "ui-workshop"
PEOPLE = 6
VIEWPORT = {"width": 1280, "height": 900}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)


@pytest.fixture(scope="module")
def ui(production: Production) -> Production:
    """The production recipe's server, worker and SMTP server; the event deployed, its roster
    synced."""
    production.deployed(EVENT_ID, PEOPLE)
    synced = production.run(f"sync-roster/{deployment_of(production)}")
    assert synced.state is not None and synced.state.type == StateType.COMPLETED
    return production


def deployment_of(ui: Production, part: str | None = None) -> str:
    """The name `karyashala deploy` gives the event's deployment of that part (a stage, a kind)."""
    return deployment_name(load_event(ui.directory / f"{EVENT_ID}.yaml"), part)


def start(ui: Production, flow_name: str, part: str) -> FlowRun:
    """A run of a deployment started by hand, as the UI's Run button starts one, once paused."""
    with temporary_settings({PREFECT_API_URL: ui.server.api_url}):
        started = blocking(run_deployment, f"{flow_name}/{deployment_of(ui, part)}", timeout=0)
    assert isinstance(started, FlowRun)
    return ui.wait(started.id, {StateType.PAUSED})


def open_form(browser: Any, ui: Production, run: FlowRun) -> Any:
    """The paused run's page with its Resume form open."""
    page = browser.new_page(viewport=VIEWPORT, timezone_id="Asia/Kolkata")
    page.goto(f"{ui.server.url}/runs/flow-run/{run.id}")
    page.get_by_role("button", name="Resume").click()
    page.locator(".p-modal .schema-form-property").first.wait_for(timeout=60_000)
    return page


def help_texts(form: type[Any]) -> list[str]:
    """Each field's help text as the form shows it: Markdown marks rendered away."""
    return [re.sub(r"[*`]", "", field.description) for field in form.model_fields.values()]


def form_field(page: Any, label: str) -> Any:
    """One field of the open form, by its label (the UI adds "(Optional)" to some)."""
    name = page.locator(".schema-form-property__label", has_text=re.compile(rf"^{label}\b"))
    return page.locator(".p-modal .schema-form-property").filter(has=name)


def choose(page: Any, label: str, option: str) -> None:
    """Pick an option of a choice field (the UI's own select, not a native one), as a keyboard
    does."""
    form_field(page, label).locator(".p-select-button__control").press("ArrowDown")
    page.get_by_role("option", name=option, exact=True).click()


def test_press_note_form_shows_the_draft_and_keeps_an_edit_as_a_new_draft(
    ui: Production, browser: Any
) -> None:
    run = start(ui, "press-note", "announcement")
    page = open_form(browser, ui, run)
    modal = page.locator(".p-modal")
    page.screenshot(path=str(SCREENSHOTS / "review-ui-press-form.png"))
    folder = Path(ui.env["KARYASHALA_DATA_DIR"]) / "events" / EVENT_ID / "press" / "announcement"
    draft = (folder / "v1" / "draft.md").read_text(encoding="utf-8")
    draft_box = modal.locator(".p-code-input__textarea")
    assert draft_box.input_value() == draft
    shown = " ".join(modal.inner_text().split())
    for help_text in help_texts(PressNoteReview):
        assert " ".join(help_text.split()) in shown
    link = modal.get_by_role("link", name="the note as it will print")
    assert link.get_attribute("href") == (
        f"{ui.server.url}/artifacts/key/press-announcement-{EVENT_ID}"
    )
    assert link.is_visible()  # at the top of the form, not squeezed away

    edited = draft.replace("सिग्नेचर टावर", "सिग्नेचर टावर (नया भवन)")
    draft_box.fill(edited)
    choose(page, "Decision", "keep as draft")
    form_field(page, "Note").locator("textarea").fill("Venue wording to check with the office")
    page.set_viewport_size({"width": 1280, "height": 2200})  # the whole form in one picture
    page.screenshot(path=str(SCREENSHOTS / "review-ui-press-form-filled.png"))
    page.get_by_role("button", name="Submit").click()

    done = ui.wait(run.id, FINAL)
    assert done.state is not None and done.state.type == StateType.COMPLETED
    assert done.state.name == "Kept as draft"
    assert (folder / "v2" / "draft.md").read_text(encoding="utf-8") == edited
    assert (folder / "v1" / "draft.md").read_text(encoding="utf-8") == draft
    assert not (folder / "v2" / "final.md").exists()
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{ui.server.url}/runs")
    page.get_by_text("Kept as draft").first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "review-ui-runs-list.png"))


def test_a_stage_run_started_by_hand_waits_for_approval_and_sends_nothing(
    ui: Production, browser: Any
) -> None:
    run = start(ui, "send-stage", "invitation")
    assert ui.sent_to(f"{EVENT_ID}/invitation") == Counter()
    page = open_form(browser, ui, run)
    modal = page.locator(".p-modal")
    modal.get_by_text(f"{PEOPLE} to send now").first.wait_for()
    shown = " ".join(modal.inner_text().split())
    for help_text in help_texts(StageApproval):
        assert " ".join(help_text.split()) in shown
    page.screenshot(path=str(SCREENSHOTS / "review-ui-stage-form.png"))
    choose(page, "Decision", "hold")
    form_field(page, "Note").locator("textarea").fill("Wait for the venue to confirm")
    page.get_by_role("button", name="Submit").click()

    done = ui.wait(run.id, FINAL)
    assert done.state is not None and done.state.type == StateType.COMPLETED
    assert done.state.name == "Held"
    assert ui.sent_to(f"{EVENT_ID}/invitation") == Counter()
    page.goto(f"{ui.server.url}/runs")
    page.get_by_text("Held", exact=True).first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "review-ui-runs-list-held.png"))
