"""Benchmark: the answer page under the burst that follows an invitation wave. A roster in the
store, `karyashala rsvp serve` in another process, and 50 clients at once on loopback opening
answer pages (1,500 GETs) and answering (560 POSTs, each a valid signed link of its own person,
all from the one address a carrier-grade NAT would give them). Prints throughput, the server's
CPU time per request (the figure other processes on the machine disturb least), p50/p99
latency, the status codes, and the answers stored against the POSTs the page accepted, for
SQLite and PostgreSQL (a fresh database, dropped afterwards).

Not a test: `.venv/bin/python -m bench.answer_burst [--store sqlite|postgresql|both]
[--workers N]`; with N workers the CPU figure is that of the server's processes together.
"""

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.http_client import Connection
from tests.support.smtp_server import free_port

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SIGNING_KEY = "answer-burst-bench-key-0123456789"
ANSWERS = ("yes", "yes", "yes", "no", "deputy")
SAVED = 'class="note ok" role="status"'


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    answer: str | None = None


@dataclass(frozen=True)
class Outcome:
    method: str
    status: int
    seconds: float
    saved: bool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=560)
    parser.add_argument("--gets", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="`rsvp serve --workers`")
    args = parser.parse_args()
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    for store in stores:
        work = Path(tempfile.mkdtemp(prefix=f"karyashala-burst-{store}-"))
        with store_url(store, work) as url:
            run(store, url, work, args)


@contextmanager
def store_url(store: str, work: Path) -> Iterator[str]:
    """The SQLite file in the work dir, or a fresh PostgreSQL database dropped afterwards."""
    if store == "sqlite":
        yield f"sqlite:///{work / 'karyashala.db'}"
        return
    from tests.support.prefect_server import create_database, database_url, drop_database

    name = create_database(POSTGRES_ADMIN_URL, "karyashala_bench")
    try:
        yield database_url(POSTGRES_ADMIN_URL, name, "postgresql+psycopg")
    finally:
        from store.db import engine_for

        engine_for.cache_clear()
        drop_database(POSTGRES_ADMIN_URL, name)


def run(store: str, url: str, work: Path, args: argparse.Namespace) -> None:
    env = {
        **os.environ,
        "KARYASHALA_DATA_DIR": str(work / "data"),
        "KARYASHALA_DATABASE_URL": url,
        "KARYASHALA_SIGNING_KEY": SIGNING_KEY,
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    os.environ.update({name: env[name] for name in env if name.startswith("KARYASHALA_")})
    event_id, person_ids = roster(url, args.people)
    calls = burst(event_id, person_ids, args.posts, args.gets)
    with served(work / "serve.log", env, args.workers) as server:
        outcomes, seconds, cpu = asyncio.run(measure(server, calls, args.clients))
    stored = stored_answers(url)
    report(store, args.workers, outcomes, seconds, cpu, stored, args.clients)


def roster(url: str, people: int) -> tuple[str, list[int]]:
    """People of the sample event in a fresh store, as a roster sync leaves them."""
    from sqlalchemy import insert, select

    from config import EVENTS_DIR
    from config.event import load_event
    from store.db import engine_for
    from store.models import Person, RosterSync

    event_id = load_event(str(EVENTS_DIR / "haryana-it-workshop.yaml")).id
    with engine_for(url).begin() as connection:
        sync_id = connection.scalar(
            insert(RosterSync).values(event_id=event_id, source="csv").returning(RosterSync.id)
        )
        connection.execute(
            insert(Person),
            [
                {
                    "event_id": event_id,
                    "name": f"व्यक्ति {n}",
                    "role": "जिला संयोजक",
                    "district": ["Gurugram", "Hisar", "Rohtak", "Nuh"][n % 4],
                    "email": f"p{n}@example.org",
                    "phone": f"+9198{n:08d}",
                    "language": "en" if n % 5 == 0 else "hi",
                    "source_row": n + 2,
                    "first_sync_id": sync_id,
                    "last_sync_id": sync_id,
                }
                for n in range(people)
            ],
        )
        person_ids = list(connection.scalars(select(Person.id).order_by(Person.id)))
    return event_id, person_ids


def burst(event_id: str, person_ids: list[int], posts: int, gets: int) -> list[Call]:
    """Pages opened from the mail's buttons and answers sent, mixed as they arrive."""
    from tasks.common.tokens import sign_token

    rng = random.Random(7)
    link = {pid: f"/r/{sign_token(SIGNING_KEY, 'answer', event_id, pid)}" for pid in person_ids}
    calls = [
        Call("GET", f"{link[rng.choice(person_ids)]}?answer={rng.choice(ANSWERS)}")
        for _ in range(gets)
    ]
    calls += [Call("POST", link[pid], rng.choice(ANSWERS)) for pid in rng.sample(person_ids, posts)]
    rng.shuffle(calls)
    return calls


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int

    def cpu_seconds(self) -> float:
        """CPU time the server and the worker processes it started have used so far (Linux)."""
        return sum(process_cpu_seconds(pid) for pid in process_tree(self.process.pid))


def process_tree(pid: int) -> list[int]:
    """The process and its descendants, as they are now (Linux)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(descendant for child in children for descendant in process_tree(int(child)))]


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time of one live process (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(log: Path, env: dict[str, str], workers: int) -> Iterator[Server]:
    """`karyashala rsvp serve --workers N` on a free loopback port, its output in the file log,
    once every worker has started."""
    port = free_port()
    command = ["rsvp", "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "karyashala.cli", *command],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**env, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                if log.read_text(encoding="utf-8").count("startup complete") == workers:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(log.read_text(encoding="utf-8"))
            time.sleep(0.1)
        yield Server(process, port)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


async def measure(
    server: Server, calls: list[Call], clients: int
) -> tuple[list[Outcome], float, float]:
    """The burst on the clients' connections: its outcomes, seconds and the server's CPU time.
    The connections are opened one after another, each with a page view that is not part of the
    burst (the first pages compile the templates, in every worker): opened all at one instant,
    they would mostly go to whichever worker woke first, where phones arriving over a few
    seconds go to the workers in turn."""
    connections = []
    for call in calls[:clients]:
        connection = await Connection.open("127.0.0.1", server.port)
        await connection.request("GET", call.path, {})
        connections.append(connection)
    cpu_before, started = server.cpu_seconds(), time.perf_counter()
    outcomes = await load(connections, calls)
    return outcomes, time.perf_counter() - started, server.cpu_seconds() - cpu_before


async def load(connections: list["Connection"], calls: list[Call]) -> list[Outcome]:
    """Each client, on its keep-alive connection, sends the next call when its last one is
    answered."""
    queue: asyncio.Queue[Call] = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)
    outcomes: list[Outcome] = []

    async def one_client(connection: Connection) -> None:
        try:
            while not queue.empty():
                call = queue.get_nowait()
                fields = {"answer": call.answer} if call.answer else {}
                if call.answer == "deputy":
                    fields["deputy_name"] = "राहुल यादव"
                started = time.perf_counter()
                status, body = await connection.request(call.method, call.path, fields)
                seconds = time.perf_counter() - started
                saved = call.method == "POST" and SAVED in body
                outcomes.append(Outcome(call.method, status, seconds, saved))
        finally:
            connection.close()

    await asyncio.gather(*(one_client(connection) for connection in connections))
    return outcomes


def stored_answers(url: str) -> int:
    from sqlalchemy import func, select

    from store.db import engine_for
    from store.models import Response

    with engine_for(url).connect() as connection:
        return connection.scalar(select(func.count()).select_from(Response)) or 0


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def report(
    store: str,
    workers: int,
    outcomes: list[Outcome],
    seconds: float,
    cpu: float,
    stored: int,
    clients: int,
) -> None:
    def latency(method: str | None) -> str:
        times = [o.seconds * 1000 for o in outcomes if method in (None, o.method)]
        return f"p50 {percentile(times, 0.5):.0f} ms, p99 {percentile(times, 0.99):.0f} ms"

    statuses = Counter(f"{o.method} {o.status}" for o in outcomes)
    accepted = sum(o.saved for o in outcomes)
    print(
        f"store={store} workers={workers} clients={clients} requests={len(outcomes)} "
        f"seconds={seconds:.2f} "
        f"throughput={len(outcomes) / seconds:.0f} req/s "
        f"(server CPU {cpu / len(outcomes) * 1000:.2f} ms a request) | all: {latency(None)} | "
        f"GET: {latency('GET')} | POST: {latency('POST')} | "
        f"statuses {dict(sorted(statuses.items()))} | "
        f"answers stored {stored} of {accepted} POSTs accepted (lost {accepted - stored})"
    )


if __name__ == "__main__":
    main()
