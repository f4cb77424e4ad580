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


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("KARYASHALA_SMTP_PORT", "abc", "Input should be a valid integer"),
        ("KARYASHALA_SMTP_SECURITY", "tls", "Input should be 'none', 'starttls' or 'ssl'"),
        ("KARYASHALA_DATABASE_URL", "nosuch://x", "names a kind of database not known here"),
    ],
)
def test_an_unusable_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = karyashala("status", "--event", "haryana-it-workshop")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {variable}") and says in line
    assert "Fix or unset it" in line or "or unset it for SQLite" in line


def test_a_database_url_with_a_password_is_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KARYASHALA_DATABASE_URL", "postgresql+nodriver://ops:hunter2@db/k")
    result = karyashala("status", "--event", "haryana-it-workshop")
    assert result.returncode == 2
    assert "hunter2" not in result.stderr and "'postgresql+nodriver'" in result.stderr


def test_an_event_file_not_in_utf8_is_one_line_naming_the_file(tmp_path: Path) -> None:
    event = Path(write_event(tmp_path, {"source": "csv", "path": "roster.csv"}))
    event.write_bytes(event.read_bytes() + "# Café\n".encode("cp1252"))
    result = karyashala("collect", "--event", str(event))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {event}: line ") and "is not UTF-8 text" in line


def test_sheet_text_and_errors_print_as_text_not_markup(tmp_path: Path) -> None:
    """rich read a role "[link=…]" as a hyperlink, ":x:" as an emoji, "[a-z]" as a style."""
    role = "[link=https://evil.example/x]संयोजक[/link] :x: [a-z]+"
    event = make_event(
        tmp_path, [person_row(name="[bold]अनिल[/bold] :smile:", role=role, email="a@example.org")]
    )
    status = karyashala("status", "--event", event)
    assert status.returncode == 0, status.stderr
    assert role in status.stdout and "[bold]अनिल[/bold] :smile:" in status.stdout
    assert "❌" not in status.stdout and "😄" not in status.stdout

    text = Path(event).read_text(encoding="utf-8").replace("email: ईमेल", "email: ईमेल [a-z]+")
    Path(event).write_text(text, encoding="utf-8")
    result = karyashala("roster", "sync", "--event", event)
    assert result.returncode == 2
    assert "has no column 'ईमेल [a-z]+' (for email)" in result.stderr


def test_an_error_inside_a_flow_is_printed_once_without_prefects_traceback(
    tmp_path: Path,
) -> None:
    event = write_event(tmp_path, {"source": "csv", "path": str(tmp_path / "missing.csv")})
    result = karyashala("collect", "--event", str(event))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("missing.csv does not exist") == 1
    assert f"Error: The roster file {tmp_path / 'missing.csv'} does not exist" in result.stderr
