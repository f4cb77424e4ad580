"""Read a roster, whole and as text, from a Google Sheet, a CSV file or an XLSX file."""

import csv
import zipfile
from pathlib import Path

import pandas as pd

from config.errors import RosterSourceError
from config.event import RosterSource
from config.settings import load_settings
from tasks.common.sheets import read_worksheet
from tasks.roster.bulk import collector_paused
from tasks.roster.check import RosterTable


def table_from_cells(cells: list[list[str]]) -> RosterTable:
    """First row is the header; ragged rows (Sheets trims trailing blanks) are padded, in place:
    the cells are the reader's own, and a copy of a large roster is tens of MB."""
    if not cells:
        raise RosterSourceError(
            "The roster is empty: expected a header row, then one row a person."
        )
    width = max(map(len, cells))
    for row in cells:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    return RosterTable(header=cells[0], rows=cells[1:])


def _frame_cells(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(cell) for cell in row] for row in frame.itertuples(index=False, name=None)]


def read_file_cells(source: RosterSource) -> list[list[str]]:
    """The file's cells. Errors say which file and what is wrong with it, never what it holds:
    roster.path may point at a file that is no roster at all."""
    path = source.path
    if path is None or not Path(path).is_file():
        raise RosterSourceError(f"The roster file {path} does not exist: check roster.path.")
    kind = source.source.upper()
    try:
        if source.source == "csv":
            with Path(path).open(encoding="utf-8-sig", newline="") as handle:
                return list(csv.reader(handle))
        frame = pd.read_excel(
            path, sheet_name=source.worksheet or 0, header=None, dtype=str, na_filter=False
        )
    except UnicodeDecodeError:
        raise RosterSourceError(
            f"The roster file {path} is not UTF-8 text: save it as 'CSV UTF-8' and sync again."
        ) from None
    except OSError as error:
        raise RosterSourceError(
            f"Cannot open the roster file {path} ({error.strerror or type(error).__name__}): "
            "check roster.path and the file's permissions."
        ) from None
    except (ValueError, KeyError, csv.Error, zipfile.BadZipFile) as error:
        reason = (str(error).splitlines() or [type(error).__name__])[0][:160]
        raise RosterSourceError(
            f"Cannot read the roster file {path} as {kind} ({reason}): check roster.source, "
            "roster.worksheet and roster.path, or save the file again as "
            f"{'CSV UTF-8' if kind == 'CSV' else 'an Excel workbook (.xlsx)'}."
        ) from None
    return _frame_cells(frame)


def read_table(source: RosterSource) -> RosterTable:
    with collector_paused():
        if source.source == "sheets":
            assert source.spreadsheet_key is not None
            cells = read_worksheet(source.spreadsheet_key, source.worksheet, load_settings())
        else:
            cells = read_file_cells(source)
        return table_from_cells(cells)
