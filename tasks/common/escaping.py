"""What people typed, shown again without turning into markup or a formula: in Prefect's Markdown
(artifacts; the UI renders every text cell of a table artifact as Markdown too) and in the
spreadsheet ops open our CSV files with."""

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HTML_SPECIALS = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
ASCII_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
BACKTICK_RUN = re.compile(r"`+")


def starts_like_formula(value: str) -> bool:
    """A spreadsheet would run this cell as a formula (or a DDE command such as +cmd|…)."""
    return value.lstrip(" ").startswith(FORMULA_STARTS)


def spreadsheet_text(value: str) -> str:
    """The cell as text a spreadsheet shows and never runs: a leading ' where it would."""
    return f"'{value}" if starts_like_formula(value) else value


def write_csv(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """A CSV for ops (UTF-8 with the mark Excel looks for), every cell inert."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([spreadsheet_text(str(cell)) for cell in row] for row in rows)


def _escaped(match: re.Match[str]) -> str:
    character = match.group()
    return HTML_SPECIALS.get(character, "\\" + character)


def markdown_text(value: object) -> str:
    """Inline Markdown that shows the value as typed: on one line, every ASCII punctuation mark
    backslash-escaped (links, emphasis, table pipes) and & < > as entities (HTML)."""
    return ASCII_PUNCTUATION.sub(_escaped, " ".join(str(value).split()))


def markdown_code_block(text: str) -> str:
    """A fenced block longer than any run of backticks in the text, so nothing in it closes it."""
    longest = max((len(run) for run in BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def markdown_cells(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows for a table artifact with every text cell escaped; numbers stay numbers."""
    return [
        {
            key: markdown_text(value) if isinstance(value, str) else value
            for key, value in row.items()
        }
        for row in rows
    ]
