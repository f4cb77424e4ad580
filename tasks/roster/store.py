"""Store a checked roster: people, the sync and its problems, in one transaction."""

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Text, cast, insert, select, update
from sqlalchemy.orm import Session

from store.db import transaction
from store.models import Base, Person, RosterSync, utc_now
from tasks.roster.bulk import collector_paused
from tasks.roster.check import CheckedRoster
from tasks.roster.diff import (
    COMPARED_FIELDS,
    RosterDiff,
    StoredPerson,
    diff_roster,
    hashable,
    person_values,
)

PEOPLE = Base.metadata.tables["person"]
PROBLEMS = Base.metadata.tables["roster_problem"]
JSON_FIELDS = frozenset({"extra", "rejected"})
JSON_AT = [index for index, name in enumerate(COMPARED_FIELDS) if name in JSON_FIELDS]
# Rows per executemany or fetch: a whole 100,000-row roster at once costs hundreds of MB.
WRITE_CHUNK = 2_000
T = TypeVar("T")


@dataclass(frozen=True)
class StoredSync:
    sync_id: int
    added: int
    changed: int
    unchanged: int
    removed: int
    active_by_district: dict[str, int] = field(default_factory=dict)
    active_by_role: dict[str, int] = field(default_factory=dict)
    active_people: int = 0


def stored_people(session: Session, event_id: str) -> list[StoredPerson]:
    """The event's people as the diff compares them. Their JSON columns come as text, decoded
    (to the form a fingerprint takes) once per distinct text: nearly every row holds the same
    few ("{}")."""
    decoded: dict[str | None, Any] = {}

    def decode(text: str | None) -> Any:
        if text not in decoded:
            decoded[text] = None if text is None else hashable(json.loads(text))
        return decoded[text]

    def stored(person_id: int, active: bool, row: int, *values: Any) -> StoredPerson:
        fields = list(values)
        for index in JSON_AT:
            fields[index] = decode(fields[index])
        return StoredPerson.of(person_id, active, row, tuple(fields))

    columns = [
        cast(PEOPLE.c[name], Text) if name in JSON_FIELDS else PEOPLE.c[name]
        for name in COMPARED_FIELDS
    ]
    query = select(PEOPLE.c.id, PEOPLE.c.active, PEOPLE.c.source_row, *columns)
    rows = session.connection().execute(
        query.where(PEOPLE.c.event_id == event_id).execution_options(yield_per=WRITE_CHUNK)
    )
    return [stored(*row) for row in rows]


def diff_with_store(session: Session, event_id: str, checked: CheckedRoster) -> RosterDiff:
    """How the roster read now differs from the people stored for the event."""
    with collector_paused():
        return diff_roster(stored_people(session, event_id), checked.people)


def chunks(items: Iterable[T]) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, WRITE_CHUNK)):
        yield chunk


def update_by_id(session: Session, rows: Iterator[dict[str, Any]]) -> None:
    """Bulk UPDATE of people by primary key ("id" in each row), a chunk at a time."""
    for chunk in chunks(rows):
        session.execute(update(Person), chunk)


def save_roster(store_url: str, event_id: str, source: str, checked: CheckedRoster) -> StoredSync:
    """Diff with what is stored and apply it; a failure anywhere leaves the store as it was."""
    with collector_paused(), transaction(store_url) as session:
        sync = RosterSync(event_id=event_id, source=source, rows_read=checked.rows_read)
        session.add(sync)
        session.flush()
        stored = stored_people(session, event_id)
        diff = diff_roster(stored, checked.people)
        stored_rows = {record.id: record.source_row for record in stored}
        del stored
        now = utc_now()
        for chunk in chunks(diff.added):
            session.execute(
                insert(PEOPLE),
                [
                    {
                        **person_values(person),
                        "event_id": event_id,
                        "source_row": person.source_row,
                        "active": True,
                        "first_sync_id": sync.id,
                        "last_sync_id": sync.id,
                        "updated_at": now,
                    }
                    for person in chunk
                ],
            )
        update_by_id(
            session,
            (
                {
                    "id": person_id,
                    **person_values(person),
                    "source_row": person.source_row,
                    "active": True,
                    "updated_at": now,
                }
                for person_id, person in [*diff.returned, *diff.changed]
            ),
        )
        update_by_id(
            session,
            (
                {"id": person_id, "source_row": row, "updated_at": now}
                for person_id, row in diff.moved(stored_rows)
            ),
        )
        update_by_id(
            session,
            ({"id": person_id, "active": False, "updated_at": now} for person_id in diff.removed),
        )
        session.execute(
            update(PEOPLE)
            .where(
                PEOPLE.c.event_id == event_id,
                PEOPLE.c.active.is_(True),
                PEOPLE.c.last_sync_id != sync.id,  # not those just added
            )
            .values(last_sync_id=sync.id)
        )
        for problems in chunks(checked.problems):
            session.execute(
                insert(PROBLEMS),
                [
                    {
                        "sync_id": sync.id,
                        "source_row": problem.row,
                        "field": problem.field,
                        "code": problem.code,
                        "message_hi": problem.message_hi,
                        "message_en": problem.message_en,
                    }
                    for problem in problems
                ],
            )
        sync.added = len(diff.added) + len(diff.returned)
        sync.changed = len(diff.changed)
        sync.unchanged = len(diff.unchanged)
        sync.removed = len(diff.removed)
        sync.problem_count = len(checked.problems)
        return StoredSync(
            sync_id=sync.id,
            added=sync.added,
            changed=sync.changed,
            unchanged=sync.unchanged,
            removed=sync.removed,
            active_by_district=dict(Counter(p.district or "" for p in checked.people)),
            active_by_role=dict(Counter(p.role or "" for p in checked.people)),
            active_people=len(checked.people),
        )
