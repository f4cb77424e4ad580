"""Who is coming, district by district, and whom to call."""

from collections import Counter
from dataclasses import dataclass, field

from config.event import Event
from store.db import transaction
from store.queries import (
    Candidate,
    channels_reached,
    people_with_answers,
    waiting_reply_count,
)
from tasks.answers.status_sheet import status_label
from tasks.common.districts import DistrictCatalog, load_districts

COMING = ("confirmed", "deputy")


@dataclass
class Coverage:
    confirmed: int = 0
    declined: int = 0
    deputy: int = 0
    no_answer: int = 0
    attended: int = 0
    bounced: int = 0
    replies_waiting: int = 0
    districts_without_confirmed_convener: list[str] = field(default_factory=list)
    to_call: list[Candidate] = field(default_factory=list)
    # By person: each stage that reached them, and by which channels.
    reached: dict[int, dict[str, list[str]]] = field(default_factory=dict)
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
        result.bounced += person.bounced
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
    """Coverage of the event's roster as the store has it now, with the replies that wait for a
    person."""
    result = coverage(
        people_with_answers(store_url, event.id),
        load_districts(event.districts),
        event.rsvp.convener_roles,
    )
    with transaction(store_url) as session:
        result.replies_waiting = waiting_reply_count(session, event.id)
        result.reached = channels_reached(session, event.id)
    return result


def reach_counts(result: Coverage) -> dict[str, dict[str, int]]:
    """People each stage reached, by channel."""
    counts: dict[str, Counter[str]] = {}
    for stages in result.reached.values():
        for stage, channels in stages.items():
            counts.setdefault(stage, Counter()).update(channels)
    return {stage: dict(sorted(by_channel.items())) for stage, by_channel in counts.items()}


def reached_text(stages: dict[str, list[str]]) -> str:
    """How the stages reached one person, for the call list: "invitation: email, whatsapp"."""
    return "; ".join(f"{stage}: {', '.join(channels)}" for stage, channels in stages.items())


def call_reason(person: Candidate) -> str:
    """Why ops call someone on the list."""
    return status_label("bounced" if person.bounced else "none")
