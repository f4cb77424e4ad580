"""/c/<event>: the door. A volunteer signs in with the event's PIN, then finds people by name
or phone and checks them in by their code, from the search, or as a walk-in. GET only shows;
only a POST (/c/<event>/login, /code, /person, /walk-in) signs in or records anything."""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from config.event import Event
from store.db import transaction
from store.models import Attendance, Person
from tasks.common.districts import load_districts
from tasks.common.tokens import (
    InvalidTokenError,
    sign_volunteer_session,
    verify_check_in_code,
    verify_volunteer_session,
    volunteer_pin,
)
from tasks.roster.check import normalise_phone
from web.pages import PostLimiter, Site, client_address, invalid_link, page, too_many_posts

VOLUNTEER_SESSION_SECONDS = 2 * 86_400


def hindi(text: Any) -> str:
    """A text of the event (one with .hi and .en) in Hindi: the door's language."""
    return str(text.hi)


@dataclass(frozen=True)
class Door:
    """One event's door, as one signed-in volunteer sees it."""

    event: Event
    volunteer: str

    def show(self, **context: object) -> HTMLResponse:
        base: dict[str, object] = {
            "lang": "hi",
            "event": self.event,
            "t": hindi,
            "volunteer": self.volunteer,
            "found": [],
            "query": "",
            "message": None,
            "problem": None,
        }
        return page("check_in.html.j2", {**base, **context})


Action = Callable[[Door, FormData], HTMLResponse]


def login_page(event: Event, wrong: bool) -> HTMLResponse:
    return page("check_in_login.html.j2", {"lang": "hi", "event": event, "wrong": wrong})


def volunteer_cookie(event: Event) -> str:
    return f"volunteer-{event.id}"


class CheckInPage:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.logins = PostLimiter(limit=10)
        self.actions: dict[str, Action] = {
            "code": self.by_code,
            "person": self.by_person,
            "walk-in": self.walk_in,
        }

    @property
    def store_url(self) -> str:
        return self.site.settings.store_url

    async def handle(self, request: Request) -> HTMLResponse | RedirectResponse:
        event = self.site.events.get(request.path_params["event_id"])
        if event is None:
            return invalid_link()
        volunteer = self.volunteer(request, event)
        action = request.path_params.get("action")
        if request.method == "POST" and action == "login":
            return await self.login(request, event)
        if volunteer is None:
            return login_page(event, wrong=False)
        door = Door(event, volunteer)
        if request.method == "GET":
            query = " ".join(request.query_params.get("q", "").split())
            return door.show(query=query, found=search_people(self.store_url, event, query))
        if not self.site.per_address.allow(client_address(request)):
            return too_many_posts()
        form = await request.form()
        act = self.actions.get(action) if action is not None else None
        if act is None:
            return invalid_link()
        return act(door, form)

    def volunteer(self, request: Request, event: Event) -> str | None:
        """The volunteer signed in on this phone for this event, from a signed cookie."""
        session = request.cookies.get(volunteer_cookie(event), "")
        try:
            return verify_volunteer_session(
                self.site.settings.signing_secret(), event.id, session, VOLUNTEER_SESSION_SECONDS
            )
        except InvalidTokenError:
            return None

    async def login(self, request: Request, event: Event) -> HTMLResponse | RedirectResponse:
        if not self.logins.allow(client_address(request)):
            return too_many_posts()
        form = await request.form()
        pin = str(form.get("pin", "")).strip()
        name = " ".join(str(form.get("volunteer", "")).split())[:40]
        settings = self.site.settings
        expected = volunteer_pin(settings.signing_secret(), event.id)
        if not name or not hmac.compare_digest(pin, expected):
            return login_page(event, wrong=True)
        response = RedirectResponse(f"/c/{event.id}", status_code=303)
        response.set_cookie(
            volunteer_cookie(event),
            sign_volunteer_session(settings.signing_secret(), event.id, name),
            max_age=VOLUNTEER_SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=settings.public_url.startswith("https://"),
        )
        return response

    def by_code(self, door: Door, form: FormData) -> HTMLResponse:
        code = str(form.get("code", ""))
        try:
            person_id = verify_check_in_code(
                self.site.settings.signing_secret(), door.event.id, code
            )
        except InvalidTokenError:
            return door.show(problem="bad_code")
        return self.check_in(door, person_id)

    def by_person(self, door: Door, form: FormData) -> HTMLResponse:
        return self.check_in(door, int(str(form.get("person_id", "0"))))

    def check_in(self, door: Door, person_id: int) -> HTMLResponse:
        message = record_person(self.store_url, door, person_id)
        if message is None:
            return door.show(problem="bad_code")
        return door.show(message=message)

    def walk_in(self, door: Door, form: FormData) -> HTMLResponse:
        name = " ".join(str(form.get("name", "")).split())[:120]
        if not name:
            return door.show(problem="walk_in_name")
        phone = normalise_phone(str(form.get("phone", "")).strip()) if form.get("phone") else None
        district = load_districts(door.event.districts).canonical(str(form.get("district", "")))
        record_walk_in(self.store_url, door, name, district.en if district else None, phone)
        return door.show(message=("walk_in", name))


def search_people(store_url: str, event: Event, query: str) -> list[dict[str, object]]:
    """Up to 20 active people of the roster by part of the name or the last digits of the phone."""
    if len(query) < 2:
        return []
    digits = "".join(ch for ch in query if ch.isdigit())
    condition: ColumnElement[bool] = Person.name.ilike(f"%{query}%")
    if len(digits) >= 4:
        condition = or_(condition, Person.phone.like(f"%{digits}"))
    catalog = load_districts(event.districts)
    with transaction(store_url) as session:
        rows = session.execute(
            select(Person.id, Person.name, Person.district, Person.role, Person.phone)
            .where(Person.event_id == event.id, Person.active.is_(True), condition)
            .order_by(Person.district, Person.name)
            .limit(20)
        ).all()
    found: list[dict[str, object]] = []
    for person_id, name, district, role, phone in rows:
        known = catalog.canonical(district) if district else None
        found.append(
            {
                "id": person_id,
                "name": name,
                "role": role,
                "district": known.hi if known else district,
                "phone_end": (phone or "")[-4:],
            }
        )
    return found


def record_person(store_url: str, door: Door, person_id: int) -> tuple[str, ...] | None:
    """Check a person of the roster in once: the message for the volunteer, or None if the
    event has no such person."""
    event = door.event
    with transaction(store_url) as session:
        name = session.scalar(
            select(Person.name).where(Person.id == person_id, Person.event_id == event.id)
        )
        if name is None:
            return None
        earlier = session.scalar(
            select(Attendance.recorded_at).where(
                Attendance.event_id == event.id, Attendance.person_id == person_id
            )
        )
        if earlier is not None:
            when = earlier.astimezone(event.starts_at.tzinfo).strftime("%H:%M")
            return ("already", name, when)
        session.add(Attendance(event_id=event.id, person_id=person_id, recorded_by=door.volunteer))
    return ("checked_in", name)


def record_walk_in(
    store_url: str, door: Door, name: str, district: str | None, phone: str | None
) -> None:
    with transaction(store_url) as session:
        session.add(
            Attendance(
                event_id=door.event.id,
                walk_in_name=name,
                walk_in_district=district,
                walk_in_phone=phone,
                recorded_by=door.volunteer,
            )
        )
