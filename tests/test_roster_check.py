"""Normalising and checking roster rows: what ops would see in their Problems sheet."""

import gc
from typing import cast

import phonenumbers
import pytest

from config.errors import RosterSourceError
from config.event import ColumnMap, load_event
from tasks.common.districts import load_districts
from tasks.roster.check import (
    CheckedRoster,
    RosterTable,
    check_roster,
    normalise_email,
    normalise_phone,
)
from tests.conftest import HEADER, person_row

COLUMNS = load_event("haryana-it-workshop").roster.columns
HARYANA = load_districts("haryana")


def check(*rows: list[str], header: list[str] = HEADER) -> CheckedRoster:
    return check_roster(RosterTable(header=header, rows=list(rows)), COLUMNS, HARYANA)


def codes(checked: CheckedRoster) -> list[tuple[int, str, str]]:
    return [(p.row, p.field, p.code) for p in checked.problems]


@pytest.mark.parametrize(
    "typed", ["98123 45678", "+91-9812345678", "09812345678", "+91 98123-45678", "9812345678"]
)
def test_one_mobile_number_however_typed(typed: str) -> None:
    assert normalise_phone(typed) == "+919812345678"


@pytest.mark.parametrize("typed", ["98123", "12345", "phone", "+91 12345 67890 123"])
def test_not_a_phone_number(typed: str) -> None:
    assert normalise_phone(typed) is None


def phonenumbers_reading(typed: str, region: str) -> str | None:
    """What the phonenumbers library makes of a typed number, read in full: parse, validate."""
    try:
        number = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def ways_of_typing(region: str) -> list[str]:
    """The region's example numbers of every kind, each also with a digit changed, added or
    dropped, typed with and without prefixes (+country code, 0, 1, 00), spaces and hyphens."""
    country_code = phonenumbers.country_code_for_region(region)
    kinds = [
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.UAN,
    ]
    examples = [phonenumbers.example_number_for_type(region, kind) for kind in kinds]
    typed: list[str] = []
    for example in filter(None, examples):
        national = phonenumbers.national_significant_number(example)
        last = str((int(national[-1]) + 1) % 10)
        for n in (national, national[:-1] + last, national + last, national[:-1], "1" + national):
            typed += [n, f"+{country_code}{n}", f"+{country_code}-{n}", f"{country_code}{n}"]
            typed += [f"+{country_code} {n[:4]} {n[4:]}", f"{n[:5]}-{n[5:]}", f"{n[:3]} {n[3:]}"]
            typed += [f"0{n}", f"0 {n}", f"1{n}", f"00{country_code}{n}", f"+{n}"]
    return typed


@pytest.mark.parametrize("region", ["IN", "NP", "DE", "IT", "IL", "US", "CA", "GB", "AR"])
def test_every_way_of_typing_a_number_reads_as_phonenumbers_reads_it(region: str) -> None:
    """Numbers typed the usual way are read without phonenumbers.parse, for speed; every answer,
    valid or not, must still be the library's own."""
    typed = ways_of_typing(region)
    assert len(typed) > 100
    assert [normalise_phone(t, region) for t in typed] == [
        phonenumbers_reading(t, region) for t in typed
    ]


def test_email_lowercased_and_checked_without_dns() -> None:
    assert normalise_email("Rajesh.Sharma@Example.ORG") == "rajesh.sharma@example.org"
    assert normalise_email("rajesh(at)example.org") is None
    assert normalise_email("rajesh@localhost") is None


@pytest.mark.parametrize(
    ("typed", "district"),
    [
        ("Gurgaon", "Gurugram"),
        ("गुड़गांव", "Gurugram"),
        ("गुरुग्राम", "Gurugram"),
        ("Mewat", "Nuh"),
        ("मेवात", "Nuh"),
        ("Yamuna Nagar", "Yamunanagar"),
        ("Sonepat", "Sonipat"),
        ("Ch. Dadri", "Charkhi Dadri"),
        ("  charkhi   dadri ", "Charkhi Dadri"),
        ("HISSAR", "Hisar"),
        ("अंबाला", "Ambala"),
        ("महेन्द्रगढ़", "Mahendragarh"),
    ],
)
def test_district_canonicalised(typed: str, district: str) -> None:
    checked = check(person_row(district=typed))
    assert checked.problems == []
    assert checked.people[0].district == district


def test_district_list_is_data_with_all_22() -> None:
    assert len(HARYANA.districts) == 22
    assert {d.en for d in HARYANA.districts} >= {"Gurugram", "Nuh", "Charkhi Dadri", "Sonipat"}


def test_text_is_trimmed_composed_and_collapsed() -> None:
    precomposed_fa = "\u095e"  # one code point for फ़; NFC spells it फ + nukta
    checked = check(person_row(name=f"  आरि{precomposed_fa}  खान\t", role=" जिला   संयोजक "))
    person = checked.people[0]
    assert person.name == "आरि\u092b\u093c खान"
    assert person.role == "जिला संयोजक"


def test_an_address_needing_smtputf8_is_kept_and_reported() -> None:
    checked = check(
        person_row(email="user@डाटामेल.भारत", phone="9812300001"),
        person_row(email="jürgen@münchen.example", phone="9812300002"),
    )
    assert codes(checked) == [(3, "email", "email_needs_smtputf8")]
    assert [person.email for person in checked.people] == [
        "user@डाटामेल.भारत",
        "jürgen@münchen.example",
    ]
    (problem,) = checked.problems
    assert "SMTPUTF8" in problem.message_hi and "SMTPUTF8" in problem.message_en
    assert "jürgen" not in problem.message_hi + problem.message_en


def test_every_problem_kind_names_row_field_and_both_languages() -> None:
    checked = check(
        person_row(email="ok1@example.org", phone="9812300001"),
        person_row(email="not-an-email", phone="9812300002"),
        person_row(email="", phone="9812300003"),
        person_row(email="ok4@example.org", phone="98123"),
        person_row(email="ok5@example.org", phone="9812300005", district="Atlantis"),
        person_row(name='=IMPORTXML("http://x")', email="ok6@example.org", phone="9812300006"),
        person_row(role="प्रवक्ता\n(मीडिया)", email="ok7@example.org", phone="9812300007"),
        person_row(email="OK1@example.org", phone="9812300008"),
    )
    assert codes(checked) == [
        (3, "email", "invalid_email"),
        (4, "email", "missing_email"),
        (5, "phone", "invalid_phone"),
        (6, "district", "unknown_district"),
        (7, "name", "unsafe_text"),
        (8, "role", "unsafe_text"),
        (9, "email", "duplicate"),
    ]
    for problem in checked.problems:
        assert f"पंक्ति {problem.row}" in problem.message_hi
        assert f"Row {problem.row}" in problem.message_en
    assert "पंक्ति 2" in checked.problems[-1].message_hi
    # Only the duplicate is not a person of its own; every other row is still someone to reach.
    assert len(checked.people) == 7


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formula_like_names_are_reported_and_kept_as_text(start: str) -> None:
    checked = check(person_row(name=f"{start}SUM(A1:A9)"))
    assert codes(checked) == [(2, "name", "unsafe_text")]
    assert checked.people[0].name == f"{start}SUM(A1:A9)"


def test_problem_messages_hold_no_personal_values() -> None:
    checked = check(person_row(email="secret.person(at)example.org", phone="77777"))
    assert len(checked.problems) == 2
    for problem in checked.problems:
        assert "secret.person" not in problem.message_en + problem.message_hi
        assert "77777" not in problem.message_en + problem.message_hi


def test_duplicate_by_phone_in_another_format_is_merged() -> None:
    checked = check(
        person_row(phone="98123 45678", email="rajesh@example.org", remark=""),
        person_row(phone="+91-9812345678", email="", district="", remark="फ़ोन पर जोड़ा"),
    )
    assert codes(checked) == [(3, "phone", "duplicate")]
    (person,) = checked.people
    assert person.source_row == 2
    assert person.extra["टिप्पणी"] == "फ़ोन पर जोड़ा"


def test_duplicate_fills_what_the_first_row_left_empty() -> None:
    checked = check(
        person_row(email="rajesh@example.org", phone=""),
        person_row(email="Rajesh@Example.org", phone="9812345678"),
    )
    (person,) = checked.people
    assert person.phone == "+919812345678"


def test_blank_rows_are_skipped_silently() -> None:
    checked = check(
        person_row(),
        ["", " ", "", "", "", "", "", ""],
        [],
        person_row(email="other@example.org", phone="9812399999"),
    )
    assert checked.problems == []
    assert [p.source_row for p in checked.people] == [2, 5]
    assert checked.rows_read == 2


def test_unmapped_columns_are_kept() -> None:
    header = [*HEADER, "ट्विटर हैंडल"]
    checked = check([*person_row(remark="नया"), "@rajesh"], header=header)
    assert checked.people[0].extra == {"टिप्पणी": "नया", "ट्विटर हैंडल": "@rajesh"}


def test_unmapped_columns_with_one_title_keep_every_value() -> None:
    header = [*HEADER, " टिप्पणी"]
    checked = check([*person_row(remark="पहली"), "दूसरी"], header=header)
    assert checked.people[0].extra == {"टिप्पणी": "पहली", "टिप्पणी (I)": "दूसरी"}


def test_values_that_failed_a_check_are_kept_not_lost() -> None:
    checked = check(person_row(email="rajesh(at)example.org", phone="98123", district="Atlantis"))
    assert checked.people[0].rejected == {
        "email": "rajesh(at)example.org",
        "phone": "98123",
        "district": "Atlantis",
    }


def test_language_column_in_hindi_or_english() -> None:
    checked = check(
        person_row(language="English"),
        person_row(language="", email="b@example.org", phone="9812300002"),
        person_row(language="अंग्रेज़ी", email="c@example.org", phone="9812300003"),
    )
    assert [p.language for p in checked.people] == ["en", "hi", "en"]


def test_english_headers_map_as_well() -> None:
    columns = ColumnMap(name="Name", email="Email", phone="Mobile", district="District")
    table = RosterTable(
        header=["Name", "Email", "Mobile", "District"],
        rows=[["Sunita Malik", "sunita@example.org", "09812345678", "Sonepat"]],
    )
    (person,) = check_roster(table, columns, HARYANA).people
    assert (person.name, person.phone, person.district) == (
        "Sunita Malik",
        "+919812345678",
        "Sonipat",
    )


def test_a_mapped_column_missing_from_the_sheet_is_a_clear_error() -> None:
    header = [title for title in HEADER if title != "ईमेल"]
    with pytest.raises(RosterSourceError, match="no column 'ईमेल' \\(for email\\)"):
        check(person_row()[:-1], header=header)


def test_a_second_column_with_a_mapped_title_is_an_error_naming_both() -> None:
    """Two ईमेल columns, the second empty: read silently, every email was "missing"."""
    header = [*HEADER, "ईमेल"]
    with pytest.raises(RosterSourceError) as error:
        check([*person_row(), ""], header=header)
    text = str(error.value)
    assert "2 columns titled 'ईमेल': F ('ईमेल') and I ('ईमेल')" in text
    assert "roster.columns.email must name exactly one" in text
    assert "rename or delete" in text


def test_titles_equal_after_trimming_and_case_folding_are_the_same_column() -> None:
    columns = ColumnMap(name="Name", email="Email")
    table = RosterTable(
        header=["Name", "Email", " email "],
        rows=[["Sunita Malik", "sunita@example.org", "someone.else@example.org"]],
    )
    with pytest.raises(RosterSourceError, match=r"B \('Email'\) and C \('email'\)"):
        check_roster(table, columns, HARYANA)


def test_a_missing_column_error_repeats_nothing_of_a_file_that_is_no_roster() -> None:
    """A wrong roster.path (../../etc/passwd) put the file's first line into the error."""
    header = ["root:x:0:0:root:/root:/bin/bash", "secret-token-123", "ईमेल्"]
    with pytest.raises(RosterSourceError) as error:
        check(["", "", ""], header=header)
    text = str(error.value)
    assert "root:x" not in text and "secret-token-123" not in text
    assert "no column 'नाम' (for name)" in text
    # A header that looks like a typo of a mapped title is named, to help fix it.
    assert "'ईमेल' (for email, closest: column C ('ईमेल्'))" in text


@pytest.mark.parametrize("collecting", [True, False])
def test_a_check_leaves_the_cycle_collector_as_it_found_it(collecting: bool) -> None:
    """A check holds Python's cycle collector off while it runs; a worker that syncs for weeks
    must get it back, even from a check that fails halfway."""
    gc.enable() if collecting else gc.disable()
    try:
        check(person_row())
        assert gc.isenabled() is collecting
        with pytest.raises(AttributeError):
            check(person_row(), cast(list[str], [None] * len(HEADER)))
        assert gc.isenabled() is collecting
    finally:
        gc.enable()
