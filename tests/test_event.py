"""The event model: the sample holds the seed's facts; a wrong file gets a clear error."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from config.errors import EventConfigError
from config.event import load_event
from tests.conftest import SAMPLE_EVENT


def test_sample_event_holds_the_seed_facts() -> None:
    event = load_event("haryana-it-workshop")
    assert event.organiser.hi == "भारतीय जनता पार्टी"
    assert event.organiser_unit.en == "Haryana state unit"
    assert "कार्यशाला" in event.title.hi
    assert event.venue.landmark is not None and event.venue.landmark.hi == "सिग्नेचर टावर के पास"
    assert event.venue.city.hi == "गुरुग्राम"
    assert event.starts_at == datetime(2027, 12, 1, 10, 30, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert event.starts_at.strftime("%A") == "Wednesday"
    assert event.duration_hours == 5
    assert event.presiding.name.hi == "ओमप्रकाश धनखड़"
    assert event.presiding.role.hi == "प्रदेश अध्यक्ष"
    assert event.quoted.name.hi == "अरविंद सैनी"
    assert event.quoted.role.hi == "प्रदेश मीडिया सह प्रमुख"
    assert [s.name.hi for s in event.speakers] == ["संजय शर्मा"]
    assert event.invited_groups[0].per_district
    assert [r.hi for r in event.invited_groups[0].roles] == ["जिला संयोजक", "जिला सह संयोजक"]
    assert [t.hi for t in event.topics][:5] == [
        "फेसबुक",
        "ट्विटर",
        "इंस्ट्राग्राम",
        "कू एप",
        "नरेंद्र मोदी एप",
    ]
    assert event.roster.source == "csv"
    assert event.roster.path is not None and event.roster.path.is_file()
    assert event.roster.columns.mapped()["unit"] == "मोर्चा/इकाई"


def broken_copy(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(SAMPLE_EVENT.read_text(encoding="utf-8"))
    data.update(change)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_wrong_field_names_file_field_and_expectation(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, {"starts_at": "next Wednesday", "duration_hours": -1})
    with pytest.raises(EventConfigError) as error:
        load_event(path)
    text = str(error.value)
    assert str(path) in text
    assert "starts_at: Input should be a valid datetime" in text
    assert "duration_hours: Input should be greater than 0" in text


def test_sheets_roster_needs_its_key(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, {"roster": {"source": "sheets", "columns": {"name": "नाम"}}})
    with pytest.raises(EventConfigError, match="roster: Value error, a 'sheets' roster needs"):
        load_event(path)


def test_typo_in_a_key_is_reported(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, {"venu": {}})
    with pytest.raises(EventConfigError, match="venu: Extra inputs are not permitted"):
        load_event(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(EventConfigError, match="line 3"):
        load_event(path)


def test_unknown_event_lists_the_known_ones() -> None:
    with pytest.raises(EventConfigError, match="haryana-it-workshop"):
        load_event("no-such-event")


def test_a_point_by_someone_not_speaking_is_named_in_the_error(tmp_path: Path) -> None:
    point = {"speaker": "कोई और", "said": {"hi": "कुछ", "en": "something"}}
    path = broken_copy(tmp_path, {"outcome": {"points": [point]}})
    with pytest.raises(EventConfigError) as error:
        load_event(path)
    assert "outcome.points[0].speaker: a point by 'कोई और', who is none of the event's" in str(
        error.value
    )
    assert "ओमप्रकाश धनखड़, अरविंद सैनी, संजय शर्मा" in str(error.value)
