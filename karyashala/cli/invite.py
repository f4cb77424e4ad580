"""`karyashala invite`: one stage of the invitations, with a progress bar fed from the ledger."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from karyashala.cli.common import (
    EventOption,
    JsonOption,
    err,
    labelled,
    operator_errors,
    out,
    print_json,
)

if TYPE_CHECKING:
    from tasks.mail.report import StageReport

commands = typer.Typer()


def send(
    event: str, stage: str, dry_run: bool, as_json: bool, force: bool = False
) -> "StageReport":
    """Run send-stage here, with a progress bar fed from the ledger while it sends."""
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from config.event import load_event
    from config.settings import load_settings
    from flows.send_stage import send_stage
    from tasks.mail.ledger import stage_counts

    with operator_errors():
        event_config = load_event(event)
        event_config.stage(stage)
    store_url = load_settings().store_url
    finished = threading.Event()

    def watch(progress: Progress) -> None:
        bar = progress.add_task(f"{stage}", total=None)
        while not finished.wait(0.5):
            try:
                counts = stage_counts(store_url, event_config.id, stage)
            except Exception:
                continue
            progress.update(
                bar,
                completed=counts.sent + counts.failed,
                total=counts.sent + counts.failed + counts.pending,
            )

    with operator_errors():
        if as_json or dry_run:
            report = send_stage(event, stage, dry_run=dry_run, force=force)
        else:
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err,
            ) as progress:
                watcher = threading.Thread(target=watch, args=(progress,), daemon=True)
                watcher.start()
                try:
                    report = send_stage(event, stage, dry_run=dry_run, force=force)
                finally:
                    finished.set()
                    watcher.join()
    if as_json:
        print_json(report)
    else:
        print_stage_report(report)
    return report


def print_stage_report(report: "StageReport") -> None:
    table = Table(title=f"Stage: {report.stage}", show_header=False)
    table.add_row("Sent / भेजे गए", str(report.sent))
    table.add_row("Sent in this run", str(report.sent_this_run))
    table.add_row("Failed / विफल", str(report.failed))
    table.add_row("Pending / बाकी", str(report.pending))
    for reason, count in sorted(report.skipped.items()):
        table.add_row(f"Skipped: {reason}", str(count))
    if report.whatsapp is not None:
        whatsapp = report.whatsapp
        table.add_row("WhatsApp: sent by a coordinator", str(whatsapp.handed_over))
        table.add_row("WhatsApp: waiting", str(whatsapp.waiting))
        for reason, count in sorted(whatsapp.skipped.items()):
            table.add_row(f"WhatsApp skipped: {reason}", str(count))
    out.print(table)
    if report.whatsapp is not None and report.whatsapp.links_written_to:
        out.print(f"WhatsApp links: {report.whatsapp.links_written_to}")
    if report.dry_run:
        out.print(f"Dry run: nothing sent. Previews: {report.previews}")
    if report.stopped:
        out.print(labelled("Stopped: ", "yellow", report.stopped))


@commands.command()
def invite(
    event: EventOption,
    stage: Annotated[str, typer.Option("--stage", "-s", help="Stage id, e.g. invitation.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Render every message as .eml; send nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Send even though the event is over."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Send one stage of the event's invitations by email (each person at most once)."""
    send(event, stage, dry_run, as_json, force)
