"""Reading and validating a station/observer roster (CSV or XLSX), with no database.

One row of a roster is one observer at a station; the station's columns repeat on each of its
observers' rows (a station without observers yet may have a row with blank observer columns).

Columns (Chinese or English headers; Traditional forms and common variants are accepted):

    站点编码 station_code    站点名称 station_name    行政区划代码 region_code
    地市 city                区县 county              镇街 town
    观察员姓名 observer_name  手机号 phone

``parse_roster`` returns the stations and observers of the good rows and every problem found,
each with the 1-based row number a spreadsheet user sees (the header row counts). Rows are
never dropped silently: blank rows are the only ones skipped without a word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import zhconv

from bot.core import regions
from bot.core.messages import t
from bot.core.roster_sheet import (
    FIELDS,
    HEADER_SCAN_ROWS,
    column_label,
    find_header,
    read_rows,
)

STATION_FIELDS: tuple[str, ...] = ("station_name", "region_code", "city", "county", "town")
# The longest text each column may hold (the database refuses longer values).
MAX_LENGTHS: dict[str, int] = {
    "station_code": 32,
    "station_name": 200,
    "city": 50,
    "county": 50,
    "town": 100,
    "observer_name": 100,
}


_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")
_PHONE_NOISE = re.compile(r"[\s\-‐‑‒–—―.·()/\\]")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in one row: its 1-based row number, the column and the reason."""

    row: int
    reason: str
    column: str | None = None

    def __str__(self) -> str:
        return self.located(column_label(self.column) if self.column else None)

    def located(self, header: str | None) -> str:
        """Return the problem as one line, its column named ``header`` (the file's own)."""
        where = t("roster_check.at_row", row=self.row) + (f"（{header}）" if header else "")
        return f"{where}：{self.reason}"


@dataclass(frozen=True, slots=True)
class StationRecord:
    """A station as the roster describes it (names Simplified, region code known)."""

    code: str
    name: str
    city: str
    county: str
    town: str
    region_code: str


@dataclass(frozen=True, slots=True)
class ObserverRecord:
    """An observer as the roster describes it (phone in E.164, e.g. +8613800138000)."""

    name: str
    phone: str
    station_code: str
    row: int


@dataclass(slots=True)
class Roster:
    """What a roster file holds: the good rows' stations and observers, and every problem."""

    stations: list[StationRecord] = field(default_factory=list)
    observers: list[ObserverRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0  # non-blank data rows read
    ignored_columns: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # field -> the file's header text

    @property
    def bad_rows(self) -> list[int]:
        """Return the row numbers that have at least one problem, in order."""
        return sorted({problem.row for problem in self.problems})

    @property
    def is_clean(self) -> bool:
        """Return True if no row has a problem."""
        return not self.problems


# --- values ------------------------------------------------------------------------------------


def normalize_phone(raw: str, *, allow_landline: bool = False) -> str:
    """Return ``raw`` as E.164 (+86...) or raise ValueError saying what is wrong with it.

    Accepts full-width digits, spaces, dashes, dots and parentheses, and the prefixes +86,
    0086 and 86 before an 11-digit mainland mobile number (1[3-9]xxxxxxxxx). Landlines
    (0 + area code + number) only when ``allow_landline``.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise ValueError(t("roster_check.phone_empty"))
    if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text):
        raise ValueError(t("roster_check.phone_scientific", phone=text))
    if re.search(r"[,;，；、/]|\d\s*(转|ext)", text, flags=re.IGNORECASE):
        raise ValueError(t("roster_check.phone_several"))
    if re.fullmatch(r"\d+\.0+", text):  # a number cell read as a float
        text = text.split(".", 1)[0]
    digits = _PHONE_NOISE.sub("", text)
    plus = digits.startswith("+")
    digits = digits.removeprefix("+")
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(t("roster_check.phone_not_digits", phone=_mask(text)))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and (plus or len(digits) == 13):
        digits = digits[2:]
    elif plus:
        raise ValueError(t("roster_check.phone_not_mainland", phone=_mask(text)))
    if _MOBILE.fullmatch(digits):
        return "+86" + digits
    if _LANDLINE.fullmatch(digits):
        if allow_landline:
            return "+86" + digits[1:]
        raise ValueError(t("roster_check.phone_landline", phone=_mask(text)))
    if digits.startswith("1") and len(digits) != 11:
        raise ValueError(t("roster_check.phone_length", phone=_mask(text), count=len(digits)))
    raise ValueError(t("roster_check.phone_not_mobile", phone=_mask(text)))


def mask_phone(phone: str) -> str:
    """Return an E.164 phone with its middle digits hidden, e.g. +86138****8000."""
    return _mask(phone)


def _mask(text: str) -> str:
    """Hide all but the first three and last four digits of a phone-like string."""
    if len(text) <= 7:
        return "*" * len(text)
    keep_head = 6 if text.startswith("+86") else 3
    head, tail = text[:keep_head], text[-4:]
    return head + "*" * max(len(text) - keep_head - 4, 0) + tail


@lru_cache(maxsize=65536)
def normalize_name(raw: str) -> str:
    """Return a name with full-width forms folded, Traditional characters made Simplified."""
    text = unicodedata.normalize("NFKC", raw)
    text = " ".join(text.split())
    text = _SPACE_BETWEEN_CJK.sub("", text)
    if text.isascii():
        return text
    return zhconv.convert(text, "zh-cn")


def normalize_code(raw: str) -> str:
    """Return a code cell as half-width ASCII without spaces (e.g. ４４０１０４ -> 440104)."""
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


# --- validation --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    number: int
    values: dict[str, str]
    phone: str | None = None
    problems: list[Problem] = field(default_factory=list)


_PLACE_SUFFIX = re.compile(r"(市|区|县|自治县|瑶族自治县)$")


def _place_key(name: str) -> str:
    """Return a place name without its administrative suffix, to compare 广州 with 广州市."""
    return _PLACE_SUFFIX.sub("", name)


@lru_cache(maxsize=4096)
def _region_problems(code: str, city: str, county: str) -> tuple[tuple[str, str], ...]:
    """Return (column, reason) for what is wrong with a region code and the names beside it."""
    if not regions.is_well_formed(code):
        return (("region_code", t("roster_check.region_malformed", code=code)),)
    if not regions.is_known(code):
        return (("region_code", t("roster_check.region_unknown", code=code)),)
    county_code = code[:6]
    city_code = regions.region_at(county_code, "city")
    expected = {
        "city": regions.name_of(city_code) if city_code else None,
        "county": regions.name_of(county_code)
        if regions.level_of(county_code) == "county"
        else None,
    }
    given = {"city": city, "county": county}
    return tuple(
        (
            column,
            t(
                "roster_check.region_mismatch",
                column=column_label(column),
                value=given[column],
                code=code,
                wanted=wanted,
            ),
        )
        for column, wanted in expected.items()
        if given[column] and wanted and _place_key(given[column]) != _place_key(wanted)
    )


def _check_row(row: _Row) -> None:
    """Record the problems one row has on its own (format, required cells, region names)."""
    values = row.values

    def problem(column: str | None, reason: str) -> None:
        row.problems.append(Problem(row.number, reason, column))

    if not values["station_code"]:
        problem("station_code", t("roster_check.no_station_code"))
    for column, limit in MAX_LENGTHS.items():
        if len(values[column]) > limit:
            length = len(values[column])
            label = column_label(column)
            problem(column, t("roster_check.too_long", column=label, length=length, limit=limit))
            values[column] = ""
    code = values["region_code"]
    if code:
        for column, reason in _region_problems(code, values["city"], values["county"]):
            problem(column, reason)
            if column == "region_code":
                values["region_code"] = ""
    name, raw_phone = values["observer_name"], values["phone"]
    if raw_phone:
        try:
            row.phone = normalize_phone(raw_phone)
        except ValueError as exc:
            problem("phone", str(exc))
    if name and not raw_phone:
        problem("phone", t("roster_check.no_phone", name=name))
    if raw_phone and not name:
        problem("observer_name", t("roster_check.no_name"))


def _station_values(rows: list[_Row]) -> dict[str, str]:
    """Settle each station field from its rows; record conflicts on the rows that differ."""
    settled: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for row in rows:
        for column in STATION_FIELDS:
            value = row.values[column]
            if not value:
                continue
            if column not in settled:
                settled[column], first_row[column] = value, row.number
            elif value != settled[column] and not (
                column in ("city", "county") and _place_key(value) == _place_key(settled[column])
            ):
                row.problems.append(
                    Problem(
                        row.number,
                        t(
                            "roster_check.station_conflict",
                            station=row.values["station_code"],
                            column=column_label(column),
                            value=value,
                            first=settled[column],
                            row=first_row[column],
                        ),
                        column,
                    )
                )
    return settled


def _fill_names(values: dict[str, str]) -> None:
    """Fill blank city/county names of a station from its (known) region code."""
    code = values.get("region_code", "")
    if not code:
        return
    county_code = code[:6]
    city_code = regions.region_at(county_code, "city") or county_code
    if not values.get("city"):
        values["city"] = regions.name_of(city_code) or ""
    if not values.get("county") and regions.level_of(county_code) == "county":
        values["county"] = regions.name_of(county_code) or ""


def validate_rows(rows: Iterable[tuple[int, dict[str, str]]]) -> Roster:
    """Validate parsed rows (row number, field -> text) and build the roster."""
    all_rows = [_normalized_row(number, raw) for number, raw in rows]
    by_station: dict[str, list[_Row]] = {}
    for row in all_rows:
        if row.values["station_code"]:
            by_station.setdefault(row.values["station_code"], []).append(row)
    stations = {code: _settle_station(code, rows) for code, rows in by_station.items()}
    _check_phones(all_rows)
    roster = Roster(rows=len(all_rows))
    used_stations: set[str] = set()
    for row in all_rows:
        roster.problems.extend(row.problems)
        if row.problems:
            continue
        code = row.values["station_code"]
        used_stations.add(code)
        if row.phone is not None:
            roster.observers.append(
                ObserverRecord(
                    name=row.values["observer_name"],
                    phone=row.phone,
                    station_code=code,
                    row=row.number,
                )
            )
    for code in sorted(used_stations):
        values = stations[code]
        roster.stations.append(
            StationRecord(
                code=code,
                name=values["station_name"],
                city=values.get("city", ""),
                county=values.get("county", ""),
                town=values.get("town", ""),
                region_code=values["region_code"],
            )
        )
    roster.problems.sort(key=lambda problem: problem.row)
    return roster


def _normalized_row(number: int, raw: dict[str, str]) -> _Row:
    """Return a row with its values normalised and its own problems found."""
    values = {name: raw.get(name, "") for name in FIELDS}
    values["station_code"] = normalize_code(values["station_code"])
    values["region_code"] = normalize_code(values["region_code"])
    for name in ("station_name", "city", "county", "town", "observer_name"):
        values[name] = normalize_name(values[name]) if values[name] else ""
    row = _Row(number=number, values=values)
    _check_row(row)
    return row


def _settle_station(code: str, station_rows: list[_Row]) -> dict[str, str]:
    """Return a station's values from its rows; a row lacking a value nobody gave is a problem."""
    settled = _station_values(station_rows)
    for column in ("station_name", "region_code"):
        if column in settled:
            continue
        for row in station_rows:
            if not row.values[column] and not any(p.column == column for p in row.problems):
                row.problems.append(
                    Problem(
                        row.number,
                        t("roster_check.station_lacks", column=column_label(column), station=code),
                        column,
                    )
                )
    _fill_names(settled)
    return settled


def _check_phones(all_rows: list[_Row]) -> None:
    """A phone belongs to one observer at one station; an exact repeat of a row is dropped."""
    seen_phone: dict[str, _Row] = {}
    for row in all_rows:
        if row.phone is None:
            continue
        first = seen_phone.setdefault(row.phone, row)
        if first is row:
            continue
        station, first_station = row.values["station_code"], first.values["station_code"]
        masked = mask_phone(row.phone)
        if station != first_station:
            row.problems.append(
                Problem(
                    row.number,
                    t(
                        "roster_check.phone_two_stations",
                        phone=masked,
                        first=first_station,
                        row=first.number,
                        station=station,
                    ),
                    "phone",
                )
            )
        elif row.values["observer_name"] != first.values["observer_name"]:
            row.problems.append(
                Problem(
                    row.number,
                    t(
                        "roster_check.phone_listed",
                        phone=masked,
                        name=first.values["observer_name"],
                        row=first.number,
                    ),
                    "phone",
                )
            )
        else:
            row.phone = None  # an exact repeat of an earlier row: nothing new, nothing wrong


def parse_rows(rows: Iterable[tuple[int, list[str]]]) -> Roster:
    """Find the header in raw rows (row number, cells), then validate every data row."""
    iterator = iter(rows)
    head: list[tuple[int, list[str]]] = []
    for item in iterator:
        head.append(item)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    header = find_header(head)
    columns = header.columns

    def records() -> Iterator[tuple[int, dict[str, str]]]:
        for number, cells in _chain(head, iterator):
            if number <= header.row:
                continue
            if not any(cells):
                continue
            yield (
                number,
                {
                    name: (cells[index] if index < len(cells) else "")
                    for name, index in columns.items()
                },
            )

    roster = validate_rows(records())
    roster.ignored_columns = header.ignored
    roster.headers = header.names
    return roster


def _chain(
    head: list[tuple[int, list[str]]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield from head
    yield from rest


def parse_roster(path: Path | str) -> Roster:
    """Read and validate a roster file (.csv in UTF-8/GBK/GB18030, or .xlsx)."""
    return parse_rows(read_rows(Path(path)))
