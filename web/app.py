"""Starlette app for the links in mails. GET only shows; only a POST changes anything,
because mail scanners open links."""

import hmac
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from config import EVENTS_DIR, TEMPLATES_DIR
from config.event import Event, load_event
from config.settings import Settings, load_settings
from store.db import engine_for, transaction
from store.models import Attendance, OptOut, Person, Response, utc_now
from tasks.audience import Answer, current_answers
from tasks.districts import load_districts
from tasks.roster_check import normalise_phone
from tasks.templating import environment
from tasks.tokens import (
    InvalidTokenError,
    Purpose,
    verify_check_in_code,
    verify_token,
    volunteer_pin,
)

ANSWERS = ("yes", "no", "deputy")


def _volunteer_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_secret(), salt="karyashala-volunteer")


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
        self.logins = PostLimiter(limit=10)

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

    def volunteer(self, request: Request, event: Event) -> str | None:
        """The volunteer signed in on this phone for this event, from a signed cookie."""
        cookie = request.cookies.get(f"volunteer-{event.id}", "")
        try:
            payload = _volunteer_serializer(self.settings).loads(cookie, max_age=2 * 86_400)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(payload, list) or payload[0] != event.id:
            return None
        return str(payload[1])

    def door_page(self, event: Event, volunteer: str, **context: object) -> HTMLResponse:
        base = {"lang": "hi", "event": event, "t": lambda text: text.hi, "volunteer": volunteer,
                "found": [], "query": "", "message": None, "problem": None}  # fmt: skip
        return page("check_in.html.j2", {**base, **context})

    async def check_in(self, request: Request) -> HTMLResponse | RedirectResponse:
        event = self.events.get(request.path_params["event_id"])
        if event is None:
            return invalid_link()
        volunteer = self.volunteer(request, event)
        if request.method == "POST" and request.path_params.get("action") == "login":
            return await self.login(request, event)
        if volunteer is None:
            return page("check_in_login.html.j2", {"lang": "hi", "event": event, "wrong": False})
        if request.method == "GET":
            query = " ".join(request.query_params.get("q", "").split())
            return self.door_page(event, volunteer, query=query, found=self.search(event, query))
        if not self.per_address.allow(request.client.host if request.client else "unknown"):
            return page("error.html.j2", {"lang": "hi"}, status=429)
        form = await request.form()
        action = request.path_params.get("action")
        if action == "code":
            try:
                person_id = verify_check_in_code(
                    self.settings.signing_secret(), event.id, str(form.get("code", ""))
                )
            except InvalidTokenError:
                return self.door_page(event, volunteer, problem="bad_code")
            return self.record(event, volunteer, person_id)
        if action == "person":
            return self.record(event, volunteer, int(str(form.get("person_id", "0"))))
        if action == "walk-in":
            name = " ".join(str(form.get("name", "")).split())[:120]
            if not name:
                return self.door_page(event, volunteer, problem="walk_in_name")
            phone = (
                normalise_phone(str(form.get("phone", "")).strip()) if form.get("phone") else None
            )
            district = load_districts(event.districts).canonical(str(form.get("district", "")))
            with transaction(self.settings.store_url) as session:
                session.add(Attendance(event_id=event.id, walk_in_name=name,
                                       walk_in_district=district.en if district else None,
                                       walk_in_phone=phone, recorded_by=volunteer))  # fmt: skip
            return self.door_page(event, volunteer, message=("walk_in", name))
        return invalid_link()

    async def login(self, request: Request, event: Event) -> HTMLResponse | RedirectResponse:
        address = request.client.host if request.client else "unknown"
        if not self.logins.allow(address):
            return page("error.html.j2", {"lang": "hi"}, status=429)
        form = await request.form()
        pin = str(form.get("pin", "")).strip()
        name = " ".join(str(form.get("volunteer", "")).split())[:40]
        expected = volunteer_pin(self.settings.signing_secret(), event.id)
        if not name or not hmac.compare_digest(pin, expected):
            return page("check_in_login.html.j2", {"lang": "hi", "event": event, "wrong": True})
        response = RedirectResponse(f"/c/{event.id}", status_code=303)
        response.set_cookie(
            f"volunteer-{event.id}", _volunteer_serializer(self.settings).dumps([event.id, name]),
            max_age=2 * 86_400, httponly=True, samesite="strict",
            secure=self.settings.public_url.startswith("https://"),
        )  # fmt: skip
        return response

    def search(self, event: Event, query: str) -> list[dict[str, object]]:
        if len(query) < 2:
            return []
        digits = "".join(ch for ch in query if ch.isdigit())
        with transaction(self.settings.store_url) as session:
            condition: ColumnElement[bool] = Person.name.ilike(f"%{query}%")
            if len(digits) >= 4:
                condition = or_(condition, Person.phone.like(f"%{digits}"))
            rows = session.execute(
                select(Person.id, Person.name, Person.district, Person.role, Person.phone)
                .where(Person.event_id == event.id, Person.active.is_(True), condition)
                .order_by(Person.district, Person.name)
                .limit(20)
            )
            catalog = load_districts(event.districts)
            found = []
            for person_id, name, district, role, phone in rows:
                known = catalog.canonical(district) if district else None
                found.append({"id": person_id, "name": name, "role": role,
                              "district": known.hi if known else district,
                              "phone_end": (phone or "")[-4:]})  # fmt: skip
            return found

    def record(self, event: Event, volunteer: str, person_id: int) -> HTMLResponse:
        with transaction(self.settings.store_url) as session:
            name = session.scalar(
                select(Person.name).where(Person.id == person_id, Person.event_id == event.id)
            )
            if name is None:
                return self.door_page(event, volunteer, problem="bad_code")
            earlier = session.scalar(
                select(Attendance.recorded_at).where(
                    Attendance.event_id == event.id, Attendance.person_id == person_id
                )
            )
            if earlier is not None:
                when = earlier.astimezone(event.starts_at.tzinfo).strftime("%H:%M")
                return self.door_page(event, volunteer, message=("already", name, when))
            session.add(Attendance(event_id=event.id, person_id=person_id, recorded_by=volunteer))
        return self.door_page(event, volunteer, message=("checked_in", name))

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
            Route("/c/{event_id}", links.check_in, methods=["GET"]),
            Route("/c/{event_id}/{action}", links.check_in, methods=["POST"]),
        ]
    )
