"""/r/<token>: an invitee says they come, do not, or send a deputy. GET (and HEAD) only shows
the page, as mail scanners open links; only a POST saves an answer or counts toward a limit."""

from starlette.requests import Request
from starlette.responses import HTMLResponse

from config.event import AnswerStatus
from store.db import transaction
from store.models import Response, utc_now
from store.queries import current_answers, read_answers
from web.pages import (
    Invitee,
    RateLimiter,
    Site,
    find_invitee,
    form_text,
    invalid_link,
    page,
    too_many_posts,
)

ANSWERS = ("yes", "no", "deputy")


class AnswerPage:
    def __init__(self, site: Site) -> None:
        self.site = site
        # Per link: a person changing their mind.
        self.per_link = RateLimiter(limit=10)

    async def show(self, request: Request) -> HTMLResponse:
        invitee = find_invitee(self.site, request.path_params["token"], "answer")
        if invitee is None:
            return invalid_link()
        return self.render(invitee, request.query_params.get("answer"), closed(invitee))

    async def record(self, request: Request) -> HTMLResponse:
        invitee = find_invitee(self.site, request.path_params["token"], "answer")
        if invitee is None:
            return invalid_link()
        if not self.allow_post(invitee, request):
            return too_many_posts(invitee.language)
        form = await request.form()
        answer = form_text(form, "answer", 20)
        deputy = form_text(form, "deputy_name", 120) or None
        is_closed = closed(invitee)
        problem = answer_problem(answer, deputy, is_closed)
        if problem is None:
            save_answer(self.site.settings.store_url, invitee, answer, deputy)
        return self.render(invitee, answer, is_closed, saved=problem is None, problem=problem)

    def allow_post(self, invitee: Invitee, request: Request) -> bool:
        address = self.site.client_address(request)
        return self.per_link.allow(str(invitee.person_id)) and self.site.per_address.allow(address)

    def render(
        self,
        invitee: Invitee,
        chosen: str | None,
        is_closed: bool,
        saved: bool = False,
        problem: str | None = None,
    ) -> HTMLResponse:
        context: dict[str, object] = {
            "lang": invitee.language,
            "t": invitee.t,
            "invitee": invitee,
            "event": invitee.event,
            "starts_at": invitee.event.starts_at,
            "chosen": chosen,
            "answer_status": answer_status(self.site.settings.store_url, invitee),
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


def answer_status(store_url: str, invitee: Invitee) -> AnswerStatus:
    with transaction(store_url) as session:
        answers = read_answers(session, invitee.event.id, invitee.person_id)
    return current_answers(answers).get(invitee.person_id, "none")


def save_answer(store_url: str, invitee: Invitee, answer: str, deputy: str | None) -> None:
    with transaction(store_url) as session:
        session.add(
            Response(
                event_id=invitee.event.id,
                person_id=invitee.person_id,
                channel="link",
                answer=answer,
                deputy_name=deputy if answer == "deputy" else None,
            )
        )
