"""Cell texts of .xlsx workbooks, read with python-calamine (a Rust reader).

The roster import needs each row's cells as the text a person typed: numbers as written
(13800138001, not 1.3800138001E10), booleans as TRUE/FALSE, cached formula results, and merged
cells filled with their top-left value (a station's cells are often merged over its observers'
rows). calamine reads shared strings, inline strings, phonetic hints and merges correctly and is
several times faster than openpyxl's read-only mode (``benchmarks/roster_import.py --xlsx``
measures both). This module only adapts its values to texts and keeps hidden sheets last, so a
roster is looked for where a person sees it first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import python_calamine as calamine


class XlsxError(ValueError):
    """The file is not a readable .xlsx workbook."""


@dataclass(frozen=True, slots=True)
class Sheet:
    """A worksheet's name and whether a person sees it."""

    name: str
    visible: bool = True


def column_index(letters: str) -> int:
    """Return the 1-based index of a column name (A -> 1, Z -> 26, AA -> 27)."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index


def cell_text(value: Any) -> str:
    """Return a cell's value as the text a person typed (integral numbers without ``.0``)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


class Workbook:
    """An open .xlsx workbook: its worksheets (visible first) and their rows as texts."""

    def __init__(self, path: Path) -> None:
        try:
            self._book = calamine.CalamineWorkbook.from_path(str(path))
            metadata = self._book.sheets_metadata
        except Exception as exc:  # calamine raises its own types, and OSError/ValueError
            raise XlsxError(f"not an .xlsx workbook ({exc})") from None
        sheets = [
            Sheet(item.name, item.visible == calamine.SheetVisibleEnum.Visible)
            for item in metadata
            if item.typ == calamine.SheetTypeEnum.WorkSheet
        ]
        if not sheets:
            self.close()
            raise XlsxError("the workbook has no worksheets")
        self.sheets = [s for s in sheets if s.visible] + [s for s in sheets if not s.visible]
        self._loaded: dict[str, Any] = {}

    def close(self) -> None:
        """Close the file."""
        self._book.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sheet(self, sheet: Sheet) -> Any:
        """Return the loaded sheet (calamine reads a whole sheet at once: do it once)."""
        found = self._loaded.get(sheet.name)
        if found is None:
            try:
                found = self._loaded[sheet.name] = self._book.get_sheet_by_name(sheet.name)
            except Exception as exc:
                raise XlsxError(f"the worksheet {sheet.name!r} is damaged ({exc})") from None
        return found

    def dimension_rows(self, sheet: Sheet) -> int:
        """Return the number of rows the sheet holds (to the last non-empty one)."""
        found = self._sheet(sheet)
        return int(found.end[0] + 1) if found.height else 0

    def merged_ranges(self, sheet: Sheet) -> list[tuple[int, int, int, int]]:
        """Return the sheet's merged ranges as 1-based (min_row, min_col, max_row, max_col)."""
        ranges = self._sheet(sheet).merged_cell_ranges or []
        return [(r1 + 1, c1 + 1, r2 + 1, c2 + 1) for (r1, c1), (r2, c2) in ranges]

    def rows(self, sheet: Sheet, *, fill_merged: bool = True) -> Iterator[tuple[int, list[str]]]:
        """Yield (row number, cell texts) of each non-empty row, merged cells filled in."""
        found = self._sheet(sheet)
        raw = _rows(found)
        merges = self.merged_ranges(sheet) if fill_merged else []
        yield from _fill_merged(raw, merges) if merges else raw


def _rows(sheet: Any) -> Iterator[tuple[int, list[str]]]:
    """Yield the non-empty rows of a calamine sheet, numbered from 1, trailing blanks trimmed."""
    if not sheet.height:
        return
    first_row, first_col = sheet.start
    pad = [""] * first_col
    try:
        for offset, values in enumerate(sheet.iter_rows()):
            cells = [v.strip() if v.__class__ is str else cell_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                yield first_row + offset + 1, pad + cells if first_col else cells
    except Exception as exc:
        raise XlsxError(f"the worksheet is damaged ({exc})") from None


def _fill_merged(
    rows: Iterator[tuple[int, list[str]]], merges: list[tuple[int, int, int, int]]
) -> Iterator[tuple[int, list[str]]]:
    """Copy each merged range's top-left value into the range's other (empty) cells."""
    pending = sorted(merges)  # by first row; a range starting on an empty row has no value
    next_range = 0
    active: list[tuple[int, int, int, str]] = []  # (min_col, max_col, max_row, value)
    for number, cells in rows:
        while next_range < len(pending) and pending[next_range][0] <= number:
            min_row, min_col, max_row, max_col = pending[next_range]
            next_range += 1
            starts_here = min_row == number and min_col <= len(cells)
            value = cells[min_col - 1] if starts_here else ""
            active.append((min_col, max_col, max_row, value))
        active[:] = [item for item in active if item[2] >= number]
        for min_col, max_col, _max_row, value in active:
            if not value:
                continue
            if len(cells) < max_col:
                cells = cells + [""] * (max_col - len(cells))
            for col in range(min_col, max_col + 1):
                if not cells[col - 1]:
                    cells[col - 1] = value
        yield number, cells
