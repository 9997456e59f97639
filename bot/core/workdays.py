"""China's working-day calendar: official data, an administrator's holiday file, or a fallback.

Where the answer for a year comes from (``WorkCalendar.source_for(year)``):

- ``"official"``: the ``chinesecalendar`` package, which covers a year once the State Council
  has published its holidays and adjusted workdays (调休). Authoritative for the years it covers.
- ``"file"``: an administrator-supplied YAML holiday file, for years the package does not cover.
- ``"fallback"``: neither; Monday–Friday minus the fixed-date statutory holidays (1 January,
  1–2 May, 1–3 October). Decisions computed from it must say so.

The holiday file (validated by ``load_holiday_file``; every error names the file, line and entry)::

    # holidays.yaml: one entry per year the package does not cover yet
    2027:
      holidays:              # required: days off (weekend days inside a holiday may be listed)
        - 2027-01-01                                       # a single date
        - {date: 2027-04-05, name: 清明节}                  # a date with a name
        - {from: 2027-02-06, to: 2027-02-12, name: 春节}    # an inclusive range
      workdays:              # optional: adjusted workdays (调休), weekend days that are worked
        - 2027-02-13
        - {date: 2027-09-26, name: 国庆节}

Errors form a small tree: ``HolidayFileError`` (a ``ValueError``) for a file that cannot be used.
Nothing here ever raises for a year outside the package's coverage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import chinese_calendar
import yaml

CalendarSource = Literal["official", "file", "fallback"]

FALLBACK_HOLIDAYS: dict[tuple[int, int], str] = {
    (1, 1): "New Year's Day",
    (5, 1): "Labour Day",
    (5, 2): "Labour Day",
    (10, 1): "National Day",
    (10, 2): "National Day",
    (10, 3): "National Day",
}
"""Fixed-date statutory holidays (month, day) used when no calendar covers a year."""

_ZH_NAMES: dict[str, str] = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}


class HolidayFileError(ValueError):
    """A holiday file that cannot be used; the message names the file, line and entry."""


@dataclass(frozen=True, slots=True)
class YearCalendar:
    """One year's days off and adjusted workdays, as supplied by an administrator."""

    year: int
    holidays: Mapping[dt.date, str | None] = field(default_factory=dict)
    workdays: Mapping[dt.date, str | None] = field(default_factory=dict)


def _official_years() -> tuple[int, int]:
    """Return the first and last year the installed chinesecalendar covers."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


class WorkCalendar:
    """Answers whether a date is a working day in mainland China and where the answer came from."""

    def __init__(
        self,
        years: Iterable[YearCalendar] = (),
        *,
        use_official: bool = True,
        source_name: str | None = None,
    ) -> None:
        self._official = _official_years() if use_official else None
        self._years: dict[int, YearCalendar] = {}
        # chinesecalendar scans all its data on every call; answers are cached per date.
        self._workday_cache: dict[dt.date, bool] = {}
        self.source_name = source_name
        shadowed: list[int] = []
        for year_calendar in years:
            if self._is_official_year(year_calendar.year):
                shadowed.append(year_calendar.year)
            else:
                self._years[year_calendar.year] = year_calendar
        # Years a holiday file supplies but the official calendar already covers (file ignored).
        self.shadowed_years: tuple[int, ...] = tuple(sorted(shadowed))

    @classmethod
    def from_file(cls, path: str | Path | None) -> WorkCalendar:
        """Build a calendar from the official data plus an optional holiday file."""
        if path is None:
            return cls()
        return cls(load_holiday_file(path).values(), source_name=str(path))

    @property
    def official_range(self) -> tuple[int, int] | None:
        """Return the (first, last) year covered by the official data, or None when disabled."""
        return self._official

    def _is_official_year(self, year: int) -> bool:
        return self._official is not None and self._official[0] <= year <= self._official[1]

    def source_for(self, year: int) -> CalendarSource:
        """Say where answers for ``year`` come from: "official", "file" or "fallback"."""
        if self._is_official_year(year):
            return "official"
        if year in self._years:
            return "file"
        return "fallback"

    def is_workday(self, day: dt.date) -> bool:
        """Return True when ``day`` is a working day (adjusted workdays included)."""
        day = _as_date(day)
        cached = self._workday_cache.get(day)
        if cached is None:
            cached = self._workday_cache[day] = self._is_workday(day)
        return cached

    def _is_workday(self, day: dt.date) -> bool:
        source = self.source_for(day.year)
        if source == "official":
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:  # coverage changed under us; never let it escape
                return _fallback_is_workday(day)
        if source == "file":
            year_calendar = self._years[day.year]
            if day in year_calendar.workdays:
                return True
            return day.weekday() < 5 and day not in year_calendar.holidays
        return _fallback_is_workday(day)

    def holiday_name(self, day: dt.date, *, lang: Literal["en", "zh"] = "en") -> str | None:
        """Return the holiday ``day`` belongs to (a day off or a day worked for it), else None."""
        day = _as_date(day)
        source = self.source_for(day.year)
        name: str | None = None
        if source == "official":
            try:
                name = chinese_calendar.get_holiday_detail(day)[1]
            except NotImplementedError:
                name = FALLBACK_HOLIDAYS.get((day.month, day.day))
        elif source == "file":
            year_calendar = self._years[day.year]
            if day in year_calendar.holidays:
                name = year_calendar.holidays[day] or "holiday"
            elif day in year_calendar.workdays:
                name = year_calendar.workdays[day] or "adjusted workday"
        else:
            name = FALLBACK_HOLIDAYS.get((day.month, day.day))
        if name is None or lang == "en":
            return name
        return _ZH_NAMES.get(name, name)

    def nth_workday_after(self, day: dt.date, n: int) -> dt.date:
        """Return the ``n``-th working day after ``day`` (``day`` itself is not counted)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        day = _as_date(day)
        counted = 0
        while counted < n:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return day

    def missing_next_year(self, today: dt.date) -> int | None:
        """Return the year to warn administrators about, or None when nothing is missing.

        From 1 December that is next year when only the fallback covers it; at any time of year
        it is the current year when only the fallback covers it (the warning is then overdue).
        """
        today = _as_date(today)
        if self.source_for(today.year) == "fallback":
            return today.year
        if today.month == 12 and self.source_for(today.year + 1) == "fallback":
            return today.year + 1
        return None

    def describe_source(self, year: int) -> str:
        """Return a one-line English note saying where ``year``'s working days come from."""
        source = self.source_for(year)
        if source == "official":
            return f"{year}: official calendar (chinesecalendar)"
        if source == "file":
            where = f" {self.source_name}" if self.source_name else ""
            return f"{year}: administrator's holiday file{where}"
        covered = (
            f"chinesecalendar covers {self._official[0]}–{self._official[1]}"
            if self._official
            else "official data disabled"
        )
        return (
            f"{year}: no official calendar ({covered}) and no holiday file entry; "
            "counted Monday–Friday minus 1 Jan, 1–2 May, 1–3 Oct"
        )


def _as_date(day: dt.date) -> dt.date:
    # A datetime is refused: its .date() depends on its offset, and a UTC instant's date is
    # often not the Shanghai date. Callers convert to the deadline time zone first.
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise TypeError(
            f"expected a date, got {type(day).__name__}; "
            "convert a datetime to the deadline time zone and pass its .date()"
        )
    return day


def _fallback_is_workday(day: dt.date) -> bool:
    return day.weekday() < 5 and (day.month, day.day) not in FALLBACK_HOLIDAYS


# --- the holiday file -------------------------------------------------------------------------


def load_holiday_file(path: str | Path) -> dict[int, YearCalendar]:
    """Read and validate a holiday file; raise HolidayFileError naming the line and entry."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HolidayFileError(f"{path}: cannot read the holiday file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise HolidayFileError(f"{path}: the holiday file is not UTF-8 text") from exc
    return parse_holiday_yaml(text, source=str(path))


def parse_holiday_yaml(text: str, *, source: str = "<holidays>") -> dict[int, YearCalendar]:
    """Validate holiday-file text (see the module docstring) into one YearCalendar per year."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise HolidayFileError(f"{where}: not valid YAML ({problem})") from exc
    if root is None:
        raise HolidayFileError(f"{source}: the holiday file is empty; add a year, e.g. '2027:'")
    reader = _Reader(source)
    if not isinstance(root, yaml.MappingNode):
        raise reader.error(root, "the top level must map years to their days, e.g. '2027:'")
    result: dict[int, YearCalendar] = {}
    for key_node, value_node in root.value:
        year = reader.year(key_node)
        if year in result:
            raise reader.error(key_node, f"year {year} appears twice")
        result[year] = reader.year_calendar(year, value_node)
    return result


class _Reader:
    """Turns YAML nodes into validated values, raising errors that name the line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, node: yaml.Node, message: str) -> HolidayFileError:
        return HolidayFileError(f"{self.source}:{node.start_mark.line + 1}: {message}")

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"{what} must be a single value")
        return str(node.value).strip()

    def year(self, node: yaml.Node) -> int:
        text = self.scalar(node, "a year")
        if not text.isdigit() or not 1900 <= int(text) <= 2200:
            raise self.error(node, f"{text!r} is not a year; write it like '2027:'")
        return int(text)

    def date(self, node: yaml.Node, year: int, what: str) -> dt.date:
        text = self.scalar(node, what)
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise self.error(node, f"{what} {text!r} is not a date; write YYYY-MM-DD") from None
        if day.year != year:
            raise self.error(node, f"{what} {day.isoformat()} is not in {year}")
        return day

    def year_calendar(self, year: int, node: yaml.Node) -> YearCalendar:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{year} must have 'holidays:' (and optionally 'workdays:')")
        sections: dict[str, dict[dt.date, str | None]] = {}
        section_nodes: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, "a section name")
            if key not in ("holidays", "workdays"):
                raise self.error(
                    key_node, f"unknown section {key!r} in {year}; use 'holidays' or 'workdays'"
                )
            if key in sections:
                raise self.error(key_node, f"section {key!r} appears twice in {year}")
            sections[key] = self.entries(year, key, value_node)
            section_nodes[key] = key_node
        if "holidays" not in sections:
            raise self.error(node, f"{year} has no 'holidays:' list")
        holidays = sections["holidays"]
        workdays = sections.get("workdays", {})
        for day in workdays:
            if day in holidays:
                raise self.error(
                    section_nodes["workdays"],
                    f"{day.isoformat()} is listed both as a holiday and as a workday",
                )
        return YearCalendar(year=year, holidays=holidays, workdays=workdays)

    def entries(self, year: int, section: str, node: yaml.Node) -> dict[dt.date, str | None]:
        if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
            if section == "holidays":
                raise self.error(node, f"{year} 'holidays:' is empty; list the days off")
            return {}
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{year} '{section}:' must be a list of dates")
        days: dict[dt.date, str | None] = {}
        for index, item in enumerate(node.value, start=1):
            label = f"{year} {section} entry {index}"
            for day, name in self.entry(year, item, label):
                if day in days:
                    raise self.error(item, f"{label}: {day.isoformat()} is listed twice")
                if section == "workdays" and day.weekday() < 5:
                    raise self.error(
                        item,
                        f"{label}: {day.isoformat()} is a {day:%A}, already a working day; "
                        "list only weekend days that are worked (调休)",
                    )
                days[day] = name
        return days

    def entry(self, year: int, node: yaml.Node, label: str) -> list[tuple[dt.date, str | None]]:
        if isinstance(node, yaml.ScalarNode):
            return [(self.date(node, year, label), None)]
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{label}: write a date or {{date: …, name: …}}")
        fields: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, "a field name")
            if key not in ("date", "from", "to", "name"):
                raise self.error(
                    key_node, f"{label}: unknown field {key!r}; use date, from, to, name"
                )
            fields[key] = value_node
        name = self.scalar(fields["name"], f"{label} name") if "name" in fields else None
        if "date" in fields:
            if "from" in fields or "to" in fields:
                raise self.error(node, f"{label}: give either 'date' or 'from'/'to', not both")
            return [(self.date(fields["date"], year, label), name or None)]
        if "from" not in fields or "to" not in fields:
            raise self.error(node, f"{label}: a range needs both 'from' and 'to'")
        first = self.date(fields["from"], year, f"{label} 'from'")
        last = self.date(fields["to"], year, f"{label} 'to'")
        if last < first:
            raise self.error(node, f"{label}: 'to' {last.isoformat()} is before 'from'")
        count = (last - first).days + 1
        return [(first + dt.timedelta(days=i), name or None) for i in range(count)]
