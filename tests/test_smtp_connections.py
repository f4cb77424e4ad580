"""A wave on several SMTP connections at once (KARYASHALA_SMTP_CONNECTIONS): each message
reaches the server once and is recorded once, whatever one of the connections goes through, and
the daily quota and the per-minute cap hold for all of them together."""

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import pytest

from config.errors import KaryashalaError
from flows.send_stage import send_stage
from tests.conftest import send_to
from tests.support.smtp_server import LoopbackSMTPServer
from tests.test_send_stage import ledger, make_event, roster_rows

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")

STAGE = "save-the-date"
CONNECTIONS = "4"


class WatchedServer(LoopbackSMTPServer):
    """Counts the messages it is taking at the same moment, and never answers the DATA of
    the addresses in stall_for (as a stuck connection would not)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.taking = 0
        self.most_at_once = 0
        self.stall_for: set[str] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.stall_for & {address.lower() for address in envelope.rcpt_tos}:
            await asyncio.sleep(3600)
        with self._lock:
            self.taking += 1
            self.most_at_once = max(self.most_at_once, self.taking)
        try:
            return await super().handle_DATA(server, session, envelope)
        finally:
            with self._lock:
                self.taking -= 1


def received_once(server: LoopbackSMTPServer) -> Counter[str]:
    """How often each Message-ID arrived."""
    return Counter(server.message_ids())


def statuses(database_url: str) -> Counter[str]:
    return Counter(row.status for row in ledger(database_url, STAGE))


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> Any:
    # 50 ms a message, as a server across a network takes: connections overlap their waits.
    with WatchedServer(delay=0.05) as server:
        send_to(server, monkeypatch, SMTP_CONNECTIONS=CONNECTIONS, BATCH_SIZE="5")
        yield server


def test_every_message_goes_once_over_connections_at_once(
    tmp_path: Any, watched: WatchedServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(40))
    report = send_stage(event, STAGE)
    assert (report.sent, report.failed, report.pending, report.stopped) == (40, 0, 0, None)
    arrived = received_once(watched)
    assert len(arrived) == 40 and set(arrived.values()) == {1}
    assert watched.most_at_once > 1  # the batches really went side by side
    rows = ledger(database_url, STAGE)
    assert {row.status for row in rows} == {"sent"}
    assert sorted(row.attempts for row in rows) == [1] * 40
    assert {row.message_id for row in rows} == set(arrived)
    # A second run finds nothing due and sends nothing.
    again = send_stage(event, STAGE)
    assert (again.sent_this_run, len(watched.message_ids())) == (0, 40)


def test_a_failing_connection_among_them_loses_and_repeats_nothing(
    tmp_path: Any, watched: WatchedServer, database_url: str
) -> None:
    watched.faults.extend(["drop-on-data", "421-on-mail", "451-on-data", "drop-on-data"])
    watched.refused.add("person7@example.org")
    event = make_event(tmp_path, roster_rows(30))
    report = send_stage(event, STAGE)
    assert (report.sent, report.failed, report.pending) == (29, 1, 0)
    arrived = received_once(watched)
    assert len(arrived) == 29 and set(arrived.values()) == {1}
    rows = ledger(database_url, STAGE)
    refused = [row for row in rows if row.status == "failed"]
    assert len(refused) == 1 and refused[0].failure == "permanent"
    assert "550" in (refused[0].last_error or "")
    assert "person7@example.org" not in (refused[0].last_error or "")
    # Every fault was met, and retried on a fresh connection; each outcome was recorded once.
    assert not watched.faults and watched.connections > 4 + 4
    assert sorted(row.attempts for row in rows) == [1] * 30


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_stalled_connection_gives_its_batch_back_while_the_others_finish(
    tmp_path: Any, watched: WatchedServer, database_url: str
) -> None:
    event = make_event(tmp_path, roster_rows(20))
    watched.stall_for.add("person2@example.org")  # in the first batch of the first round
    with pytest.raises(KaryashalaError, match=r"did not answer within 30 s, 2 times in a row"):
        send_stage(event, STAGE)
    arrived = received_once(watched)
    assert set(arrived.values()) == {1}
    counts = statuses(database_url)
    # The stuck connection's batch is pending again from the stalled message on; the other
    # connections finished their batches of that round; nothing is left "sending".
    assert counts["sending"] == 0 and counts["failed"] == 0
    assert counts["sent"] == len(arrived) >= 15
    assert counts["pending"] == 20 - len(arrived)
    watched.stall_for.clear()
    report = send_stage(event, STAGE)
    assert (report.sent, report.pending, report.stopped) == (20, 0, None)
    arrived = received_once(watched)
    assert len(arrived) == 20 and set(arrived.values()) == {1}


def test_the_daily_quota_stops_every_connection(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, watched: WatchedServer, database_url: str
) -> None:
    monkeypatch.setenv("KARYASHALA_SMTP_PER_DAY", "7")
    event = make_event(tmp_path, roster_rows(20))
    report = send_stage(event, STAGE)
    assert report.stopped is not None and "daily quota of 7 messages" in report.stopped
    assert (report.sent, report.pending) == (7, 13)
    assert len(received_once(watched)) == 7
    # The next run the same day sends nothing more.
    again = send_stage(event, STAGE)
    assert again.sent_this_run == 0 and len(watched.message_ids()) == 7
    assert statuses(database_url) == {"sent": 7, "pending": 13}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_per_minute_cap_holds_for_all_connections_together(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, watched: WatchedServer, database_url: str
) -> None:
    monkeypatch.setenv("KARYASHALA_SMTP_PER_MINUTE", "300")  # one message each 0.2 s
    event = make_event(tmp_path, roster_rows(12))
    arrivals: list[float] = []
    done = threading.Event()

    def note_arrivals() -> None:
        seen = 0
        while not done.wait(0.01):
            while seen < len(watched.received):
                arrivals.append(time.monotonic())
                seen += 1

    watcher = threading.Thread(target=note_arrivals)
    watcher.start()
    try:
        report = send_stage(event, STAGE)
    finally:
        done.set()
        watcher.join()
    assert report.sent == 12
    # 12 messages at 300 a minute span at least 11 gaps of 0.2 s, on 4 connections as on one.
    assert arrivals[-1] - arrivals[0] >= 11 * 0.2 - 0.1
