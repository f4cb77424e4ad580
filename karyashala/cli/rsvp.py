"""`karyashala rsvp serve` and `rsvp pin`: the web pages behind the links in mails."""

from typing import Annotated

import typer

from karyashala.cli.common import EventOption, operator_errors, out

rsvp_app = typer.Typer(no_args_is_help=True, help="The web pages behind the links in mails.")


@rsvp_app.command("serve")
def rsvp_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8750,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes serving the pages. One uses one core: raise it to the number of "
            "cores the server may take when a burst of answers keeps that one busy. The "
            "processes share every limit through the store.",
        ),
    ] = 1,
) -> None:
    """Serve the answer, opt-out and check-in pages (put a reverse proxy with TLS in front and
    name it in KARYASHALA_TRUSTED_PROXIES)."""
    import uvicorn

    from config.settings import load_settings
    from store.db import engine_for
    from web.app import create_app
    from web.serving import NoDelayH11Protocol, logging_config

    with operator_errors():
        settings = load_settings()
        # Made here once, so that a problem with the settings, an event or the store is told
        # as such, and the store is migrated before the processes that serve start: each makes
        # the app again from the environment, with connections of its own.
        create_app(settings)
        engine_for(settings.store_url).dispose()
        trusted_proxies = settings.trusted_proxies.strip()
        uvicorn.run(
            "web.app:serving_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            http=NoDelayH11Protocol,
            # X-Forwarded-For names the client only when a proxy we trust sent it.
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=trusted_proxies,
            log_config=logging_config(),
        )


@rsvp_app.command("pin")
def rsvp_pin(
    event: EventOption,
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate",
            help="Make a new PIN: the old one stops working and every volunteer signed in "
            "with it signs in again.",
        ),
    ] = False,
) -> None:
    """Print the event's check-in PIN for the volunteers at the door (/c/<event id>)."""
    from config.event import load_event
    from config.settings import load_settings
    from web.check_in import door_pin, rotate_door_pin

    with operator_errors():
        event_config = load_event(event)
    settings = load_settings()
    if rotate:
        rotate_door_pin(settings.store_url, event_config.id)
    out.print(f"Check-in page: {settings.public_url.rstrip('/')}/c/{event_config.id}")
    out.print(f"Volunteer PIN: {door_pin(settings, event_config.id)}")
    if rotate:
        out.print("The old PIN no longer works; volunteers signed in with it sign in again.")
