"""Press notes: the paper's Hindi, figures from the store, the files, the review, the media."""

import json
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import docx
import pytest
from docx.oxml.ns import qn
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.flow_runs import resume_flow_run
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.errors import KaryashalaError
from config.event import load_event
from flows.press_note import approve_press_note, press_note
from flows.sync_roster import sync_roster
from store.db import engine_for
from store.models import Attendance, Person
from store.queries import Candidate
from tasks.common import hindi
from tasks.common.districts import load_districts
from tasks.common.templating import en_duration, en_join
from tasks.press.facts import PressFacts, WalkIn, press_facts, reach
from tasks.press.render import render_sections, to_docx, whatsapp_text
from tasks.press.report import PressReport
from tests.conftest import SAMPLE_EVENT
from tests.support.smtp_server import LoopbackSMTPServer
from tests.test_send_stage import resume_when_paused
from tests.test_sync_roster import run_cli

IST = ZoneInfo("Asia/Kolkata")
EVENT = load_event("haryana-it-workshop")
CATALOG = load_districts("haryana")
PLATFORMS = ["फेसबुक", "ट्विटर", "इंस्ट्राग्राम", "कू एप", "नरेंद्र मोदी एप"]


def at(hour: int, minute: int, day: int = 1, month: int = 12) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=IST)


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        (at(10, 30), "सुबह साढ़े 10 बजे"),
        (at(14, 0), "दोपहर 2 बजे"),
        (at(17, 45), "शाम पौने 6 बजे"),
        (at(14, 30), "दोपहर ढाई बजे"),
        (at(13, 30), "दोपहर डेढ़ बजे"),
        (at(9, 15), "सुबह सवा 9 बजे"),
        (at(12, 45), "दोपहर पौने 1 बजे"),
        (at(11, 45), "सुबह पौने 12 बजे"),
        (at(21, 0), "रात 9 बजे"),
        (at(10, 20), "सुबह 10 बजकर 20 मिनट"),
    ],
)
def test_time_of_day_as_people_say_it(moment: datetime, said: str) -> None:
    assert hindi.time_of_day(moment) == said


@pytest.mark.parametrize(
    ("moment", "spelling", "said"),
    [
        (at(10, 30), "halant", "एक दिसम्बर"),
        (at(10, 30), "anusvara", "एक दिसंबर"),
        (at(10, 30, day=22, month=9), "halant", "बाईस सितम्बर"),
        (at(10, 30, day=31, month=1), "halant", "इकतीस जनवरी"),
        (at(10, 30, day=15, month=11), "anusvara", "पंद्रह नवंबर"),
    ],
)
def test_day_and_month_as_the_paper_writes_them(
    moment: datetime, spelling: hindi.MonthSpelling, said: str
) -> None:
    assert hindi.day_month(moment, spelling) == said


@pytest.mark.parametrize(
    ("moment", "day"),
    [(at(10, 30), "बुधवार"), (at(10, 30, day=5), "रविवार"), (at(10, 30, day=6), "सोमवार")],
)
def test_weekday(moment: datetime, day: str) -> None:
    assert hindi.weekday(moment) == day


@pytest.mark.parametrize(
    ("hours", "said", "english"),
    [
        (5, "5 घंटे", "5 hours"),
        (1, "1 घंटा", "1 hour"),
        (0.5, "आधा घंटा", "half an hour"),
        (0.25, "15 मिनट", "a quarter of an hour"),
        (1.5, "डेढ़ घंटा", "1½ hours"),
        (2.5, "ढाई घंटे", "2½ hours"),
        (3.5, "साढ़े 3 घंटे", "3½ hours"),
        (4.25, "सवा 4 घंटे", "4¼ hours"),
        (4.75, "पौने 5 घंटे", "4¾ hours"),
    ],
)
def test_lengths(hours: float, said: str, english: str) -> None:
    assert hindi.duration(hours) == said
    assert en_duration(hours) == english


@pytest.mark.parametrize(
    ("hours", "before_taka"), [(1, "1 घंटे"), (1.5, "डेढ़ घंटे"), (0.5, "आधे घंटे"), (5, "5 घंटे")]
)
def test_lengths_before_a_postposition_take_the_oblique(hours: float, before_taka: str) -> None:
    assert hindi.duration(hours, "oblique") == before_taka


@pytest.mark.parametrize(
    ("count", "phrase", "case", "said"),
    [
        (1, "जिला", "oblique", "1 जिले"),
        (22, "जिला", "oblique", "22 जिलों"),
        (22, "जिला", "direct", "22 जिले"),
        (1, "संयोजक", "oblique", "1 संयोजक"),
        (5, "संयोजक", "oblique", "5 संयोजकों"),
        (5, "संयोजक", "direct", "5 संयोजक"),
        (5, "जिला सह संयोजक", "oblique", "5 जिला सह संयोजकों"),
        (3, "पदाधिकारी", "oblique", "3 पदाधिकारियों"),
        (4, "प्रवक्ता", "oblique", "4 प्रवक्ताओं"),
        (4, "प्रवक्ता", "direct", "4 प्रवक्ता"),
        (54, "कार्यकर्ता", "oblique", "54 कार्यकर्ताओं"),
        (2, "बैठक", "direct", "2 बैठकें"),
        (3, "महिला", "oblique", "3 महिलाओं"),
        (0, "जिला", "oblique", "0 जिलों"),
        (5, "जिला संयोजिका", "direct", "5 जिला संयोजिकाएँ"),
        (5, "जिला संयोजिका", "oblique", "5 जिला संयोजिकाओं"),
        (2, "सदस्या", "direct", "2 सदस्याएँ"),
    ],
)
def test_counts_put_the_noun_in_its_form(
    count: int, phrase: str, case: hindi.Case, said: str
) -> None:
    assert hindi.counted(count, phrase, case) == said


def test_words_in_a_that_do_not_change_stay_as_they_are() -> None:
    assert hindi.noun("सोशल मीडिया", 1, "oblique") == "सोशल मीडिया"
    assert hindi.noun("प्रवक्ता", 1, "oblique") == "प्रवक्ता"


@pytest.mark.parametrize(
    ("items", "hindi_list", "english_list"),
    [
        (["क"], "क", "क"),
        (["क", "ख"], "क और ख", "क and ख"),
        (["क", "ख", "ग"], "क, ख और ग", "क, ख and ग"),
        ([], "", ""),
    ],
)
def test_lists_joined_as_each_language_joins_them(
    items: list[str], hindi_list: str, english_list: str
) -> None:
    assert hindi.join(items) == hindi_list
    assert en_join(items) == english_list


@pytest.mark.parametrize(
    ("stem", "arguments", "form"),
    [
        ("कर", {"honorific": True}, "करेंगे"),
        ("उपस्थित रह", {"honorific": True}, "उपस्थित रहेंगे"),
        ("सिखा", {"honorific": True}, "सिखाएंगे"),
        ("रख", {"honorific": True, "gender": "female"}, "रखेंगी"),
        ("हो", {"gender": "female"}, "होगी"),
        ("रह", {"tense": "past", "count": 1}, "रहा"),
        ("रह", {"tense": "past", "count": 5}, "रहे"),
        ("रह", {"tense": "past", "count": 0}, "रहे"),
        ("रख", {"tense": "past", "gender": "female"}, "रखी"),
        ("कर", {"tense": "past", "gender": "female"}, "की"),
        ("जा", {"tense": "past", "gender": "female"}, "गई"),
        ("बता", {"tense": "past"}, "बताया"),
    ],
)
def test_verbs_agree_and_office_bearers_take_the_honorific_plural(
    stem: str, arguments: dict[str, Any], form: str
) -> None:
    assert hindi.verb(stem, **arguments) == form


def candidate(person_id: int, role: str, district: str | None, attended: bool) -> Candidate:
    return Candidate(
        person_id=person_id,
        active=True,
        email=None,
        role=role,
        unit=None,
        district=district,
        language="hi",
        answer="none",
        attended=attended,
        opted_out=False,
    )


def hindi_part(markdown: str) -> str:
    return markdown.split("\n---\n")[0]


def english_part(markdown: str) -> str:
    return markdown.split("\n---\n")[1]


@pytest.fixture
def sample_store(karyashala_env: dict[str, str]) -> str:
    """The sample event's roster synced into this test's store."""
    sync_roster("haryana-it-workshop")
    return karyashala_env["KARYASHALA_DATABASE_URL"]


@pytest.mark.usefixtures("prefect_api_url")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sample_announcement_holds_every_fact_of_the_seed(sample_store: str) -> None:
    report = press_note("haryana-it-workshop", "announcement", review=False)
    markdown = Path(report.markdown).read_text(encoding="utf-8")
    note = hindi_part(markdown)
    headlines = [line for line in note.splitlines() if line.startswith("# ")]
    assert headlines == [
        "# -बुधवार को गुरुग्राम में होगी प्रदेश स्तरीय आईटी एवं सोशल मीडिया कार्यशाला",
        "# -प्रदेश अध्यक्ष ओमप्रकाश धनखड़ भी सिखायेंगे सोशल मीडिया के गुर",
    ]
    for fact in [
        "भारतीय जनता पार्टी",
        "हरियाणा प्रदेश",
        "प्रदेश स्तरीय आईटी एवं सोशल मीडिया कार्यशाला",
        "सोशल मीडिया टीम को और मजबूत करने",
        "गुरुग्राम में सिग्नेचर टावर के पास स्थित पार्टी के नए कार्यालय में",
        "बुधवार को",
        "एक दिसम्बर सुबह साढ़े 10 बजे से शुरू होगी",
        "लगभग 5 घंटे",
        "प्रदेश अध्यक्ष ओमप्रकाश धनखड़ पूरे समय मौजूद रहकर",
        "प्रदेश मीडिया सह प्रमुख अरविंद सैनी ने बताया कि",
        "प्रदेश के सभी 22 जिलों के आईटी एवं सोशल मीडिया के संयोजक और सह संयोजक",
        "प्रदेश के सभी मोर्चा के सोशल मीडिया संयोजक और सह संयोजक",
        "मीडिया टीम के प्रदेश स्तरीय पदाधिकारी",
        "प्रवक्ता, सह प्रवक्ता और पैनलिस्ट उपस्थित रहेंगे",
        "मीडिया प्रदेश प्रमुख संजय शर्मा भी मीडिया से जुड़े विषयों पर बात रखेंगे",
        ", ".join(PLATFORMS),
    ]:
        assert fact in note, fact
    english = english_part(markdown)
    for fact in [
        "Wednesday, 1 December 2027",
        "10:30 am",
        "about 5 hours",
        "Signature Tower",
        "Om Prakash Dhankar",
        "Arvind Saini",
        "Sanjay Sharma",
        "all 22 districts",
        "Facebook, Twitter, Instagram, Koo, the Narendra Modi app",
    ]:
        assert fact in english, fact
    for path in (report.markdown, report.html, report.docx, report.text):
        assert Path(path).is_file()
    assert report.state == "awaiting review"


def test_announcement_never_claims_districts_the_roster_lacks() -> None:
    people = [
        candidate(1, "जिला संयोजक", "Hisar", False),
        candidate(2, "जिला सह संयोजक", "रोहतक", False),
        candidate(3, "प्रवक्ता", None, False),
    ]
    facts = press_facts(EVENT, people, [], CATALOG)
    markdown = render_sections(EVENT, "announcement", facts, EVENT.outcome, "halant")
    assert "सभी 22" not in markdown and "all 22" not in markdown
    assert "प्रदेश के 22 में से 2 जिलों के आईटी एवं सोशल मीडिया के संयोजक" in markdown
    assert "2 of the 22 districts" in markdown


def summary_for(facts: PressFacts) -> tuple[str, str]:
    markdown = render_sections(EVENT, "summary", facts, EVENT.outcome, "halant")
    return hindi_part(markdown), english_part(markdown)


def test_summary_reads_right_for_nobody_recorded() -> None:
    note, english = summary_for(PressFacts(invited_reach=reach(set(), CATALOG)))
    assert "उपस्थिति अभी दर्ज नहीं हुई है" in note
    assert "ने लिया हिस्सा" not in note and " 0 " not in note
    assert "No attendance has been recorded" in english


def test_summary_reads_right_for_one() -> None:
    people = [candidate(1, "जिला संयोजक", "Hisar", True)]
    note, english = summary_for(press_facts(EVENT, people, [], CATALOG))
    assert "# -1 जिले से 1 कार्यकर्ता ने लिया हिस्सा" in note
    assert "प्रदेश के 22 में से 1 जिले से 1 कार्यकर्ता उपस्थित रहा।" in note
    assert "इनमें 1 जिला संयोजक शामिल रहा।" in note
    assert "1 worker attended, from 1 of the 22 districts" in english
    assert "They included 1 district convener." in english


def test_summary_reads_right_for_many_and_names_the_missing_districts() -> None:
    districts = [district.en for district in CATALOG.districts]
    people = [candidate(n, "जिला संयोजक", districts[n % 20], True) for n in range(40)]
    people += [candidate(100, "प्रवक्ता", None, True), candidate(101, "प्रवक्ता", None, True)]
    people += [candidate(102, "पैनलिस्ट", None, False)]

    facts = press_facts(EVENT, people, [WalkIn("Hisar"), WalkIn(None)], CATALOG)
    assert facts.attended == 44
    note, english = summary_for(facts)
    missing = [d.hi for d in CATALOG.districts[20:]]
    assert "# -20 जिलों से 44 कार्यकर्ताओं ने लिया हिस्सा" in note
    assert "प्रदेश के 22 में से 20 जिलों से 44 कार्यकर्ता उपस्थित रहे।" in note
    assert "इनमें 40 जिला संयोजक, 2 प्रवक्ता और 2 अन्य कार्यकर्ता शामिल रहे।" in note
    assert f"{' और '.join(missing)} जिलों से कोई प्रतिनिधि नहीं पहुँचा।" in note
    assert "सभी 22" not in note
    assert "They included 40 district conveners, 2 spokespersons and 2 others." in english
    assert "Nobody came from " + " and ".join(d.en for d in CATALOG.districts[20:]) in english


def test_summary_says_all_districts_only_when_all_came() -> None:
    people = [candidate(n, "जिला संयोजक", d.en, True) for n, d in enumerate(CATALOG.districts)]
    note, english = summary_for(press_facts(EVENT, people, [], CATALOG))
    assert "# -सभी 22 जिलों से 22 कार्यकर्ताओं ने लिया हिस्सा" in note
    assert "प्रदेश के सभी 22 जिलों से 22 कार्यकर्ता उपस्थित रहे।" in note
    assert "कोई प्रतिनिधि नहीं पहुँचा" not in note
    assert "from all 22 districts" in english


def test_summary_is_past_tense_with_the_points_quotes_and_decisions() -> None:
    note, english = summary_for(PressFacts(invited_reach=reach(set(), CATALOG)))
    assert "कार्यशाला आयोजित की गई" in note and "लगभग 5 घंटे चली" in note
    assert "प्रदेश अध्यक्ष ओमप्रकाश धनखड़ ने कहा कि सोशल मीडिया पर हर कार्यकर्ता" in note
    assert "निर्णय लिया गया कि हर जिले में हर महीने" in note
    assert "*फोटो: गुरुग्राम में कार्यशाला को संबोधित करते" in note
    assert "रहेंगे" not in note and "होगी।" not in note.replace("बैठक होगी।", "")
    assert "It was decided that the social-media team of every district" in english


def test_word_file_opens_with_the_devanagari_text_and_names_its_font() -> None:
    markdown = render_sections(
        EVENT,
        "announcement",
        PressFacts(invited_reach=reach(set(), CATALOG)),
        EVENT.outcome,
        "halant",
    )
    path = Path(__file__).parent.parent / "test-artifacts" / "announcement.docx"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(to_docx(markdown, "test"))
    document = docx.Document(str(path))
    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    assert paragraphs[0].text.startswith("-बुधवार को गुरुग्राम में होगी")
    assert paragraphs[0].style is not None and paragraphs[0].style.name == "Title"
    assert document.styles["Title"].font.bold
    assert any("सुबह साढ़े 10 बजे" in p.text for p in paragraphs)
    assert any("State President Om Prakash Dhankar" in p.text for p in paragraphs)
    for style in ("Normal", "Title"):
        properties = document.styles[style].element.rPr
        assert properties.rFonts.get(qn("w:cs")) == "Nirmala UI"
        assert properties.rFonts.get(qn("w:cstheme")) is None  # a theme font would win
        assert len(properties.findall(qn("w:szCs"))) == 1


def test_whatsapp_text_is_short_and_leads_with_the_headlines() -> None:
    markdown = render_sections(
        EVENT,
        "announcement",
        PressFacts(invited_reach=reach(set(), CATALOG)),
        EVENT.outcome,
        "halant",
    )
    text = whatsapp_text(markdown)
    hindi_block, english_block = text.split("\n\n")
    assert hindi_block.startswith("-बुधवार को गुरुग्राम में होगी")
    assert "एक दिसम्बर सुबह साढ़े 10 बजे" in hindi_block
    assert english_block.startswith("-State-level IT and Social Media Workshop")
    assert len(hindi_block) <= 1000 and len(english_block) <= 1000
    assert "#" not in text and "**" not in text


def attend(url: str, count: int) -> None:
    """The first count people of the roster came, and one walk-in from Hisar."""
    with Session(engine_for(url)) as session, session.begin():
        people = session.scalars(select(Person).where(Person.active).order_by(Person.id)).all()
        for person in people[:count]:
            session.add(
                Attendance(event_id=person.event_id, person_id=person.id, recorded_by="test")
            )
        session.add(
            Attendance(
                event_id="haryana-it-workshop",
                walk_in_name="अतिथि",
                walk_in_district="Hisar",
                recorded_by="test",
            )
        )


@pytest.mark.usefixtures("prefect_api_url")
def test_summary_from_the_store_says_exactly_its_numbers(sample_store: str) -> None:
    attend(sample_store, 10)
    with Session(engine_for(sample_store)) as session:
        came = session.scalars(
            select(Person).join(Attendance, Attendance.person_id == Person.id)
        ).all()
    catalog = CATALOG
    districts = {catalog.canonical(p.district) for p in came if p.district}
    districts.add(catalog.canonical("Hisar"))
    report = press_note("haryana-it-workshop", "summary", review=False)
    note = hindi_part(Path(report.markdown).read_text(encoding="utf-8"))
    assert f"{len(districts)} जिलों से 11 कार्यकर्ता उपस्थित रहे" in note
    missing = [d.hi for d in catalog.districts if d not in districts]
    assert f"{hindi.join(missing)} जिलों से कोई प्रतिनिधि नहीं पहुँचा" in note
    assert "सभी 22" not in note


def draft_and_final(report_markdown: str) -> tuple[str, Path]:
    draft = Path(report_markdown)
    return draft.read_text(encoding="utf-8"), draft.with_name("final.md")


def version_folder(report: PressReport, version: str) -> Path:
    """Another version folder of the note a report is about."""
    return Path(report.markdown).parent.with_name(version)


@pytest.mark.usefixtures("prefect_api_url")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_review_approved_with_an_edit_goes_to_the_media_once(
    sample_store: str, smtp: LoopbackSMTPServer
) -> None:
    edited = "# -संपादित शीर्षक\n\nसंपादित पाठ।\n\n---\n\n# -Edited headline\n\nEdited text.\n"
    resumer = resume_when_paused(
        {
            "decision": "approve",
            "edited_text": edited,
            "send_to_media": True,
            "embargo": "2027-11-30T18:00:00+05:30",
        }
    )
    report = press_note("haryana-it-workshop", "announcement")
    resumer.join(timeout=5)
    draft, final = draft_and_final(report.markdown)
    assert report.state == "approved" and report.final is not None
    assert report.version == "v2" and draft == edited  # the edit, as a draft version of its own
    assert Path(report.final.markdown) == final
    assert final.read_text(encoding="utf-8").startswith(
        "**प्रकाशन तीस नवम्बर शाम 6 बजे के बाद / Embargoed until Tuesday, 30 November 2027,"
    )
    assert "संपादित पाठ।" in final.read_text(encoding="utf-8")
    reviewed = version_folder(report, "v1").joinpath("draft.md").read_text(encoding="utf-8")
    assert "संपादित" not in reviewed and "सिग्नेचर टावर" in reviewed
    assert not version_folder(report, "v1").joinpath("final.md").exists()
    assert (report.sent, report.failed) == (3, 0)
    assert sorted(r.recipients[0] for r in smtp.received) == [
        "city@tribune.example",
        "desk@jagran.example",
        "news@amarujala.example",
    ]
    message = smtp.received[0].message
    assert message["Subject"] == "संपादित शीर्षक"
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "haryana-it-workshop.docx"
    body = message.get_body(("plain",))
    assert body is not None and "संपादित पाठ।" in body.get_content()

    again = resume_when_paused({"decision": "approve", "send_to_media": True})
    second = press_note("haryana-it-workshop", "announcement")
    again.join(timeout=5)
    assert second.version == "v3" and second.sent == 0 and len(smtp.received) == 3


@pytest.mark.usefixtures("prefect_api_url")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_review_approved_as_drafted_with_new_points_rewrites_the_summary(
    sample_store: str, smtp: LoopbackSMTPServer
) -> None:
    point = {"speaker": "Sanjay Sharma", "said": {"hi": "नया बिंदु यहाँ है", "en": "a new point"}}
    resumer = resume_when_paused({"decision": "approve", "points": [point]})
    report = press_note("haryana-it-workshop", "summary")
    resumer.join(timeout=5)
    draft, final = draft_and_final(report.markdown)
    final_text = final.read_text(encoding="utf-8")
    assert "मीडिया प्रदेश प्रमुख संजय शर्मा ने कहा कि नया बिंदु यहाँ है।" in final_text
    assert report.version == "v2" and "नया बिंदु यहाँ है" in draft
    reviewed = version_folder(report, "v1").joinpath("draft.md").read_text(encoding="utf-8")
    assert "नया बिंदु" not in reviewed
    assert report.sent == 0 and smtp.received == []


@pytest.mark.usefixtures("prefect_api_url")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_review_timed_out_approves_nothing_and_sends_nothing(
    sample_store: str, smtp: LoopbackSMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARYASHALA_APPROVAL_TIMEOUT_SECONDS", "3")
    report = press_note("haryana-it-workshop", "announcement")
    draft, final = draft_and_final(report.markdown)
    assert report.state == "not approved" and report.final is None
    assert not final.exists() and "सिग्नेचर टावर" in draft
    assert smtp.received == []
    with pytest.raises(KaryashalaError, match="No announcement draft is waiting for review"):
        approve_press_note("haryana-it-workshop", "announcement")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_writes_a_draft_that_goes_nowhere_until_approved(
    sample_store: str, smtp: LoopbackSMTPServer, prefect_api_url: str
) -> None:
    drafted = run_cli(
        "press-note",
        "--event",
        str(SAMPLE_EVENT),
        "--kind",
        "announcement",
        "--json",
        prefect_api_url=prefect_api_url,
    )
    assert drafted.returncode == 0, drafted.stderr
    paths = json.loads(drafted.stdout)
    for key in ("markdown", "html", "docx", "text"):
        assert Path(paths[key]).is_file()
    assert paths["state"] == "awaiting review" and smtp.received == []

    approve = ["press-note", "approve", "--event", "haryana-it-workshop", "--kind", "announcement"]
    approved = run_cli(*approve, "--send", "--json", prefect_api_url=prefect_api_url)
    assert approved.returncode == 0, approved.stderr
    result = json.loads(approved.stdout)
    assert result["state"] == "approved" and result["version"] == "v1"
    assert Path(result["final"]["docx"]).is_file() and result["sent"] == 3
    assert Path(paths["markdown"]).read_text(encoding="utf-8") == Path(
        result["final"]["markdown"]
    ).read_text(encoding="utf-8")

    nothing_waiting = run_cli(*approve, prefect_api_url=prefect_api_url)
    assert nothing_waiting.returncode == 2
    assert "No announcement draft is waiting for review" in nothing_waiting.stderr


def test_a_masculine_event_noun_and_a_woman_presiding_read_right() -> None:
    data = EVENT.model_dump()
    data.update(
        called={"hi": "मेला", "en": "fair", "gender": "male"},
        headline=None,
        duration_hours=1,
        presiding={
            **data["presiding"],
            "gender": "female",
            "name": {"hi": "सुनीता देवी", "en": "Sunita Devi"},
        },
        venue={**data["venue"], "landmark": None},
        outcome={},
    )
    event = type(EVENT).model_validate(data)
    facts = PressFacts(invited_reach=reach(set(), CATALOG))
    note = hindi_part(render_sections(event, "announcement", facts, event.outcome, "halant"))
    assert "होगा प्रदेश स्तरीय" in note and "होगी" not in note.splitlines()[0]
    assert "प्रदेश अध्यक्ष सुनीता देवी करेंगी अध्यक्षता" in note
    assert "यह मेला एक दिसम्बर सुबह साढ़े 10 बजे से शुरू होगा" in note
    assert "लगभग 1 घंटे तक इस मेले में" in note
    assert "होने वाले इस मेले में" in note
    assert "गुरुग्राम में पार्टी के नए कार्यालय में" in note
    summary = hindi_part(render_sections(event, "summary", facts, event.outcome, "halant"))
    assert "आयोजित किया गया" in summary and "यह मेला लगभग 1 घंटा चला" in summary
    assert "मेले की अध्यक्षता प्रदेश अध्यक्ष सुनीता देवी ने की" in summary


def paused_run() -> FlowRun:
    """The run waiting for its form, once there is one."""
    with get_client(sync_client=True) as client:
        for _ in range(300):
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                )
            )
            if runs:
                return runs[0]
            time.sleep(0.2)
    raise AssertionError("no paused run")


def resume_twice(first: dict[str, Any], second: dict[str, Any]) -> threading.Thread:
    """Answer a review form, then the form it asks again with, in another thread."""

    def answer() -> None:
        run = paused_run()
        resume_flow_run(run.id, run_input=first)
        time.sleep(3)  # the run goes on, then pauses again with its question
        resume_flow_run(paused_run().id, run_input=second)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


@pytest.mark.usefixtures("prefect_api_url")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_point_by_an_unknown_speaker_asks_again_and_keeps_the_input(
    sample_store: str, smtp: LoopbackSMTPServer
) -> None:
    wrong = {"speaker": "कोई और", "said": {"hi": "पहला बिंदु", "en": "first point"}}
    right = {"speaker": "संजय शर्मा", "said": {"hi": "पहला बिंदु", "en": "first point"}}
    answering = resume_twice(
        {"decision": "approve", "points": [wrong]}, {"decision": "approve", "points": [right]}
    )
    report = press_note("haryana-it-workshop", "summary")
    answering.join(timeout=10)
    assert report.state == "approved" and report.final is not None
    final = Path(report.final.markdown).read_text(encoding="utf-8")
    assert "मीडिया प्रदेश प्रमुख संजय शर्मा ने कहा कि पहला बिंदु।" in final


def form_schema_then_resume(run_input: dict[str, Any]) -> tuple[dict[str, Any], threading.Thread]:
    """The JSON schema the server keeps for the paused run's form (what the UI draws), read in
    another thread before it answers the form."""
    schema: dict[str, Any] = {}

    def look_then_answer() -> None:
        run = paused_run()
        assert run.state is not None and run.state.state_details.run_input_keyset is not None
        key = run.state.state_details.run_input_keyset["schema"]
        with get_client(sync_client=True) as client:
            schema.update(json.loads(client.read_flow_run_input(run.id, key)))
        resume_flow_run(run.id, run_input=run_input)

    thread = threading.Thread(target=look_then_answer, daemon=True)
    thread.start()
    return schema, thread


@pytest.mark.usefixtures("prefect_api_url")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_review_form_puts_the_draft_first_with_help_on_every_field(sample_store: str) -> None:
    schema, answering = form_schema_then_resume({})
    state = press_note("haryana-it-workshop", "summary", return_state=True)
    answering.join(timeout=5)
    report = state.result()
    fields = schema["properties"]
    assert list(fields) == [
        "edited_text",
        "decision",
        "note",
        "embargo",
        "send_to_media",
        "points",
        "quotes",
        "decisions",
        "photo_captions",
    ]
    assert [name for name, field in fields.items() if not field.get("description")] == []
    draft = fields["edited_text"]
    assert draft["format"] == "json-string"  # the UI's box as tall as the text
    assert draft["default"] == Path(report.markdown).read_text(encoding="utf-8")
    assert "/artifacts/key/press-summary-haryana-it-workshop" in draft["description"]
    assert "saved as a new draft version" in draft["description"]  # its own help, after the link
    assert fields["decision"]["enum"] == ["approve", "keep as draft", "reject"]
    assert fields["decision"]["default"] == "keep as draft"
    embargo = fields["embargo"]
    assert (embargo["type"], embargo["format"], "default" in embargo) == (
        "string",
        "date-time",
        False,
    )
    assert fields["points"]["default"][0]["speaker"] == "ओमप्रकाश धनखड़"
    # Answered with nothing: the safe default, which keeps the draft as it was.
    assert state.name == "Kept as draft" and state.is_completed()
    assert (report.state, report.version, report.final) == ("kept as draft", "v1", None)


def latest_note_artifact(kind: str) -> str:
    with get_client(sync_client=True) as client:
        found = [
            a
            for a in client.read_latest_artifacts()
            if a.key == f"press-{kind}-haryana-it-workshop"
        ]
    return str(found[0].data)


@pytest.mark.usefixtures("prefect_api_url")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_edit_kept_as_draft_is_a_new_version_that_the_command_line_can_approve(
    sample_store: str, smtp: LoopbackSMTPServer
) -> None:
    edited = "# -नया शीर्षक\n\nनया पाठ।\n\n---\n\n# -New headline\n\nNew text.\n"
    resumer = resume_when_paused(
        {"decision": "keep as draft", "edited_text": edited, "note": "Ask Arvind ji (9812345678)"}
    )
    report = press_note("haryana-it-workshop", "announcement")  # a plain call gets the report
    resumer.join(timeout=5)
    assert (report.state, report.version, report.final) == ("kept as draft", "v2", None)
    assert Path(report.markdown).read_text(encoding="utf-8") == edited
    reviewed = version_folder(report, "v1").joinpath("draft.md").read_text(encoding="utf-8")
    assert "सिग्नेचर टावर" in reviewed and "नया पाठ" not in reviewed
    artifact = latest_note_artifact("announcement")
    assert "announcement v2: kept as draft" in artifact and "Ask Arvind ji" in artifact
    assert "9812345678" not in artifact  # a phone in the note is masked
    assert smtp.received == []

    approved = approve_press_note("haryana-it-workshop", "announcement")
    assert approved.version == "v2" and approved.final is not None
    assert "नया पाठ।" in Path(approved.final.markdown).read_text(encoding="utf-8")


@pytest.mark.usefixtures("prefect_api_url")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_rejected_note_ends_as_rejected_and_is_never_approved_later(
    sample_store: str, smtp: LoopbackSMTPServer
) -> None:
    resumer = resume_when_paused(
        {"decision": "reject", "note": "wrong venue", "send_to_media": True}
    )
    state = press_note("haryana-it-workshop", "announcement", return_state=True)
    resumer.join(timeout=5)
    report = state.result()
    assert state.name == "Rejected" and state.is_completed()
    assert (report.state, report.note, report.final, report.sent) == (
        "rejected",
        "wrong venue",
        None,
        0,
    )
    assert "announcement v1: rejected" in latest_note_artifact("announcement")
    assert smtp.received == []
    with pytest.raises(KaryashalaError, match="No announcement draft is waiting for review"):
        approve_press_note("haryana-it-workshop", "announcement")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_approve_answers_the_paused_review_form(
    sample_store: str, smtp: LoopbackSMTPServer, prefect_api_url: str, tmp_path: Path
) -> None:
    edited = "# -संशोधित शीर्षक\n\nसंशोधित पाठ।\n\n---\n\n# -Revised headline\n\nRevised text.\n"
    text = tmp_path / "edited.md"
    text.write_text(edited, encoding="utf-8")
    answered: list[subprocess.CompletedProcess[str]] = []

    def approve_from_the_command_line() -> None:
        paused_run()
        approve = ["press-note", "approve", "--event", "haryana-it-workshop"]
        answered.append(
            run_cli(
                *approve,
                "--kind",
                "announcement",
                "--text",
                str(text),
                "--json",
                prefect_api_url=prefect_api_url,
            )
        )

    thread = threading.Thread(target=approve_from_the_command_line, daemon=True)
    thread.start()
    report = press_note("haryana-it-workshop", "announcement")
    thread.join(timeout=60)
    (approved,) = answered
    assert approved.returncode == 0, approved.stderr
    assert "resumed_flow_run" in json.loads(approved.stdout)
    assert (report.state, report.version) == ("approved", "v2")
    assert report.final is not None and smtp.received == []
    assert Path(report.final.markdown).read_text(encoding="utf-8") == edited
