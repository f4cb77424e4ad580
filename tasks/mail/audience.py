"""Who a stage goes to: audience filters and skip reasons.

Pure: the store task feeds it rows and applies what it decides.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from config.errors import KaryashalaError
from config.event import Audience, Event, Stage
from store.queries import Candidate

SkipReason = Literal["inactive", "opted_out", "no_email", "bounced", "no_longer_in_audience"]


class StageClosedError(KaryashalaError):
    """The event is over: only a stage meant for after it goes out now."""


def check_stage_open(event: Event, stage: Stage, now: datetime) -> None:
    """A reminder or an invitation sent after the event would only confuse; a thank-you is
    marked `after_event` and may go."""
    if now > event.ends_at and not stage.after_event:
        raise StageClosedError(
            f"The event {event.id} ended at {event.ends_at:%Y-%m-%d %H:%M %z}: stage "
            f"{stage.id!r} is not sent after it (only a stage with after_event: true is). "
            "Send it anyway with --force (force=true in the Prefect UI)."
        )


def matches(candidate: Candidate, audience: Audience) -> bool:
    return (
        (not audience.answer or candidate.answer in audience.answer)
        and (audience.attended is None or candidate.attended == audience.attended)
        and (not audience.roles or candidate.role in audience.roles)
        and (not audience.units or candidate.unit in audience.units)
        and (not audience.districts or candidate.district in audience.districts)
        and (not audience.languages or candidate.language in audience.languages)
    )


def skip_reason(candidate: Candidate) -> SkipReason | None:
    if not candidate.active:
        return "inactive"
    if candidate.opted_out:
        return "opted_out"
    if not candidate.email:
        return "no_email"
    if candidate.bounced:  # until the roster gives them another address
        return "bounced"
    return None


@dataclass(frozen=True)
class AudienceDecision:
    send_to: list[int]
    skipped: dict[int, SkipReason]


def decide_audience(candidates: Iterable[Candidate], audience: Audience) -> AudienceDecision:
    send_to: list[int] = []
    skipped: dict[int, SkipReason] = {}
    for candidate in candidates:
        if not matches(candidate, audience):
            continue
        reason = skip_reason(candidate)
        if reason is None:
            send_to.append(candidate.person_id)
        else:
            skipped[candidate.person_id] = reason
    return AudienceDecision(send_to=send_to, skipped=skipped)
