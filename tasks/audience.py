"""Who a stage goes to: answer status derived from all answers, audience filters, skip reasons.

Pure: the store task feeds it rows and applies what it decides.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from config.event import AnswerStatus, Audience

SkipReason = Literal["inactive", "opted_out", "no_email", "no_longer_in_audience"]
ANSWER_STATUS: dict[str, AnswerStatus] = {"yes": "confirmed", "no": "declined", "deputy": "deputy"}


@dataclass(frozen=True)
class Answer:
    person_id: int
    answer: str
    channel: str
    received_at: datetime


@dataclass(frozen=True)
class Candidate:
    person_id: int
    active: bool
    email: str | None
    role: str | None
    unit: str | None
    district: str | None
    language: str
    answer: AnswerStatus
    attended: bool
    opted_out: bool
    name: str = ""
    phone: str | None = None


def latest_answers(answers: Iterable[Answer]) -> dict[int, Answer]:
    """Every answer is kept; the latest a person gave, by any channel, is the one that counts."""
    latest: dict[int, Answer] = {}
    for answer in answers:
        known = latest.get(answer.person_id)
        if known is None or answer.received_at >= known.received_at:
            latest[answer.person_id] = answer
    return latest


def current_answers(answers: Iterable[Answer]) -> dict[int, AnswerStatus]:
    return {
        person_id: ANSWER_STATUS.get(answer.answer, "none")
        for person_id, answer in latest_answers(answers).items()
    }


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
