"""Machines that open links, and what every page tells the browser: a GET or HEAD never writes
or uses up a limit; every page, error pages too, carries the security headers; the server that
`karyashala rsvp serve` runs logs no whole token and believes X-Forwarded-For only from a proxy
it was told to trust."""

import asyncio
import base64
import csv
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from config.event import load_event
from config.settings import load_settings
from flows.sync_roster import sync_roster
from store.db import engine_for, transaction
from store.models import Attendance, LimitHit, OptOut, Person, Response
from tasks.common.tokens import sign_token, volunteer_pin
from tasks.mail.outbox import free_port
from tests.conftest import HEADER, SAMPLE_EVENT, person_row, write_event
from tests.support.http_client import Connection
from tests.test_send_stage import make_event
from web.app import create_app
from web.check_in import (
    POSTS_PER_VOLUNTEER,
    WRONG_PINS_PER_ADDRESS,
    WRONG_PINS_PER_EVENT,
    door_pin,
)
from web.limits import Limit

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")
KEY = "hardening-test-key-0123456789"
EVENT = "test-workshop"
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class Site:
    client: TestClient
    person_id: int
    answer_link: str
    opt_out_link: str


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", KEY)
    event = make_event(tmp_path, [person_row(name="सुनीता मलिक", email="s@example.org")])
    settings = load_settings()
    with Session(engine_for(settings.store_url)) as session:
        person_id = session.scalars(select(Person.id)).one()
    return Site(
        TestClient(create_app(settings, [load_event(event)])),
        person_id,
        f"/r/{sign_token(KEY, 'answer', EVENT, person_id)}",
        f"/u/{sign_token(KEY, 'opt-out', EVENT, person_id)}",
    )


def rows_written() -> dict[str, int]:
    with Session(engine_for(load_settings().store_url)) as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Response, OptOut, Attendance)
        }


def hits_kept() -> int:
    with Session(engine_for(load_settings().store_url)) as session:
        return session.scalar(select(func.count()).select_from(LimitHit)) or 0


def sign_in(client: TestClient) -> None:
    pin = door_pin(load_settings(), EVENT)
    signed_in = client.post(f"/c/{EVENT}/login", data={"pin": pin, "volunteer": "रीना"})
    assert "स्वयंसेवक / Volunteer: रीना" in signed_in.text


def test_get_and_head_on_links_record_nothing_and_use_no_limit(site: Site) -> None:
    client = site.client
    for method in ("GET", "HEAD"):
        for _ in range(11):  # one more than a link's POST limit
            assert client.request(method, f"{site.answer_link}?answer=no").status_code == 200
            assert client.request(method, site.opt_out_link).status_code == 200
    assert rows_written() == {"response": 0, "opt_out": 0, "attendance": 0}
    assert hits_kept() == 0
    answered = client.post(site.answer_link, data={"answer": "yes"})
    assert answered.status_code == 200 and "आपका उत्तर दर्ज हो गया है" in answered.text
    opted_out = client.post(site.opt_out_link)
    assert opted_out.status_code == 200 and "आगे ईमेल नहीं भेजे जाएँगे" in opted_out.text
    assert rows_written() == {"response": 1, "opt_out": 1, "attendance": 0}


def test_get_and_head_at_the_door_record_nothing_and_use_no_limit(site: Site) -> None:
    client = site.client
    for method in ("GET", "HEAD"):
        for _ in range(WRONG_PINS_PER_ADDRESS + 1):
            login = client.request(method, f"/c/{EVENT}/login?pin=000000&volunteer=x")
            assert login.status_code == 405
    sign_in(client)
    for method in ("GET", "HEAD"):
        for action in ("code", "person", "walk-in"):
            query = {"person_id": str(site.person_id), "name": "नया व्यक्ति", "code": "1-AAAAAA"}
            assert client.request(method, f"/c/{EVENT}/{action}", params=query).status_code == 405
    for _ in range(POSTS_PER_VOLUNTEER + 1):
        assert client.head(f"/c/{EVENT}?q=सुनीता").status_code == 200
    assert rows_written() == {"response": 0, "opt_out": 0, "attendance": 0}
    assert hits_kept() == 0
    checked_in = client.post(f"/c/{EVENT}/person", data={"person_id": str(site.person_id)})
    assert checked_in.status_code == 200 and "सुनीता मलिक: प्रवेश दर्ज" in checked_in.text
    assert rows_written() == {"response": 0, "opt_out": 0, "attendance": 1}


def assert_secure(response: httpx.Response) -> None:
    """The security headers, and a page whose one stylesheet the policy allows by its hash."""
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, (response.request.url, name)
    policy = response.headers["content-security-policy"]
    for directive in ("default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in policy
    assert "unsafe" not in policy and "script-src" not in policy
    if response.request.method == "HEAD" or not response.text:
        return
    styles = re.findall(r"<style>(.*?)</style>", response.text, flags=re.DOTALL)
    assert len(styles) == 1 and ' style="' not in response.text
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy


def test_every_page_and_error_page_sends_the_security_headers(site: Site) -> None:
    client = site.client
    pages = [
        client.get(site.answer_link),
        client.head(site.answer_link),
        client.post(site.answer_link, data={"answer": "yes"}),
        client.get(site.opt_out_link),
        client.get(f"/c/{EVENT}"),
        client.post(f"/c/{EVENT}/login", data={"pin": "x", "volunteer": "रीना"}),
        client.post(
            f"/c/{EVENT}/login",
            data={"pin": door_pin(load_settings(), EVENT), "volunteer": "रीना"},
            follow_redirects=False,
        ),
        client.get(f"/c/{EVENT}?q=सुनीता"),
        client.post(f"/c/{EVENT}/code", data={"code": "1-AAAAAA"}),
    ]
    assert [response.status_code for response in pages] == [200] * 6 + [303, 200, 200]
    for hostile in ("/r/%00", "/u/%FF%FE", "/r/" + "A." * 5000, "/c/%00", "/c/..%2F..%2Fetc"):
        for refused in (client.get(hostile), client.post(hostile, data={"answer": "yes"})):
            assert refused.status_code in (400, 404, 405) and "Karyashala" in refused.text
    unreadable = client.post(
        site.answer_link, content=b"--x", headers={"content-type": "multipart/form-data"}
    )
    errors = {
        400: unreadable,
        404: client.get("/nowhere"),
        405: client.get(f"/c/{EVENT}/code"),
        429: [client.post(site.answer_link, data={"answer": "no"}) for _ in range(10)][-1],
    }
    for status, response in errors.items():
        assert response.status_code == status
        assert "Karyashala" in response.text
    for response in [*pages, *errors.values()]:
        assert_secure(response)


def test_a_failing_store_gets_the_error_page_with_the_headers(site: Site) -> None:
    with engine_for(load_settings().store_url).begin() as connection:
        connection.execute(text("ALTER TABLE response RENAME TO response_gone"))
    client = TestClient(site.client.app, raise_server_exceptions=False)
    failed = client.get(site.answer_link)
    assert failed.status_code == 500
    assert "Traceback" not in failed.text and "सुनीता" not in failed.text
    assert "कुछ गड़बड़" in failed.text
    assert_secure(failed)


def test_the_limiter_forgets_old_hits_and_keeps_only_those_of_its_window() -> None:
    now = [datetime(2027, 12, 1, tzinfo=UTC)]
    limiter = Limit("wrong-pins-per-address", WRONG_PINS_PER_ADDRESS, clock=lambda: now[0])
    store_url = load_settings().store_url
    with transaction(store_url, writes=True) as session:
        for _ in range(WRONG_PINS_PER_ADDRESS):
            limiter.hit(session, "198.51.100.1")
        assert limiter.exceeded(session, "198.51.100.1")
        assert not limiter.exceeded(session, "198.51.100.2")
    now[0] += limiter.window
    with transaction(store_url, writes=True) as session:
        assert not limiter.exceeded(session, "198.51.100.1")
        for number in range(1000):
            limiter.hit(session, f"198.51.{number // 256}.{number % 256}")
    assert hits_kept() == 1000
    now[0] += limiter.window
    with transaction(store_url, writes=True) as session:
        limiter.hit(session, "203.0.113.1")
    assert hits_kept() == 1


@dataclass(frozen=True)
class Server:
    base: str
    port: int
    process: subprocess.Popen[bytes]


@contextmanager
def served(log: Path, workers: int = 1, **settings: str) -> Iterator[Server]:
    """`karyashala rsvp serve --workers N` on a free loopback port, with more KARYASHALA_*
    settings, once every worker has started; its output (the access log among it) goes to the
    file log."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.update({f"KARYASHALA_{name}": value for name, value in settings.items()})
    command = ["rsvp", "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "karyashala.cli", *command],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/ready", timeout=1)
                started = log.read_text(encoding="utf-8").count("Application startup complete")
                if started == workers:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield Server(base, port, server)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


SAMPLE = load_event(str(SAMPLE_EVENT)).id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_access_log_shows_only_the_start_of_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", KEY)
    answer, opt_out = (sign_token(KEY, purpose, SAMPLE, 1) for purpose in ("answer", "opt-out"))
    log = tmp_path / "serve.log"
    with served(log) as server:
        httpx.get(f"{server.base}/r/{answer}?answer=yes")
        httpx.head(f"{server.base}/u/{opt_out}")
        httpx.post(f"{server.base}/u/{opt_out}")
    output = log.read_text(encoding="utf-8")
    assert f'"GET /r/{answer[:6]}…?answer=yes HTTP/1.1" 400' in output
    assert f'"HEAD /u/{opt_out[:6]}… HTTP/1.1" 400' in output
    assert f'"POST /u/{opt_out[:6]}… HTTP/1.1" 400' in output
    for token in (answer, opt_out):
        assert token[:7] not in output


def wrong_pins(base: str, forwarded_for: list[str]) -> list[int]:
    """Status of a wrong PIN at the sample event's door, sent by a proxy for each address."""
    wrong = f"{(int(volunteer_pin(KEY, SAMPLE)) + 1) % 1_000_000:06d}"
    with httpx.Client(base_url=base) as client:
        return [
            client.post(
                f"/c/{SAMPLE}/login",
                data={"pin": wrong, "volunteer": "x"},
                headers={"X-Forwarded-For": address},
            ).status_code
            for address in forwarded_for
        ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_trusted_proxies_x_forwarded_for_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", KEY)
    spoofed = [f"198.51.100.{number}" for number in range(WRONG_PINS_PER_ADDRESS + 1)]
    log = tmp_path / "serve.log"
    with served(log) as server:
        codes = wrong_pins(server.base, spoofed)
    assert codes == [200] * WRONG_PINS_PER_ADDRESS + [429]
    assert log.read_text(encoding="utf-8").count("X-Forwarded-For is ignored") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_behind_a_trusted_proxy_the_address_it_saw_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", KEY)
    spoofed = [f"198.51.100.{number}, 203.0.113.7" for number in range(WRONG_PINS_PER_ADDRESS + 1)]
    with served(tmp_path / "serve.log", TRUSTED_PROXIES="127.0.0.1,::1") as server:
        codes = wrong_pins(server.base, spoofed)
        another_client = wrong_pins(server.base, ["203.0.113.8"])
    assert codes == [200] * WRONG_PINS_PER_ADDRESS + [429]
    assert another_client == [200]
    assert "X-Forwarded-For is ignored" not in (tmp_path / "serve.log").read_text(encoding="utf-8")


def sample_person(tmp_path: Path) -> int:
    """A person on the roster of the sample event, the one `karyashala rsvp serve` serves."""
    roster = tmp_path / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, person_row(name="सुनीता मलिक")])
    sync_roster(str(write_event(tmp_path, {"source": "csv", "path": str(roster)}, SAMPLE)))
    with Session(engine_for(load_settings().store_url)) as session:
        return session.scalars(select(Person.id)).one()


def connections_per_process(server: Server) -> list[int]:
    """How many client connections each process started by the server (a worker) holds open,
    for those that hold any (Linux)."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    open_connections: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            _, local, _, state, *rest = line.split()
            if int(local.rsplit(":", 1)[1], 16) == server.port and state == "01":
                open_connections.add(f"socket:[{rest[5]}]")
    counts = []
    for pid in children.read_text().split():
        held = {str(fd.readlink()) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        counts.append(len(held & open_connections))
    return [count for count in counts if count]


async def on_both_workers(server: Server, wanted: int) -> list[Connection]:
    """As many connections to the server as wanted, some taken by each of its two workers:
    opened one by one until both have taken some, the newest kept."""
    connections: list[Connection] = []
    while len(connections) < wanted or len(connections_per_process(server)) < 2:
        assert len(connections) < 500, "one worker took every connection"
        connection = await Connection.open("127.0.0.1", server.port)
        await connection.request("GET", "/ready", {})
        connections.append(connection)
    for connection in connections[:-wanted]:
        connection.close()
    return connections[-wanted:]


async def all_at_once(server: Server, posts: list[tuple[str, dict[str, str], str]]) -> list[int]:
    """POST each (path, form, X-Forwarded-For) at once, each on a connection of its own, some
    taken by each worker; the statuses, sorted."""
    connections = await on_both_workers(server, len(posts))
    try:
        statuses = await asyncio.gather(
            *(
                connection.request("POST", path, form, {"X-Forwarded-For": address})
                for connection, (path, form, address) in zip(connections, posts, strict=True)
            )
        )
    finally:
        for connection in connections:
            connection.close()
    return sorted(status for status, _ in statuses)


def test_two_workers_hold_each_limit_as_one_process_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rsvp serve --workers 2`: POSTs at once on one link, and wrong PINs at once from one
    address and from many, are held to their limits whichever worker takes each; another
    process (the server after a restart) finds the limits used up."""
    monkeypatch.setenv("KARYASHALA_SIGNING_KEY", KEY)
    link = f"/r/{sign_token(KEY, 'answer', SAMPLE, sample_person(tmp_path))}"
    pin = volunteer_pin(KEY, SAMPLE)
    wrong = {"pin": f"{(int(pin) + 1) % 1_000_000:06d}", "volunteer": "x"}
    login = f"/c/{SAMPLE}/login"
    crowd = [f"198.51.100.{number}" for number in range(9) for _ in range(10)]
    with served(tmp_path / "serve.log", workers=2, TRUSTED_PROXIES="127.0.0.1,::1") as server:
        answers = asyncio.run(all_at_once(server, [(link, {"answer": "yes"}, "203.0.113.1")] * 30))
        guesses = asyncio.run(all_at_once(server, [(login, wrong, "203.0.113.2")] * 25))
        crowd_guesses = asyncio.run(all_at_once(server, [(login, wrong, a) for a in crowd]))
        volunteer = {"pin": pin, "volunteer": "रीना"}
        refused = httpx.post(f"{server.base}{login}", data=volunteer)
    assert answers == [200] * 10 + [429] * 20
    assert rows_written()["response"] == 10
    assert guesses == [200] * WRONG_PINS_PER_ADDRESS + [429] * 5
    assert crowd_guesses == [200] * (WRONG_PINS_PER_EVENT - WRONG_PINS_PER_ADDRESS) + [429] * 10
    assert refused.status_code == 429 and "नया पिन" in refused.text
    restarted = TestClient(create_app(load_settings()))
    assert restarted.post(link, data={"answer": "no"}).status_code == 429
    assert restarted.post(login, data=volunteer).status_code == 429
    assert rows_written()["response"] == 10
