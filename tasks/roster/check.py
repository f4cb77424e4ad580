"""Normalise and check a roster table. Pure: no Prefect, no I/O beyond reading templates."""

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import jinja2
import phonenumbers
import yaml
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH
from phonenumbers import region_code_for_country_code
from phonenumbers.phonemetadata import PhoneMetadata

from config import TEMPLATES_DIR
from config.errors import RosterSourceError
from config.event import ColumnMap
from tasks.common.districts import District, DistrictCatalog
from tasks.common.escaping import starts_like_formula
from tasks.common.templating import environment
from tasks.roster.bulk import collector_paused

ProblemCode = Literal[
    "duplicate",
    "invalid_email",
    "email_needs_smtputf8",
    "email_bounced",
    "missing_email",
    "invalid_phone",
    "unknown_district",
    "unsafe_text",
]
PersonField = Literal["name", "role", "unit", "district", "email", "phone", "language", "id"]
TEXT_FIELDS: tuple[PersonField, ...] = ("name", "role", "unit", "district")
LINE_BREAK = re.compile("[\n\r\u2028\u2029]")
# Characters that make email_validator read an address as more than local@domain.
NOT_PLAIN_DOMAIN = re.compile(r'[@<>"\\\[\]()\s]')
LANGUAGES = {
    "hi": "hi",
    "hindi": "hi",
    "हिंदी": "hi",
    "हिन्दी": "hi",
    "en": "en",
    "english": "en",
    "अंग्रेज़ी": "en",
    "अंग्रेजी": "en",
    "इंग्लिश": "en",
}


@dataclass(frozen=True)
class RosterTable:
    """A sheet as people see it: a header row, then data rows of text; row numbers start at 1."""

    header: list[str]
    rows: list[list[str]]
    first_data_row: int = 2


@dataclass(frozen=True)
class Problem:
    row: int
    field: PersonField
    code: ProblemCode
    message_hi: str
    message_en: str
    name: str = ""


@dataclass(slots=True)
class RosterPerson:
    source_row: int
    name: str
    role: str | None = None
    unit: str | None = None
    district: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str = "hi"
    external_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckedRoster:
    people: list[RosterPerson]
    problems: list[Problem]
    rows_read: int


def clean_text(value: str) -> str:
    """Trim, compose to NFC, and collapse every run of whitespace (line breaks too) to a space.
    Text that is clean already comes back as it is, not as a copy: a roster is mostly that."""
    cleaned = " ".join(unicodedata.normalize("NFC", value).split())
    return value if cleaned == value else cleaned


def is_unsafe_text(raw: str) -> bool:
    return starts_like_formula(raw.strip()) or LINE_BREAK.search(raw) is not None


def normalise_email(value: str) -> str | None:
    """The address lowercased and checked for syntax (no DNS), or None if it is not one."""
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized.lower()


class EmailNormaliser:
    """normalise_email for a whole roster, checking each domain once: the domain is most of
    email_validator's work, and a roster's addresses share a few domains.

    A plain local part (dot-atom ASCII, the form nearly everyone has) needs no more than that
    regular expression and the length limits; any other address goes through normalise_email.
    """

    def __init__(self) -> None:
        self.domains: dict[str, tuple[str, str] | None] = {}

    def __call__(self, value: str) -> str | None:
        local, _, domain = value.partition("@")
        if not DOT_ATOM_TEXT.match(local) or not domain or NOT_PLAIN_DOMAIN.search(domain):
            return normalise_email(value)
        if domain not in self.domains:
            self.domains[domain] = domain_forms(domain)
        forms = self.domains[domain]
        if forms is None:
            return None
        unicode_domain, ascii_domain = forms
        normalized = f"{local}@{unicode_domain}"
        for address in (value, normalized, f"{local}@{ascii_domain}"):
            if len(address.encode()) > EMAIL_MAX_LENGTH:
                return None
        return normalized.lower()


def domain_forms(domain: str) -> tuple[str, str] | None:
    """The domain as email_validator normalises it, and in A-labels; None if it is no domain."""
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def normalise_phone(value: str, region: str = "IN") -> str | None:
    """The number in E.164 (+919812345678), or None if it is not a valid number."""
    usual = usual_phone_form(region)
    national = usual.national_number(value) if usual is not None else None
    if usual is not None and national is not None:
        number = phonenumbers.PhoneNumber(
            country_code=usual.country_code, national_number=int(national)
        )
        if phonenumbers.is_valid_number(number):
            return f"+{usual.country_code}{national}"
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@dataclass(frozen=True)
class UsualPhoneForm:
    """A region's numbers as people usually write them: the national number, perhaps after
    +<country code> or the national prefix, its digits grouped by single spaces or hyphens.

    A valid number read this way is the number phonenumbers.parse (most of the cost of
    normalise_phone) reads: nothing in it could be taken for an international or national
    prefix or for a country code. Anything else is left to parse.
    """

    country_code: int
    national_prefix: str
    international_prefix: re.Pattern[str]
    written: re.Pattern[str]

    def national_number(self, value: str) -> str | None:
        """The national number's digits if the value is written this way, else None."""
        match = self.written.fullmatch(value)
        if match is None:
            return None
        national = match["national"].replace(" ", "").replace("-", "")
        if self.national_prefix and national.startswith(self.national_prefix):
            return None
        prefix = match["prefix"] or ""
        if not prefix.startswith("+"):
            dialled = prefix + national
            if dialled.startswith(str(self.country_code)) or self.international_prefix.match(
                dialled
            ):
                return None
        return national


@cache
def usual_phone_form(region: str) -> UsualPhoneForm | None:
    """None for a region unknown to phonenumbers, or where parse may read more into a number:
    a country code it would read by another region's rules, a national prefix given as a
    pattern or rewritten."""
    metadata = PhoneMetadata.metadata_for_region(region)
    country_code = metadata.country_code if metadata is not None else None
    if (
        metadata is None
        or country_code is None
        or region_code_for_country_code(country_code) != region
    ):
        return None
    national_prefix = metadata.national_prefix_for_parsing or ""
    if metadata.national_prefix_transform_rule or not (
        national_prefix == "" or national_prefix.isdigit()
    ):
        return None
    prefixes = "|".join([rf"\+{country_code}", *filter(None, [national_prefix])])
    return UsualPhoneForm(
        country_code=country_code,
        national_prefix=national_prefix,
        international_prefix=re.compile(metadata.international_prefix or "(?!)"),
        written=re.compile(rf"(?:(?P<prefix>{prefixes})[ -]?)?(?P<national>[1-9](?:[ -]?[0-9])*)"),
    )


def normalise_language(value: str, default: str) -> str | None:
    if not value:
        return default
    return LANGUAGES.get(value.casefold())


@cache
def _problem_texts() -> dict[str, Any]:
    return dict(
        yaml.safe_load((TEMPLATES_DIR / "roster" / "problems.yaml").read_text(encoding="utf-8"))
    )


@cache
def _messages() -> dict[str, dict[str, jinja2.Template]]:
    env = environment(TEMPLATES_DIR)
    return {
        code: {lang: env.from_string(text) for lang, text in texts.items()}
        for code, texts in _problem_texts()["messages"].items()
    }


def problem_sheet_rows(problems: Sequence[Problem]) -> list[list[str]]:
    """The Problems worksheet: a header, then one row a problem, all plain text."""
    header = [str(title) for title in _problem_texts()["sheet_header"]]
    body = [[str(p.row), p.name, p.field, p.code, p.message_hi, p.message_en] for p in problems]
    return [header, *body]


def make_problem(
    code: ProblemCode,
    row: int,
    field_name: PersonField,
    column: str,
    catalog: DistrictCatalog,
    name: str = "",
    first_row: int = 0,
) -> Problem:
    texts = _messages()[code]
    values = {
        "row": row,
        "column": f"“{column}”",
        "first_row": first_row,
        "state_hi": catalog.state_hi,
        "state_en": catalog.state_en,
    }
    return Problem(
        row=row,
        field=field_name,
        code=code,
        message_hi=texts["hi"].render(values),
        message_en=texts["en"].render(values),
        name=name,
    )


def column_letter(index: int) -> str:
    """The column as the sheet names it: A for the first, Z, then AA."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_index(
    header: Sequence[str], title: str, setting: str, sheet: str = "the roster"
) -> int | None:
    """The column titled `title` (trimmed, case folded), None if there is none.

    Two such columns are an error: taking the first would read an empty copy (every email
    "missing") or another person's address without a word.
    """
    wanted = clean_text(title).casefold()
    found = [index for index, cell in enumerate(header) if clean_text(cell).casefold() == wanted]
    if len(found) > 1:
        columns = " and ".join(f"{column_letter(i)} ({clean_text(header[i])!r})" for i in found)
        raise RosterSourceError(
            f"The header row (row 1) of {sheet} has {len(found)} columns titled "
            f"{clean_text(title)!r}: {columns}. {setting} must name exactly one: rename or "
            "delete the other column(s), then run again."
        )
    return found[0] if found else None


def closest_column(header: Sequence[str], title: str) -> str:
    """A hint at a header that looks like a typo of the title; nothing else of the file is
    repeated, since a wrong roster.path may point at a file that is no roster at all."""
    folded = [clean_text(cell).casefold() for cell in header]
    match = difflib.get_close_matches(clean_text(title).casefold(), folded, n=1, cutoff=0.75)
    if not match:
        return ""
    index = folded.index(match[0])
    return f", closest: column {column_letter(index)} ({clean_text(header[index])!r})"


def header_positions(header: Sequence[str], columns: ColumnMap) -> dict[PersonField, int]:
    """Where each mapped field sits; a mapped header missing from the sheet is a config error."""
    positions: dict[PersonField, int] = {}
    missing = []
    for field_name, title in columns.mapped().items():
        index = column_index(header, title, f"roster.columns.{field_name}")
        if index is None:
            missing.append(f"{title!r} (for {field_name}{closest_column(header, title)})")
        else:
            positions[field_name] = index  # type: ignore[index]
    if missing:
        raise RosterSourceError(
            f"The roster's header row (row 1, {len(header)} columns) has no column "
            f"{', '.join(missing)}. Fix roster.columns in the event file or the header row of "
            "the roster."
        )
    return positions


def extra_columns(
    header: Sequence[str], positions: dict[PersonField, int], working_columns: frozenset[str]
) -> list[tuple[int, str]]:
    """The columns kept with each person, by title; a title seen before gets its column letter,
    so a second column of the same title keeps its values instead of overwriting the first's."""
    kept: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, cell in enumerate(header):
        title = clean_text(cell) or f"column {index + 1}"
        if index in positions.values() or title in working_columns:
            continue
        if title.casefold() in seen:
            title = f"{title} ({column_letter(index)})"
        seen.add(title.casefold())
        kept.append((index, title))
    return kept


class _RowChecker:
    """Turns one data row into a person and its problems; remembers identities for duplicates."""

    def __init__(
        self,
        table: RosterTable,
        columns: ColumnMap,
        catalog: DistrictCatalog,
        default_language: str,
        region: str,
        working_columns: frozenset[str],
    ) -> None:
        self.positions = header_positions(table.header, columns)
        self.titles = columns.mapped()
        self.extra_columns = extra_columns(table.header, self.positions, working_columns)
        self.catalog = catalog
        self.default_language = default_language
        self.region = region
        self.normalise_email = EmailNormaliser()
        self.districts: dict[str, District | None] = {}
        self.people: list[RosterPerson] = []
        self.problems: list[Problem] = []
        # Who has each identity, by kind: an email, a phone, an id column's value.
        self.seen: dict[str, dict[str, RosterPerson]] = {"email": {}, "phone": {}, "id": {}}

    def problem(
        self, code: ProblemCode, row: int, field_name: PersonField, name: str, first_row: int = 0
    ) -> None:
        self.problems.append(
            make_problem(
                code, row, field_name, self.titles[field_name], self.catalog, name, first_row
            )
        )

    def withdraw(self, row: int, code: ProblemCode) -> None:
        """Drop a problem just found in this row that merging made moot."""
        for index in range(len(self.problems) - 1, -1, -1):
            if self.problems[index].row != row:
                return
            if self.problems[index].code == code:
                del self.problems[index]
                return

    def check(self, row_number: int, cells: list[str]) -> None:
        raw: dict[PersonField, str] = {
            f: cells[i] if i < len(cells) else "" for f, i in self.positions.items()
        }
        values = {f: clean_text(v) for f, v in raw.items()}
        name = values.get("name", "")
        person = RosterPerson(source_row=row_number, name=name)
        for index, title in self.extra_columns:
            if index < len(cells) and cells[index].strip():
                person.extra[title] = clean_text(cells[index])

        for text_field in TEXT_FIELDS:
            if text_field in raw and is_unsafe_text(raw[text_field]):
                self.problem("unsafe_text", row_number, text_field, name)
        person.role = values.get("role") or None
        person.unit = values.get("unit") or None
        person.external_id = values.get("id") or None

        self.check_district(person, values.get("district", ""))
        self.check_email(person, values)
        self.check_phone(person, values.get("phone", ""))
        language = normalise_language(values.get("language", ""), self.default_language)
        if language is None:
            person.rejected["language"] = values["language"]
            language = self.default_language
        person.language = language

        earlier = self.earlier_person(person)
        if earlier is not None and earlier.email:
            self.withdraw(row_number, "missing_email")
        if earlier is None:
            self.remember(person)
            self.people.append(person)
        else:
            key_field = self.duplicate_field(person, earlier)
            self.problem("duplicate", row_number, key_field, name, earlier.source_row)
            merge_into(earlier, person)
            self.remember(earlier)

    def check_district(self, person: RosterPerson, value: str) -> None:
        if not value or "district" not in self.titles:
            return
        if value not in self.districts:
            self.districts[value] = self.catalog.canonical(value)
        district = self.districts[value]
        if district is None:
            person.rejected["district"] = value
            self.problem("unknown_district", person.source_row, "district", person.name)
        else:
            person.district = district.en

    def check_email(self, person: RosterPerson, values: dict[PersonField, str]) -> None:
        if "email" not in self.titles:
            return
        value = values.get("email", "")
        if not value:
            self.problem("missing_email", person.source_row, "email", person.name)
            return
        person.email = self.normalise_email(value)
        if person.email is None:
            person.rejected["email"] = value
            self.problem("invalid_email", person.source_row, "email", person.name)
        elif not person.email.rpartition("@")[0].isascii():
            self.problem("email_needs_smtputf8", person.source_row, "email", person.name)

    def check_phone(self, person: RosterPerson, value: str) -> None:
        if not value:
            return
        person.phone = normalise_phone(value, self.region)
        if person.phone is None:
            person.rejected["phone"] = value
            self.problem("invalid_phone", person.source_row, "phone", person.name)

    def identities(self, person: RosterPerson) -> list[tuple[str, str]]:
        keys = [("email", person.email), ("phone", person.phone), ("id", person.external_id)]
        return [(kind, value) for kind, value in keys if value]

    def earlier_person(self, person: RosterPerson) -> RosterPerson | None:
        for kind, value in self.identities(person):
            if value in self.seen[kind]:
                return self.seen[kind][value]
        return None

    def duplicate_field(self, person: RosterPerson, earlier: RosterPerson) -> PersonField:
        for kind, value in self.identities(person):
            if self.seen[kind].get(value) is earlier:
                return kind  # type: ignore[return-value]
        return "email"

    def remember(self, person: RosterPerson) -> None:
        for kind, value in self.identities(person):
            self.seen[kind].setdefault(value, person)


def merge_into(earlier: RosterPerson, later: RosterPerson) -> None:
    """A repeated row fills what the first row left empty; the first row wins on conflicts."""
    for name in ("role", "unit", "district", "email", "phone", "external_id"):
        if getattr(earlier, name) is None and getattr(later, name) is not None:
            setattr(earlier, name, getattr(later, name))
    if not earlier.name:
        earlier.name = later.name
    for key, value in later.extra.items():
        earlier.extra.setdefault(key, value)
    for key, value in later.rejected.items():
        earlier.rejected.setdefault(key, value)


def check_roster(
    table: RosterTable,
    columns: ColumnMap,
    catalog: DistrictCatalog,
    default_language: str = "hi",
    region: str = "IN",
    working_columns: frozenset[str] = frozenset(),
) -> CheckedRoster:
    """Every non-blank row becomes a person (duplicates merged); every fault becomes a problem.

    Working columns (answers, attendance, status written back) are not facts about a person.
    """
    checker = _RowChecker(table, columns, catalog, default_language, region, working_columns)
    rows_read = 0
    with collector_paused():
        for offset, cells in enumerate(table.rows):
            if not any(cell.strip() for cell in cells):
                continue
            rows_read += 1
            checker.check(table.first_data_row + offset, cells)
    problems = sorted(checker.problems, key=lambda problem: problem.row)
    return CheckedRoster(people=checker.people, problems=problems, rows_read=rows_read)
