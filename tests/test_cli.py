"""karyashala collect: the collect-confirmations flow run by the command, as ops run it."""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.sync_roster import sync_roster
from tests.conftest import HEADER, link_answer, person_row, write_event
from tests.test_send_stage import make_event

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")
ANSWER, PRESENT = "उत्तर", "उपस्थित"


def karyashala(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "karyashala.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200"},
    )


def roster_with_answer_column(tmp_path: Path, rows: list[list[str]]) -> str:
    """A CSV roster with the columns ops fill after a call and on the day, synced."""
    roster = tmp_path / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([[*HEADER, ANSWER, PRESENT], *rows])
    path = write_event(
        tmp_path,
        {
            "source": "csv",
            "path": str(roster),
            "answer_column": ANSWER,
            "attendance_column": PRESENT,
        },
    )
    sync_roster(str(path))
    return str(path)


def counts_shown(output: str) -> dict[str, int]:
    """The figures of the summary table's rows, by their English label."""
    found = re.findall(r"(Confirmed|Deputy|Declined|No answer|Attended) / [^\d\n]*?(\d+)", output)
    return {label: int(count) for label, count in found}


def test_collect_json_counts_the_answer_column_and_link_answers(
    tmp_path: Path, database_url: str
) -> None:
    rows = [
        [*person_row(name="अ", email="a@example.org", phone="9812300001"), "हाँ", "उपस्थित"],
        [
            *person_row(name="ब", email="b@example.org", phone="9812300002", district="Rohtak"),
            "नहीं",
            "",
        ],
        [
            *person_row(name="स", email="c@example.org", phone="9812300003", district="Hisar"),
            "शायद",
            "",
        ],
        [
            *person_row(
                name="द", email="d@example.org", phone="9812300004", district="Hisar", role="प्रवक्ता"
            ),
            "",
            "",
        ],
        [
            *person_row(name="ई", email="e@example.org", phone="9812300005", district="Sirsa"),
            "",
            "",
        ],
    ]
    event = roster_with_answer_column(tmp_path, rows)
    link_answer(database_url, "c@example.org", "yes")  # "शायद" in the sheet; yes by the link
    link_answer(database_url, "d@example.org", "deputy")

    result = karyashala("collect", "--event", event, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # the whole output is one JSON object
    assert {k: report[k] for k in ("confirmed", "declined", "deputy", "no_answer", "attended")} == {
        "confirmed": 2,
        "declined": 1,
        "deputy": 1,
        "no_answer": 1,
        "attended": 1,
    }
    assert report["event_id"] == "test-workshop"
    assert (report["new_sheet_answers"], report["new_attendance"]) == (2, 1)
    assert report["unclear_rows"] == [4]  # the row of "शायद", the header being row 1
    assert (report["new_form_answers"], report["form_rows_rejected"]) == (0, [])
    missing = report["districts_without_confirmed_convener"]
    assert "Gurugram" not in missing and "Hisar" not in missing
    assert "Rohtak" in missing and "Sirsa" in missing and len(missing) == 20

    with Path(report["status_written_to"]).open(encoding="utf-8-sig", newline="") as handle:
        status = list(csv.reader(handle))
    assert [row[:2] for row in status[1:]] == [
        ["आ रहे हैं / confirmed", "sheet"],
        ["नहीं आ रहे / declined", "sheet"],
        ["आ रहे हैं / confirmed", "link"],
        ["प्रतिनिधि / deputy", "link"],
        ["उत्तर नहीं / no answer", ""],
    ]

    again = karyashala("collect", "--event", event, "--json")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert (second["new_sheet_answers"], second["new_attendance"]) == (0, 0)  # nothing twice
    assert (second["confirmed"], second["attended"]) == (2, 1)


def test_collect_prints_the_counts_and_where_the_status_went(
    tmp_path: Path, database_url: str
) -> None:
    event = make_event(
        tmp_path,
        [
            person_row(name="अ", email="a@example.org", phone="9812300001"),
            person_row(name="ब", email="b@example.org", phone="9812300002", district="Rohtak"),
            person_row(name="स", email="c@example.org", phone="9812300003", district="Hisar"),
        ],
    )
    link_answer(database_url, "a@example.org", "yes")
    link_answer(database_url, "b@example.org", "no")

    result = karyashala("collect", "--event", event)
    assert result.returncode == 0, result.stderr
    assert counts_shown(result.stdout) == {
        "Confirmed": 1,
        "Deputy": 0,
        "Declined": 1,
        "No answer": 1,
        "Attended": 0,
    }
    assert "Answers collected: test-workshop" in result.stdout
    written = re.search(r"Status written to (\S+)", result.stdout)
    assert written is not None and Path(written.group(1)).is_file()
    assert "Answers not understood" not in result.stdout


def test_collect_names_a_missing_event_file_without_a_traceback(tmp_path: Path) -> None:
    result = karyashala("collect", "--event", str(tmp_path / "no-such-event.yaml"))
    assert result.returncode == 2
    assert "Error:" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
