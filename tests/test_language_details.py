"""Hindi and English details, tried on a second event: a Mahila Morcha workshop whose invited
roles are all feminine, whose group labels begin with "the", on a December date."""

import copy
import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.errors import SettingsError
from config.event import Event, load_event
from config.settings import load_settings
from flows.press_note import press_note
from flows.send_stage import send_stage
from flows.sync_roster import sync_roster
from store.queries import Candidate
from tasks.common import hindi
from tasks.common.districts import load_districts
from tasks.common.hindi import MonthSpelling
from tasks.common.templating import en_join, long_date
from tasks.mail.render import Recipient, RenderedMail, Sender, render_mail
from tasks.press.facts import WalkIn, press_facts
from tasks.press.render import render_sections
from tests.conftest import HEADER, person_row
from tests.support.smtp_server import LoopbackSMTPServer

CATALOG = load_districts("haryana")
DISTRICTS = [district.en for district in CATALOG.districts]
CONVENER, CO_CONVENER = "जिला संयोजिका", "जिला सह संयोजिका"

MAHILA_WORKSHOP: dict[str, Any] = {
    "id": "mahila-morcha-workshop",
    "organiser": {"hi": "भारतीय जनता पार्टी", "en": "Bharatiya Janata Party"},
    "organiser_unit": {"hi": "हरियाणा प्रदेश महिला मोर्चा", "en": "Haryana Mahila Morcha"},
    "title": {
        "hi": "महिला मोर्चा सोशल मीडिया कार्यशाला",
        "en": "Mahila Morcha Social Media Workshop",
    },
    "purpose": {
        "hi": "महिला मोर्चा की सोशल मीडिया टीम को मजबूत करना",
        "en": "to strengthen the Mahila Morcha's social-media team",
    },
    "venue": {
        "name": {"hi": "पार्टी कार्यालय", "en": "the party office"},
        "city": {"hi": "रोहतक", "en": "Rohtak"},
    },
    "starts_at": "2027-12-15T11:00:00+05:30",
    "duration_hours": 3,
    "presiding": {
        "name": {"hi": "कमला देवी", "en": "Kamla Devi"},
        "role": {"hi": "महिला मोर्चा प्रदेश अध्यक्षा", "en": "Mahila Morcha State President"},
        "gender": "female",
        "does": {
            "hi": "पूरे समय मौजूद रहकर टीम के कार्य की समीक्षा करेंगी",
            "en": "will be present throughout and review the team's work",
        },
    },
    "quoted": {
        "name": {"hi": "रेखा यादव", "en": "Rekha Yadav"},
        "role": {"hi": "महिला मोर्चा मीडिया प्रभारी", "en": "Mahila Morcha Media In-charge"},
        "gender": "female",
    },
    "invited_groups": [
        {
            "label": {
                "hi": "महिला मोर्चा की जिला संयोजिकाएँ और सह संयोजिकाएँ",
                "en": "the Mahila Morcha's district conveners and co-conveners",
            },
            "per_district": True,
            "roles": [
                {"hi": CONVENER, "en": "district convener"},
                {"hi": CO_CONVENER, "en": "district co-convener"},
            ],
        },
        {
            "label": {
                "hi": "प्रदेश पदाधिकारी और प्रवक्ता",
                "en": "state office-bearers and spokespersons",
            },
            "roles": [
                {"hi": "प्रदेश पदाधिकारी", "en": "state office-bearer"},
                {"hi": "प्रवक्ता", "en": "spokesperson"},
            ],
        },
    ],
    "roster": {
        "source": "csv",
        "path": "roster.csv",
        "columns": {
            "name": "नाम",
            "role": "पद",
            "unit": "मोर्चा/इकाई",
            "district": "जिला",
            "phone": "मोबाइल",
            "email": "ईमेल",
            "language": "भाषा",
        },
    },
    "stages": [
        {"id": "save-the-date", "at": "-14d 10:00"},
        {"id": "invitation", "at": "-7d 10:00", "answer_links": True, "calendar": True},
        {"id": "reminder", "at": "-2d 10:00", "answer_links": True},
        {"id": "logistics", "at": "-1d 18:00", "calendar": True, "check_in_code": True},
        {"id": "thank-you", "at": "+1d 10:00", "after_event": True},
    ],
}

SENDER = Sender(
    address="invite@karyashala.test",
    reply_to="media@karyashala.test",
    public_url="https://rsvp.karyashala.test",
    signing_key="test-signing-key-0123456789",
    month_spelling="halant",
)


def write_workshop(
    directory: Path, change: dict[str, Any] | None = None, roster: list[list[str]] | None = None
) -> Path:
    data = copy.deepcopy(MAHILA_WORKSHOP) | (change or {})
    with (directory / "roster.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *(roster or [])])
    path = directory / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def workshop(tmp_path: Path) -> Event:
    return load_event(write_workshop(tmp_path))


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


def conveners_of_every_district(attending: int = 0) -> list[Candidate]:
    return [
        candidate(n, CONVENER, district, attended=n < attending)
        for n, district in enumerate(DISTRICTS)
    ]


def notes(
    event: Event,
    kind: str,
    people: list[Candidate],
    walk_ins: list[WalkIn] | None = None,
    spelling: MonthSpelling = "halant",
) -> tuple[str, str]:
    facts = press_facts(event, people, walk_ins or [], CATALOG)
    markdown = render_sections(event, kind, facts, event.outcome, spelling)  # type: ignore[arg-type]
    hindi_note, english_note = markdown.split("\n---\n")
    return hindi_note, english_note


# The grammar and formatting helpers, by table.


@pytest.mark.parametrize(
    ("roles", "gender"),
    [
        ([CONVENER, CO_CONVENER], "female"),
        ([CONVENER], "female"),
        ([CONVENER, "प्रवक्ता"], "male"),
        (["जिला संयोजक", "जिला सह संयोजक"], "male"),
        ([CONVENER, "अन्य कार्यकर्ता"], "male"),
        ([], "male"),
    ],
)
def test_a_verb_is_feminine_only_for_nouns_that_all_are(roles: list[str], gender: str) -> None:
    assert hindi.gender_of(roles) == gender


@pytest.mark.parametrize(
    ("items", "hindi_list"),
    [
        (["संयोजिकाएँ और सह संयोजिकाएँ", "प्रदेश पदाधिकारी और प्रवक्ता"],
         "संयोजिकाएँ और सह संयोजिकाएँ तथा प्रदेश पदाधिकारी और प्रवक्ता"),
        (["क और ख", "ग", "घ"], "क और ख, ग तथा घ"),
        (["क", "ख", "ग"], "क, ख और ग"),
        (["औरंगाबाद", "ख"], "औरंगाबाद और ख"),
    ],
)  # fmt: skip
def test_a_list_of_items_with_aur_in_them_joins_with_tatha(
    items: list[str], hindi_list: str
) -> None:
    assert hindi.join(items) == hindi_list


@pytest.mark.parametrize(
    ("items", "english_list"),
    [
        (["conveners and co-conveners", "office-bearers and spokespersons"],
         "conveners and co-conveners as well as office-bearers and spokespersons"),
        (["A and B", "C", "D"], "A and B, C as well as D"),
        (["A", "B", "C"], "A, B and C"),
        (["Andhra", "Bandra"], "Andhra and Bandra"),
    ],
)  # fmt: skip
def test_an_english_list_says_and_once(items: list[str], english_list: str) -> None:
    assert en_join(items) == english_list


def test_the_hindi_long_date_takes_the_month_spelling(workshop: Event) -> None:
    assert long_date(workshop.starts_at, "hi", "halant") == "बुधवार, 15 दिसम्बर 2027"
    assert long_date(workshop.starts_at, "hi", "anusvara") == "बुधवार, 15 दिसंबर 2027"
    assert long_date(workshop.starts_at, "en", "halant") == "Wednesday, 15 December 2027"


# The press notes of the second event.


def test_summary_of_feminine_roles_takes_the_feminine_verb(workshop: Event) -> None:
    people = [candidate(n, CONVENER, DISTRICTS[n], True) for n in range(8)]
    people += [candidate(10 + n, CO_CONVENER, DISTRICTS[n], True) for n in range(9)]
    hindi_note, english_note = notes(workshop, "summary", people)
    assert "इनमें 8 जिला संयोजिकाएँ और 9 जिला सह संयोजिकाएँ शामिल रहीं।" in hindi_note
    assert "# -9 जिलों से 17 कार्यकर्ताओं ने लिया हिस्सा" in hindi_note
    assert "बुधवार, पंद्रह दिसम्बर को रोहतक में" in hindi_note
    assert "दिसंबर" not in hindi_note
    assert "They included 8 district conveners and 9 district co-conveners." in english_note
    assert "on Wednesday, 15 December 2027" in english_note


def test_summary_of_one_feminine_role_is_singular(workshop: Event) -> None:
    hindi_note, _ = notes(workshop, "summary", [candidate(1, CONVENER, "Hisar", True)])
    assert "इनमें 1 जिला संयोजिका शामिल रही।" in hindi_note


@pytest.mark.parametrize(
    ("people", "walk_ins", "included"),
    [
        (
            [candidate(1, CONVENER, "Hisar", True), candidate(2, "प्रवक्ता", None, True)],
            [],
            "इनमें 1 जिला संयोजिका और 1 प्रवक्ता शामिल रहे।",
        ),
        (
            [candidate(1, CONVENER, "Hisar", True), candidate(2, CONVENER, "Jind", True)],
            [WalkIn("Hisar")],
            "इनमें 2 जिला संयोजिकाएँ और 1 अन्य कार्यकर्ता शामिल रहे।",
        ),
    ],
)
def test_summary_of_mixed_roles_keeps_the_masculine_verb(
    workshop: Event, people: list[Candidate], walk_ins: list[WalkIn], included: str
) -> None:
    hindi_note, _ = notes(workshop, "summary", people, walk_ins)
    assert included in hindi_note


def test_announcement_joins_groups_once_and_says_the_once(workshop: Event) -> None:
    hindi_note, english_note = notes(workshop, "announcement", conveners_of_every_district())
    assert (
        "प्रदेश के सभी 22 जिलों के महिला मोर्चा की जिला संयोजिकाएँ और सह संयोजिकाएँ तथा प्रदेश "
        "पदाधिकारी और प्रवक्ता उपस्थित रहेंगे।"
    ) in hindi_note
    assert "यह कार्यशाला पंद्रह दिसम्बर सुबह 11 बजे से शुरू होगी।" in hindi_note
    assert (
        "Mahila Morcha Media In-charge Rekha Yadav said that the Mahila Morcha's district "
        "conveners and co-conveners of all 22 districts as well as state office-bearers and "
        "spokespersons will attend."
    ) in english_note
    assert "the the" not in english_note.lower()


def test_announcement_of_feminine_groups_only_takes_the_feminine_verb(tmp_path: Path) -> None:
    feminine_only = {"invited_groups": MAHILA_WORKSHOP["invited_groups"][:1]}
    event = load_event(write_workshop(tmp_path, feminine_only))
    hindi_note, english_note = notes(event, "announcement", conveners_of_every_district())
    assert (
        "प्रदेश के सभी 22 जिलों के महिला मोर्चा की जिला संयोजिकाएँ और सह संयोजिकाएँ उपस्थित रहेंगी।"
    ) in hindi_note
    assert (
        "said that the Mahila Morcha's district conveners and co-conveners of all 22 districts "
        "will attend."
    ) in english_note


def test_the_month_spelling_reaches_both_notes(workshop: Event) -> None:
    for kind in ("announcement", "summary"):
        hindi_note, _ = notes(workshop, kind, conveners_of_every_district(3), spelling="anusvara")
        assert "पंद्रह दिसंबर" in hindi_note and "दिसम्बर" not in hindi_note


# The mails of the second event, every stage in both languages.


def recipient(language: str, role: str | None = CONVENER, name: str = "सुनीता शर्मा") -> Recipient:
    return Recipient(
        ledger_id=1,
        person_id=7,
        name=name,
        role=role,
        district="Gurgaon",
        email="sunita@example.org",
        language=language,
        message_id="<mahila-morcha-workshop.x.7@karyashala.test>",
    )


def every_stage(event: Event, person: Recipient, sender: Sender = SENDER) -> list[RenderedMail]:
    return [render_mail(event, stage, person, sender) for stage in event.stages]


def test_english_mails_name_the_role_in_english(workshop: Event) -> None:
    for mail in every_stage(workshop, recipient("en")):
        greeting = "Dear सुनीता शर्मा ji (district convener, Gurugram),"
        assert greeting in mail.text and greeting in mail.html
        assert CONVENER not in mail.text + mail.html


def test_hindi_mails_keep_the_hindi_role(workshop: Event) -> None:
    for mail in every_stage(workshop, recipient("hi")):
        greeting = "आदरणीय सुनीता शर्मा जी (जिला संयोजिका, गुरुग्राम),"
        assert greeting in mail.text and greeting in mail.html


def test_the_sample_events_english_mail_names_its_role_in_english() -> None:
    sample = load_event("haryana-it-workshop")
    mails = every_stage(sample, recipient("en", "जिला संयोजक", "संदीप गुप्ता"))
    for mail in mails:
        assert "Dear संदीप गुप्ता ji (district convener, Gurugram)," in mail.text


@pytest.mark.parametrize(
    ("role", "text_greeting", "html_greeting"),
    [
        (
            "प्रवक्ता (मीडिया)",
            "Dear सुनीता शर्मा ji (प्रवक्ता (मीडिया), Gurugram),",
            "Dear सुनीता शर्मा ji (प्रवक्ता (मीडिया), Gurugram),",
        ),
        (
            "<b>संयोजिका</b>",
            "Dear सुनीता शर्मा ji (<b>संयोजिका</b>, Gurugram),",
            "Dear सुनीता शर्मा ji (&lt;b&gt;संयोजिका&lt;/b&gt;, Gurugram),",
        ),
    ],
)
def test_a_role_without_english_stays_as_the_sheet_writes_it(
    workshop: Event, role: str, text_greeting: str, html_greeting: str
) -> None:
    for mail in every_stage(workshop, recipient("en", role)):
        assert text_greeting in mail.text and html_greeting in mail.html


@pytest.mark.parametrize("spelling", ["halant", "anusvara"])
def test_hindi_mails_spell_the_month_as_the_setting_says(
    workshop: Event, spelling: MonthSpelling
) -> None:
    sender = Sender(**{**SENDER.__dict__, "month_spelling": spelling})
    wanted, other = ("दिसम्बर", "दिसंबर") if spelling == "halant" else ("दिसंबर", "दिसम्बर")
    person = recipient("hi")
    mails = {stage.id: render_mail(workshop, stage, person, sender) for stage in workshop.stages}
    assert mails["invitation"].subject.endswith(f"बुधवार, 15 {wanted} 2027")
    assert mails["save-the-date"].subject.endswith(f"बुधवार, 15 {wanted} 2027")
    for stage in ("save-the-date", "invitation", "reminder", "logistics"):
        assert f"बुधवार, 15 {wanted} 2027, सुबह 11 बजे" in mails[stage].text
    for mail in mails.values():
        assert other not in mail.subject + mail.text + mail.html


# One setting for mails and notes, end to end: the roster synced, the invitation sent over SMTP,
# the announcement written by the flow.


@pytest.mark.usefixtures("prefect_api_url")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("variable", "spelling"),
    [
        ("KARYASHALA_MONTH_SPELLING", "anusvara"),
        ("KARYASHALA_PRESS_MONTH_SPELLING", "anusvara"),
        (None, "halant"),
    ],
)
def test_one_month_spelling_for_mails_and_notes(
    tmp_path: Path,
    karyashala_env: dict[str, str],
    smtp: LoopbackSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
    variable: str | None,
    spelling: MonthSpelling,
) -> None:
    if variable:
        monkeypatch.setenv(variable, spelling)
    rows = [
        person_row(
            name="सुनीता शर्मा",
            role=CONVENER,
            district="Gurgaon",
            email="sunita@example.org",
            language="English",
        ),
        person_row(
            name="रेखा रानी",
            role=CO_CONVENER,
            district="रोहतक",
            email="rekha@example.org",
            phone="9812345679",
        ),
    ]
    event = str(write_workshop(tmp_path, roster=rows))
    sync_roster(event)
    assert send_stage(event, "invitation").sent == 2
    by_to = {item.recipients[0]: item.message for item in smtp.received}
    wanted = {"halant": "दिसम्बर", "anusvara": "दिसंबर"}[spelling]

    hindi_mail = by_to["rekha@example.org"]
    assert hindi_mail["Subject"].endswith(f"बुधवार, 15 {wanted} 2027")
    english_body = by_to["sunita@example.org"].get_body(("plain",))
    assert english_body is not None
    assert "Dear सुनीता शर्मा ji (district convener, Gurugram)," in english_body.get_content()

    report = press_note(event, "announcement", review=False)
    hindi_note = Path(report.markdown).read_text(encoding="utf-8").split("\n---\n")[0]
    assert f"पंद्रह {wanted} सुबह 11 बजे से शुरू होगी" in hindi_note


def test_a_month_spelling_that_is_none_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KARYASHALA_MONTH_SPELLING", "दिसम्बर")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith("KARYASHALA_MONTH_SPELLING: Input should be")
    assert "दिसम्बर" not in str(raised.value)
