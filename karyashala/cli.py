"""The `karyashala` command: runs the flows in this process and prints what they did."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from karyashala.prefect_env import apply_prefect_defaults

apply_prefect_defaults()

from karyashala.errors import KaryashalaError  # noqa: E402

if TYPE_CHECKING:
    from tasks.roster_report import SyncReport

SAMPLE_EVENT = "haryana-it-workshop-2021"
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


@app.command()
def demo() -> None:
    """Run the sample workshop on the embedded default: no account, key or server needed."""
    out.rule("Karyashala demo: the Haryana state IT and social-media workshop")
    sync(SAMPLE_EVENT, as_json=False)


if __name__ == "__main__":
    app()
