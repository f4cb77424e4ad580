"""Answers and attendance typed into the roster sheet, and the status columns written back. Pure."""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import yaml
from gspread.utils import rowcol_to_a1

from config import TEMPLATES_DIR


@cache
def _vocabulary() -> dict[str, Any]:
    return dict(yaml.safe_load((TEMPLATES_DIR / "roster/status.yaml").read_text(encoding="utf-8")))


def status_headers() -> list[str]:
    return [str(title) for title in _vocabulary()["headers"]]


def status_label(status: str) -> str:
    return str(_vocabulary()["status"][status])


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def parse_answer(cell: str) -> str | None:
    """'yes', 'no' or 'deputy' for what ops typed; None for blank; ValueError if unclear."""
    value = _folded(cell)
    if not value:
        return None
    for answer, spellings in _vocabulary()["answers"].items():
        if value in {_folded(spelling) for spelling in spellings}:
            return str(answer)
    raise ValueError(cell)


def parse_attended(cell: str) -> bool:
    return _folded(cell) in {_folded(str(s)) for s in _vocabulary()["attended"]}


@dataclass(frozen=True)
class PersonStatus:
    status: str
    channel: str
    answered_at: datetime | None


NO_ANSWER = PersonStatus("none", "", None)


def status_write(
    header: list[str],
    rows_by_person: dict[int, int],
    statuses: dict[int, PersonStatus],
    timezone: Any,
) -> tuple[list[dict[str, Any]], int]:
    """Ranges for one values:batchUpdate: the three status columns (added after the last column
    if missing) for every person's row. Returns the data and the number of rows covered."""
    titles = status_headers()
    positions = []
    width = len(header)
    for title in titles:
        if title in header:
            positions.append(header.index(title))
        else:
            positions.append(width)
            width += 1
    last_row = max(rows_by_person.values(), default=1)
    columns: list[list[list[str]]] = [[[title]] for title in titles]
    cells = {row: person for person, row in rows_by_person.items()}
    for row in range(2, last_row + 1):
        person = cells.get(row)
        state = None if person is None else statuses.get(person, NO_ANSWER)
        if state is None:
            values = ["", "", ""]
        else:
            when = (
                state.answered_at.astimezone(timezone).strftime("%Y-%m-%d %H:%M")
                if (state.answered_at)
                else ""
            )
            values = [status_label(state.status), state.channel, when]
        for column, value in zip(columns, values, strict=True):
            column.append([value])
    data = [
        {"range": rowcol_to_a1(1, position + 1), "values": column}
        for position, column in zip(positions, columns, strict=True)
    ]
    return data, last_row
