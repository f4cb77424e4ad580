"""`karyashala deploy` and `secrets create`: the event on a Prefect server that stays up."""

import typer
from rich.table import Table

from karyashala.cli.common import EventOption, err, operator_errors, out

commands = typer.Typer()
secrets_app = typer.Typer(no_args_is_help=True, help="Secrets as Prefect Secret blocks.")


@commands.command()
def deploy(event: EventOption) -> None:
    """Turn the event's dates into deployments and schedules on the Prefect server
    (PREFECT_API_URL); deploying again updates them and moves them to the current dates."""
    from zoneinfo import ZoneInfo

    from dateutil.rrule import rrulestr
    from prefect.settings import PREFECT_API_URL

    from config import EVENTS_DIR
    from config.event import load_event, resolve_event_path
    from config.settings import load_settings
    from deployments.apply import deploy_event

    if not PREFECT_API_URL.value():
        err.print(
            "[bold red]Error:[/] deploying needs a Prefect server that stays up: set "
            "PREFECT_API_URL (e.g. http://HOST:4200/api); see the README's Production.",
            soft_wrap=True,
        )
        raise typer.Exit(code=2)
    with operator_errors():
        event_config = load_event(event)
        path = resolve_event_path(event)
        # An event of config/events/ goes by its id, which resolves on any worker's checkout.
        reference = event_config.id if path.parent == EVENTS_DIR else str(path)
    settings = load_settings()
    with operator_errors():
        deployed, removed = deploy_event(event_config, reference, settings)
    zone = ZoneInfo(event_config.timezone)
    table = Table("Deployment", "Runs", title=f"Deployed on pool {settings.work_pool!r}")
    for item in deployed:
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
    for name in removed:
        out.print(f"Removed (no longer in the event file): {name}")


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
            highlight=False,
        )
    if not saved:
        names = ", ".join(source.env for source in SOURCES)
        err.print(f"Nothing saved: set one or more of {names}.")
        raise typer.Exit(code=1)
