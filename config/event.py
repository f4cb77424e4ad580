"""The event model: one YAML file per event under config/events/, validated on load."""

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config import EVENTS_DIR
from config.errors import EventConfigError

Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60)]


class Model(BaseModel):
    """Event files are written by hand: an unknown key is a typo, not something to ignore."""

    model_config = ConfigDict(extra="forbid")


class Text(Model):
    """The same words in Hindi (what invitees and papers read first) and English."""

    hi: str = Field(min_length=1)
    en: str = Field(min_length=1)


Gender = Literal["male", "female"]


class Dignitary(Model):
    name: Text
    role: Text
    gender: Gender = Field(default="male", description="For the Hindi verb: करेंगे / करेंगी.")


class PresidingDignitary(Dignitary):
    does: Text = Field(description="What the presiding office-bearer will do at the event.")


class Speaker(Dignitary):
    topic: Text = Field(
        description="What they speak on; the Hindi as it stands before पर (… विषयों पर)."
    )


class Role(Model):
    """A roster role (पद) as the sheet writes it, and its English for the English note."""

    hi: str = Field(min_length=1)
    en: str = Field(min_length=1)
    en_plural: str | None = Field(default=None, description="When not the English + 's'.")

    @property
    def en_many(self) -> str:
        return self.en_plural or f"{self.en}s"


class InvitedGroup(Model):
    label: Text
    roles: list[Role] = Field(
        default_factory=list, description="Roster roles (पद) that belong to this group."
    )
    per_district: bool = Field(
        default=False,
        description="Invited from every district: the notes say from how many districts, "
        "counted from the roster, never assumed.",
    )


class Venue(Model):
    name: Text
    name_oblique: str | None = Field(
        default=None,
        description="The Hindi name as it stands before में (पार्टी के नए कार्यालय); the name "
        "when unset.",
    )
    landmark: Text | None = None
    city: Text
    map_url: str | None = None


class ColumnMap(Model):
    """Our field → the sheet's own header for it. Columns not named here are kept as extras."""

    name: str
    role: str | None = None
    unit: str | None = None
    district: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    id: str | None = Field(default=None, description="A stable id column, if the sheet has one.")

    def mapped(self) -> dict[str, str]:
        return {field: header for field, header in self.model_dump().items() if header}


class RosterSource(Model):
    source: Literal["sheets", "csv", "xlsx"]
    spreadsheet_key: str | None = None
    worksheet: str | None = None
    path: Path | None = None
    columns: ColumnMap
    default_region: str = Field(default="IN", description="Phone region for numbers without +.")
    answer_column: str | None = Field(
        default=None, description="A column ops fill after a phone call: हाँ / नहीं / yes / no."
    )
    attendance_column: str | None = Field(
        default=None, description="A column marked on the day for those who came (उपस्थित)."
    )

    @model_validator(mode="after")
    def _source_has_its_location(self) -> "RosterSource":
        if self.source == "sheets" and not self.spreadsheet_key:
            raise ValueError("a 'sheets' roster needs spreadsheet_key")
        if self.source in ("csv", "xlsx") and self.path is None:
            raise ValueError(f"a '{self.source}' roster needs path (relative to the event file)")
        return self


AnswerStatus = Literal["none", "confirmed", "declined", "deputy"]
STAGE_OFFSET = re.compile(
    r"^(?P<sign>[+-])(?P<days>\d+)d(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2}))?$"
)


class Audience(Model):
    """Filters over the store; an empty filter lets everyone through."""

    answer: list[AnswerStatus] = Field(default_factory=list)
    attended: bool | None = None
    roles: list[str] = Field(default_factory=list)
    units: list[str] = Field(default_factory=list)
    districts: list[str] = Field(default_factory=list)
    languages: list[Literal["hi", "en"]] = Field(default_factory=list)


Channel = Literal["email", "whatsapp"]


class Stage(Model):
    """One invitation wave: who gets it, when, and whether a person approves it first."""

    id: Slug
    channels: list[Channel] = Field(
        default_factory=lambda: list[Channel](["email"]),
        min_length=1,
        description="How the stage reaches people: email, and WhatsApp handed over by the "
        "district coordinators. A person with no usable email gets WhatsApp either way.",
    )
    at: str = Field(
        description="'-7d', '-1d 18:00' (days from the event's start, optional local time) "
        "or a fixed ISO time such as 2027-11-24T10:00:00+05:30."
    )
    audience: Audience = Field(default_factory=Audience)
    templates: Slug | None = Field(
        default=None, description="Folder under templates/email/; the stage id when unset."
    )
    requires_approval: bool = False
    after_event: bool = Field(
        default=False,
        description="A stage for after the event (a thank-you): it may be timed after the end, "
        "and it is the only kind sent once the event is over.",
    )
    answer_links: bool = False
    calendar: bool = False
    check_in_code: bool = False

    @field_validator("channels")
    @classmethod
    def _each_channel_once(cls, value: list[Channel]) -> list[Channel]:
        if len(set(value)) < len(value):
            raise ValueError("name each channel once")
        return value

    @field_validator("at")
    @classmethod
    def _readable_time(cls, value: str) -> str:
        offset = STAGE_OFFSET.match(value.strip())
        if offset:
            if offset["hour"] is not None and (
                int(offset["hour"]) > 23 or int(offset["minute"]) > 59
            ):
                raise ValueError(
                    f"{value!r} has no such time of day: write hours 0 to 23 and minutes 0 to "
                    "59, e.g. '-1d 18:00'"
                )
            return value.strip()
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is neither an offset like '-7d' or '-1d 18:00' nor an ISO time"
            ) from None
        if parsed.tzinfo is None:
            raise ValueError(f"{value!r} needs a time zone, e.g. +05:30")
        return value

    @property
    def template_folder(self) -> str:
        return self.templates or self.id

    def runs_at(self, starts_at: datetime) -> datetime:
        """The instant this stage runs for an event starting at starts_at (an aware time)."""
        match = STAGE_OFFSET.match(self.at)
        if match is None:
            return datetime.fromisoformat(self.at)
        days = int(match["days"]) * (1 if match["sign"] == "+" else -1)
        moment = starts_at + timedelta(days=days)
        if match["hour"] is not None:
            moment = moment.replace(
                hour=int(match["hour"]), minute=int(match["minute"]), second=0, microsecond=0
            )
        return moment


class MediaContact(Model):
    outlet: str
    email: str


class Coordinator(Model):
    """A district coordinator who sends the WhatsApp messages from their own phone."""

    name: str = Field(min_length=1)
    email: str = Field(
        min_length=3, description="Where their page of people to message is mailed, per stage."
    )
    districts: list[str] = Field(
        default_factory=list,
        description="Districts whose people they message (as the district list names them); "
        "empty: every district that has no coordinator of its own.",
    )
    language: Literal["hi", "en"] = "hi"


class FormSource(Model):
    """A Google Form's responses worksheet in the roster spreadsheet, answering by token."""

    worksheet: str
    token_column: str
    answer_column: str
    deputy_column: str | None = None
    prefill_url: str | None = Field(
        default=None,
        description="The form's prefilled link with {token} where the token goes; when set, "
        "the invitation offers it beside the answer page.",
    )


class RsvpSettings(Model):
    deadline_days_before: int = Field(default=2, ge=0)
    form: FormSource | None = None
    convener_roles: list[str] = Field(
        default_factory=lambda: ["जिला संयोजक", "जिला सह संयोजक"],
        description="Roles whose confirmation counts a district as covered.",
    )


class EventNoun(Text):
    """What the event is called in running text (कार्यशाला, workshop) and its Hindi gender."""

    gender: Gender = "female"


class SpeakerPoint(Model):
    speaker: str = Field(
        min_length=1,
        description="Who said it: the name of the presiding, quoted or a speaking "
        "office-bearer, as the event file writes it (Hindi or English).",
    )
    said: Text = Field(description="The point, as reported speech (… कहा कि <this>).")


class Quote(Model):
    name: Text
    role: Text
    said: Text = Field(description="Their words, printed in quotation marks.")


class Outcome(Model):
    """What happened at the event, entered by ops after it, for the summary note."""

    points: list[SpeakerPoint] = Field(default_factory=list)
    quotes: list[Quote] = Field(default_factory=list)
    decisions: list[Text] = Field(default_factory=list)
    photo_captions: list[Text] = Field(default_factory=list)


class Event(Model):
    id: Slug
    organiser: Text
    organiser_unit: Text
    title: Text
    called: EventNoun = Field(
        default_factory=lambda: EventNoun(hi="कार्यशाला", en="workshop", gender="female"),
        description="The short noun for the event in running text.",
    )
    purpose: Text = Field(
        description="In Hindi as an infinitive (… को और मजबूत करना); in English 'to …'."
    )
    headline: Text | None = Field(
        default=None,
        description="The announcement's second headline line; one from the facts when unset.",
    )
    venue: Venue
    starts_at: datetime
    timezone: str = "Asia/Kolkata"
    duration_hours: float = Field(gt=0, le=24 * 7)
    presiding: PresidingDignitary
    quoted: Dignitary = Field(description="The office-bearer the press note quotes.")
    speakers: list[Speaker] = Field(default_factory=list)
    invited_groups: list[InvitedGroup] = Field(min_length=1)
    topics: list[Text] = Field(default_factory=list)
    districts: Slug = Field(
        default="haryana", description="Name of the district list under config/districts/."
    )
    default_language: Literal["hi", "en"] = "hi"
    sender_name: Text | None = Field(
        default=None, description="The From name of mails; the organiser's unit when unset."
    )
    roster: RosterSource
    stages: list[Stage] = Field(default_factory=list)
    media: list[MediaContact] = Field(default_factory=list)
    rsvp: RsvpSettings = Field(default_factory=RsvpSettings)
    outcome: Outcome = Field(
        default_factory=Outcome, description="What happened; for the summary press note."
    )
    ops: list[str] = Field(
        default_factory=list,
        description="Email addresses of the ops staff who hear, from the Prefect server, when a "
        "run waits for review, fails or stops at the daily quota (set up by karyashala deploy).",
    )
    coordinators: list[Coordinator] = Field(
        default_factory=list,
        description="Who hands the WhatsApp messages over: one per district, or one for all.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from error
        return value

    @model_validator(mode="after")
    def _start_in_event_timezone(self) -> "Event":
        if self.starts_at.tzinfo is None:
            self.starts_at = self.starts_at.replace(tzinfo=ZoneInfo(self.timezone))
        else:
            self.starts_at = self.starts_at.astimezone(ZoneInfo(self.timezone))
        return self

    @model_validator(mode="after")
    def _stage_ids_unique(self) -> "Event":
        ids = [stage.id for stage in self.stages]
        repeated = sorted({stage_id for stage_id in ids if ids.count(stage_id) > 1})
        if repeated:
            raise ValueError(f"stage ids must be unique; repeated: {', '.join(repeated)}")
        return self

    @model_validator(mode="after")
    def _stages_before_the_end(self) -> "Event":
        """Only a stage for after the event (a thank-you) may run once the event is over."""
        for index, stage in enumerate(self.stages):
            runs_at = stage.runs_at(self.starts_at)
            if runs_at > self.ends_at and not stage.after_event:
                raise ValueError(
                    f"stages.{index}.at: stage {stage.id!r} ({stage.at!r}) would run at "
                    f"{runs_at.astimezone(ZoneInfo(self.timezone)):%Y-%m-%d %H:%M}, after the "
                    f"event ends ({self.ends_at:%Y-%m-%d %H:%M}): time it before the end, or "
                    "mark it `after_event: true` if it is meant for after the event"
                )
        return self

    @model_validator(mode="after")
    def _points_name_known_speakers(self) -> "Event":
        for index, point in enumerate(self.outcome.points):
            try:
                self.dignitary(point.speaker)
            except ValueError as error:
                raise ValueError(f"outcome.points[{index}].speaker: {error}") from None
        return self

    @property
    def roles(self) -> list[Role]:
        """The roster roles of the invited groups, in the order the event lists them."""
        return [role for group in self.invited_groups for role in group.roles]

    def role_named(self, hindi: str) -> Role | None:
        """The role a roster cell names (as the sheet writes it, in Hindi), if the event lists
        it: its English goes where an English text names a person's role."""
        return next((role for role in self.roles if role.hi == hindi), None)

    @property
    def dignitaries(self) -> list[Dignitary]:
        return [self.presiding, self.quoted, *self.speakers]

    def dignitary(self, name: str) -> Dignitary:
        """The office-bearer a point is from, by their name in either language."""
        for person in self.dignitaries:
            if name.strip() in (person.name.hi, person.name.en):
                return person
        known = ", ".join(person.name.hi for person in self.dignitaries)
        raise ValueError(f"a point by {name!r}, who is none of the event's speakers ({known})")

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        known = ", ".join(stage.id for stage in self.stages) or "none"
        raise EventConfigError(f"Event {self.id!r} has no stage {stage_id!r}; its stages: {known}.")

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(hours=self.duration_hours)


def resolve_event_path(event: str | Path) -> Path:
    """Accept a path to an event file or the id of one under config/events/."""
    candidate = Path(event)
    if candidate.is_file():
        return candidate.resolve()
    by_id = EVENTS_DIR / f"{event}.yaml"
    if by_id.is_file():
        return by_id
    known = ", ".join(sorted(p.stem for p in EVENTS_DIR.glob("*.yaml"))) or "none"
    raise EventConfigError(
        f"No event file {str(event)!r}: give a path to a YAML file or one of these ids: {known}."
    )


def load_event(event: str | Path) -> Event:
    """Load and validate an event file; errors name the file, the field and what is expected."""
    path = resolve_event_path(event)
    content = path.read_bytes()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise EventConfigError(
            f"{path}: line {line} is not UTF-8 text: save the file as UTF-8 and run again."
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        what = ", ".join(
            str(part)
            for part in (getattr(error, "context", None), getattr(error, "problem", None))
            if part
        )
        raise EventConfigError(f"{path}:{where} not valid YAML ({what or 'unreadable'}).") from None
    if not isinstance(raw, dict):
        raise EventConfigError(f"{path}: expected a mapping of event fields at the top level.")
    try:
        event_model = Event.model_validate(raw)
    except ValidationError as error:
        lines = [f"{path}: {error.error_count()} problem(s) in the event file:"]
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"])
            message = item["msg"]
            if not field:  # a check across fields names them itself
                message = message.removeprefix("Value error, ")
            lines.append(f"  - {field}: {message}" if field else f"  - {message}")
        raise EventConfigError("\n".join(lines)) from None
    roster = event_model.roster
    if roster.path is not None and not roster.path.is_absolute():
        roster.path = (path.parent / roster.path).resolve()
    return event_model
