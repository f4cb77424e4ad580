"""`karyashala rsvp serve` and `rsvp pin`: the web pages behind the links in mails."""

from typing import Annotated

import typer

from karyashala.cli.common import EventOption, operator_errors, out

rsvp_app = typer.Typer(no_args_is_help=True, help="The web pages behind the links in mails.")


@rsvp_app.command("serve")
def rsvp_serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8750,
) -> None:
    """Serve the answer and opt-out pages (put a reverse proxy with TLS in front)."""
    import uvicorn

    from web.app import create_app

    with operator_errors():
        uvicorn.run(create_app(), host=host, port=port, proxy_headers=True)


@rsvp_app.command("pin")
def rsvp_pin(event: EventOption) -> None:
    """Print the event's check-in PIN for the volunteers at the door (/c/<event id>)."""
    from config.event import load_event
    from config.settings import load_settings
    from tasks.common.tokens import volunteer_pin

    with operator_errors():
        event_config = load_event(event)
    settings = load_settings()
    out.print(f"Check-in page: {settings.public_url.rstrip('/')}/c/{event_config.id}")
    out.print(f"Volunteer PIN: {volunteer_pin(settings.signing_secret(), event_config.id)}")
