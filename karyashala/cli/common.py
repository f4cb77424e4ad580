"""What every command shares: the two consoles, operator errors, the --event and --json options,
and the one JSON form of a report."""

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import httpx
import typer
from pydantic import BaseModel
from rich.console import Console

from config.errors import KaryashalaError

T = TypeVar("T")

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
        err.print(
            f"[bold red]Error:[/] cannot reach {where} ({type(error).__name__}): is the "
            "server running, and is PREFECT_API_URL right?",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=2) from None


def run_quietly(label: str, quiet: bool, work: Callable[[], T]) -> T:
    """Run work under a spinner on stderr, or silently (for --json)."""
    if quiet:
        return work()
    with err.status(label):
        return work()


def print_json(report: BaseModel) -> None:
    """A report in its one JSON form: the fields of `model_dump_json()`, on one line, with Hindi
    left readable (ensure_ascii=False)."""
    typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
