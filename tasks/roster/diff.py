"""Match this sync's people to the stored ones and say what changed. Pure."""

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
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
    # The dict fields last: a fingerprint hashes the ones before as they are.
    "extra",
    "rejected",
)
# Where the identity fields sit in a row of COMPARED_FIELDS, and where its dicts begin.
NAME, DISTRICT, EMAIL, PHONE, EXTERNAL_ID, DICTS = (
    COMPARED_FIELDS.index(name)
    for name in ("name", "district", "email", "phone", "external_id", "extra")
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
        keys = identity_keys(
            values[EMAIL], values[PHONE], values[EXTERNAL_ID], values[NAME], values[DISTRICT]
        )
        return cls(person_id, active, row, tuple(keys), fingerprint(values))


def fingerprint(values: tuple[Any, ...]) -> int:
    """Equal for equal values (dicts compared as dicts, whatever their order); for different
    values a 64-bit hash, equal by chance about once in 10^19."""
    return hash((values[:DICTS], *map(hashable, values[DICTS:])))


def hashable(value: Any) -> Any:
    """A dict as its sorted items, the form a fingerprint takes it in; anything else as it is."""
    return tuple(sorted(value.items())) if isinstance(value, dict) else value


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


def identity_keys(
    email: str | None,
    phone: str | None,
    external_id: str | None,
    name: str | None,
    district: str | None,
) -> list[tuple[str, Any]]:
    """Identity, strongest first: email, then phone, then an id column, then name + district."""
    found: list[tuple[str, Any]] = [
        (kind, value)
        for kind, value in (("email", email), ("phone", phone), ("external_id", external_id))
        if value
    ]
    if not found and name:
        found.append(("name", (name.casefold(), district)))
    return found


person_row: Callable[[RosterPerson], tuple[Any, ...]] = attrgetter(*COMPARED_FIELDS)


def person_values(person: RosterPerson) -> dict[str, Any]:
    return dict(zip(COMPARED_FIELDS, person_row(person), strict=True))


def diff_roster(stored: list[StoredPerson], people: list[RosterPerson]) -> RosterDiff:
    """Each sheet person matches at most one stored person; unmatched active ones are removed."""
    index: dict[tuple[str, Any], StoredPerson] = {}
    for record in sorted(stored, key=lambda item: (not item.active, item.id)):
        for key in record.keys:
            index.setdefault(key, record)
    claimed: set[int] = set()
    diff = RosterDiff()
    for person in people:
        keys = identity_keys(
            person.email, person.phone, person.external_id, person.name, person.district
        )
        match = next((index[k] for k in keys if k in index and index[k].id not in claimed), None)
        if match is None:
            diff.added.append(person)
            continue
        claimed.add(match.id)
        if not match.active:
            diff.returned.append((match.id, person))
        elif match.fingerprint != fingerprint(person_row(person)):
            diff.changed.append((match.id, person))
        else:
            diff.unchanged.append((match.id, person))
    diff.removed = [record.id for record in stored if record.active and record.id not in claimed]
    return diff
