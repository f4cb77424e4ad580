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
# Where the identity fields sit in a row of COMPARED_FIELDS.
NAME, DISTRICT, EMAIL, PHONE, EXTERNAL_ID = (
    COMPARED_FIELDS.index(name) for name in ("name", "district", "email", "phone", "external_id")
)


@dataclass(frozen=True, slots=True)
class StoredPerson:
    """A stored person as the diff needs them: who they are and a fingerprint of the rest,
    not every field (a roster holds 100,000 of them)."""

    id: int
    active: bool
    source_row: int
    keys: tuple[tuple[str, Any], ...]
    fingerprint: int

    @classmethod
    def of(cls, person_id: int, active: bool, row: int, values: tuple[Any, ...]) -> "StoredPerson":
        """From the COMPARED_FIELDS, in that order."""
        return cls(person_id, active, row, tuple(_keys(values)), fingerprint(values))


def fingerprint(values: tuple[Any, ...]) -> int:
    """Equal for equal values (dicts compared as dicts, whatever their order); for different
    values a 64-bit hash, equal by chance about once in 10^19."""
    return hash(tuple(tuple(sorted(v.items())) if isinstance(v, dict) else v for v in values))


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


def _keys(values: tuple[Any, ...]) -> list[tuple[str, Any]]:
    """Identity, strongest first: email, then phone, then an id column, then name + district."""
    found = [
        (kind, values[index])
        for kind, index in (("email", EMAIL), ("phone", PHONE), ("external_id", EXTERNAL_ID))
        if values[index]
    ]
    if not found and values[NAME]:
        found.append(("name", (values[NAME].casefold(), values[DISTRICT])))
    return found


def person_values(person: RosterPerson) -> dict[str, Any]:
    return {name: getattr(person, name) for name in COMPARED_FIELDS}


def person_row(person: RosterPerson) -> tuple[Any, ...]:
    return tuple(getattr(person, name) for name in COMPARED_FIELDS)


def diff_roster(stored: list[StoredPerson], people: list[RosterPerson]) -> RosterDiff:
    """Each sheet person matches at most one stored person; unmatched active ones are removed."""
    index: dict[tuple[str, Any], StoredPerson] = {}
    for record in sorted(stored, key=lambda item: (not item.active, item.id)):
        for key in record.keys:
            index.setdefault(key, record)
    claimed: set[int] = set()
    diff = RosterDiff()
    for person in people:
        values = person_row(person)
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
        elif match.fingerprint != fingerprint(values):
            diff.changed.append((match.id, person))
        else:
            diff.unchanged.append((match.id, person))
    diff.removed = [record.id for record in stored if record.active and record.id not in claimed]
    return diff
