"""Match this sync's people to the stored ones and say what changed. Pure."""

from dataclasses import dataclass, field
from typing import Any

from tasks.roster.check import RosterPerson

COMPARED_FIELDS = (
    "name",
    "role",
    "unit",
    "district",
    "email",
    "phone",
    "language",
    "external_id",
    "extra",
    "rejected",
)


@dataclass(frozen=True)
class StoredPerson:
    id: int
    active: bool
    source_row: int
    values: dict[str, Any]


@dataclass
class RosterDiff:
    added: list[RosterPerson] = field(default_factory=list)
    returned: list[tuple[int, RosterPerson]] = field(default_factory=list)
    changed: list[tuple[int, RosterPerson]] = field(default_factory=list)
    unchanged: list[tuple[int, RosterPerson]] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)

    def moved(self, stored_rows: dict[int, int]) -> list[tuple[int, int]]:
        """Unchanged people whose row in the sheet moved: (id, new row)."""
        return [
            (person_id, person.source_row)
            for person_id, person in self.unchanged
            if stored_rows[person_id] != person.source_row
        ]


def _keys(values: dict[str, Any]) -> list[tuple[str, Any]]:
    """Identity, strongest first: email, then phone, then an id column, then name + district."""
    keys = [(kind, values.get(kind)) for kind in ("email", "phone", "external_id")]
    found = [(kind, value) for kind, value in keys if value]
    if not found and values.get("name"):
        found.append(("name", (values["name"].casefold(), values.get("district"))))
    return found


def person_values(person: RosterPerson) -> dict[str, Any]:
    return {name: getattr(person, name) for name in COMPARED_FIELDS}


def diff_roster(stored: list[StoredPerson], people: list[RosterPerson]) -> RosterDiff:
    """Each sheet person matches at most one stored person; unmatched active ones are removed."""
    index: dict[tuple[str, Any], StoredPerson] = {}
    for record in sorted(stored, key=lambda item: (not item.active, item.id)):
        for key in _keys(record.values):
            index.setdefault(key, record)
    claimed: set[int] = set()
    diff = RosterDiff()
    for person in people:
        values = person_values(person)
        match = next(
            (index[key] for key in _keys(values) if key in index and index[key].id not in claimed),
            None,
        )
        if match is None:
            diff.added.append(person)
            continue
        claimed.add(match.id)
        if not match.active:
            diff.returned.append((match.id, person))
        elif match.values != values:
            diff.changed.append((match.id, person))
        else:
            diff.unchanged.append((match.id, person))
    diff.removed = [record.id for record in stored if record.active and record.id not in claimed]
    return diff
