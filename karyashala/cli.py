"""The `karyashala` command: runs the flows in this process and prints what they did."""

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import httpx
import typer
from rich.console import Console
from rich.table import Table

from karyashala.prefect_env import apply_prefect_defaults

apply_prefect_defaults()

from karyashala.errors import KaryashalaError  # noqa: E402
from tasks.privacy import mask_contacts  # noqa: E402

if TYPE_CHECKING:
    from flows.press_note import PressNoteReport
    from tasks.press_render import Kind
    from tasks.roster_report import SyncReport
    from tasks.stage_report import StageReport

SAMPLE_EVENT = "haryana-it-workshop"
T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="Run a party event's operations as Prefect flows.")
roster_app = typer.Typer(no_args_is_help=True, help="The roster: sync it and check it.")
app.add_typer(roster_app, name="roster")
out = Console()
err = Console(stderr=True)

EventOption = Annotated[
    str, typer.Option("--event", "-e", help="Event id under config/events/ or a path to its YAML.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]


@contextmanager
def operator_errors() -> Iterator[None]:
    """Errors meant for the operator print as one clear message, without a traceback."""
    try:
        yield
    except KaryashalaError as error:
        err.print(f"[bold red]Error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    except httpx.TransportError as error:
        where = os.environ.get("PREFECT_API_URL", "the Prefect server")
        err.print(f"[bold red]Error:[/] cannot reach {where} ({type(error).__name__}): is the "
                  "server running, and is PREFECT_API_URL right?", highlight=False,
                  soft_wrap=True)  # fmt: skip
        raise typer.Exit(code=2) from None


def run_quietly(label: str, quiet: bool, work: Callable[[], T]) -> T:
    if quiet:
        return work()
    with err.status(label):
        return work()


def print_sync_report(report: "SyncReport") -> None:
    summary = Table(title=f"Roster sync: {report.event_id}", show_header=False)
    for label, value in [
        ("Active people / सक्रिय लोग", report.active_people),
        ("Rows read", report.rows_read),
        ("Districts covered", f"{report.districts_covered} of {report.districts_total}"),
        ("Added / Changed / Unchanged / Removed",
         f"{report.added} / {report.changed} / {report.unchanged} / {report.removed}"),
        ("Problems / समस्याएँ", len(report.problems)),
    ]:  # fmt: skip
        summary.add_row(label, str(value))
    out.print(summary)
    if report.districts_without_people:
        out.print("Districts with nobody: " + ", ".join(report.districts_without_people))
    by_district = Table("District", "People", title="By district")
    for district, count in report.by_district.items():
        by_district.add_row(district, str(count))
    by_role = Table("Role / पद", "People", title="By role")
    for role, count in report.by_role.items():
        by_role.add_row(role or "—", str(count))
    out.print(by_district, by_role)
    if report.problems:
        problems = Table("Row", "Field", "Code", "Problem", title="Problems in the roster")
        for problem in report.problems:
            problems.add_row(str(problem.row), problem.field, problem.code, problem.message_en)
        out.print(problems)
        out.print(f"Problems written to {report.problems_written_to}")


def sync(event: str, as_json: bool) -> "SyncReport":
    from config.event import load_event
    from flows.sync_roster import sync_roster

    with operator_errors():
        load_event(event)
        report = run_quietly("Syncing the roster…", as_json, lambda: sync_roster(event))
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
    else:
        print_sync_report(report)
    return report


@roster_app.command("sync")
def roster_sync(event: EventOption, as_json: JsonOption = False) -> None:
    """Read the roster (Sheet, CSV or XLSX), check it, store it, and write its problems back."""
    sync(event, as_json)


def send(event: str, stage: str, dry_run: bool, as_json: bool) -> "StageReport":
    """Run send-stage here, with a progress bar fed from the ledger while it sends."""
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from config.event import load_event
    from config.settings import load_settings
    from flows.send_stage import send_stage
    from tasks.ledger import stage_counts

    with operator_errors():
        event_config = load_event(event)
        event_config.stage(stage)
    url = load_settings().store_url
    finished = threading.Event()

    def watch(progress: Progress) -> None:
        bar = progress.add_task(f"{stage}", total=None)
        while not finished.wait(0.5):
            try:
                counts = stage_counts(url, event_config.id, stage)
            except Exception:
                continue
            progress.update(bar, completed=counts.sent + counts.failed,
                            total=counts.sent + counts.failed + counts.pending)  # fmt: skip

    with operator_errors():
        if as_json or dry_run:
            report = send_stage(event, stage, dry_run=dry_run)
        else:
            with Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                console=err,
            ) as progress:  # fmt: skip
                watcher = threading.Thread(target=watch, args=(progress,), daemon=True)
                watcher.start()
                try:
                    report = send_stage(event, stage, dry_run=dry_run)
                finally:
                    finished.set()
                    watcher.join()
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
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
    out.print(table)
    if report.dry_run:
        out.print(f"Dry run: nothing sent. Previews: {report.previews}")
    if report.stopped:
        out.print(f"[yellow]Stopped:[/] {report.stopped}")


@app.command()
def invite(
    event: EventOption,
    stage: Annotated[str, typer.Option("--stage", "-s", help="Stage id, e.g. invitation.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Render every message as .eml; send nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Send one stage of the event's invitations by email (each person at most once)."""
    send(event, stage, dry_run, as_json)


rsvp_app = typer.Typer(no_args_is_help=True, help="The web pages behind the links in mails.")
app.add_typer(rsvp_app, name="rsvp")


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
    from tasks.tokens import volunteer_pin

    with operator_errors():
        event_config = load_event(event)
    settings = load_settings()
    out.print(f"Check-in page: {settings.public_url.rstrip('/')}/c/{event_config.id}")
    out.print(f"Volunteer PIN: {volunteer_pin(settings.signing_secret(), event_config.id)}")


@app.command("attendance-list")
def attendance_list(event: EventOption) -> None:
    """Write a printable attendance list (HTML, by district) for a door without phones."""
    from config.event import load_event
    from config.settings import load_settings
    from tasks.attendance_list import write_attendance_list

    with operator_errors():
        event_config = load_event(event)
    out.print(f"Written: {write_attendance_list(event_config, load_settings())}")


@app.command()
def status(event: EventOption, as_json: JsonOption = False) -> None:
    """Who has answered: counts, districts with no confirmed convener, and whom to call."""
    from config.event import load_event
    from config.settings import load_settings
    from tasks.coverage import coverage
    from tasks.districts import load_districts
    from tasks.ledger import load_candidates

    with operator_errors():
        event_config = load_event(event)
    candidates = load_candidates(load_settings().store_url, event_config.id)
    result = coverage(
        candidates, load_districts(event_config.districts), event_config.rsvp.convener_roles
    )
    counts = {
        "confirmed": result.confirmed, "declined": result.declined, "deputy": result.deputy,
        "no_answer": result.no_answer, "attended": result.attended,
        "districts_without_confirmed_convener": result.districts_without_confirmed_convener,
    }  # fmt: skip
    if as_json:
        typer.echo(json.dumps(counts, ensure_ascii=False))
        return
    summary = Table(title=f"Answers: {event_config.id}", show_header=False)
    for label, key in [("Confirmed / आ रहे हैं", "confirmed"), ("Deputy / प्रतिनिधि", "deputy"),
                       ("Declined / नहीं आ रहे", "declined"), ("No answer / उत्तर नहीं", "no_answer"),
                       ("Attended / उपस्थित", "attended")]:  # fmt: skip
        summary.add_row(label, str(counts[key]))
    out.print(summary)
    grid = Table("District", "Role", "Confirmed", "Deputy", "Declined", "No answer",
                 title="By district and role")  # fmt: skip
    for (district, role), tally in sorted(result.by_district_role.items()):
        grid.add_row(district, role, *(str(tally[k]) for k in
                     ("confirmed", "deputy", "declined", "no_answer")))  # fmt: skip
    out.print(grid)
    missing = result.districts_without_confirmed_convener
    out.print("Districts with no confirmed convener: " + (", ".join(missing) or "none"))
    calls = Table("Name / नाम", "District / जिला", "Role / पद", "Phone / मोबाइल",
                  title=f"To call: no answer yet ({len(result.to_call)})")  # fmt: skip
    for person in result.to_call:
        calls.add_row(person.name, person.district or "—", person.role or "—", person.phone or "—")
    out.print(calls)


press_app = typer.Typer(
    invoke_without_command=True,
    help="Press notes: write a draft (nothing goes out), then approve it.",
)
app.add_typer(press_app, name="press-note")
KindOption = Annotated[
    str, typer.Option("--kind", "-k", help="announcement (before) or summary (after the event).")
]


def press_kind(kind: str) -> "Kind":
    from tasks.press_render import KINDS

    if kind not in KINDS:
        err.print(f"[bold red]Error:[/] --kind must be one of {', '.join(KINDS)}, not {kind!r}.")
        raise typer.Exit(code=2)
    return kind


def print_press_report(report: "PressNoteReport", as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
        return
    out.print(f"Press note ({report.kind}, {report.version}) of {report.event_id}: {report.state}")
    for key in ("markdown", "html", "docx", "text"):
        out.print(f"  draft {key}: {getattr(report, key)}", soft_wrap=True, highlight=False)
    if report.final is not None:
        for key, path in report.final.model_dump().items():
            out.print(f"  final {key}: {path}", soft_wrap=True, highlight=False)
    if report.sent or report.failed:
        out.print(f"Sent to {report.sent} newsroom(s); failed: {report.failed}")
    if report.stopped:
        out.print(f"[yellow]Not all sent:[/] {report.stopped}")


def write_press_draft(event: str, kind: str, as_json: bool) -> "PressNoteReport":
    from config.event import load_event
    from flows.press_note import press_note

    checked = press_kind(kind)
    with operator_errors():
        load_event(event)
        report = run_quietly(
            "Writing the press note…", as_json, lambda: press_note(event, checked, review=False)
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
        err.print("[bold red]Error:[/] give --event and --kind, or a subcommand (approve).")
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
    from tasks.press_review import paused_review_ids, resume_review

    checked = press_kind(kind)
    with operator_errors():
        event_config = load_event(event)
    if embargo is not None and embargo.tzinfo is None:
        embargo = embargo.replace(tzinfo=ZoneInfo(event_config.timezone))
    edited = text.read() if text is not None else ""
    with operator_errors():
        paused = paused_review_ids(event_config.id, checked)
        if paused:
            resume_review(paused[-1], {
                "approve": True, "edited_text": edited, "send_to_media": send,
                "embargo": embargo.isoformat() if embargo else None,
            })  # fmt: skip
    if paused:
        if as_json:
            typer.echo(json.dumps({"resumed_flow_run": paused[-1]}))
        else:
            out.print(f"Approved: the paused press-note run {paused[-1]} saves the final note "
                      "(and sends it, if asked) now; see it in the Prefect UI.")  # fmt: skip
        return
    with operator_errors():
        report = approve_press_note(event, checked, edited, embargo, send)
    print_press_report(report, as_json)


@app.command()
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
        err.print("[bold red]Error:[/] deploying needs a Prefect server that stays up: set "
                  "PREFECT_API_URL (e.g. http://HOST:4200/api); see the README's Production.",
                  soft_wrap=True)  # fmt: skip
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


secrets_app = typer.Typer(no_args_is_help=True, help="Secrets as Prefect Secret blocks.")
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("create")
def secrets_create() -> None:
    """Save KARYASHALA_SMTP_PASSWORD, KARYASHALA_SIGNING_KEY, KARYASHALA_IMAP_PASSWORD and the
    file at KARYASHALA_GOOGLE_CREDENTIALS_PATH as Secret blocks; values are never printed."""
    from deployments.secrets import SOURCES, save_secrets

    with operator_errors():
        saved = save_secrets()
    for source in saved:
        out.print(f"Saved {source.block} (from {source.env}); runs read it with "
                  f"{source.setting}={source.block}", highlight=False)  # fmt: skip
    if not saved:
        names = ", ".join(source.env for source in SOURCES)
        err.print(f"Nothing saved: set one or more of {names}.")
        raise typer.Exit(code=1)


@app.command()
def outbox() -> None:
    """List the mails the embedded local SMTP server received (no SMTP host configured)."""
    from config.settings import load_settings
    from tasks.outbox import outbox_path, read_outbox

    settings = load_settings()
    entries = read_outbox(settings.data_dir)
    table = Table("Stage", "To", "Subject", title=f"Outbox: {outbox_path(settings.data_dir)}")
    for entry in sorted(entries, key=lambda e: (e.stage, e.message_id)):
        table.add_row(entry.stage, mask_contacts(entry.to), entry.subject)
    out.print(table)
    out.print(f"{len(entries)} message(s)")


def run_demo_timeline() -> list[tuple[str, str]]:
    """The sample workshop from roster to summary; returns what it did, line by line."""
    from config.event import load_event
    from config.settings import load_settings
    from flows.collect_confirmations import collect_confirmations
    from karyashala.demo import answer_links, answer_some, check_in_some, local_web_app
    from tasks.outbox import outbox_path
    from tasks.tokens import volunteer_pin

    event = load_event(SAMPLE_EVENT)
    data_dir = load_settings().data_dir
    did: list[tuple[str, str]] = []
    out.rule("Karyashala demo: the Haryana state IT and social-media workshop")
    synced = sync(SAMPLE_EVENT, as_json=False)
    did.append(("Roster synced", f"{synced.active_people} people, {len(synced.problems)} "
                f"problems listed in {synced.problems_written_to}"))  # fmt: skip
    out.rule("Press note: the announcement")
    announcement = write_press_draft(SAMPLE_EVENT, "announcement", as_json=False)
    with local_web_app() as base:
        out.print(f"Answer pages served at {base}")
        for stage in event.stages:
            out.rule(f"Stage: {stage.id}")
            sent = send(SAMPLE_EVENT, stage.id, dry_run=False, as_json=False)
            did.append((f"Stage {stage.id}", f"{sent.sent} mails sent"))
            if stage.id == "invitation":
                answered = answer_some(answer_links(data_dir, "invitation"))
                out.print(f"Invitees answered through the web app (real HTTP): {answered}")
                collected = collect_confirmations(SAMPLE_EVENT)
                summary = ", ".join(
                    f"{k} {collected[k]}" for k in ("confirmed", "deputy", "declined", "no_answer")
                )
                out.print(
                    f"Collected: {summary}; status written to {collected['status_written_to']}"
                )
                did.append(("Answers through the web app, collected", summary))
            if stage.id == "logistics":
                pin = volunteer_pin(load_settings().signing_secret(), event.id)
                came = check_in_some(base, event.id, pin, data_dir)
                out.print(f"The day: volunteers checked in {came} people at the door (real HTTP)")
                did.append(("Checked in at the door", f"{came} people"))
    out.rule("Answers")
    status(SAMPLE_EVENT, as_json=False)
    out.rule("Press note: the summary")
    summary_note = write_press_draft(SAMPLE_EVENT, "summary", as_json=False)
    for report in (announcement, summary_note):
        did.append((f"Press note: {report.kind}", report.markdown))
    did.append(("Mails", f"{outbox_path(data_dir)} (list them: .venv/bin/karyashala outbox)"))
    return did


def print_demo_report(did: list[tuple[str, str]]) -> None:
    out.rule("Done")
    table = Table(title="What the demo did")
    table.add_column("What")
    table.add_column("Result / where", overflow="fold")
    for what, result in did:
        table.add_row(what, result)
    out.print(table, soft_wrap=True)
    approve = f"press-note approve --event {SAMPLE_EVENT} --kind announcement [--send]"
    out.print(f"Approve a note with: .venv/bin/karyashala {approve}", soft_wrap=True,
              highlight=False)  # fmt: skip


@app.command()
def demo(
    ui: Annotated[
        bool,
        typer.Option("--ui", help="Run against a local Prefect server with its UI; leave it up."),
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the Prefect UI (with --ui).")] = 4200,
) -> None:
    """Run the sample workshop on the embedded default: no account, key or server needed."""
    if not ui:
        print_demo_report(run_demo_timeline())
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from config.settings import load_settings
    from karyashala.demo import start_review
    from karyashala.prefect_server import prefect_server

    data_dir = load_settings().data_dir.resolve()
    log = data_dir / "prefect-server.log"
    with operator_errors(), prefect_server(data_dir / "prefect", port, log) as url:
        out.print(f"Prefect server with its UI: {url} (log: {log})", highlight=False)
        with temporary_settings({PREFECT_API_URL: f"{url}/api"}):
            print_demo_report(run_demo_timeline())
            review = start_review(SAMPLE_EVENT, "announcement")
        out.print(f"Prefect UI: {url}", highlight=False)
        out.print(f"The announcement waits for review: {url}/runs/flow-run/{review}",
                  highlight=False, soft_wrap=True)  # fmt: skip
        out.print("The server stays up; press Ctrl+C to stop it.")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            out.print("Stopping the Prefect server.")
    # The review run still waits in its thread, and Prefect's log and event workers would keep
    # trying to reach the server just stopped: leave at once, all files being written.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    app()
