"""`karyashala deploy` and `secrets create`: the event on a Prefect server that stays up."""

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from karyashala.cli.common import EventOption, err, operator_errors, out, print_error

if TYPE_CHECKING:
    from config.event import Event
    from deployments.apply import DeployedEvent

commands = typer.Typer()
secrets_app = typer.Typer(no_args_is_help=True, help="Secrets as Prefect Secret blocks.")


@commands.command()
def deploy(event: EventOption) -> None:
    """Turn the event's dates into deployments and schedules on the Prefect server
    (PREFECT_API_URL), and have the server mail the event's ops when a run waits for review,
    fails or stops at the daily quota; deploying again updates them all and moves them to the
    current dates."""
    from prefect.settings import PREFECT_API_URL

    from config import EVENTS_DIR
    from config.event import load_event, resolve_event_path
    from config.settings import load_settings
    from deployments.apply import deploy_event

    if not PREFECT_API_URL.value():
        print_error(
            "deploying needs a Prefect server that stays up: set PREFECT_API_URL "
            "(e.g. http://HOST:4200/api); see the README's Production."
        )
        raise typer.Exit(code=2)
    with operator_errors():
        event_config = load_event(event)
        path = resolve_event_path(event)
        # An event of config/events/ goes by its id, which resolves on any worker's checkout.
        reference = event_config.id if path.parent == EVENTS_DIR else str(path)
    settings = load_settings()
    with operator_errors():
        result = deploy_event(event_config, reference, settings)
    print_deployed(result, event_config, settings.work_pool)


def print_deployed(result: "DeployedEvent", event: "Event", work_pool: str) -> None:
    """What deploying made: each deployment and when it runs, what went, and the mail to ops."""
    from zoneinfo import ZoneInfo

    from dateutil.rrule import rrulestr

    from deployments.notify import server_ui_url

    zone = ZoneInfo(event.timezone)
    table = Table(title=f"Deployed on pool {work_pool!r}")
    table.add_column("Deployment", no_wrap=True)  # a name is copied whole: the dates wrap instead
    table.add_column("Runs")
    for item in result.deployments:
        if item.rrule is None:
            runs = "on demand"
        else:
            dates = list(rrulestr(item.rrule))
            first = dates[0].replace(tzinfo=zone)
            runs = f"{first:%Y-%m-%d %H:%M}" + (
                f" … {dates[-1]:%Y-%m-%d %H:%M}, hourly" if len(dates) > 1 else " (once)"
            )
        table.add_row(item.full_name, runs)
    out.print(table)
    for name in result.removed:
        out.print(f"Removed (no longer in the event file): {name}")
    if result.no_mail_server:
        err.print(
            "Ops get no mail from the Prefect server yet: set KARYASHALA_SMTP_HOST (and the "
            "login) and deploy again.",
            soft_wrap=True,
        )
    elif not result.notices:
        out.print("The event file names no ops (`ops:`): nobody is mailed about runs.")
    else:
        out.print(f"Ops ({len(event.ops)} addresses) are mailed by these automations:")
        for name in result.notices:
            out.print(f"  {name}")
        if server_ui_url() is None:
            err.print(
                "The Prefect server has no PREFECT_UI_URL, so the mails cannot link to the run: "
                "set it where `prefect server start` runs (the address browsers use).",
                soft_wrap=True,
            )


@secrets_app.command("create")
def secrets_create() -> None:
    """Save KARYASHALA_SMTP_PASSWORD, KARYASHALA_SIGNING_KEY, KARYASHALA_IMAP_PASSWORD and the
    file at KARYASHALA_GOOGLE_CREDENTIALS_PATH as Secret blocks; values are never printed."""
    from deployments.secrets import SOURCES, save_secrets

    with operator_errors():
        saved = save_secrets()
    for source in saved:
        out.print(
            f"Saved {source.block} (from {source.env}); runs read it with "
            f"{source.setting}={source.block}",
        )
    if not saved:
        names = ", ".join(source.env for source in SOURCES)
        err.print(f"Nothing saved: set one or more of {names}.")
        raise typer.Exit(code=1)
