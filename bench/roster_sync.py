"""Benchmark: sync generated 100,000- and 200,000-row sheets from the fake Sheets server.

For each size, a first sync (everyone added) and a second (nothing changed): rows, seconds, the
CPU seconds of this process (steadier than seconds on a shared machine; the Prefect and Sheets
servers run in processes of their own), peak memory (sampled while the sync runs) and the Sheets
requests used, then the seconds of every step: each task as Prefect recorded it, the flow's own
share (its start, the report, its end), and, measured apart on the same rows, the normalising
within check-roster and the diff within store-roster. Not a test: run it by hand,
`.venv/bin/python -m bench.roster_sync [--rows N [N ...]] [--database-url URL]`.
"""

import argparse
import os
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from karyashala.prefect_env import apply_prefect_defaults
from tests.conftest import HEADER, write_event
from tests.support.fake_sheets import FakeSheetsProcess

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

DISTRICT_SPELLINGS = [
    "Gurgaon",
    "गुरुग्राम",
    "Mewat",
    "Sonepat",
    "Yamuna Nagar",
    "Hisar",
    "रोहतक",
    "Ch. Dadri",
    "Karnal",
    "पानीपत",
    "Ambala",
    "",
]
ROLES = ["जिला संयोजक", "जिला सह संयोजक", "मोर्चा संयोजक", "प्रवक्ता", "पैनलिस्ट"]


def generated_rows(count: int, seed: int = 7) -> list[list[str]]:
    """Unique people with ordinary variety and about one row in a hundred with a problem."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        phone = f"98{n:08d}"
        phone = [phone, f"+91-{phone}", f"0{phone}", f"{phone[:5]} {phone[5:]}"][n % 4]
        email = f"person.{n}@example.org"
        district = DISTRICT_SPELLINGS[n % len(DISTRICT_SPELLINGS)]
        if rng.random() < 0.01:
            email, district = rng.choice(
                [("", district), ("person(at)example.org", district), (email, "Atlantis")]
            )
        rows.append(
            [f"व्यक्ति {n}", ROLES[n % len(ROLES)], "आईटी", district, phone, email, "हिंदी", ""]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 200_000])
    parser.add_argument("--database-url", default=None, help="store URL; SQLite in a temp dir")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="karyashala-bench-"))
    os.environ["KARYASHALA_BENCH_ROWS"] = ",".join(str(rows) for rows in args.rows)
    os.environ["KARYASHALA_DATA_DIR"] = str(work / "data")
    if args.database_url:
        os.environ["KARYASHALA_DATABASE_URL"] = args.database_url
    apply_prefect_defaults()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.sync_roster import sync_roster

    with FakeSheetsProcess(bench_sheets, work) as fake:
        os.environ["KARYASHALA_SHEETS_ENDPOINT"] = fake.base_url
        os.environ["KARYASHALA_GOOGLE_CREDENTIALS_PATH"] = fake.credentials
        sync_roster(str(write_event(work, _sheet("warm-up"), event_id="warm-up")))
        for rows in args.rows:
            event = write_event(work, _sheet(f"bench-{rows}"), event_id=f"bench-{rows}")
            for label in ("first sync (all added)", "second sync (all unchanged)"):
                fake.clear()
                with peak_rss() as peak:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    state = sync_roster(str(event), return_state=True)
                    seconds = time.perf_counter() - started
                    cpu_seconds = time.process_time() - cpu_started
                report = state.result()
                api = fake.api_requests()
                reads = [method for method, _ in api if method == "GET"]
                print(
                    f"{rows} rows, {label}: rows={report.rows_read} "
                    f"people={report.active_people} problems={len(report.problems)} "
                    f"seconds={seconds:.2f} cpu_seconds={cpu_seconds:.2f} "
                    f"peak_rss_mb={peak[1] / 2**20:.0f} "
                    f"(before {peak[0] / 2**20:.0f}) sheets_requests={len(api)} "
                    f"(reads {len(reads)}, writes {len(api) - len(reads)})"
                )
                print("  " + step_times(state.state_details.flow_run_id, seconds))
            print("  " + inner_steps(event, rows))


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_SIZE


@contextmanager
def peak_rss(every: float = 0.005) -> Iterator[list[int]]:
    """[RSS before, highest RSS seen while the block ran], sampled by a thread: the process's
    lifetime peak (ru_maxrss) cannot tell one sync from the one before."""
    sampled = [rss_bytes(), rss_bytes()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            sampled[1] = max(sampled[1], rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield sampled
    finally:
        done.set()
        sampler.join()
        sampled[1] = max(sampled[1], rss_bytes())


def bench_sheets() -> dict[str, dict[str, list[list[str]]]]:
    """Made in the fake server's own process: a small warm-up sheet and one per size."""
    sizes = [int(rows) for rows in os.environ.get("KARYASHALA_BENCH_ROWS", "100000").split(",")]
    return {
        "warm-up": {"Roster": [HEADER, generated_rows(3)[0]]},
        **{f"bench-{rows}": {"Roster": [HEADER, *generated_rows(rows)]} for rows in sizes},
    }


def step_times(flow_run_id: UUID | None, total: float) -> str:
    """Seconds per task of the run, as Prefect recorded them, and the flow's own rest."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    tasks = {
        run.name.rsplit("-", 1)[0]: run.total_run_time.total_seconds()
        for run in sorted(runs, key=lambda r: str(r.start_time))
    }
    own = total - sum(tasks.values())
    return " ".join(
        [f"{name}={seconds:.2f}s" for name, seconds in tasks.items()]
        + [f"flow-own(start, report, end)={own:.2f}s"]
    )


def inner_steps(event: Path, rows: int) -> str:
    """Normalising (within check-roster) and the diff (within store-roster), timed apart on the
    same rows against the people the syncs stored."""
    from config.event import load_event
    from config.settings import load_settings
    from store.db import transaction
    from tasks.roster.check import EmailNormaliser, normalise_phone
    from tasks.roster.event_check import check_event_roster
    from tasks.roster.source import table_from_cells
    from tasks.roster.store import diff_with_store

    config = load_event(str(event))
    table = table_from_cells([HEADER, *generated_rows(rows)])
    phone_at, email_at = HEADER.index("मोबाइल"), HEADER.index("ईमेल")
    started = time.perf_counter()
    emails = EmailNormaliser()
    for cells in table.rows:
        emails(cells[email_at])
        normalise_phone(cells[phone_at], config.roster.default_region)
    normalise = time.perf_counter() - started
    roster = check_event_roster(config, table)
    with transaction(load_settings().store_url) as session:
        started = time.perf_counter()
        diff = diff_with_store(session, config.id, roster)
        diffing = time.perf_counter() - started
    return (
        f"within them: normalise (emails, phones)={normalise:.2f}s "
        f"diff (read the stored people, match {len(diff.unchanged)})={diffing:.2f}s"
    )


def _sheet(key: str) -> dict[str, str]:
    return {"source": "sheets", "spreadsheet_key": key, "worksheet": "Roster"}


if __name__ == "__main__":
    main()
