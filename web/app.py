"""Starlette app for the links in mails and the door's check-in, one module per page. GET (and
HEAD, which Starlette answers with the GET route) only shows; only a POST changes anything,
because mail scanners open links. The pages run on threads of their own (`off_the_loop`),
never on the event loop."""

import asyncio
import gc
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.datastructures import FormData, MutableHeaders
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
from web.whatsapp import WhatsAppPage

# Threads the pages run on, one pool per process. Their work is mostly Python, run one thread at
# a time under the GIL: past the few that cover waits for the store, more threads take turns
# unfairly (40, Starlette's default, served a burst slower and with a longer tail than 8).
PAGE_THREADS = 8
PAGE_POOL = ThreadPoolExecutor(PAGE_THREADS, thread_name_prefix="page")

Endpoint = Callable[[Request], Awaitable[Response]]


def off_the_loop(show: Callable[[Request], Response]) -> Endpoint:
    """A page (store, signing, template: plain functions) run on the page threads, so that one
    request's wait for the store never holds up the event loop and the requests behind it.
    asyncio's executor, not Starlette's threadpool: anyio's hand-over to a thread took about a
    third of the server's CPU time per request under a burst."""

    async def endpoint(request: Request) -> Response:
        return await asyncio.get_running_loop().run_in_executor(PAGE_POOL, show, request)

    return endpoint


def off_the_loop_with_form(record: Callable[[Request, FormData], Response]) -> Endpoint:
    """A page that takes a posted form: the form is read on the event loop, as it arrives over
    the network, then the page runs on the page threads."""

    async def endpoint(request: Request) -> Response:
        form = await request.form()
        return await asyncio.get_running_loop().run_in_executor(PAGE_POOL, record, request, form)

    return endpoint


def create_app(settings: Settings | None = None, events: list[Event] | None = None) -> Starlette:
    """Serve the given events, or every event under config/events/."""
    settings = settings or load_settings()
    engine_for(settings.store_url)
    if events is None:
        events = [load_event(path) for path in sorted(EVENTS_DIR.glob("*.yaml"))]
    site = Site(settings, {event.id: event for event in events})
    answer, opt_out, check_in = AnswerPage(site), OptOutPage(site), CheckInPage(site)
    whatsapp = WhatsAppPage(site)
    return Starlette(
        routes=[
            Route("/r/{token}", off_the_loop(answer.show), methods=["GET"]),
            Route("/r/{token}", off_the_loop_with_form(answer.record), methods=["POST"]),
            Route("/u/{token}", off_the_loop(opt_out.show), methods=["GET"]),
            Route("/u/{token}", off_the_loop(opt_out.record), methods=["POST"]),
            Route("/c/{event_id}", off_the_loop(check_in.show), methods=["GET"]),
            Route("/c/{event_id}/{action}", off_the_loop_with_form(check_in.act), methods=["POST"]),
            Route("/w/{token}", off_the_loop(whatsapp.show), methods=["GET"]),
            Route("/w/{token}/{ledger_id:int}", off_the_loop(whatsapp.hand_over), methods=["POST"]),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error},
    )


def serving_app() -> Starlette:
    """The app in each process of `karyashala rsvp serve`. What was loaded to make it (modules,
    settings, events) lives as long as the process, so it is frozen out of the garbage
    collector's reach: otherwise a full collection during a burst walks all of it, and every
    request of the process waits (some 350 ms, many times the usual answer)."""
    app = create_app()
    gc.freeze()
    return app


async def http_error(request: Request, error: Exception) -> Response:
    """A path that is not there (404), a GET where only a POST goes (405), a form that cannot
    be read (400): the error page, not Starlette's plain text."""
    if not isinstance(error, HTTPException):  # registered for HTTPException only
        raise error
    response = error_page(error.status_code)
    response.headers.update(error.headers or {})
    return response


class SecurityHeaders:
    """Puts the security headers on every response (a page may set a header of them itself),
    and the error page on a failure of ours before anything was sent (the failure still goes
    on to be logged)."""

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
                headers = MutableHeaders(scope=message)
                for name, value in security_headers().items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                await error_page(500)(scope, receive, send_with_headers)
            raise
