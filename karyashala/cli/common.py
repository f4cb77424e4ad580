"""What every command shares: the two consoles, operator errors, the --event and --json options,
and the one JSON form of a report."""

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import httpx
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.text import Text

from config.errors import KaryashalaError

T = TypeVar("T")

# What a sheet, a file or an error says is printed as it is: rich would read "[link=…]" in a
# sheet's header as a hyperlink and ":x:" as an emoji. Our own styling goes through Text.
out = Console(markup=False, emoji=False, highlight=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)

EventOption = Annotated[
    str, typer.Option("--event", "-e", help="Event id under config/events/ or a path to its YAML.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]


def labelled(label: str, style: str, text: str) -> Text:
    """Our label styled, then text exactly as given."""
    return Text.assemble((label, style), text)


def print_error(message: str) -> None:
    err.print(labelled("Error: ", "bold red", message), soft_wrap=True)


class OperatorErrorLines(logging.Filter):
    """Keeps Prefect's console lines about an operator error (its traceback, and the failed
    states that repeat its text) off the terminal, where the command prints the error itself,
    once; the run's log on the Prefect server keeps them all."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, KaryashalaError):
            self.seen.append(str(error).splitlines()[0] if str(error) else type(error).__name__)
            return False
        message = record.getMessage()
        return not any(text in message for text in self.seen)


OPERATOR_ERROR_LINES = OperatorErrorLines()


def quiet_prefect_console_on_operator_errors() -> None:
    """Once a flow module has loaded Prefect (which sets up its logging then), filter its
    console handler; a command that runs no flow has no Prefect console to quiet."""
    if "prefect.logging.handlers" not in sys.modules:
        return
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and OPERATOR_ERROR_LINES not in (
            handler.filters
        ):
            handler.addFilter(OPERATOR_ERROR_LINES)


@contextmanager
def operator_errors() -> Iterator[None]:
    """Errors meant for the operator print as one clear message, without a traceback."""
    quiet_prefect_console_on_operator_errors()
    try:
        yield
    except KaryashalaError as error:
        print_error(str(error))
        raise typer.Exit(code=2) from None
    except httpx.TransportError as error:
        where = os.environ.get("PREFECT_API_URL", "the Prefect server")
        print_error(
            f"cannot reach {where} ({type(error).__name__}): is the server running, and is "
            "PREFECT_API_URL right?"
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
