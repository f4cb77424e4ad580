"""`karyashala roster sync`: the sync-roster flow in this process, and what it found."""

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from karyashala.cli.common import (
    EventOption,
    JsonOption,
    operator_errors,
    out,
    print_json,
    run_quietly,
)

if TYPE_CHECKING:
    from tasks.roster.report import SyncReport

roster_app = typer.Typer(no_args_is_help=True, help="The roster: sync it and check it.")


def print_sync_report(report: "SyncReport") -> None:
    summary = Table(title=f"Roster sync: {report.event_id}", show_header=False)
    for label, value in [
        ("Active people / सक्रिय लोग", report.active_people),
        ("Rows read", report.rows_read),
        ("Districts covered", f"{report.districts_covered} of {report.districts_total}"),
        (
            "Added / Changed / Unchanged / Removed",
            f"{report.added} / {report.changed} / {report.unchanged} / {report.removed}",
        ),
        ("Problems / समस्याएँ", len(report.problems)),
    ]:
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
    """Run sync-roster here and print its report (the demo runs this too)."""
    from config.event import load_event
    from flows.sync_roster import sync_roster

    with operator_errors():
        load_event(event)
        report = run_quietly("Syncing the roster…", as_json, lambda: sync_roster(event))
    if as_json:
        print_json(report)
    else:
        print_sync_report(report)
    return report


@roster_app.command("sync")
def roster_sync(event: EventOption, as_json: JsonOption = False) -> None:
    """Read the roster (Sheet, CSV or XLSX), check it, store it, and write its problems back."""
    sync(event, as_json)
