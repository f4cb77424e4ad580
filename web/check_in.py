"""/c/<event>: the door. A volunteer signs in with the event's PIN, then finds people by name
or phone and checks them in by their code, from the search, or as a walk-in. GET (and HEAD)
only shows; only a POST (/c/<event>/login, /code, /person, /walk-in) signs in, records anything
or counts toward a limit."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from config.event import Event
from config.settings import Settings
from store.db import transaction
from store.models import Attendance, DoorPin, Person, utc_now
from store.queries import insert_ignoring_existing
from tasks.common.districts import load_districts
from tasks.common.tokens import (
    InvalidTokenError,
    ascii_digits,
    pin_matches,
    sign_volunteer_session,
    verify_check_in_code,
    verify_volunteer_session,
    volunteer_pin,
)
from tasks.roster.check import normalise_phone
from web.limits import Limit
from web.pages import Site, form_text, invalid_link, page, too_many_posts

VOLUNTEER_SESSION_SECONDS = 2 * 86_400
# A wrong PIN costs its address and the event one try each, a right one nothing, so a crowd of
# volunteers behind the venue's Wi-Fi all sign in, typos and all. Against a million PINs, 100
# wrong tries a day leave a guesser one chance in 10,000 a day; a new PIN starts afresh.
WRONG_PINS_PER_ADDRESS = 20  # in 10 minutes
WRONG_PINS_PER_EVENT = 100  # in a day
# Far more than a person at the door makes; counted per volunteer, as the door shares one address.
POSTS_PER_VOLUNTEER = 300  # in 10 minutes
LARGEST_PERSON_ID = 2**31 - 1
WRONG_PINS_FROM_ADDRESS = Limit("wrong-pins-per-address", WRONG_PINS_PER_ADDRESS)
WRONG_PINS_AT_EVENT = Limit("wrong-pins-per-event", WRONG_PINS_PER_EVENT, timedelta(days=1))
VOLUNTEER_POSTS = Limit("posts-per-volunteer", POSTS_PER_VOLUNTEER)


def hindi(text: Any) -> str:
    """A text of the event (one with .hi and .en) in Hindi: the door's language."""
    return str(text.hi)


@dataclass(frozen=True)
class Door:
    """One event's door, as one signed-in volunteer sees it."""

    event: Event
    volunteer: str

    def show(self, status: int = 200, **context: object) -> HTMLResponse:
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
        return page("check_in.html.j2", {**base, **context}, status)


Action = Callable[[Door, FormData], HTMLResponse]


def login_page(event: Event, problem: str | None = None, status: int = 200) -> HTMLResponse:
    return page(
        "check_in_login.html.j2", {"lang": "hi", "event": event, "problem": problem}, status
    )


def volunteer_cookie(event: Event) -> str:
    return f"volunteer-{event.id}"


def door_pin_salt(session: Session, event_id: str) -> str:
    """The salt of the event's door PIN: empty until the PIN is first changed."""
    return session.scalar(select(DoorPin.salt).where(DoorPin.event_id == event_id)) or ""


def rotate_door_pin(store_url: str, event_id: str) -> None:
    """A new PIN for the event's door; every session signed in with the old one ends."""
    with transaction(store_url, writes=True) as session:
        insert_ignoring_existing(session, DoorPin, [{"event_id": event_id, "salt": ""}])
        session.execute(
            update(DoorPin)
            .where(DoorPin.event_id == event_id)
            .values(salt=secrets.token_hex(16), rotated_at=utc_now())
        )


def door_pin(settings: Settings, event_id: str) -> str:
    """The PIN volunteers at the event's door sign in with now."""
    with transaction(settings.store_url) as session:
        salt = door_pin_salt(session, event_id)
    return volunteer_pin(settings.signing_secret(), event_id, salt)


def person_id_from(text: str) -> int | None:
    """The person id a form of the door's list names, or None if it names none."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= LARGEST_PERSON_ID else None


class CheckInPage:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.actions: dict[str, Action] = {
            "code": self.by_code,
            "person": self.by_person,
            "walk-in": self.walk_in,
        }

    @property
    def store_url(self) -> str:
        return self.site.settings.store_url

    def show(self, request: Request) -> HTMLResponse:
        event = self.site.events.get(request.path_params["event_id"])
        if event is None:
            return invalid_link()
        with transaction(self.store_url) as session:
            door = self.door(session, request, event)
        if door is None:
            return login_page(event)
        query = form_text(request.query_params, "q", 60)
        return door.show(query=query, found=search_people(self.store_url, event, query))

    def act(self, request: Request, form: FormData) -> HTMLResponse | RedirectResponse:
        event = self.site.events.get(request.path_params["event_id"])
        if event is None:
            return invalid_link()
        action = request.path_params["action"]
        if action == "login":
            return self.login(request, event, form)
        act = self.actions.get(action)
        if act is None:
            return invalid_link()
        with transaction(self.store_url, writes=True) as session:
            door = self.door(session, request, event)
            allowed = door is not None and VOLUNTEER_POSTS.allow(
                session, f"{event.id}:{door.volunteer}"
            )
        if door is None:
            return login_page(event)
        if not allowed:
            return too_many_posts()
        return act(door, form)

    def door(self, session: Session, request: Request, event: Event) -> Door | None:
        """The door as the volunteer signed in on this phone sees it, from a signed cookie."""
        signed_in = request.cookies.get(volunteer_cookie(event))
        if not signed_in:
            return None
        try:
            volunteer = verify_volunteer_session(
                self.site.settings.signing_secret(),
                event.id,
                door_pin_salt(session, event.id),
                signed_in,
                VOLUNTEER_SESSION_SECONDS,
            )
        except InvalidTokenError:
            return None
        return Door(event, volunteer)

    def login(
        self, request: Request, event: Event, form: FormData
    ) -> HTMLResponse | RedirectResponse:
        """Wrong PINs are counted and checked in one writing transaction, so that guesses at
        once, in any process, are held to the limits."""
        settings = self.site.settings
        address, name = self.site.client_address(request), form_text(form, "volunteer", 40)
        with transaction(self.store_url, writes=True) as session:
            salt = door_pin_salt(session, event.id)
            pin_key = f"{event.id}:{salt}"
            if WRONG_PINS_AT_EVENT.exceeded(session, pin_key):
                return login_page(event, "new_pin_needed", status=429)
            if WRONG_PINS_FROM_ADDRESS.exceeded(session, address):
                return login_page(event, "wait", status=429)
            if not name:
                return login_page(event, "wrong")
            expected = volunteer_pin(settings.signing_secret(), event.id, salt)
            if not pin_matches(form_text(form, "pin", 40), expected):
                WRONG_PINS_FROM_ADDRESS.hit(session, address)
                WRONG_PINS_AT_EVENT.hit(session, pin_key)
                return login_page(event, "wrong")
        response = RedirectResponse(f"/c/{event.id}", status_code=303)
        response.set_cookie(
            volunteer_cookie(event),
            sign_volunteer_session(settings.signing_secret(), event.id, salt, name),
            max_age=VOLUNTEER_SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=settings.public_url.startswith("https://"),
        )
        return response

    def by_code(self, door: Door, form: FormData) -> HTMLResponse:
        code = form_text(form, "code", 40)
        try:
            person_id = verify_check_in_code(
                self.site.settings.signing_secret(), door.event.id, code
            )
        except InvalidTokenError:
            return door.show(problem="bad_code")
        return self.check_in(door, person_id, "bad_code")

    def by_person(self, door: Door, form: FormData) -> HTMLResponse:
        person_id = person_id_from(form_text(form, "person_id", 20))
        if person_id is None:
            return door.show(400, problem="bad_person")
        return self.check_in(door, person_id, "bad_person")

    def check_in(self, door: Door, person_id: int, problem: str) -> HTMLResponse:
        message = record_person(self.store_url, door, person_id)
        if message is None:
            return door.show(400, problem=problem)
        return door.show(message=message)

    def walk_in(self, door: Door, form: FormData) -> HTMLResponse:
        name = form_text(form, "name", 120)
        if not name:
            return door.show(problem="walk_in_name")
        phone_typed = form_text(form, "phone", 30)
        phone = normalise_phone(phone_typed) if phone_typed else None
        district = load_districts(door.event.districts).canonical(form_text(form, "district", 60))
        record_walk_in(self.store_url, door, name, district.en if district else None, phone)
        return door.show(message=("walk_in", name))


def search_people(store_url: str, event: Event, query: str) -> list[dict[str, object]]:
    """Up to 20 active people of the roster by part of the name or the last digits of the phone."""
    if len(query) < 2:
        return []
    digits = "".join(ch for ch in ascii_digits(query) if ch.isascii() and ch.isdigit())
    literal = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition: ColumnElement[bool] = Person.name.ilike(f"%{literal}%", escape="\\")
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
    with transaction(store_url, writes=True) as session:
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
    with transaction(store_url, writes=True) as session:
        session.add(
            Attendance(
                event_id=door.event.id,
                walk_in_name=name,
                walk_in_district=district,
                walk_in_phone=phone,
                recorded_by=door.volunteer,
            )
        )
