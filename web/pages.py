"""What the pages share: rendering a page, the security headers every response carries, the
error page, the text of a form field, the site's settings and events, who a link is for, and
the answer to a POST whose link is not valid."""

import base64
import hashlib
import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse

from config import TEMPLATES_DIR
from config.event import Event
from config.settings import Settings
from store.models import Person
from tasks.common.districts import load_districts
from tasks.common.templating import environment
from tasks.common.tokens import InvalidTokenError, Purpose, verify_token
from web.limits import Limit

STYLESHEET = "web/_style.css"
BAD_LINKS_PER_ADDRESS = 300  # POSTs in 10 minutes
BAD_LINKS = Limit("bad-links-per-address", BAD_LINKS_PER_ADDRESS)
logger = logging.getLogger(__name__)


def page(name: str, context: dict[str, object], status: int = 200) -> HTMLResponse:
    """The template templates/web/<name> rendered as an HTML response."""
    html = environment(TEMPLATES_DIR).get_template(f"web/{name}").render(context)
    return HTMLResponse(html, status_code=status)


@cache
def security_headers(form_targets: str = "'self'") -> dict[str, str]:
    """What every response tells the browser: no scripts, no frames, no other site's anything,
    and only the pages' own stylesheet, allowed by its hash; forms go to this site only (unless
    a page names more form_targets: a browser holds a form's redirect to them); no Referer,
    since tokens are in the URLs; nothing cached, since a page shows a person's answer or the
    door's list."""
    css = environment(TEMPLATES_DIR).get_template(STYLESHEET).render()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    policy = (
        f"default-src 'none'; style-src 'sha256-{digest}'; form-action {form_targets}; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def error_page(status: int, language: str = "hi") -> HTMLResponse:
    """The page for a bad link (400, 404, 405), too many tries (429) or a failure of ours."""
    return page("error.html.j2", {"lang": language, "status": status}, status=status)


def invalid_link() -> HTMLResponse:
    """A tampered, foreign or expired link, or a page that is not there."""
    return error_page(400)


def too_many_posts(language: str = "hi") -> HTMLResponse:
    return error_page(429, language)


def form_text(values: Mapping[str, object], name: str, limit: int) -> str:
    """A form or query field as one line of at most `limit` characters: runs of spaces made one,
    control characters (which PostgreSQL refuses, NUL among them) dropped, a file ignored."""
    value = values.get(name)
    if not isinstance(value, str):
        return ""
    kept = "".join(char for char in value if char.isspace() or unicodedata.category(char) != "Cc")
    return " ".join(kept.split())[:limit]


@dataclass
class Site:
    """The settings and events every page serves."""

    settings: Settings
    events: dict[str, Event]
    warned_of_forwarding: bool = False

    def refuse_link(self, session: Session, request: Request) -> HTMLResponse:
        """The page for a POST whose link is not valid, counted against the client's address
        in the page's writing transaction: beyond its limit, 429 in place of 400. Valid links
        do not count there: each is limited on its own, and thousands of invitees' phones can
        share one carrier-grade NAT address on a mobile network."""
        if not BAD_LINKS.allow(session, self.client_address(request)):
            return too_many_posts()
        return invalid_link()

    def client_address(self, request: Request) -> str:
        """The peer's address, or the client's that a trusted proxy saw: uvicorn puts it in the
        peer's place (`karyashala rsvp serve`, KARYASHALA_TRUSTED_PROXIES)."""
        if (
            not self.settings.trusted_proxies
            and not self.warned_of_forwarding
            and "x-forwarded-for" in request.headers
        ):
            self.warned_of_forwarding = True
            logger.warning(
                "X-Forwarded-For is ignored, as KARYASHALA_TRUSTED_PROXIES is empty. If a reverse "
                "proxy is in front, name it there: otherwise every client counts as the proxy "
                "and shares its limits."
            )
        return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class Invitee:
    event: Event
    person_id: int
    name: str
    district: str | None
    language: str

    def t(self, text: object) -> str:
        """A text of the event (one with .hi and .en) in the invitee's language."""
        return str(getattr(text, self.language))


def linked_person(site: Site, token: str, purpose: Purpose) -> tuple[Event, int] | None:
    """The event and person id a link is for; None for a tampered, foreign or expired link, or
    one of an event this site does not serve."""
    settings = site.settings
    try:
        subject = verify_token(
            settings.signing_secret(),
            purpose,
            token,
            max_age_seconds=settings.link_max_age_days * 86_400,
        )
    except InvalidTokenError:
        return None
    event = site.events.get(subject.event_id)
    return None if event is None else (event, subject.person_id)


def invitee_of(
    event: Event, person_id: int, name: str, district: str | None, language: str
) -> Invitee:
    """The invitee as the pages name them: in their language, their district as it is spelt."""
    language = language if language in ("hi", "en") else "hi"
    known = load_districts(event.districts).canonical(district or "")
    return Invitee(event, person_id, name, getattr(known, language) if known else None, language)


# Statements the pages run on every request are built once, of the tables' columns: building
# one, and the ORM's work on it, cost more than the lookup itself.
PERSON = Person.__table__.c
PERSON_OF_LINK = select(PERSON.name, PERSON.district, PERSON.language).where(
    PERSON.id == bindparam("person_id"), PERSON.event_id == bindparam("event_id")
)


def find_invitee(session: Session, site: Site, token: str, purpose: Purpose) -> Invitee | None:
    """Who a link is for; None for a link that is not valid (the store is read only for a
    link we signed)."""
    linked = linked_person(site, token, purpose)
    if linked is None:
        return None
    event, person_id = linked
    person = session.execute(PERSON_OF_LINK, {"person_id": person_id, "event_id": event.id}).first()
    if person is None:
        return None
    return invitee_of(event, person_id, person.name, person.district, person.language)
