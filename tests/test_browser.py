"""In a real browser (Debian's headless Chromium): an invitee taps yes on the link from their
mail; a volunteer signs in at the door. The pages' Content-Security-Policy refuses nothing they
use, so they look as designed. Screenshots go to test-artifacts/ for a person to see."""

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.event import load_event
from config.settings import load_settings
from flows.collect_confirmations import collect_confirmations
from flows.send_stage import send_stage
from store.db import engine_for
from store.models import Message, Response
from tasks.mail.outbox import free_port
from tests.conftest import CHROMIUM, SCREENSHOTS, send_to
from tests.support.fake_sheets import FakeSheets
from tests.support.smtp_server import LoopbackSMTPServer, Received
from tests.test_collect import KEY, sheet_event, status_cell
from tests.test_collect import row as sheet_row
from web.app import create_app
from web.check_in import door_pin

PHONE = {"width": 360, "height": 740}

pytestmark = [
    pytest.mark.usefixtures("prefect_api_url", "karyashala_env"),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (.ci/run installs it)",
    ),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


class WebServer:
    """The web app on a loopback port chosen first, so mails can carry its address."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None

    def start(self, event: str) -> None:
        app = create_app(load_settings(), [load_event(event)])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        threading.Thread(target=self.server.run, daemon=True).start()
        while not self.server.started:
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True


def console_of(page: object) -> list[str]:
    """What the browser's console says about the page from now on."""
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text))  # type: ignore[attr-defined]
    return said


def assert_styled_as_designed(page: object, console: list[str]) -> None:
    """The security policy refused nothing, and the stylesheet applies: the green button is
    green, the heading 22 px."""
    assert [said for said in console if "Content Security Policy" in said] == []
    style = "(element, name) => getComputedStyle(element)[name]"
    button = page.locator("button.yes").first  # type: ignore[attr-defined]
    assert button.evaluate(style, "backgroundColor") == "rgb(27, 127, 59)"
    heading = page.locator("h1")  # type: ignore[attr-defined]
    assert heading.evaluate(style, "fontSize") == "22px"


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebServer]:
    server = WebServer()
    monkeypatch.setenv("KARYASHALA_PUBLIC_URL", server.base)
    yield server
    server.stop()


def invitation_sent(
    tmp_path: Path, fake_sheets: FakeSheets, web: WebServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, list[Received]]:
    """Two people in a Google Sheet roster, the web app up, and the sample's invitation sent
    to a loopback SMTP server: the event and what the server received."""
    with LoopbackSMTPServer() as smtp:
        send_to(smtp, monkeypatch, PUBLIC_URL=web.base)
        event = sheet_event(tmp_path, fake_sheets, [sheet_row(0), sheet_row(1)])
        web.start(event)
        send_stage(event, "invitation")
        return event, list(smtp.received)


def test_invitee_taps_yes_and_the_sheet_shows_it(
    tmp_path: Path,
    fake_sheets: FakeSheets,
    web: WebServer,
    browser: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event, received = invitation_sent(tmp_path, fake_sheets, web, monkeypatch)
    mail = next(r.message for r in received if r.recipients == ["p1@example.org"])
    text = mail.get_body(("plain",))
    assert text is not None
    link = next(w for w in text.get_content().split() if "/r/" in w and "answer=yes" in w)
    assert link.startswith(web.base)

    page = browser.new_page(viewport=PHONE, locale="hi-IN")  # type: ignore[attr-defined]
    console = console_of(page)
    page.goto(link)
    assert_styled_as_designed(page, console)
    page.screenshot(path=str(SCREENSHOTS / "answer-page-hi.png"), full_page=True)
    with Session(engine_for(load_settings().store_url)) as session:
        assert session.scalars(select(Response)).all() == []  # opening the link changed nothing
    page.get_by_role("button", name="हाँ, मैं आऊँगा/आऊँगी").click()
    page.wait_for_selector("text=आपका उत्तर दर्ज हो गया है")
    page.screenshot(path=str(SCREENSHOTS / "answer-recorded-hi.png"), full_page=True)
    assert_styled_as_designed(page, console)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # fits a small phone, no sideways scrolling

    with Session(engine_for(load_settings().store_url)) as session:
        assert session.scalars(select(Response.answer)).all() == ["yes"]
    collect_confirmations(event)
    assert status_cell(fake_sheets, 3) == "आ रहे हैं / confirmed"


def test_volunteer_signs_in_and_sees_the_door_page(
    tmp_path: Path,
    fake_sheets: FakeSheets,
    web: WebServer,
    browser: object,
) -> None:
    event = sheet_event(tmp_path, fake_sheets, [sheet_row(0), sheet_row(1)])
    web.start(event)
    page = browser.new_page(viewport=PHONE, locale="hi-IN")  # type: ignore[attr-defined]
    console = console_of(page)
    page.goto(f"{web.base}/c/test-workshop")
    assert_styled_as_designed(page, console)
    page.fill("#volunteer", "रीना")
    page.fill("#pin", door_pin(load_settings(), "test-workshop"))
    page.get_by_role("button", name="शुरू करें / Start").click()
    page.fill("#q", "व्यक्ति 1")
    page.get_by_role("button", name="खोजें / Search").click()
    page.wait_for_selector("text=व्यक्ति 1")
    page.screenshot(path=str(SCREENSHOTS / "check-in-page-hi.png"), full_page=True)
    assert_styled_as_designed(page, console)
    page.get_by_role("button", name="दर्ज / In").first.click()
    page.wait_for_selector("text=प्रवेश दर्ज")
    assert collect_confirmations(event).attended == 1


COORDINATOR_PAGE = re.compile(r"(http://127\.0\.0\.1:\d+/w/[\w.-]+)")


def test_a_coordinator_taps_send_and_lands_on_whatsapp_with_the_text(
    tmp_path: Path,
    fake_sheets: FakeSheets,
    web: WebServer,
    browser: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sample event: the invitation goes by mail and WhatsApp; Gurugram has a coordinator
    # of its own, and one more covers every district.
    _, received = invitation_sent(tmp_path, fake_sheets, web, monkeypatch)
    pages = {
        item.recipients[0]: found.group(1)
        for item in received
        if (body := item.message.get_body(("plain",))) is not None
        and (found := COORDINATOR_PAGE.search(body.get_content()))
    }
    links = fake_sheets.values(KEY, "WhatsApp")
    assert [row[1] for row in links[1:]] == ["व्यक्ति 0", "व्यक्ति 1"]
    assert all(row[-1].startswith("https://wa.me/91981230000") for row in links[1:])

    whatsapp: list[str] = []

    def open_whatsapp(route: Any) -> None:
        whatsapp.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="WhatsApp")

    page = browser.new_page(viewport=PHONE, locale="hi-IN")  # type: ignore[attr-defined]
    console = console_of(page)
    page.route("https://wa.me/**", open_whatsapp)
    page.goto(pages["coordinator-south@example.org"])
    assert_styled_as_designed(page, console)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SCREENSHOTS / "whatsapp-coordinator-hi.png"), full_page=True)
    assert "व्यक्ति 1" not in page.content()  # Hisar is not theirs
    page.get_by_role("button", name="WhatsApp पर भेजें").click()
    page.wait_for_url("https://wa.me/**")
    assert [said for said in console if "Content Security Policy" in said] == []
    sent = parse_qs(urlsplit(whatsapp[0]).query)["text"][0]
    assert whatsapp[0].startswith("https://wa.me/919812300000?text=")
    assert "व्यक्ति 0 जी" in sent and f"{web.base}/r/" in sent

    with Session(engine_for(load_settings().store_url)) as session:
        handed = session.scalars(
            select(Message).where(Message.channel == "whatsapp", Message.status == "sent")
        ).one()
        assert handed.sent_at is not None and handed.handed_over_by is not None

    other = browser.new_page(viewport=PHONE, locale="hi-IN")  # type: ignore[attr-defined]
    other.goto(pages["coordinator-north@example.org"])
    assert "भेजा गया: रमेश यादव" in other.content()
    other.screenshot(path=str(SCREENSHOTS / "whatsapp-coordinator-sent-hi.png"), full_page=True)
