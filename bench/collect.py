"""Benchmark: collect-confirmations for 10,000 people with 30,000 answers, written back to the
fake Sheets server. Prints seconds and the Sheets requests used (aim: one write).

Not a test: `.venv/bin/python -m bench.collect [--people N] [--answers N]`.
"""

import argparse
import os
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from karyashala.prefect_env import apply_prefect_defaults
from tests.conftest import HEADER, person_row, write_event
from tests.support.fake_sheets import FakeSheets

SHEET_ANSWERS = ["", "", "हाँ", "नहीं", "yes", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=30_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="karyashala-collect-"))
    os.environ["KARYASHALA_DATA_DIR"] = str(work / "data")
    apply_prefect_defaults()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from sqlalchemy import insert, select

    from config.settings import load_settings
    from flows.collect_confirmations import collect_confirmations
    from flows.sync_roster import sync_roster
    from store.db import engine_for
    from store.models import Person, Response, utc_now

    rng = random.Random(3)
    rows = [
        [
            *person_row(
                name=f"व्यक्ति {n}",
                email=f"p{n}@example.org",
                phone=f"98{n:08d}",
                district=["Gurgaon", "Hisar", "Rohtak", "Mewat"][n % 4],
            ),
            SHEET_ANSWERS[n % len(SHEET_ANSWERS)],
            "",
        ]
        for n in range(args.people)
    ]
    with FakeSheets() as fake:
        os.environ["KARYASHALA_SHEETS_ENDPOINT"] = fake.base_url
        credentials = fake.service_account_file(work / "service-account.json")
        os.environ["KARYASHALA_GOOGLE_CREDENTIALS_PATH"] = str(credentials)
        fake.add_spreadsheet("bench", {"Roster": [[*HEADER, "उत्तर", "उपस्थित"], *rows]})
        event = str(
            write_event(
                work,
                {
                    "source": "sheets",
                    "spreadsheet_key": "bench",
                    "worksheet": "Roster",
                    "answer_column": "उत्तर",
                    "attendance_column": "उपस्थित",
                },
                event_id="bench",
            )
        )
        sync_roster(event)
        url = load_settings().store_url
        engine = engine_for(url)
        with engine.begin() as connection:
            ids = list(connection.scalars(select(Person.id)))
            start = utc_now() - timedelta(days=3)
            connection.execute(
                insert(Response),
                [
                    {
                        "event_id": "bench",
                        "person_id": rng.choice(ids),
                        "channel": "link",
                        "answer": rng.choice(["yes", "no", "deputy"]),
                        "received_at": start + timedelta(seconds=n),
                    }
                    for n in range(args.answers)
                ],
            )
        fake.requests.clear()
        started = time.perf_counter()
        result = collect_confirmations(event)
        seconds = time.perf_counter() - started
        api = fake.api_requests()
        writes = [r for r in api if r.method == "POST"]
        print(
            f"people={args.people} answers={args.answers} (+{result.new_sheet_answers} from "
            f"the sheet) seconds={seconds:.2f} sheets_requests={len(api)} "
            f"(write requests {len(writes)}) confirmed={result.confirmed} "
            f"declined={result.declined} deputy={result.deputy} "
            f"no_answer={result.no_answer}"
        )


if __name__ == "__main__":
    main()
