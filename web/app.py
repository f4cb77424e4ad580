"""Starlette app for the links in mails. GET only shows; only a POST changes anything,
because mail scanners open links."""

from functools import partial

import jinja2
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
from store.models import OptOut, Person
from tasks.tokens import InvalidTokenError, TokenSubject, verify_token

PAGES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "web"),
    undefined=jinja2.StrictUndefined,
    autoescape=True,
)


def page(name: str, status: int = 200, **context: object) -> HTMLResponse:
    return HTMLResponse(PAGES.get_template(name).render(**context), status_code=status)


def person_language(settings: Settings, subject: TokenSubject) -> str | None:
    with transaction(settings.store_url) as session:
        return session.scalar(
            select(Person.language).where(
                Person.id == subject.person_id, Person.event_id == subject.event_id
            )
        )


async def opt_out(request: Request, settings: Settings, events: dict[str, Event]) -> HTMLResponse:
    token = request.path_params["token"]
    try:
        subject = verify_token(settings.signing_secret(), "opt-out", token)
    except InvalidTokenError:
        return page("error.html.j2", status=400, lang="hi")
    event = events.get(subject.event_id)
    if event is None:
        return page("error.html.j2", status=400, lang="hi")
    language = person_language(settings, subject)
    if language is None:
        return page("error.html.j2", status=400, lang="hi")
    title = getattr(event.title, language)
    if request.method == "GET":
        return page("opt_out.html.j2", lang=language, title=title, done=False)
    with transaction(settings.store_url) as session:
        values = {"event_id": subject.event_id, "person_id": subject.person_id, "channel": "link"}
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(OptOut).values(**values).on_conflict_do_nothing())
    return page("opt_out.html.j2", lang=language, title=title, done=True)


def create_app(settings: Settings | None = None, events: list[Event] | None = None) -> Starlette:
    """Serve the given events, or every event under config/events/."""
    settings = settings or load_settings()
    engine_for(settings.store_url)
    if events is None:
        events = [load_event(path) for path in sorted(EVENTS_DIR.glob("*.yaml"))]
    by_id = {event.id: event for event in events}
    handler = partial(opt_out, settings=settings, events=by_id)
    return Starlette(routes=[Route("/u/{token}", handler, methods=["GET", "POST"])])
