"""Starlette app for the links in mails and the door's check-in, one module per page, and how
`karyashala rsvp serve` logs it. GET (and HEAD, which Starlette answers with the GET route)
only shows; only a POST changes anything, because mail scanners open links."""

import copy
import logging
import re
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config import EVENTS_DIR
from config.event import Event, load_event
from config.settings import Settings, load_settings
from store.db import engine_for
from web.answer import AnswerPage
from web.check_in import CheckInPage
from web.opt_out import OptOutPage
from web.pages import Site, error_page, security_headers


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
            Route("/r/{token}", answer.show, methods=["GET"]),
            Route("/r/{token}", answer.record, methods=["POST"]),
            Route("/u/{token}", opt_out.show, methods=["GET"]),
            Route("/u/{token}", opt_out.record, methods=["POST"]),
            Route("/c/{event_id}", check_in.show, methods=["GET"]),
            Route("/c/{event_id}/{action}", check_in.act, methods=["POST"]),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error},
    )


async def http_error(request: Request, error: Exception) -> Response:
    """A path that is not there (404), a GET where only a POST goes (405), a form that cannot
    be read (400): the error page, not Starlette's plain text."""
    if not isinstance(error, HTTPException):  # registered for HTTPException only
        raise error
    response = error_page(error.status_code)
    response.headers.update(error.headers or {})
    return response


class SecurityHeaders:
    """Puts the security headers on every response, and the error page on a failure of ours
    before anything was sent (the failure still goes on to be logged)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message).update(security_headers())
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                await error_page(500)(scope, receive, send_with_headers)
            raise


TOKEN_IN_PATH = re.compile(r"^(/[ru]/[^/?]{6})[^/?]+")


class ShortTokens(logging.Filter):
    """Cuts the token of an answer or opt-out path in the access log to its first 6 characters:
    enough to follow one link through the log, too little to answer or opt out with it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                TOKEN_IN_PATH.sub(r"\1…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def logging_config() -> dict[str, Any]:
    """uvicorn's logging, with tokens cut in its access log, and the web app's own warnings."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["short_tokens"] = {"()": ShortTokens}
    config["handlers"]["access"]["filters"] = ["short_tokens"]
    config["loggers"]["web"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
