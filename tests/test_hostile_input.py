"""A roster written to break things (markup, formulas, line breaks inside cells, duplicate
headers) through sync-roster, collect-confirmations, a stage's dry run, the attendance list and
a press draft: nothing it holds comes back as live markup, a formula or a mail header, nothing
crashes, and every file holding it is private."""

import csv
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from markdown_it import MarkdownIt
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from starlette.testclient import TestClient

from config.errors import RosterSourceError
from config.event import load_event
from config.settings import load_settings
from flows.collect_confirmations import collect_confirmations
from flows.press_note import press_note
from flows.send_stage import send_stage
from flows.sync_roster import sync_roster
from tasks.answers.attendance_list import write_attendance_list
from tasks.common.sheets import PROBLEMS_WORKSHEET
from tasks.common.tokens import sign_token
from tests.conftest import HEADER, person_row, write_event
from tests.support.fake_sheets import FakeSheets
from web.app import create_app

pytestmark = pytest.mark.usefixtures("prefect_api_url", "karyashala_env")

EVENT_ID = "hostile-roster"
ANSWER = "उत्तर"
EVIL = "evil.example"
SCRIPT = "<script>alert(1)</script>"
HYPERLINK = f'=HYPERLINK("https://{EVIL}/x","click")'
LANDMARK = "<i>Grand</i> & Sons"  # the event file's venue, shown by the same macros
# Name, role and what ops typed in the answer column, as they stand in the file.
HOSTILE_ROWS = [
    ("A & B <b>bold</b> | pipe ``` fence", "जिला संयोजक", ""),
    ("<img src=x onerror=alert(1)>", SCRIPT, "हाँ"),
    (f"{SCRIPT} शर्मा", f"[link=https://{EVIL}/x]संयोजक[/link] :x:", "=1+1"),
    (HYPERLINK, "जिला संयोजक", ""),
    ("+cmd|' /C calc'!A0", "-2+3", "नहीं"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "`code` | pipe", ""),
    (f"अनिल\r\nBcc: victim@{EVIL}", "प्रवक्ता\nदूसरी पंक्ति", "हाँ"),
    (f"[click](https://{EVIL}/x) **bold** _em_ www.{EVIL}", "# heading", ""),
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that leaves files readable by all, as most shells have it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def hostile_event(tmp_path: Path) -> str:
    roster = tmp_path / "roster.csv"
    rows = [
        [
            *person_row(
                name=name,
                role=role,
                email=f"p{n}@example.org",
                phone=f"98123000{n:02d}",
                district=["Gurgaon", "Hisar", "Rohtak"][n % 3],
                language=["हिंदी", "English"][n % 2],
                remark=f'=IMPORTXML("https://{EVIL}", "//a") {n}',
            ),
            answer,
        ]
        for n, (name, role, answer) in enumerate(HOSTILE_ROWS)
    ]
    with roster.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([[*HEADER, ANSWER], *rows])
    event = write_event(
        tmp_path, {"source": "csv", "path": str(roster), "answer_column": ANSWER}, EVENT_ID
    )
    data = yaml.safe_load(event.read_text(encoding="utf-8"))
    data["venue"]["landmark"] = {"hi": LANDMARK, "en": LANDMARK}
    event.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(event)


def shown(value: str) -> str:
    """A value as the store keeps it: line breaks and runs of spaces become one space."""
    return " ".join(value.split())


@dataclass
class Page:
    """What a browser would make of some HTML: its elements, and the text people read."""

    elements: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    text: str = ""


class PageReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.open: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.elements.append((tag, {name: value or "" for name, value in attrs}))
        if tag in ("td", "code"):
            self.open[tag] = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            text = "".join(self.open.pop(tag))
            (self.page.cells if tag == "td" else self.page.code).append(text)

    def handle_data(self, data: str) -> None:
        self.page.text += data
        for parts in self.open.values():
            parts.append(data)


def parsed(html: str) -> Page:
    reader = PageReader()
    reader.feed(html)
    reader.close()
    return reader.page


def rendered(markdown: str) -> Page:
    """Markdown as a permissive renderer shows it (raw HTML allowed)."""
    return parsed(MARKDOWN.render(markdown))


def assert_inert(page: Page) -> None:
    """No script, no tag a value brought along, no handler, nothing pointing at the attacker."""
    for tag, attributes in page.elements:
        assert tag not in ("script", "iframe", "object", "embed", "b", "i"), (tag, attributes)
        for name, value in attributes.items():
            assert not name.lower().startswith("on"), (tag, attributes)
            assert EVIL not in value, (tag, attributes)
        if tag == "img":
            assert attributes.get("src", "").startswith(("data:image/svg+xml", "cid:"))


def artifacts() -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=EVENT_ID))
        )
    latest: dict[str, Any] = {}
    for artifact in sorted(found, key=lambda a: a.created or 0):
        data = artifact.data
        latest[str(artifact.key)] = json.loads(str(data)) if artifact.type == "table" else data
    return latest


def cells_of(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def html_and_text(message: EmailMessage) -> tuple[str, str]:
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert html is not None and text is not None
    return str(cast(EmailMessage, html).get_content()), str(cast(EmailMessage, text).get_content())


@pytest.mark.usefixtures("open_umask")
def test_a_hostile_roster_comes_back_inert_everywhere(tmp_path: Path) -> None:
    event = hostile_event(tmp_path)
    names = {shown(name) for name, _, _ in HOSTILE_ROWS}

    report = sync_roster(event)
    assert report.active_people == len(HOSTILE_ROWS)
    assert {p.code for p in report.problems} == {"unsafe_text"}
    collected = collect_confirmations(event)
    assert collected.unclear_rows == [4]  # "=1+1" in the answer column
    preview = send_stage(event, "invitation", dry_run=True)
    assert preview.dry_run and preview.previews
    event_config = load_event(event)
    attendance = write_attendance_list(event_config, load_settings())
    press_note(event, "announcement", review=False)

    # Every CSV: no cell a spreadsheet would run; the formulas are there, as text.
    problems_csv = Path(report.problems_written_to)
    for path in (problems_csv, Path(collected.status_written_to)):
        for cell in cells_of(path):
            assert not cell.lstrip(" ").startswith(FORMULA_STARTS), (path.name, cell)
    assert f"'{HYPERLINK}" in cells_of(problems_csv)
    assert "'+cmd|' /C calc'!A0" in cells_of(problems_csv)

    # Every artifact: Markdown that shows the values as typed and runs none of them.
    found = artifacts()
    assert {
        f"roster-summary-{EVENT_ID}",
        f"roster-problems-{EVENT_ID}",
        f"coverage-{EVENT_ID}",
        f"to-call-{EVENT_ID}",
        f"coverage-summary-{EVENT_ID}",
        f"stage-preview-{EVENT_ID}-invitation",
        f"press-announcement-{EVENT_ID}",
    } <= set(found)
    # The press note is our own Markdown (the event file's words, the store's counts): it
    # holds nothing of a person.
    note = found.pop(f"press-announcement-{EVENT_ID}")
    assert not any(name in note for name in names)
    for data in found.values():
        if isinstance(data, str):
            assert_inert(rendered(data))
        else:
            for row in data:
                for cell in row.values():
                    assert_inert(rendered(str(cell)))
    roles = rendered(found[f"roster-summary-{EVENT_ID}"]).cells
    assert SCRIPT in roles and "`code` | pipe" in roles and "# heading" in roles
    assert f"[link=https://{EVIL}/x]संयोजक[/link] :x:" in roles
    called = {rendered(row["name"]).text.strip() for row in found[f"to-call-{EVENT_ID}"]}
    assert called <= names and len(called) == len(HOSTILE_ROWS) - 3  # three answered
    preview_markdown = found[f"stage-preview-{EVENT_ID}-invitation"]
    code = rendered(preview_markdown).code
    assert any("A & B <b>bold</b> | pipe ``` fence" in block for block in code)

    # Every preview: one addressee, no header a name brought along, HTML escaped, text as is.
    files = sorted(Path(preview.previews).glob("*.eml"))
    assert len(files) == len(HOSTILE_ROWS)
    greeted = set()
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=default)
        assert message["Bcc"] is None and message["Cc"] is None
        (address,) = message["To"].addresses
        assert address.addr_spec.endswith("@example.org")
        assert "\n" not in str(message["Subject"])
        html, text = html_and_text(message)
        page = parsed(html)
        assert_inert(page)
        greeted.add(address.display_name)
        assert address.display_name in page.text and LANDMARK in page.text
        assert address.display_name in text and LANDMARK in text
    assert greeted == names

    # The answer page behind the link: the venue as text.
    settings = load_settings()
    token = sign_token(settings.signing_secret(), "answer", EVENT_ID, 1)
    answer_page = TestClient(create_app(settings, [event_config])).get(f"/r/{token}")
    assert answer_page.status_code == 200
    assert_inert(parsed(answer_page.text))
    assert LANDMARK in parsed(answer_page.text).text

    # The printable attendance list: every name as text, none as markup.
    listed = parsed(attendance.read_text(encoding="utf-8"))
    assert_inert(listed)
    assert names <= set(listed.cells)

    # Everything written for the event is private: files 0600 in folders 0700.
    data_dir = load_settings().data_dir
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    written = list((data_dir / "events" / EVENT_ID).rglob("*"))
    assert any(p.name.startswith("draft.") for p in written)
    for path in written:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


@pytest.mark.parametrize(
    ("header", "columns", "named"),
    [
        ([*HEADER, "ईमेल"], {}, "F ('ईमेल') and I ('ईमेल')"),
        (
            ["Name", "Email", "Mobile", " email "],
            {"name": "Name", "email": "Email", "phone": "Mobile"},
            "B ('Email') and D ('email')",
        ),
    ],
)
def test_duplicate_headers_stop_the_sync_with_both_columns_named(
    tmp_path: Path, header: list[str], columns: dict[str, str], named: str
) -> None:
    roster = tmp_path / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, ["x"] * len(header)])
    event = write_event(tmp_path, {"source": "csv", "path": str(roster)}, EVENT_ID)
    if columns:
        data = yaml.safe_load(event.read_text(encoding="utf-8"))
        data["roster"]["columns"] = columns
        event.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RosterSourceError) as error:
        sync_roster(str(event))
    assert named in str(error.value)
    assert "must name exactly one" in str(error.value)


def test_a_hostile_sheet_is_written_back_as_text_only(
    tmp_path: Path, fake_sheets: FakeSheets
) -> None:
    rows = [
        [*person_row(name=name, role=role, email=f"p{n}@example.org", phone=f"98123000{n:02d}"), a]
        for n, (name, role, a) in enumerate(HOSTILE_ROWS)
    ]
    fake_sheets.add_spreadsheet("hostile", {"सूची": [[*HEADER, ANSWER], *rows]})
    event = write_event(
        tmp_path,
        {
            "source": "sheets",
            "spreadsheet_key": "hostile",
            "worksheet": "सूची",
            "answer_column": ANSWER,
        },
        EVENT_ID,
    )
    sync_roster(str(event))
    collect_confirmations(str(event))
    writes = [r for r in fake_sheets.api_requests() if r.path.endswith("values:batchUpdate")]
    assert len(writes) == 2
    assert {w.body["valueInputOption"] for w in writes} == {"RAW"}
    for worksheet in (PROBLEMS_WORKSHEET, "सूची"):
        assert fake_sheets.formula_cells("hostile", worksheet) == set()
    assert [HYPERLINK] in [row[1:2] for row in fake_sheets.values("hostile", PROBLEMS_WORKSHEET)]
