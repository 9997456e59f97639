"""Reading a roster file's rows and finding its header (CSV in any common encoding, or .xlsx).

A roster's header may sit below a title, span two rows (a group heading merged over the
columns' own names), use Traditional characters, English or common variants; ``read_rows``
yields each row's cell texts with the 1-based row number a spreadsheet user sees, and
``find_header`` says which column holds which field. Validation is ``bot.core.roster``'s.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import zhconv

from bot.core import xlsx
from bot.core.messages import t
from bot.errors import RosterError

FIELDS: tuple[str, ...] = (
    "station_code",
    "station_name",
    "city",
    "county",
    "town",
    "region_code",
    "observer_name",
    "phone",
)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "station_code",
    "station_name",
    "region_code",
    "observer_name",
    "phone",
)
# Normalised header text (see ``_header_key``) -> field. Traditional forms are converted to
# Simplified before the lookup, so 站點編碼 finds 站点编码.
_ALIASES: dict[str, str] = {  # field -> space-separated header texts, preferred first
    "station_code": (
        "站点编码 站点代码 站点编号 站点id 观察站编码 观察站代码 观察站编号 "
        "station_code stationcode station_id station_no site_code code"
    ),
    "station_name": (
        "站点名称 站点名 站点 站名 观察站 观察站名称 社会工作观察站 "
        "station_name stationname station site_name"
    ),
    "city": "地市 地级市 市 城市 所属地市 所属市 地市名称 city",
    "county": (
        "区县 县区 区 县 县(市、区) 县(市,区) 县市区 区(县) 区县(市) 所属区县 "
        "区县名称 county district"
    ),
    "town": (
        "镇街 镇(街道) 乡镇(街道) 乡镇街道 镇街道 街道 镇 乡镇 街镇 所属镇街 "
        "镇街名称 town township street subdistrict"
    ),
    "region_code": (
        "行政区划代码 行政区划编码 行政区划码 区划代码 区划编码 行政区代码 "
        "行政代码 行政区划 region_code regioncode region division_code adcode "
        "area_code"
    ),
    "observer_name": (
        "观察员姓名 观察员 观察员名字 姓名 名字 observer_name observername observer name"
    ),
    "phone": (
        "手机号 手机号码 手机 观察员手机号 观察员手机 观察员电话 电话 电话号码 "
        "联系电话 联系方式 移动电话 phone phone_number mobile mobile_phone "
        "telephone tel"
    ),
}

HEADER_SCAN_ROWS = 20  # the header must appear within the first rows (titles may sit above)

# --- headers -----------------------------------------------------------------------------------


def _header_key(text: str) -> str:
    """Normalise header text for lookup: half-width, Simplified, lower case, no spaces/marks."""
    key = unicodedata.normalize("NFKC", text).strip().lower()
    key = zhconv.convert(key, "zh-cn")
    key = re.sub(r"[\s*＊:：]+", "", key)
    return key.replace("-", "_").replace("（", "(").replace("）", ")")


@lru_cache(maxsize=1)
def _alias_table() -> dict[str, str]:
    """Return normalised alias -> field."""
    table: dict[str, str] = {}
    for name, aliases in _ALIASES.items():
        for alias in aliases.split():
            table[_header_key(alias)] = name
            table[_header_key(alias).replace("_", "")] = name
    return table


def column_label(column: str) -> str:
    """Return the Chinese name of a roster field (the first of its header texts)."""
    return _ALIASES[column].split()[0] if column in _ALIASES else column


def field_for_header(text: str) -> str | None:
    """Return the roster field a header names (None if it is not a roster column)."""
    key = _header_key(text)
    if not key:
        return None
    table = _alias_table()
    for candidate in (key, key.replace("_", ""), re.sub(r"\(.*?\)$", "", key)):
        if candidate in table:
            return table[candidate]
    return None


@dataclass(slots=True)
class Header:
    row: int  # 1-based row number of the (last) header row
    columns: dict[str, int]  # field -> 0-based column index
    ignored: list[str]
    names: dict[str, str]  # field -> the file's own header text


def find_header(rows: list[tuple[int, list[str]]]) -> Header:
    """Find the header among the first rows (titles and group headings may sit above it).

    A header is one row, or two rows read together when a group heading sits above the
    columns' own names (e.g. 站点 merged over 编码 and 名称). The candidate naming the most
    roster columns wins; on a tie the one ending earlier, so no data row is taken for a header.
    """
    candidates: list[tuple[int, int, int, list[str]]] = []  # (score, -end, single, cells)
    for index, (number, cells) in enumerate(rows):
        candidates.append((_score(cells), -number, 1, cells))
        if index + 1 < len(rows):
            below_number, below = rows[index + 1]
            pair = _pair(cells, below)
            candidates.append((_score(pair), -below_number, 0, pair))
    best = max(candidates, key=lambda item: item[:3], default=None)
    if best is None or best[0] < 2:
        named = "、".join(column_label(name) for name in FIELDS)
        raise RosterError(t("roster_check.no_header", columns=named))
    _score_value, negative_end, _single, header_cells = best
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for position, cell in enumerate(header_cells):
        if not cell:
            continue
        name = field_for_header(cell)
        if name is None or name in columns:
            ignored.append(cell)
            continue
        columns[name] = position
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        wanted = "、".join(column_label(name) for name in missing)
        raise RosterError(t("roster_check.header_lacks", row=-negative_end, columns=wanted))
    names = {name: header_cells[index] for name, index in columns.items()}
    return Header(row=-negative_end, columns=columns, ignored=ignored, names=names)


def _score(cells: list[str]) -> int:
    """Return how many distinct roster columns a header row names."""
    return len({field_for_header(cell) for cell in cells if cell} - {None})


def _pair(upper: list[str], lower: list[str]) -> list[str]:
    """Read two rows as one header: the lower names, prefixed by the upper group if needed."""
    width = max(len(upper), len(lower))
    upper = upper + [""] * (width - len(upper))
    lower = lower + [""] * (width - len(lower))
    merged: list[str] = []
    for top, bottom in zip(upper, lower, strict=True):
        if not bottom:
            merged.append(top)
        elif field_for_header(bottom) is not None:
            merged.append(bottom)
        elif top and field_for_header(top + bottom) is not None:
            merged.append(top + bottom)
        elif top and field_for_header(top) is not None:
            merged.append(top)
        else:
            merged.append(bottom)
    return merged


# --- files -------------------------------------------------------------------------------------


def detect_encoding(data: bytes) -> str:
    """Return the text encoding of a CSV file: UTF-8 (with or without BOM), UTF-16 or GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut-off multi-byte sequence at the very end still means UTF-8.
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    else:
        return "utf-8"
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        raise RosterError(t("roster_check.encoding")) from None
    return "gb18030"  # a superset of GBK and GB2312, what Excel writes in China


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (row number, cells) of a CSV file in any supported encoding and delimiter."""
    data = path.read_bytes()
    text = data.decode(detect_encoding(data))
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for number, cells in enumerate(reader, start=1):
        yield number, [cell.strip() for cell in cells]


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (row number, cells) of the first sheet with a roster header, merged cells filled."""
    try:
        workbook = xlsx.Workbook(path)
    except xlsx.XlsxError as exc:
        raise RosterError(t("roster_check.bad_xlsx", file=path.name, reason=exc)) from None
    try:
        sheet = _pick_sheet(workbook)
        yield from workbook.rows(sheet)
    except xlsx.XlsxError as exc:
        raise RosterError(t("roster_check.unreadable", file=path.name, reason=exc)) from None
    finally:
        workbook.close()


def _pick_sheet(workbook: xlsx.Workbook) -> xlsx.Sheet:
    """Return the first worksheet whose first rows hold a roster header."""
    for sheet in workbook.sheets:
        head: list[tuple[int, list[str]]] = []
        rows = workbook.rows(sheet)
        try:
            for item in rows:
                head.append(item)
                if len(head) >= HEADER_SCAN_ROWS:
                    break
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()
        try:
            find_header(head)
        except RosterError:
            continue
        return sheet
    return workbook.sheets[0]


def estimate_rows(path: Path) -> int:
    """Return a cheap estimate of a roster file's rows (for progress bars; 0 if unknown)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            with xlsx.Workbook(path) as workbook:
                return max(workbook.dimension_rows(sheet) for sheet in workbook.sheets)
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except (OSError, ValueError, KeyError):
        return 0


def read_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (1-based row number, cell texts) of a .csv/.txt or .xlsx/.xlsm roster file."""
    if not path.is_file():
        raise RosterError(t("roster_check.no_file", file=path))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_rows(path)
    if suffix == ".xls":
        raise RosterError(t("roster_check.old_xls"))
    raise RosterError(t("roster_check.file_type", suffix=suffix))
