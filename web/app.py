"""Starlette app for the links in mails. GET only shows; only a POST changes anything,
because mail scanners open links."""

import time
from collections import defaultdict, deque
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from config import EVENTS_DIR, TEMPLATES_DIR
from config.event import Event, load_event
from config.settings import Settings, load_settings
from store.db import engine_for, transaction
from store.models import OptOut, Person, Response, utc_now
from tasks.audience import Answer, current_answers
from tasks.districts import load_districts
from tasks.mail_render import environment
from tasks.tokens import InvalidTokenError, Purpose, verify_token

ANSWERS = ("yes", "no", "deputy")


def page(name: str, context: dict[str, object], status: int = 200) -> HTMLResponse:
    html = environment(TEMPLATES_DIR).get_template(f"web/{name}").render(context)
    return HTMLResponse(html, status_code=status)


def invalid_link() -> HTMLResponse:
    return page("error.html.j2", {"lang": "hi"}, status=400)


@dataclass(frozen=True)
class Invitee:
    event: Event
    person_id: int
    name: str
    district: str | None
    language: str

    def t(self, text: object) -> str:
        return str(getattr(text, self.language))


class PostLimiter:
    """At most `limit` POSTs per key in `window` seconds."""

    def __init__(self, limit: int, window: float = 600.0) -> None:
        self.limit, self.window = limit, window
        self.seen: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        times = self.seen[address]
        while times and times[0] < now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class LinkApp:
    def __init__(self, settings: Settings, events: list[Event]) -> None:
        self.settings = settings
        self.events = {event.id: event for event in events}
        # Per link, a person changing their mind; per address, generous: many invitees share
        # one carrier-grade NAT address on mobile networks.
        self.per_link = PostLimiter(limit=10)
        self.per_address = PostLimiter(limit=300)

    def invitee(self, token: str, purpose: Purpose) -> Invitee | None:
        """Who a link is for; None for a tampered, foreign or expired one."""
        try:
            subject = verify_token(
                self.settings.signing_secret(), purpose, token,
                max_age_seconds=self.settings.link_max_age_days * 86_400,
            )  # fmt: skip
        except InvalidTokenError:
            return None
        event = self.events.get(subject.event_id)
        if event is None:
            return None
        with transaction(self.settings.store_url) as session:
            row = session.execute(
                select(Person.name, Person.district, Person.language).where(
                    Person.id == subject.person_id, Person.event_id == event.id
                )
            ).first()
        if row is None:
            return None
        district = load_districts(event.districts).canonical(row.district or "")
        language = row.language if row.language in ("hi", "en") else "hi"
        return Invitee(event, subject.person_id, row.name,
                       getattr(district, language) if district else None, language)  # fmt: skip

    def status(self, invitee: Invitee) -> str:
        with transaction(self.settings.store_url) as session:
            answers = [
                Answer(invitee.person_id, answer, channel, received_at)
                for answer, channel, received_at in session.execute(
                    select(Response.answer, Response.channel, Response.received_at).where(
                        Response.event_id == invitee.event.id,
                        Response.person_id == invitee.person_id,
                    )
                )
            ]
        return current_answers(answers).get(invitee.person_id, "none")

    def answer_page(self, invitee: Invitee, **context: object) -> HTMLResponse:
        base = {"lang": invitee.language, "t": invitee.t, "invitee": invitee,
                "event": invitee.event, "starts_at": invitee.event.starts_at}  # fmt: skip
        return page("answer.html.j2", {**base, **context})

    async def answer(self, request: Request) -> HTMLResponse:
        invitee = self.invitee(request.path_params["token"], "answer")
        if invitee is None:
            return invalid_link()
        closed = utc_now() > invitee.event.ends_at
        if request.method == "GET":
            return self.answer_page(
                invitee, chosen=request.query_params.get("answer"),
                answer_status=self.status(invitee), closed=closed, saved=False, problem=None,
            )  # fmt: skip
        address = request.client.host if request.client else "unknown"
        if not (self.per_link.allow(str(invitee.person_id)) and self.per_address.allow(address)):
            return page("error.html.j2", {"lang": invitee.language}, status=429)
        form = await request.form()
        answer = str(form.get("answer", ""))
        deputy = " ".join(str(form.get("deputy_name", "")).split())[:120] or None
        problem = None
        if closed:
            problem = "closed"
        elif answer not in ANSWERS:
            problem = "no_answer"
        elif answer == "deputy" and deputy is None:
            problem = "no_deputy_name"
        if problem is not None:
            return self.answer_page(
                invitee, chosen=answer, answer_status=self.status(invitee), closed=closed,
                saved=False, problem=problem,
            )  # fmt: skip
        with transaction(self.settings.store_url) as session:
            session.add(
                Response(
                    event_id=invitee.event.id, person_id=invitee.person_id, channel="link",
                    answer=answer, deputy_name=deputy if answer == "deputy" else None,
                )
            )  # fmt: skip
        return self.answer_page(
            invitee, chosen=answer, answer_status=self.status(invitee), closed=closed, saved=True,
            problem=None,
        )  # fmt: skip

    async def opt_out(self, request: Request) -> HTMLResponse:
        invitee = self.invitee(request.path_params["token"], "opt-out")
        if invitee is None:
            return invalid_link()
        title = invitee.t(invitee.event.title)
        if request.method == "GET":
            return page(
                "opt_out.html.j2", {"lang": invitee.language, "title": title, "done": False}
            )
        with transaction(self.settings.store_url) as session:
            values = {"event_id": invitee.event.id, "person_id": invitee.person_id,
                      "channel": "link"}  # fmt: skip
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            session.execute(insert(OptOut).values(**values).on_conflict_do_nothing())
        return page("opt_out.html.j2", {"lang": invitee.language, "title": title, "done": True})


def create_app(settings: Settings | None = None, events: list[Event] | None = None) -> Starlette:
    """Serve the given events, or every event under config/events/."""
    settings = settings or load_settings()
    engine_for(settings.store_url)
    if events is None:
        events = [load_event(path) for path in sorted(EVENTS_DIR.glob("*.yaml"))]
    links = LinkApp(settings, events)
    methods = ["GET", "POST"]
    return Starlette(
        routes=[
            Route("/r/{token}", links.answer, methods=methods),
            Route("/u/{token}", links.opt_out, methods=methods),
        ]
    )
