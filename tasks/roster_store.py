"""Store a checked roster: people, the sync and its problems, in one transaction."""

from collections import Counter
from dataclasses import dataclass, field

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import insert, select, update

from store.db import transaction
from store.models import Person, RosterProblem, RosterSync, utc_now
from tasks.roster_check import CheckedRoster
from tasks.roster_diff import COMPARED_FIELDS, StoredPerson, diff_roster, person_values


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


def save_roster(url: str, event_id: str, source: str, checked: CheckedRoster) -> StoredSync:
    """Diff with what is stored and apply it; a failure anywhere leaves the store as it was."""
    with transaction(url) as session:
        sync = RosterSync(event_id=event_id, source=source, rows_read=checked.rows_read)
        session.add(sync)
        session.flush()
        columns = [Person.id, Person.active, *(getattr(Person, name) for name in COMPARED_FIELDS)]
        stored = [
            StoredPerson(id=row.id, active=row.active, values={n: row._mapping[n] for n in COMPARED_FIELDS})
            for row in session.execute(select(*columns).where(Person.event_id == event_id))
        ]
        diff = diff_roster(stored, checked.people)
        now = utc_now()
        if diff.added:
            session.execute(
                insert(Person),
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
        touched = [*diff.returned, *diff.changed]
        if touched:
            session.execute(
                update(Person),
                [
                    {
                        "id": person_id,
                        **person_values(person),
                        "source_row": person.source_row,
                        "active": True,
                        "last_sync_id": sync.id,
                        "updated_at": now,
                    }
                    for person_id, person in touched
                ],
            )
        if diff.unchanged:
            session.execute(
                update(Person),
                [
                    {"id": person_id, "source_row": person.source_row, "last_sync_id": sync.id}
                    for person_id, person in diff.unchanged
                ],
            )
        if diff.removed:
            session.execute(
                update(Person),
                [{"id": person_id, "active": False, "updated_at": now} for person_id in diff.removed],
            )
        if checked.problems:
            session.execute(
                insert(RosterProblem),
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


store_roster = task(name="store-roster", cache_policy=NO_CACHE)(save_roster)
