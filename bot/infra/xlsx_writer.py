"""A small streaming XLSX writer: sheets of plain values, a styled frozen header, column widths.

openpyxl spends about 15-25 µs per cell even in write-only mode, which is most of a province
digest's time; this writer streams each sheet's XML straight into the zip (inline strings, dates
as Excel serial numbers with a date format) at a fraction of that. It writes only what the
digest and the export need: text, numbers, dates and empty cells. openpyxl and Excel read the
result (the tests open every workbook with openpyxl).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zipfile
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - Excel serial dates are wall times
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
STYLE_HEADER, STYLE_DATE, STYLE_WRAP = 1, 2, 3
_TEXT = '<c t="inlineStr"><is><t xml:space="preserve">'
_WRAPPED_TEXT = f'<c t="inlineStr" s="{STYLE_WRAP}"><is><t xml:space="preserve">'

_STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"'
    ' applyAlignment="1"><alignment horizontal="center" vertical="center"/></xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment wrapText="1" vertical="top"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def column_letter(index: int) -> str:
    """Return the letters of a 1-based column index (1 -> A, 27 -> AA)."""
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _escape(text: str) -> str:
    text = _ILLEGAL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_escape_short = functools.lru_cache(maxsize=8192)(_escape)


def _text(text: str) -> str:
    """Escape ``text``; short, repeated values (names, statuses) are escaped once."""
    return _escape_short(text) if len(text) <= 24 else _escape(text)


def sheet_title(name: str, used: set[str]) -> str:
    """Return a valid, unused sheet title for ``name`` (31 characters, no []:*?/\\)."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "sheet"
    title, n = clean, 2
    while title in used:
        suffix = f"({n})"
        title, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


class XlsxWriter:
    """Write a workbook sheet by sheet; use as a context manager or call ``close``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._titles: list[str] = []
        self._used: set[str] = set()

    def __enter__(self) -> XlsxWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def add_sheet(
        self,
        title: str,
        header: Sequence[str],
        widths: Sequence[float],
        rows: Iterable[Sequence[Any] | str],
        *,
        wrap: Sequence[int] = (),
    ) -> str:
        """Write one sheet: a bold frozen header, then ``rows``; return the title used.

        A row is a sequence of values, or the XML ``render_row`` returned for it earlier.
        """
        title = sheet_title(title, self._used)
        self._titles.append(title)
        letters = [column_letter(i) for i in range(1, len(header) + 1)]
        wrapped = set(wrap)
        name = f"xl/worksheets/sheet{len(self._titles)}.xml"
        with self._zip.open(name, "w") as raw:
            parts: list[str] = [
                _HEAD,
                f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">',
                '<sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                "</sheetView></sheetViews>",
                "<cols>",
                *(
                    f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>'
                    for i, width in enumerate(widths, start=1)
                ),
                "</cols><sheetData>",
                '<row r="1">',
                *(
                    f'<c r="{letter}1" t="inlineStr" s="{STYLE_HEADER}"><is><t>{_escape(text)}</t>'
                    "</is></c>"
                    for letter, text in zip(letters, header, strict=True)
                ),
                "</row>",
            ]
            raw.write("".join(parts).encode("utf-8"))
            buffer: list[str] = []
            for row in rows:
                buffer.append(row if isinstance(row, str) else self.render_row(row, wrapped))
                if len(buffer) > 2_000:
                    raw.write("".join(buffer).encode("utf-8"))
                    buffer.clear()
            buffer.append("</sheetData></worksheet>")
            raw.write("".join(buffer).encode("utf-8"))
        return title

    @staticmethod
    def render_row(values: Sequence[Any], wrap: Collection[int] = ()) -> str:
        """Return the XML of one data row (cells in order, no references: reusable anywhere)."""
        cells: list[str] = ["<row>"]
        append = cells.append
        for index, value in enumerate(values):
            kind = type(value)
            if value is None or value == "":
                append("<c/>")
            elif kind is str:
                opening = _WRAPPED_TEXT if index in wrap else _TEXT
                append(f"{opening}{_text(value)}</t></is></c>")
            elif kind is bool:
                append(f'<c t="b"><v>{int(value)}</v></c>')
            elif kind is int or kind is float:
                append(f"<c><v>{value!r}</v></c>")
            elif isinstance(value, dt.datetime):
                naive = value if value.tzinfo is None else value.replace(tzinfo=None)
                serial = (naive - _EPOCH).total_seconds() / 86400
                append(f'<c s="{STYLE_DATE}"><v>{serial:.8f}</v></c>')
            else:
                append(f"{_TEXT}{_text(str(value))}</t></is></c>")
        append("</row>")
        return "".join(cells)

    def close(self) -> None:
        """Write the workbook's index files and close the zip."""
        if self._zip.fp is None:
            return
        sheets = "".join(
            f'<sheet name="{_escape(title)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, title in enumerate(self._titles, start=1)
        )
        count = len(self._titles)
        self._zip.writestr(
            "[Content_Types].xml",
            _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, count + 1)
            )
            + "</Types>",
        )
        self._zip.writestr(
            "_rels/.rels",
            _HEAD + f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        self._zip.writestr(
            "xl/workbook.xml",
            _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets>'
            "</workbook>",
        )
        self._zip.writestr(
            "xl/_rels/workbook.xml.rels",
            _HEAD
            + f'<Relationships xmlns="{_PKG}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" '
                f'Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, count + 1)
            )
            + f'<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>",
        )
        self._zip.writestr("xl/styles.xml", _STYLES)
        self._zip.close()
