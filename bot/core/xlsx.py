"""A small streaming reader of .xlsx cell values (the standard library's expat, no openpyxl).

openpyxl's read-only mode builds an object per cell; on a 100,000-row roster it needed about
three times the CPU of this reader (``benchmarks/roster_import.py --xlsx`` measures both), which
put a large XLSX import past the 30 s goal. This reader streams the sheet's XML with
``xml.etree.ElementTree.iterparse`` and only turns cells into text. It reads what spreadsheets
write: shared strings (without phonetic runs), inline strings, numbers, booleans, cached formula
results, merged ranges (filled from their top-left cell), hidden sheets and Strict OOXML
namespaces. Styles, dates (returned as their serial number) and formulas themselves are ignored.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError, iterparse

_REL_TYPE_STRINGS = "/sharedStrings"
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"')


class XlsxError(ValueError):
    """The file is not a readable .xlsx workbook."""


@dataclass(frozen=True, slots=True)
class Sheet:
    """A worksheet's name and its part inside the archive."""

    name: str
    member: str


def _local(tag: str) -> str:
    """Return an element's name without its namespace."""
    return tag.rpartition("}")[2]


def column_index(letters: str) -> int:
    """Return the 1-based index of a column name (A -> 1, Z -> 26, AA -> 27)."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index


class Workbook:
    """An open .xlsx archive: its sheets in order and its shared strings."""

    def __init__(self, path: Path) -> None:
        try:
            self._archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise XlsxError(f"not an .xlsx workbook ({exc})") from None
        try:
            self.sheets, strings_member = self._structure()
            self._strings_member = strings_member
            self._strings: list[str] | None = None
        except (KeyError, ParseError) as exc:
            self._archive.close()
            raise XlsxError(f"not an .xlsx workbook ({exc})") from None

    def close(self) -> None:
        """Close the archive."""
        self._archive.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _parse(self, member: str) -> Element:
        with self._archive.open(member) as handle:
            root: Element | None = None
            for _event, element in iterparse(handle, events=("end",)):
                root = element
            if root is None:
                raise XlsxError(f"{member} is empty")
            return root

    def _relationships(self, rels_member: str, base: str) -> list[tuple[str, str, str]]:
        """Return (id, type, archive member) of each relationship in a .rels part."""
        found: list[tuple[str, str, str]] = []
        for rel in self._parse(rels_member):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            member = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(base, target))
            )
            found.append((rel.get("Id", ""), rel.get("Type", ""), member))
        return found

    def _structure(self) -> tuple[list[Sheet], str | None]:
        """Read the workbook part and its relationships: sheet order, names and parts.

        Hidden sheets come after the visible ones, so a roster is looked for where a person
        sees it first.
        """
        workbook_member = next(
            (
                member
                for _id, kind, member in self._relationships("_rels/.rels", "")
                if kind.endswith("/officeDocument")
            ),
            "xl/workbook.xml",
        )
        folder, name = posixpath.split(workbook_member)
        rels = self._relationships(posixpath.join(folder, "_rels", name + ".rels"), folder)
        targets = {rel_id: member for rel_id, _kind, member in rels}
        strings_member = next(
            (member for _id, kind, member in rels if kind.endswith(_REL_TYPE_STRINGS)), None
        )
        visible: list[Sheet] = []
        hidden: list[Sheet] = []
        for element in self._parse(workbook_member).iter():
            if _local(element.tag) != "sheet":
                continue
            rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), "")
            sheet_member = targets.get(rel_id)
            if sheet_member is None:
                continue
            sheet = Sheet(name=element.get("name", ""), member=sheet_member)
            (hidden if element.get("state", "visible") != "visible" else visible).append(sheet)
        if not visible and not hidden:
            raise XlsxError("the workbook has no worksheets")
        return visible + hidden, strings_member

    def _shared_strings(self) -> list[str]:
        """Load the shared strings table once (phonetic hints excluded)."""
        if self._strings is not None:
            return self._strings
        strings: list[str] = []
        if self._strings_member and self._strings_member in self._archive.namelist():
            with self._archive.open(self._strings_member) as handle:
                for _event, element in iterparse(handle, events=("end",)):
                    if _local(element.tag) == "si":
                        strings.append(_text_of(element))
                        element.clear()
        self._strings = strings
        return strings

    def merged_ranges(self, sheet: Sheet) -> list[tuple[int, int, int, int]]:
        """Return the sheet's merged ranges as (min_row, min_col, max_row, max_col)."""
        ranges: list[tuple[int, int, int, int]] = []
        with self._archive.open(sheet.member) as handle:
            carry = b""
            while chunk := handle.read(1 << 20):
                buffer = carry + chunk
                last_end = 0
                for match in _MERGE_REF.finditer(buffer):
                    col1, row1, col2, row2 = (g.decode() if g else None for g in match.groups())
                    assert col1 is not None and row1 is not None
                    ranges.append(
                        (
                            int(row1),
                            column_index(col1),
                            int(row2 or row1),
                            column_index(col2 or col1),
                        )
                    )
                    last_end = match.end()
                carry = buffer[max(last_end, len(buffer) - 200) :]
        return ranges

    def dimension_rows(self, sheet: Sheet) -> int:
        """Return the last row the sheet's <dimension> declares (0 if it declares none)."""
        with self._archive.open(sheet.member) as handle:
            match = _DIMENSION.search(handle.read(8192))
        if match is None:
            return 0
        return int(match.group(1) or 1)

    def rows(self, sheet: Sheet, *, fill_merged: bool = True) -> Iterator[tuple[int, list[str]]]:
        """Yield (row number, cell texts) for each stored row, merged cells filled in."""
        raw = self._raw_rows(sheet)
        if not fill_merged:
            yield from raw
            return
        merges = self.merged_ranges(sheet)
        if not merges:
            yield from raw
            return
        yield from _fill_merged(raw, merges)

    def _raw_rows(self, sheet: Sheet) -> Iterator[tuple[int, list[str]]]:
        strings = self._shared_strings()
        with self._archive.open(sheet.member) as handle:
            yield from _parse_rows(handle, strings)


def _namespace(tag: str) -> str:
    """Return the ``{uri}`` prefix of a qualified tag ('' when it has none)."""
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""


def _text_of(element: Element) -> str:
    """Return the text of a string item (<si> or <is>), skipping phonetic runs (<rPh>)."""
    ns = _namespace(element.tag)
    direct = element.find(ns + "t")
    if direct is not None and len(element) == 1:
        return direct.text or ""
    parts = [t.text or "" for t in element.findall(ns + "t")]
    parts += [t.text or "" for t in element.iterfind(f"{ns}r/{ns}t")]
    return "".join(parts)


def _number_text(value: str) -> str:
    """Return a stored number as a person would type it (13800138001, not 1.3800138001E10)."""
    if value.isdigit():
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return value


def _parse_rows(handle: IO[bytes], strings: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Stream <row>/<c> elements of a worksheet part."""
    names: dict[str, str] = {}
    columns: dict[str, int] = {}
    cells: dict[int, str] = {}
    next_row = 1
    next_col = 1
    try:
        for _event, element in iterparse(handle, events=("end",)):
            tag = element.tag
            name = names.get(tag)
            if name is None:
                name = names[tag] = _local(tag)
            if name == "c":
                ns = tag[: len(tag) - 1]  # "{uri}c" -> "{uri}"
                ref = element.get("r")
                letters = ref.rstrip("0123456789") if ref else ""
                col = columns.get(letters) if letters else None
                if col is None:
                    col = column_index(letters) if letters else next_col
                    if letters:
                        columns[letters] = col
                next_col = col + 1
                kind = element.get("t", "n")
                text = ""
                if kind == "inlineStr":
                    inline = element.find(ns + "is")
                    text = _text_of(inline) if inline is not None else ""
                else:
                    value = element.findtext(ns + "v")
                    if value is not None:
                        if kind == "s":
                            text = strings[int(value)]
                        elif kind == "n":
                            text = _number_text(value)
                        elif kind == "b":
                            text = "TRUE" if value == "1" else "FALSE"
                        else:  # str (formula result), e (error), d (ISO date)
                            text = value
                if text:
                    cells[col] = text.strip()
                element.clear()
            elif name == "row":
                number = int(element.get("r") or next_row)
                next_row, next_col = number + 1, 1
                width = max(cells, default=0)
                yield number, [cells.get(index, "") for index in range(1, width + 1)]
                cells = {}
                element.clear()
    except ParseError as exc:
        raise XlsxError(f"the worksheet XML is damaged ({exc})") from None
    except (IndexError, ValueError) as exc:
        raise XlsxError(f"the worksheet refers to a missing shared string ({exc})") from None


def _fill_merged(
    rows: Iterator[tuple[int, list[str]]], merges: list[tuple[int, int, int, int]]
) -> Iterator[tuple[int, list[str]]]:
    """Copy each merged range's top-left value into the range's other (empty) cells."""
    starts: dict[int, list[tuple[int, int, int]]] = {}  # row -> (min_col, max_row, max_col)
    for min_row, min_col, max_row, max_col in merges:
        starts.setdefault(min_row, []).append((min_col, max_row, max_col))
    active: list[tuple[int, int, int, str]] = []  # (min_col, max_col, max_row, value)
    for number, cells in rows:
        yield number, _apply(number, cells, starts, active)


def _apply(
    number: int,
    cells: list[str],
    starts: dict[int, list[tuple[int, int, int]]],
    active: list[tuple[int, int, int, str]],
) -> list[str]:
    """Start ranges beginning on this row, fill cells from active ranges, drop ended ones."""
    for min_col, max_row, max_col in starts.pop(number, ()):
        value = cells[min_col - 1] if min_col <= len(cells) else ""
        active.append((min_col, max_col, max_row, value))
    if active:
        for min_col, max_col, _max_row, value in active:
            if not value:
                continue
            if len(cells) < max_col:
                cells = cells + [""] * (max_col - len(cells))
            for col in range(min_col, max_col + 1):
                if not cells[col - 1]:
                    cells[col - 1] = value
        active[:] = [item for item in active if item[2] > number]
    return cells
