"""`karyashala outbox`: the mails the embedded local SMTP server received."""

import typer
from rich.table import Table

from karyashala.cli.common import out
from tasks.common.privacy import mask_contacts

commands = typer.Typer()


@commands.command()
def outbox() -> None:
    """List the mails the embedded local SMTP server received (no SMTP host configured)."""
    from config.settings import load_settings
    from tasks.mail.outbox import outbox_path, read_outbox

    settings = load_settings()
    entries = read_outbox(settings.data_dir)
    table = Table("Stage", "To", "Subject", title=f"Outbox: {outbox_path(settings.data_dir)}")
    for entry in sorted(entries, key=lambda e: (e.stage, e.message_id)):
        table.add_row(entry.stage, mask_contacts(entry.to), entry.subject)
    out.print(table)
    out.print(f"{len(entries)} message(s)")
