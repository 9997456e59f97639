"""Workbooks as a clerk uses them, written with XlsxWriter.

``Book`` holds the formats every table shares; ``Book.table`` writes a sheet of one table: a
bold header row (and, when given, a second row of stable ids), frozen and repeated on every
printed page, an autofilter over the whole table, column widths, percentages as fractions with a
``0%`` format, times as real dates (to the minute) with a date format, and print setup:
landscape A4, one page wide. The digest's workbook and ``obsbot export`` both use it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter

_EPOCH_ORDINAL = dt.date(1899, 12, 30).toordinal()  # Excel's day 0


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table: header, width, kind (text/int/pct/date/num) and getter."""

    header: str
    width: float
    kind: str
    get: Callable[[Any], Any]


class Book:
    """An XlsxWriter workbook with the formats every table uses."""

    def __init__(self, path: Path, tz: dt.tzinfo | None = None) -> None:
        self.tz = tz  # aware times are written as wall times of this zone
        path.parent.mkdir(parents=True, exist_ok=True)
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": False})
        add = self.book.add_format
        self.header = add(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.title = add({"bold": True, "font_size": 16})
        self.bold = add({"bold": True})
        self.pct = add({"num_format": "0%"})
        self.date = add({"num_format": "yyyy-mm-dd hh:mm"})
        self.day = add({"num_format": "yyyy-mm-dd"})
        self.num = add({"num_format": "0.0"})
        self.change_int = add({"num_format": "+0;-0;0"})
        self.change_pct = add({"num_format": "+0%;-0%;0%"})
        self.wrap = add({"text_wrap": True, "valign": "top"})

    def close(self) -> None:
        """Write the file."""
        self.book.close()

    def sheet(self, name: str) -> Any:
        """Return a new sheet set up to print landscape on A4, one page wide."""
        sheet = self.book.add_worksheet(name)
        sheet.set_landscape()
        sheet.set_paper(9)
        sheet.fit_to_pages(1, 0)
        sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        return sheet

    def table(
        self, name: str, columns: Sequence[Column], items: Iterable[Any], *, raw: Sequence[str] = ()
    ) -> Any:
        """Write a sheet of one table: header (and ids), frozen, filtered, repeated on print."""
        sheet = self.sheet(name)
        header_rows = 2 if raw else 1
        # Constant-memory mode writes rows in order: the whole first row, then the second.
        for index, column in enumerate(columns):
            sheet.set_column(index, index, column.width)
            sheet.write_string(0, index, column.header, self.header)
        for index, name in enumerate(raw):
            sheet.write_string(1, index, name, self.header)
        row = self.rows(sheet, header_rows, columns, items)
        last = max(row - 1, header_rows - 1)
        sheet.autofilter(header_rows - 1, 0, last, len(columns) - 1)
        sheet.freeze_panes(header_rows, 0)
        sheet.repeat_rows(0, header_rows - 1)
        return sheet

    def rows(self, sheet: Any, first: int, columns: Sequence[Column], items: Iterable[Any]) -> int:
        """Write one row per item from row ``first``; return the next free row."""
        writers = [self._writer(sheet, column.kind) for column in columns]
        getters = [column.get for column in columns]
        row = first
        for item in items:
            for index, (get, write) in enumerate(zip(getters, writers, strict=True)):
                value = get(item)
                if value is not None and value != "":
                    write(row, index, value)
            row += 1
        return row

    def serial(self, moment: dt.datetime) -> float:
        """Return an Excel serial date-time, to the minute, of a naive or aware moment."""
        local = moment.astimezone(self.tz) if moment.tzinfo is not None else moment
        return local.toordinal() - _EPOCH_ORDINAL + (local.hour * 60 + local.minute) / 1440

    def _writer(self, sheet: Any, kind: str) -> Callable[[int, int, Any], Any]:
        """Return the fastest way to write a cell of ``kind``."""
        if kind == "text":
            return lambda r, c, v: sheet.write_string(r, c, str(v))
        if kind == "int":
            return sheet.write_number
        if kind == "pct":
            return lambda r, c, v: sheet.write_number(r, c, v, self.pct)
        if kind == "num":
            return lambda r, c, v: sheet.write_number(r, c, v, self.num)
        if kind == "date":
            return lambda r, c, v: sheet.write_number(r, c, self.serial(v), self.date)
        if kind == "wrap":
            return lambda r, c, v: sheet.write_string(r, c, str(v), self.wrap)
        raise ValueError(f"unknown column kind {kind!r}")


@contextlib.contextmanager
def no_gc_pauses() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a workbook's cells are built.

    A workbook is hundreds of thousands of small objects that live until it is written; each
    full collection would walk all of them (and everything else alive), and a province's
    workbook took twice as long in the runs where one struck. Nothing written here is cyclic.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
