"""Who a stage reaches on WhatsApp, and which coordinator hands each message over. Pure."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from config.errors import EventConfigError
from config.event import Coordinator, Event, Stage
from store.queries import Candidate
from tasks.common.districts import DistrictCatalog
from tasks.mail.audience import matches

WhatsAppSkip = Literal["inactive", "opted_out", "no_phone", "unreachable"]


def email_unusable(candidate: Candidate) -> bool:
    """No address, or one whose mail bounced: WhatsApp is the only way left."""
    return not candidate.email or candidate.bounced


def goes_by_whatsapp(stage: Stage, candidate: Candidate) -> bool:
    return "whatsapp" in stage.channels or email_unusable(candidate)


@dataclass(frozen=True)
class WhatsAppDecision:
    send_to: list[int]
    skipped: dict[int, WhatsAppSkip]


def decide_whatsapp(candidates: Iterable[Candidate], stage: Stage) -> WhatsAppDecision:
    """The stage's audience that WhatsApp is for: everyone when the stage names the channel,
    else those no mail reaches. With no phone either, a person is unreachable: ops must call
    round for a number."""
    send_to: list[int] = []
    skipped: dict[int, WhatsAppSkip] = {}
    for candidate in candidates:
        if not matches(candidate, stage.audience) or not goes_by_whatsapp(stage, candidate):
            continue
        if not candidate.active:
            skipped[candidate.person_id] = "inactive"
        elif candidate.opted_out:
            skipped[candidate.person_id] = "opted_out"
        elif not candidate.phone:
            reachable_by_mail = not email_unusable(candidate)
            skipped[candidate.person_id] = "no_phone" if reachable_by_mail else "unreachable"
        else:
            send_to.append(candidate.person_id)
    return WhatsAppDecision(send_to=send_to, skipped=skipped)


def coordinator_key(coordinator: Coordinator) -> str:
    """A coordinator's stable id in links: a digest of their address, which a link must not
    show and which stays the same when the event file lists them in another order."""
    return hashlib.sha256(coordinator.email.strip().lower().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CoordinatorMap:
    """Which coordinators hand over the messages of each district: those who name it, and
    those who name no district (they cover every one, a state-level coordinator)."""

    catalog: DistrictCatalog
    districts: dict[str, frozenset[str] | None]
    listed: dict[str, Coordinator]

    def covers(self, coordinator: Coordinator, district: str | None) -> bool:
        named = self.districts[coordinator_key(coordinator)]
        if named is None:
            return True
        known = self.catalog.canonical(district) if district else None
        return known is not None and known.en in named

    def covering(self, district: str | None) -> list[Coordinator]:
        """The district's own coordinators first, then those who cover every district."""
        own = [one for one in self.listed.values() if self.districts[coordinator_key(one)]]
        every = [one for one in self.listed.values() if not self.districts[coordinator_key(one)]]
        return [one for one in own + every if self.covers(one, district)]

    def by_key(self, key: str) -> Coordinator | None:
        return self.listed.get(key)


def coordinator_map(event: Event, catalog: DistrictCatalog) -> CoordinatorMap:
    """The event's coordinators and their districts; a district that is not in the event's
    district list is an error in the event file."""
    districts: dict[str, frozenset[str] | None] = {}
    listed: dict[str, Coordinator] = {}
    for index, coordinator in enumerate(event.coordinators):
        named: set[str] = set()
        for name in coordinator.districts:
            district = catalog.canonical(name)
            if district is None:
                raise EventConfigError(
                    f"Event {event.id!r}: coordinators[{index}].districts names {name!r}, which "
                    f"is not a district of {event.districts!r}."
                )
            named.add(district.en)
        key = coordinator_key(coordinator)
        if key in listed:
            raise EventConfigError(
                f"Event {event.id!r}: coordinators[{index}] has the address of an earlier "
                "coordinator: list each coordinator once, with all their districts."
            )
        listed[key] = coordinator
        districts[key] = frozenset(named) if named else None
    return CoordinatorMap(catalog, districts, listed)
