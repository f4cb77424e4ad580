"""Starlette app for the links in mails and the door's check-in, one module per page. GET only
shows; only a POST changes anything, because mail scanners open links."""

from starlette.applications import Starlette
from starlette.routing import Route

from config import EVENTS_DIR
from config.event import Event, load_event
from config.settings import Settings, load_settings
from store.db import engine_for
from web.answer import AnswerPage
from web.check_in import CheckInPage
from web.opt_out import OptOutPage
from web.pages import Site


def create_app(settings: Settings | None = None, events: list[Event] | None = None) -> Starlette:
    """Serve the given events, or every event under config/events/."""
    settings = settings or load_settings()
    engine_for(settings.store_url)
    if events is None:
        events = [load_event(path) for path in sorted(EVENTS_DIR.glob("*.yaml"))]
    site = Site(settings, {event.id: event for event in events})
    answer, opt_out, check_in = AnswerPage(site), OptOutPage(site), CheckInPage(site)
    return Starlette(
        routes=[
            Route("/r/{token}", answer.handle, methods=["GET", "POST"]),
            Route("/u/{token}", opt_out.handle, methods=["GET", "POST"]),
            Route("/c/{event_id}", check_in.handle, methods=["GET"]),
            Route("/c/{event_id}/{action}", check_in.handle, methods=["POST"]),
        ]
    )
