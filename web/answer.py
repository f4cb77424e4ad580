"""/r/<token>: an invitee says they come, do not, or send a deputy. GET (and HEAD) only shows
the page, as mail scanners open links; only a POST saves an answer or counts toward a limit."""

from typing import cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse

from config.event import AnswerStatus, Event
from store.db import transaction
from store.models import Person, Response, utc_now
from store.queries import Answer, current_answers
from web.limits import Limit
from web.pages import (
    PERSON,
    Invitee,
    Site,
    form_text,
    invalid_link,
    invitee_of,
    linked_person,
    page,
    too_many_posts,
)

ANSWERS = ("yes", "no", "deputy")
# Per link: a person changing their mind.
ANSWERS_PER_LINK = Limit("answers-per-link", 10)
# The person behind a link and every answer they gave, oldest first: what the page shows, in
# one round trip to the store.
RESPONSE = Response.__table__.c
PERSON_AND_ANSWERS = (
    select(
        PERSON.name,
        PERSON.district,
        PERSON.language,
        RESPONSE.answer,
        RESPONSE.channel,
        RESPONSE.received_at,
    )
    .select_from(
        Person.__table__.outerjoin(
            Response.__table__,
            (RESPONSE.person_id == PERSON.id) & (RESPONSE.event_id == PERSON.event_id),
        )
    )
    .where(PERSON.id == bindparam("person_id"), PERSON.event_id == bindparam("event_id"))
    .order_by(RESPONSE.received_at)
)
ADD_RESPONSE = insert(cast(Table, Response.__table__))


class AnswerPage:
    def __init__(self, site: Site) -> None:
        self.site = site

    @property
    def store_url(self) -> str:
        return self.site.settings.store_url

    def show(self, request: Request) -> HTMLResponse:
        linked = linked_person(self.site, request.path_params["token"], "answer")
        with transaction(self.store_url) as session:
            found = invitee_and_answers(session, linked)
        if found is None:
            return invalid_link()
        invitee, answers = found
        chosen = request.query_params.get("answer")
        return self.render(invitee, chosen, closed(invitee), status_of(invitee, answers))

    def record(self, request: Request, form: FormData) -> HTMLResponse:
        """Who, the limit and the answer in one transaction. The link's signature is checked
        before it begins: the transaction holds the store's one writer on SQLite."""
        answer = form_text(form, "answer", 20)
        deputy = form_text(form, "deputy_name", 120) or None
        linked = linked_person(self.site, request.path_params["token"], "answer")
        with transaction(self.store_url, writes=True) as session:
            found = invitee_and_answers(session, linked)
            if found is None:
                return self.site.refuse_link(session, request)
            invitee, answers = found
            if not ANSWERS_PER_LINK.allow(session, str(invitee.person_id)):
                return too_many_posts(invitee.language)
            is_closed = closed(invitee)
            problem = answer_problem(answer, deputy, is_closed)
            if problem is None:
                answers.append(save_answer(session, invitee, answer, deputy))
        status = status_of(invitee, answers)
        return self.render(invitee, answer, is_closed, status, problem is None, problem)

    def render(
        self,
        invitee: Invitee,
        chosen: str | None,
        is_closed: bool,
        status: AnswerStatus,
        saved: bool = False,
        problem: str | None = None,
    ) -> HTMLResponse:
        context: dict[str, object] = {
            "lang": invitee.language,
            "t": invitee.t,
            "invitee": invitee,
            "event": invitee.event,
            "starts_at": invitee.event.starts_at,
            "month_spelling": self.site.settings.month_spelling,
            "chosen": chosen,
            "answer_status": status,
            "closed": is_closed,
            "saved": saved,
            "problem": problem,
        }
        return page("answer.html.j2", context)


def closed(invitee: Invitee) -> bool:
    """Answers stop once the event is over."""
    return utc_now() > invitee.event.ends_at


def answer_problem(answer: str, deputy: str | None, is_closed: bool) -> str | None:
    """Why a posted answer cannot be saved, or None if it can."""
    if is_closed:
        return "closed"
    if answer not in ANSWERS:
        return "no_answer"
    if answer == "deputy" and deputy is None:
        return "no_deputy_name"
    return None


def invitee_and_answers(
    session: Session, linked: tuple[Event, int] | None
) -> tuple[Invitee, list[Answer]] | None:
    """Who an answer link is for (linked_person) and the answers they gave; None for a link
    that is not valid (the store is read only for a link we signed)."""
    if linked is None:
        return None
    event, person_id = linked
    rows = session.execute(PERSON_AND_ANSWERS, {"person_id": person_id, "event_id": event.id}).all()
    if not rows:
        return None
    answers = [
        Answer(person_id, row.answer, row.channel, row.received_at)
        for row in rows
        if row.answer is not None
    ]
    person = rows[0]
    invitee = invitee_of(event, person_id, person.name, person.district, person.language)
    return invitee, answers


def status_of(invitee: Invitee, answers: list[Answer]) -> AnswerStatus:
    return current_answers(answers).get(invitee.person_id, "none")


def save_answer(session: Session, invitee: Invitee, answer: str, deputy: str | None) -> Answer:
    """Store a link's answer; what was stored, as the answers read from the store are."""
    stored = Answer(invitee.person_id, answer, "link", utc_now())
    session.execute(
        ADD_RESPONSE,
        {
            "event_id": invitee.event.id,
            "person_id": invitee.person_id,
            "channel": stored.channel,
            "answer": answer,
            "deputy_name": deputy if answer == "deputy" else None,
            "received_at": stored.received_at,
        },
    )
    return stored
