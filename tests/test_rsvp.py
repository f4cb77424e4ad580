"""The answer page behind the links: GET shows, POST records, bad links change nothing; a
burst of answers at once is all stored, and many phones behind one address all answer."""

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from config.event import load_event
from config.settings import load_settings
from store.db import engine_for
from store.models import Person, Response
from tasks.common.tokens import Purpose, sign_token
from tests.conftest import person_row
from tests.test_browser import WebServer
from tests.test_send_stage import make_event
from web.app import create_app
from web.pages import BAD_LINKS_PER_ADDRESS

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")
KEY = "answer-test-key-0123456789"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TestClient, str, int]:
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", KEY)
    event = make_event(
        tmp_path,
        [person_row(name="सुनीता मलिक", email="sunita@example.org", district="Sonepat")],
    )
    settings = load_settings()
    with Session(engine_for(settings.store_url)) as session:
        person_id = session.scalars(select(Person.id)).one()
    client = TestClient(create_app(settings, [load_event(event)]))
    return client, sign_token(KEY, "answer", "test-workshop", person_id), person_id


def responses() -> list[tuple[str, str, str | None]]:
    with Session(engine_for(load_settings().store_url)) as session:
        rows = session.execute(
            select(Response.answer, Response.channel, Response.deputy_name).order_by(Response.id)
        )
        return [(answer, channel, deputy) for answer, channel, deputy in rows]


def test_opening_the_link_shows_the_invitation_and_changes_nothing(
    site: tuple[TestClient, str, int],
) -> None:
    client, token, _ = site
    shown = client.get(f"/r/{token}?answer=yes")
    assert shown.status_code == 200
    for text in (
        "सुनीता मलिक जी",
        "सोनीपत",
        "सुबह साढ़े 10 बजे",
        "सिग्नेचर टावर के पास",
        "हाँ, मैं आऊँगा/आऊँगी",
        "नहीं आ पाऊँगा/पाऊँगी",
        "प्रतिनिधि",
    ):
        assert text in shown.text
    assert 'name="viewport"' in shown.text and "<script" not in shown.text
    assert responses() == []


def test_answers_are_kept_and_the_later_one_counts(site: tuple[TestClient, str, int]) -> None:
    client, token, _ = site
    first = client.post(f"/r/{token}", data={"answer": "yes"})
    assert first.status_code == 200 and "आपका उत्तर दर्ज हो गया है" in first.text
    second = client.post(f"/r/{token}", data={"answer": "no"})
    assert "नहीं आ पाएँगे" in second.text
    assert responses() == [("yes", "link", None), ("no", "link", None)]


def test_a_deputy_needs_a_name(site: tuple[TestClient, str, int]) -> None:
    client, token, _ = site
    missing = client.post(f"/r/{token}", data={"answer": "deputy", "deputy_name": "  "})
    assert "प्रतिनिधि का नाम लिखें" in missing.text
    assert responses() == []
    client.post(f"/r/{token}", data={"answer": "deputy", "deputy_name": "राहुल  यादव"})
    assert responses() == [("deputy", "link", "राहुल यादव")]


def test_tampered_foreign_and_expired_links_change_nothing(
    site: tuple[TestClient, str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, token, person_id = site
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    opt_out_token = sign_token(KEY, "opt-out", "test-workshop", person_id)
    other_event = sign_token(KEY, "answer", "another-event", person_id)
    other_key = sign_token("some-other-key-000000000", "answer", "test-workshop", person_id)
    swapped_person = sign_token(KEY, "answer", "test-workshop", person_id + 1000)
    real_time = time.time
    with monkeypatch.context() as frozen:
        frozen.setattr(time, "time", lambda: real_time() - 91 * 86_400)
        expired = sign_token(KEY, "answer", "test-workshop", person_id)
    for bad in (tampered, opt_out_token, other_event, other_key, swapped_person, expired):
        for response in (client.get(f"/r/{bad}"), client.post(f"/r/{bad}", data={"answer": "yes"})):
            assert response.status_code == 400
            assert "This link is not valid" in response.text
    assert responses() == []


def test_too_many_posts_for_one_link_are_refused(site: tuple[TestClient, str, int]) -> None:
    client, token, _ = site
    codes = [client.post(f"/r/{token}", data={"answer": "yes"}).status_code for _ in range(12)]
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]
    assert len(responses()) == 10


def test_after_the_event_answers_are_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, site: tuple[TestClient, str, int]
) -> None:
    _, token, _ = site
    event = load_event(str(tmp_path / "test-workshop.yaml"))
    past = event.model_copy(update={"starts_at": event.starts_at.replace(year=2020)})
    client = TestClient(create_app(load_settings(), [past]))
    assert "answers are closed" in client.get(f"/r/{token}").text or "उत्तर दर्ज नहीं होते" in (
        client.get(f"/r/{token}").text
    )
    client.post(f"/r/{token}", data={"answer": "yes"})
    assert responses() == []


def test_control_characters_in_a_deputy_name_are_dropped(
    site: tuple[TestClient, str, int],
) -> None:
    client, token, _ = site
    saved = client.post(
        f"/r/{token}", data={"answer": "deputy", "deputy_name": "राहुल\x00\x1b यादव"}
    )
    assert saved.status_code == 200 and "आपका उत्तर दर्ज हो गया है" in saved.text
    assert responses() == [("deputy", "link", "राहुल यादव")]


def roster_of(count: int) -> list[list[str]]:
    return [
        person_row(name=f"व्यक्ति {n}", email=f"p{n}@example.org", phone=f"98{n:08d}")
        for n in range(count)
    ]


def people() -> list[int]:
    with Session(engine_for(load_settings().store_url)) as session:
        return list(session.scalars(select(Person.id).order_by(Person.id)))


SAVED = "आपका उत्तर दर्ज हो गया है"
# What each invitee of the burst sends, one after the other, and what their page then shows.
CHANGES_OF_MIND = [
    {"answer": "yes"},
    {"answer": "deputy", "deputy_name": "राहुल यादव"},
    {"answer": "no"},
    {"answer": "yes"},
    {"answer": "no"},
]


def test_a_burst_of_answers_at_once_is_all_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 invitees answer at once, each changing their mind 5 times, through uvicorn: every
    answer is stored, in each person's order, and each page shows the answer just given."""
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", KEY)
    event = make_event(tmp_path, roster_of(40))
    server = WebServer()
    server.start(event)
    links = {pid: f"/r/{sign_token(KEY, 'answer', 'test-workshop', pid)}" for pid in people()}

    async def answer_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(links))
        async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=60) as client:

            async def one_person(link: str) -> list[httpx.Response]:
                return [await client.post(link, data=form) for form in CHANGES_OF_MIND]

            pages = await asyncio.gather(*(one_person(link) for link in links.values()))
        return [page for person in pages for page in person]

    try:
        pages = asyncio.run(answer_all())
    finally:
        server.stop()
    assert [page.status_code for page in pages] == [200] * len(links) * len(CHANGES_OF_MIND)
    assert all(SAVED in page.text for page in pages)
    assert all("नहीं आ पाएँगे" in page.text for page in pages[len(CHANGES_OF_MIND) - 1 :: 5])
    with Session(engine_for(load_settings().store_url)) as session:
        stored = session.execute(
            select(Response.person_id, Response.answer, Response.deputy_name).order_by(Response.id)
        ).all()
    sent = [(form["answer"], form.get("deputy_name")) for form in CHANGES_OF_MIND]
    for person_id in links:
        assert [(answer, deputy) for pid, answer, deputy in stored if pid == person_id] == sent


def test_many_phones_behind_one_address_all_answer_and_bad_links_there_are_limited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A carrier-grade NAT puts thousands of phones behind one address: valid links from there
    are limited only each on its own, while POSTs with bad links from there are limited."""
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", KEY)
    event = make_event(tmp_path, roster_of(BAD_LINKS_PER_ADDRESS + 10))
    client = TestClient(create_app(load_settings(), [load_event(event)]))
    person_ids = people()
    tokens = [sign_token(KEY, "answer", "test-workshop", pid) for pid in person_ids]
    answered = [client.post(f"/r/{token}", data={"answer": "yes"}) for token in tokens]
    assert [page.status_code for page in answered] == [200] * len(tokens)
    assert all(SAVED in page.text for page in answered)
    assert len(responses()) == len(tokens)

    other_key = "some-other-key-000000000"
    pages: list[tuple[str, Purpose]] = [("r", "answer"), ("u", "opt-out")]
    bad_links = [
        f"/{path}/{sign_token(other_key, purpose, 'test-workshop', pid)}"
        for pid in person_ids
        for path, purpose in pages
    ][: BAD_LINKS_PER_ADDRESS + 1]
    codes = [client.post(link, data={"answer": "yes"}).status_code for link in bad_links]
    assert codes == [400] * BAD_LINKS_PER_ADDRESS + [429]
    assert client.get(bad_links[0]).status_code == 400  # showing a page counts nothing
    again = client.post(f"/r/{tokens[0]}", data={"answer": "no"})
    assert again.status_code == 200 and "नहीं आ पाएँगे" in again.text
    assert len(responses()) == len(tokens) + 1


def test_one_link_posted_many_times_at_once_keeps_its_limit(
    site: tuple[TestClient, str, int], tmp_path: Path
) -> None:
    """30 POSTs of one link at once through uvicorn: 10 are stored, as one after the other."""
    _, token, _ = site
    server = WebServer()
    server.start(str(tmp_path / "test-workshop.yaml"))

    async def post_at_once() -> list[int]:
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
            pages = await asyncio.gather(
                *(client.post(f"/r/{token}", data={"answer": "yes"}) for _ in range(30))
            )
        return sorted(page.status_code for page in pages)

    try:
        codes = asyncio.run(post_at_once())
    finally:
        server.stop()
    assert codes == [200] * 10 + [429] * 20
    assert len(responses()) == 10
