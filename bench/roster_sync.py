"""Benchmark: sync a generated 100,000-row sheet from the fake Sheets server.

Prints rows, seconds, peak memory and the Sheets requests used. Not a test: run it by hand,
`.venv/bin/python -m bench.roster_sync [--rows N] [--database-url URL]`.
"""

import argparse
import os
import random
import resource
import tempfile
import time
from pathlib import Path
from uuid import UUID

from karyashala.prefect_env import apply_prefect_defaults
from tests.conftest import HEADER, write_event
from tests.support.fake_sheets import FakeSheetsProcess

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
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="store URL; SQLite in a temp dir")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="karyashala-bench-"))
    os.environ["KARYASHALA_BENCH_ROWS"] = str(args.rows)
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
        event = write_event(work, _sheet("bench"), event_id="bench")
        for label in ("first sync (all added)", "second sync (all unchanged)"):
            fake.clear()
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            state = sync_roster(str(event), return_state=True)
            seconds = time.perf_counter() - started
            report = state.result()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            api = fake.api_requests()
            reads = [method for method, _ in api if method == "GET"]
            print(
                f"{label}: rows={report.rows_read} people={report.active_people} "
                f"problems={len(report.problems)} seconds={seconds:.2f} "
                f"peak_rss_mb={peak / 1024:.0f} (before {rss_before / 1024:.0f}) "
                f"sheets_requests={len(api)} (reads {len(reads)}, writes {len(api) - len(reads)})"
            )
            print("  " + task_times(state.state_details.flow_run_id))


def bench_sheets() -> dict[str, dict[str, list[list[str]]]]:
    """Made in the fake server's own process: a small warm-up sheet and the big one."""
    rows = int(os.environ.get("KARYASHALA_BENCH_ROWS", "100000"))
    return {
        "warm-up": {"Roster": [HEADER, generated_rows(3)[0]]},
        "bench": {"Roster": [HEADER, *generated_rows(rows)]},
    }


def task_times(flow_run_id: UUID | None) -> str:
    """Seconds per task of the run, as Prefect recorded them; the rest is the flow's own work."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return " ".join(
        f"{run.name.rsplit('-', 1)[0]}={run.total_run_time.total_seconds():.2f}s"
        for run in sorted(runs, key=lambda r: str(r.start_time))
    )


def _sheet(key: str) -> dict[str, str]:
    return {"source": "sheets", "spreadsheet_key": key, "worksheet": "Roster"}


if __name__ == "__main__":
    main()
