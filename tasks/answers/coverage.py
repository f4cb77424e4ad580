"""Who is coming, district by district, and whom to call."""

from collections import Counter
from dataclasses import dataclass, field

from config.event import Event
from store.queries import Candidate, people_with_answers
from tasks.common.districts import DistrictCatalog, load_districts

COMING = ("confirmed", "deputy")


@dataclass
class Coverage:
    confirmed: int = 0
    declined: int = 0
    deputy: int = 0
    no_answer: int = 0
    attended: int = 0
    districts_without_confirmed_convener: list[str] = field(default_factory=list)
    to_call: list[Candidate] = field(default_factory=list)
    by_district_role: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)


def coverage(
    candidates: list[Candidate], catalog: DistrictCatalog, convener_roles: list[str]
) -> Coverage:
    """Counts over active people; a deputy counts as coming, a walk-in only as attended."""
    result = Coverage()
    covered: set[str] = set()
    for person in candidates:
        if not person.active:
            continue
        status = {"none": "no_answer"}.get(person.answer, person.answer)
        setattr(result, status, getattr(result, status) + 1)
        result.attended += person.attended
        key = (person.district or "—", person.role or "—")
        result.by_district_role.setdefault(key, Counter())[status] += 1
        if person.answer == "none":
            result.to_call.append(person)
        if person.answer in COMING and person.role in convener_roles and person.district:
            covered.add(person.district)
    result.to_call.sort(key=lambda p: (p.district or "~", p.name))
    result.districts_without_confirmed_convener = [
        district.en for district in catalog.districts if district.en not in covered
    ]
    return result


def coverage_for(store_url: str, event: Event) -> Coverage:
    """Coverage of the event's roster as the store has it now."""
    return coverage(
        people_with_answers(store_url, event.id),
        load_districts(event.districts),
        event.rsvp.convener_roles,
    )
