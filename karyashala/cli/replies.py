"""`karyashala replies`: the replies by mail that wait for a person, settling them, and what a
saved mail would be read as."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from karyashala.cli.common import JsonOption, operator_errors, out, print_error, print_json

if TYPE_CHECKING:
    from tasks.replies.settle import WaitingReply

replies_app = typer.Typer(
    help="Replies by mail that wait for a person: list them (--event), settle them, or see how "
    "a saved mail is read (classify)."
)

ANSWER_HELP = "confirmed, declined, deputy, or ignore (not an answer)."


def waiting_table(event_id: str, waiting: "list[WaitingReply]") -> Table:
    table = Table(
        "Reply",
        "Name / नाम",
        "District / जिला",
        "Row",
        "Seemed",
        "Text",
        title=f"Replies waiting for a person: {event_id} ({len(waiting)})",
    )
    for reply in waiting:
        name = reply.name or f"nobody matched: {reply.sender or 'unknown sender'}"
        table.add_row(
            str(reply.id),
            name,
            reply.district or "—",
            str(reply.roster_row or "—"),
            reply.seemed,
            " ".join(reply.text.split())[:200],
        )
    return table


@replies_app.callback(invoke_without_command=True)
def waiting(
    context: typer.Context,
    event: Annotated[
        str | None,
        typer.Option("--event", "-e", help="Event id under config/events/ or a path to its YAML."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the replies that wait for a person (questions, unclear ones, and replies from
    nobody in the roster)."""
    if context.invoked_subcommand is not None:
        return
    if event is None:
        print_error("give --event: the event whose waiting replies to list.")
        raise typer.Exit(code=2)
    from config.event import load_event
    from config.settings import load_settings
    from tasks.replies.settle import WaitingList, waiting_replies

    with operator_errors():
        event_config = load_event(event)
        found = waiting_replies(load_settings().store_url, event_config.id)
    if as_json:
        print_json(WaitingList(event_id=event_config.id, waiting=found))
        return
    out.print(waiting_table(event_config.id, found))
    if found:
        out.print(
            "Settle one or more: karyashala replies settle --event "
            f"{event_config.id} --answer confirmed REPLY [REPLY …]",
            soft_wrap=True,
        )


@replies_app.command()
def settle(
    event: Annotated[
        str, typer.Option("--event", "-e", help="Event id under config/events/ or a path.")
    ],
    replies: Annotated[list[int], typer.Argument(help="The numbers of the waiting replies.")],
    answer: Annotated[str, typer.Option("--answer", "-a", help=ANSWER_HELP)],
    deputy_name: Annotated[
        str | None, typer.Option("--deputy-name", help="For deputy: who comes in their place.")
    ] = None,
    row: Annotated[
        int | None,
        typer.Option("--row", help="For a reply nobody matched: the roster row of who wrote it."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the answer of waiting replies (all of them, or none when one is wrong)."""
    from config.event import load_event
    from config.settings import load_settings
    from tasks.replies.settle import SETTLEMENTS, Decision, settle_replies

    if answer not in SETTLEMENTS:
        print_error(f"--answer must be one of {', '.join(SETTLEMENTS)}, not {answer!r}.")
        raise typer.Exit(code=2)
    with operator_errors():
        event_config = load_event(event)
        report = settle_replies(
            load_settings().store_url,
            event_config.id,
            [Decision(reply, answer, deputy_name, row) for reply in replies],
            "command line",
            skip_settled=False,
        )
    if as_json:
        print_json(report)
        return
    if report.answered:
        out.print(f"Recorded as {answer}: replies {', '.join(map(str, report.answered))}")
    if report.ignored:
        out.print(f"Set aside (not answers): replies {', '.join(map(str, report.ignored))}")
    out.print(f"Still waiting for a person: {report.still_waiting}")


@replies_app.command()
def classify(
    files: Annotated[list[Path], typer.Argument(help="Saved mails (.eml).")],
    as_json: JsonOption = False,
) -> None:
    """How collect-confirmations would read each saved mail: reply, bounce or auto-reply, the
    answer, the deputy's name, the addresses that bounced. Needs no store and no server."""
    from tasks.replies.classify import classify_message

    failed = False
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as error:
            print_error(f"{path}: cannot be read ({error.strerror}).")
            failed = True
            continue
        found = classify_message(raw)
        result = {
            "file": str(path),
            "kind": found.kind,
            "answer": found.answer,
            "deputy_name": found.deputy_name,
            "bounced": found.bounced,
        }
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
        else:
            details = found.answer or (", ".join(found.bounced) if found.bounced else "")
            deputy = f" ({found.deputy_name})" if found.deputy_name else ""
            out.print(f"{path}: {found.kind} {details}{deputy}".rstrip(), soft_wrap=True)
    if failed:
        raise typer.Exit(code=2)
