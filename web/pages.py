"""What the pages share: rendering a page, the error page, the POST limiter, the site's settings
and events, and who a link is for."""

import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse

from config import TEMPLATES_DIR
from config.event import Event
from config.settings import Settings
from store.db import transaction
from store.models import Person
from tasks.common.districts import load_districts
from tasks.common.templating import environment
from tasks.common.tokens import InvalidTokenError, Purpose, verify_token


def page(name: str, context: dict[str, object], status: int = 200) -> HTMLResponse:
    """The template templates/web/<name> rendered as an HTML response."""
    html = environment(TEMPLATES_DIR).get_template(f"web/{name}").render(context)
    return HTMLResponse(html, status_code=status)


def error_page(status: int, language: str = "hi") -> HTMLResponse:
    return page("error.html.j2", {"lang": language}, status=status)


def invalid_link() -> HTMLResponse:
    """A tampered, foreign or expired link, or a page that is not there."""
    return error_page(400)


def too_many_posts(language: str = "hi") -> HTMLResponse:
    return error_page(429, language)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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


@dataclass
class Site:
    """The settings and events every page serves, and the POST limit per address they share:
    generous, as many invitees share one carrier-grade NAT address on mobile networks."""

    settings: Settings
    events: dict[str, Event]
    per_address: PostLimiter = field(default_factory=lambda: PostLimiter(limit=300))


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


def find_invitee(site: Site, token: str, purpose: Purpose) -> Invitee | None:
    """Who a link is for; None for a tampered, foreign or expired one."""
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
    if event is None:
        return None
    with transaction(settings.store_url) as session:
        row = session.execute(
            select(Person.name, Person.district, Person.language).where(
                Person.id == subject.person_id, Person.event_id == event.id
            )
        ).first()
    if row is None:
        return None
    language = row.language if row.language in ("hi", "en") else "hi"
    district = load_districts(event.districts).canonical(row.district or "")
    district_name = getattr(district, language) if district else None
    return Invitee(event, subject.person_id, row.name, district_name, language)
