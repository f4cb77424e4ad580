"""Store a checked roster: people, the sync and its problems, in one transaction."""

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from store.db import transaction
from store.models import Base, Person, RosterSync, utc_now
from tasks.roster.check import CheckedRoster
from tasks.roster.diff import COMPARED_FIELDS, RosterDiff, StoredPerson, diff_roster, person_values

PEOPLE = Base.metadata.tables["person"]
PROBLEMS = Base.metadata.tables["roster_problem"]


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
    columns = [getattr(Person, name) for name in ("id", "active", "source_row", *COMPARED_FIELDS)]
    return [
        StoredPerson(person_id, active, row, dict(zip(COMPARED_FIELDS, values, strict=True)))
        for person_id, active, row, *values in session.execute(
            select(*columns).where(Person.event_id == event_id)
        )
    ]


def diff_with_store(session: Session, event_id: str, checked: CheckedRoster) -> RosterDiff:
    """How the roster read now differs from the people stored for the event."""
    return diff_roster(stored_people(session, event_id), checked.people)


def save_roster(store_url: str, event_id: str, source: str, checked: CheckedRoster) -> StoredSync:
    """Diff with what is stored and apply it; a failure anywhere leaves the store as it was."""
    with transaction(store_url) as session:
        sync = RosterSync(event_id=event_id, source=source, rows_read=checked.rows_read)
        session.add(sync)
        session.flush()
        stored = stored_people(session, event_id)
        diff = diff_roster(stored, checked.people)
        now = utc_now()
        if diff.added:
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
                    for person in diff.added
                ],
            )
        touched = [
            {
                "id": person_id,
                **person_values(person),
                "source_row": person.source_row,
                "active": True,
            }
            for person_id, person in [*diff.returned, *diff.changed]
        ]
        touched += [
            {"id": person_id, "source_row": row}
            for person_id, row in diff.moved({record.id: record.source_row for record in stored})
        ]
        for batch in (touched, [{"id": person_id, "active": False} for person_id in diff.removed]):
            if batch:
                session.execute(update(Person), [{**values, "updated_at": now} for values in batch])
        session.execute(
            update(PEOPLE)
            .where(PEOPLE.c.event_id == event_id, PEOPLE.c.active.is_(True))
            .values(last_sync_id=sync.id)
        )
        if checked.problems:
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
                    for problem in checked.problems
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
