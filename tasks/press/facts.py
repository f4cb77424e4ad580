"""The figures a press note states, counted from the store: never assumed, never rounded up."""

from dataclasses import dataclass, field

from sqlalchemy import select

from config.event import Event, Role
from store.db import transaction
from store.models import Attendance
from store.queries import Candidate, people_with_answers
from tasks.common.districts import District, DistrictCatalog, load_districts


@dataclass(frozen=True)
class RoleCount:
    role: Role
    count: int


@dataclass(frozen=True)
class DistrictReach:
    """How many of the state's districts a group of people comes from."""

    total: int
    present: list[District]
    missing: list[District]

    @property
    def all(self) -> bool:
        return self.total > 0 and not self.missing


@dataclass(frozen=True)
class PressFacts:
    invited_reach: DistrictReach
    attended: int = 0
    attended_reach: DistrictReach = field(default_factory=lambda: DistrictReach(0, [], []))
    by_role: list[RoleCount] = field(default_factory=list)
    others: int = 0


@dataclass(frozen=True)
class WalkIn:
    district: str | None


def reach(districts: set[District], catalog: DistrictCatalog) -> DistrictReach:
    return DistrictReach(
        total=len(catalog.districts),
        present=[d for d in catalog.districts if d in districts],
        missing=[d for d in catalog.districts if d not in districts],
    )


def district_of(text: str | None, catalog: DistrictCatalog) -> District | None:
    return catalog.canonical(text) if text else None


def press_facts(
    event: Event, candidates: list[Candidate], walk_ins: list[WalkIn], catalog: DistrictCatalog
) -> PressFacts:
    """Invited districts from active people in per-district groups; attendance by role, in the
    order the event lists its groups, with walk-ins and unlisted roles as others."""
    per_district_roles = {
        role.hi for group in event.invited_groups if group.per_district for role in group.roles
    }
    invited = {
        found
        for person in candidates
        if person.active and person.role in per_district_roles
        if (found := district_of(person.district, catalog))
    }
    came = [person for person in candidates if person.attended]
    attended_districts = {
        found
        for text in [p.district for p in came] + [w.district for w in walk_ins]
        if (found := district_of(text, catalog))
    }
    counts = [RoleCount(role, sum(p.role == role.hi for p in came)) for role in event.roles]
    listed = {role.hi for role in event.roles}
    return PressFacts(
        invited_reach=reach(invited, catalog),
        attended=len(came) + len(walk_ins),
        attended_reach=reach(attended_districts, catalog),
        by_role=[count for count in counts if count.count],
        others=sum(p.role not in listed for p in came) + len(walk_ins),
    )


def read_press_facts(store_url: str, event: Event) -> PressFacts:
    """The roster and the attendance of one event, as the note will state them."""
    with transaction(store_url) as session:
        walk_ins = [
            WalkIn(district)
            for district in session.scalars(
                select(Attendance.walk_in_district).where(
                    Attendance.event_id == event.id, Attendance.person_id.is_(None)
                )
            )
        ]
    return press_facts(
        event, people_with_answers(store_url, event.id), walk_ins, load_districts(event.districts)
    )
