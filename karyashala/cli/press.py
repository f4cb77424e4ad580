"""`karyashala press-note` and `press-note approve`: write a draft, then approve it."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import BaseModel

from karyashala.cli.common import (
    EventOption,
    JsonOption,
    labelled,
    operator_errors,
    out,
    print_error,
    print_json,
    run_quietly,
)

if TYPE_CHECKING:
    from tasks.press.render import Kind
    from tasks.press.report import PressReport

press_app = typer.Typer(
    invoke_without_command=True,
    help="Press notes: write a draft (nothing goes out), then approve it.",
)
KindOption = Annotated[
    str, typer.Option("--kind", "-k", help="announcement (before) or summary (after the event).")
]


class ResumedReview(BaseModel):
    """What `press-note approve --json` prints when it resumed a run paused for review: that
    run, not this command, saves (and sends) the note."""

    resumed_flow_run: str


def press_kind(kind: str) -> "Kind":
    from tasks.press.render import KINDS

    if kind not in KINDS:
        print_error(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}.")
        raise typer.Exit(code=2)
    return kind


def print_press_report(report: "PressReport", as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    out.print(f"Press note ({report.kind}, {report.version}) of {report.event_id}: {report.state}")
    for key in ("markdown", "html", "docx", "text"):
        out.print(f"  draft {key}: {getattr(report, key)}", soft_wrap=True)
    if report.final is not None:
        for key, path in report.final.model_dump().items():
            out.print(f"  final {key}: {path}", soft_wrap=True)
    if report.sent or report.failed:
        out.print(f"Sent to {report.sent} newsroom(s); failed: {report.failed}")
    if report.stopped:
        out.print(labelled("Not all sent: ", "yellow", report.stopped))


def write_press_draft(event: str, kind: str, as_json: bool) -> "PressReport":
    """Run press-note here without pausing for review (the demo runs this too)."""
    from config.event import load_event
    from flows.press_note import press_note

    note_kind = press_kind(kind)
    with operator_errors():
        load_event(event)
        report = run_quietly(
            "Writing the press note…", as_json, lambda: press_note(event, note_kind, review=False)
        )
    print_press_report(report, as_json)
    return report


@press_app.callback()
def press_note_draft(
    context: typer.Context,
    event: Annotated[
        str | None,
        typer.Option("--event", "-e", help="Event id under config/events/ or a path to its YAML."),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", "-k", help="announcement (before) or summary (after the event)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the announcement or the summary (Markdown, HTML, Word, WhatsApp text) as a draft.

    From the command line a draft never goes out: it waits for `press-note approve` or for the
    review form of a press-note run in the Prefect UI.
    """
    if context.invoked_subcommand is not None:
        return
    if event is None or kind is None:
        print_error("give --event and --kind, or a subcommand (approve).")
        raise typer.Exit(code=2)
    write_press_draft(event, kind, as_json)


@press_app.command("approve")
def press_note_approve(
    event: EventOption,
    kind: KindOption,
    text: Annotated[
        typer.FileText | None,
        typer.Option("--text", help="A Markdown file that replaces the draft as a whole."),
    ] = None,
    embargo: Annotated[
        datetime | None,
        typer.Option(
            help="Not to be published before this time (ISO, event time zone).",
            formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%z"],
        ),
    ] = None,
    send: Annotated[bool, typer.Option("--send", help="Mail it to the media list.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Approve the note waiting for review: resume its paused run, or the latest draft."""
    from zoneinfo import ZoneInfo

    from config.event import load_event
    from flows.press_note import approve_press_note
    from tasks.press.review import paused_review_ids, resume_review

    note_kind = press_kind(kind)
    with operator_errors():
        event_config = load_event(event)
    if embargo is not None and embargo.tzinfo is None:
        embargo = embargo.replace(tzinfo=ZoneInfo(event_config.timezone))
    edited = text.read() if text is not None else ""
    with operator_errors():
        paused = paused_review_ids(event_config.id, note_kind)
        if paused:
            decision = {"decision": "approve", "edited_text": edited, "send_to_media": send}
            if embargo is not None:  # the form's embargo is a date-time or left out, never null
                decision["embargo"] = embargo.isoformat()
            resume_review(paused[-1], decision)
    if paused:
        if as_json:
            print_json(ResumedReview(resumed_flow_run=paused[-1]))
        else:
            out.print(
                f"Approved: the paused press-note run {paused[-1]} saves the final note "
                "(and sends it, if asked) now; see it in the Prefect UI."
            )
        return
    with operator_errors():
        report = approve_press_note(event, note_kind, edited, embargo, send)
    print_press_report(report, as_json)
