"""`karyashala status`, `collect` and `attendance-list`: who has answered, and who came."""

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from karyashala.cli.common import (
    EventOption,
    JsonOption,
    labelled,
    operator_errors,
    out,
    print_json,
    run_quietly,
)

if TYPE_CHECKING:
    from tasks.answers.report import AnswerCounts, CollectReport

commands = typer.Typer()

COUNTS = [
    ("Confirmed / आ रहे हैं", "confirmed"),
    ("Deputy / प्रतिनिधि", "deputy"),
    ("Declined / नहीं आ रहे", "declined"),
    ("No answer / उत्तर नहीं", "no_answer"),
    ("Attended / उपस्थित", "attended"),
    ("Mail bounced / ईमेल लौटा", "bounced"),
]

TALLIES = ("confirmed", "deputy", "declined", "no_answer")


def counts_table(title: str, counts: "AnswerCounts") -> Table:
    table = Table(title=title, show_header=False)
    for label, key in COUNTS:
        table.add_row(label, str(getattr(counts, key)))
    for stage, by_channel in counts.reached.items():
        reached = ", ".join(f"{channel} {count}" for channel, count in by_channel.items())
        table.add_row(f"Reached by {stage} / पहुँचे", reached)
    return table


def print_uncovered(counts: "AnswerCounts") -> None:
    missing = counts.districts_without_confirmed_convener
    out.print("Districts with no confirmed convener: " + (", ".join(missing) or "none"))


@commands.command("attendance-list")
def attendance_list(event: EventOption) -> None:
    """Write a printable attendance list (HTML, by district) for a door without phones."""
    from config.event import load_event
    from config.settings import load_settings
    from tasks.answers.attendance_list import write_attendance_list

    with operator_errors():
        event_config = load_event(event)
    out.print(f"Written: {write_attendance_list(event_config, load_settings())}")


@commands.command()
def status(event: EventOption, as_json: JsonOption = False) -> None:
    """Who has answered: counts, districts with no confirmed convener, and whom to call."""
    from config.event import load_event
    from config.settings import load_settings
    from tasks.answers.coverage import call_reason, coverage_for, reached_text
    from tasks.answers.report import AnswerCounts

    with operator_errors():
        event_config = load_event(event)
    result = coverage_for(load_settings().store_url, event_config)
    counts = AnswerCounts.of(result)
    if as_json:
        print_json(counts)
        return
    out.print(counts_table(f"Answers: {event_config.id}", counts))
    grid = Table(
        "District",
        "Role",
        "Confirmed",
        "Deputy",
        "Declined",
        "No answer",
        title="By district and role",
    )
    for (district, role), tally in sorted(result.by_district_role.items()):
        grid.add_row(district, role, *(str(tally[k]) for k in TALLIES))
    out.print(grid)
    print_uncovered(counts)
    calls = Table(
        "Name / नाम",
        "District / जिला",
        "Role / पद",
        "Phone / मोबाइल",
        "Why / क्यों",
        "Reached by / पहुँचा",
        title=f"To call: no answer yet ({len(result.to_call)})",
    )
    for person in result.to_call:
        calls.add_row(
            person.name,
            person.district or "—",
            person.role or "—",
            person.phone or "—",
            call_reason(person),
            reached_text(result.reached.get(person.person_id, {})) or "—",
        )
    out.print(calls)
    if counts.replies_waiting:
        out.print(
            f"Replies by mail waiting for a person: {counts.replies_waiting} "
            f"(karyashala replies --event {event_config.id})",
            soft_wrap=True,
        )


def print_collect_report(report: "CollectReport") -> None:
    summary = counts_table(f"Answers collected: {report.event_id}", report)
    summary.add_row("New answers in the roster's answer column", str(report.new_sheet_answers))
    summary.add_row("New attendance marks in the roster", str(report.new_attendance))
    summary.add_row("New answers from the form", str(report.new_form_answers))
    summary.add_row("Mails read from the reply inbox", str(report.replies_read))
    summary.add_row("New answers from replies by mail", str(report.new_reply_answers))
    summary.add_row("Replies waiting for a person", str(report.replies_waiting))
    summary.add_row("Addresses that bounced (new)", str(report.bounces_permanent))
    out.print(summary)
    if report.unclear_rows:
        rows = ", ".join(str(row) for row in report.unclear_rows)
        out.print(
            labelled(
                "Answers not understood, in roster rows: ",
                "yellow",
                f"{rows}: write हाँ, नहीं or प्रतिनिधि (or yes, no, deputy) there.",
            ),
            soft_wrap=True,
        )
    if report.form_rows_rejected:
        rows = ", ".join(str(row) for row in report.form_rows_rejected)
        out.print(
            labelled("Form rows without a valid answer link, not counted: ", "yellow", rows),
            soft_wrap=True,
        )
    print_uncovered(report)
    out.print(f"Status written to {report.status_written_to}", soft_wrap=True)


@commands.command()
def collect(event: EventOption, as_json: JsonOption = False) -> None:
    """Collect the answers from every channel (links, the roster's answer column, the form),
    and write each person's status back to the roster."""
    from config.event import load_event
    from flows.collect_confirmations import collect_confirmations

    with operator_errors():
        load_event(event)
        report = run_quietly(
            "Collecting the answers…", as_json, lambda: collect_confirmations(event)
        )
    if as_json:
        print_json(report)
    else:
        print_collect_report(report)
