"""China's working-day calendar: official data, the holiday file and the fallback."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import chinese_calendar
import pytest

from bot.core import workdays
from bot.core.workdays import (
    HolidayFileError,
    WorkCalendar,
    YearCalendar,
    load_holiday_file,
    parse_holiday_yaml,
)

D = dt.date

HOLIDAYS_2027 = """\
2027:
  holidays:
    - 2027-01-01
    - {from: 2027-02-06, to: 2027-02-12, name: 春节}
    - {date: 2027-10-04, name: National Day}
  workdays:
    - 2027-02-13
"""


def test_2026_facts_used_by_these_tests_come_from_chinesecalendar() -> None:
    """The adjusted Saturdays and holidays the tests rely on are the package's own 2026 data."""
    assert chinese_calendar.is_workday(D(2026, 10, 10))  # Saturday worked for National Day
    assert chinese_calendar.is_workday(D(2026, 2, 14))  # Saturday worked for Spring Festival
    assert chinese_calendar.is_workday(D(2026, 2, 28))
    assert not any(chinese_calendar.is_workday(D(2026, 10, day)) for day in range(1, 8))
    assert not any(chinese_calendar.is_workday(D(2026, 2, day)) for day in range(15, 24))


def test_official_year_follows_adjusted_workdays_and_holidays() -> None:
    calendar = WorkCalendar()
    assert calendar.source_for(2026) == "official"
    assert calendar.is_workday(D(2026, 10, 10))  # a Saturday
    assert not calendar.is_workday(D(2026, 10, 5))  # a Monday inside National Day
    assert not calendar.is_workday(D(2026, 11, 7))  # an ordinary Saturday
    with pytest.raises(TypeError, match="convert a datetime"):  # its date depends on its offset
        calendar.is_workday(dt.datetime(2026, 11, 9, 23, 0, tzinfo=dt.UTC))
    assert calendar.holiday_name(D(2026, 10, 1)) == "National Day"
    assert calendar.holiday_name(D(2026, 10, 1), lang="zh") == "国庆节"
    assert calendar.holiday_name(D(2026, 2, 14), lang="zh") == "春节"  # the worked Saturday
    assert calendar.holiday_name(D(2026, 11, 9)) is None


def test_nth_workday_after_skips_spring_festival_and_counts_adjusted_saturdays() -> None:
    calendar = WorkCalendar()
    assert calendar.nth_workday_after(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert calendar.nth_workday_after(D(2026, 2, 14), 1) == D(2026, 2, 24)
    assert calendar.nth_workday_after(D(2026, 2, 13), 6) == D(2026, 2, 28)
    with pytest.raises(ValueError, match="at least 1"):
        calendar.nth_workday_after(D(2026, 2, 13), 0)


@pytest.mark.parametrize("year", [2027, 2030, 2003])
def test_uncovered_year_never_raises_and_uses_the_fallback(year: int) -> None:
    calendar = WorkCalendar()
    assert calendar.source_for(year) == "fallback"
    new_year = D(year, 1, 1)
    assert not calendar.is_workday(new_year)
    assert calendar.holiday_name(new_year) == "New Year's Day"
    assert calendar.holiday_name(D(year, 10, 2), lang="zh") == "国庆节"
    for day in (D(year, 5, 1), D(year, 5, 2), D(year, 10, 1), D(year, 10, 2), D(year, 10, 3)):
        assert not calendar.is_workday(day)
    # every other Monday-Friday is a working day, every weekend day is not
    day = D(year, 3, 1)
    while day.month == 3:
        assert calendar.is_workday(day) == (day.weekday() < 5)
        day += dt.timedelta(days=1)
    assert "no official calendar" in calendar.describe_source(year)


def test_fallback_2027_knows_nothing_of_the_spring_festival() -> None:
    """The fallback is honest about what it is: 2027-02-08 (a Monday in the festival) is worked."""
    assert WorkCalendar().is_workday(D(2027, 2, 8))


def test_holiday_file_supplies_an_uncovered_year() -> None:
    calendar = WorkCalendar(parse_holiday_yaml(HOLIDAYS_2027).values(), source_name="h.yaml")
    assert calendar.source_for(2027) == "file"
    assert calendar.source_for(2028) == "fallback"
    assert not calendar.is_workday(D(2027, 2, 8))
    assert calendar.is_workday(D(2027, 2, 13))  # adjusted Saturday
    assert not calendar.is_workday(D(2027, 2, 14))  # ordinary Sunday
    assert not calendar.is_workday(D(2027, 10, 4))
    assert calendar.is_workday(D(2027, 10, 1))  # the file, not the fallback, decides 2027
    assert calendar.holiday_name(D(2027, 2, 9)) == "春节"
    assert calendar.holiday_name(D(2027, 1, 1)) == "holiday"
    assert calendar.holiday_name(D(2027, 2, 13)) == "adjusted workday"
    assert calendar.holiday_name(D(2027, 10, 4), lang="zh") == "国庆节"
    assert "h.yaml" in calendar.describe_source(2027)


def test_file_cannot_override_an_official_year() -> None:
    calendar = WorkCalendar([YearCalendar(year=2026, holidays={D(2026, 11, 9): "made up"})])
    assert calendar.shadowed_years == (2026,)
    assert calendar.source_for(2026) == "official"
    assert calendar.is_workday(D(2026, 11, 9))


def test_official_data_can_be_switched_off() -> None:
    calendar = WorkCalendar(use_official=False)
    assert calendar.official_range is None
    assert calendar.source_for(2026) == "fallback"
    assert calendar.is_workday(D(2026, 10, 5))
    assert "official data disabled" in calendar.describe_source(2026)


def test_official_range_matches_the_installed_package() -> None:
    first, last = WorkCalendar().official_range or (0, 0)
    assert first == 2004
    assert last >= 2026


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 11, 30), None),
        (D(2026, 12, 1), 2027),
        (D(2026, 12, 31), 2027),
        (D(2025, 12, 1), None),  # 2026 is published
        (D(2027, 1, 5), 2027),  # still missing after new year: keep warning
        (D(2027, 7, 1), 2027),
    ],
)
def test_missing_next_year_warns_from_first_december(today: dt.date, expected: int | None) -> None:
    assert WorkCalendar().missing_next_year(today) == expected


def test_missing_next_year_is_quiet_once_a_file_supplies_the_year() -> None:
    calendar = WorkCalendar(parse_holiday_yaml(HOLIDAYS_2027).values())
    assert calendar.missing_next_year(D(2026, 12, 1)) is None
    assert calendar.missing_next_year(D(2027, 6, 1)) is None
    assert calendar.missing_next_year(D(2027, 12, 1)) == 2028


def test_documented_example_in_the_module_docstring_is_valid() -> None:
    doc = workdays.__doc__ or ""
    block = doc.split("::", 1)[1].split("\n\n", 2)[1]
    parsed = parse_holiday_yaml(textwrap.dedent(block))
    year = parsed[2027]
    assert D(2027, 2, 6) in year.holidays and D(2027, 2, 12) in year.holidays
    assert year.holidays[D(2027, 4, 5)] == "清明节"
    assert set(year.workdays) == {D(2027, 2, 13), D(2027, 9, 26)}


def test_load_holiday_file_reads_utf8(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    assert WorkCalendar.from_file(path).source_for(2027) == "file"
    assert WorkCalendar.from_file(None).source_for(2027) == "fallback"


def test_empty_workdays_section_is_allowed() -> None:
    parsed = parse_holiday_yaml("2027:\n  holidays: [2027-01-01]\n  workdays:\n")
    assert parsed[2027].workdays == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027: [", r"h\.yaml:1: not valid YAML"),
        ("", r"h\.yaml: the holiday file is empty"),
        ("- 2027-01-01\n", r"h\.yaml:1: the top level must map years"),
        ("next:\n  holidays: [2027-01-01]\n", r"h\.yaml:1: 'next' is not a year"),
        ("2027:\n  workdays: [2027-02-13]\n", r"h\.yaml:2: 2027 has no 'holidays:' list"),
        ("2027: [2027-01-01]\n", r"h\.yaml:1: 2027 must have 'holidays:'"),
        (
            "2027:\n  holidays: [2027-01-01]\n  holiday: [2027-01-02]\n",
            r"h\.yaml:3: unknown section 'holiday' in 2027",
        ),
        (
            "2027:\n  holidays:\n    - 2027-01-01\n    - 2027-02-30\n",
            r"h\.yaml:4: 2027 holidays entry 2 '2027-02-30' is not a date; write YYYY-MM-DD",
        ),
        (
            "2027:\n  holidays:\n    - 2028-01-01\n",
            r"h\.yaml:3: 2027 holidays entry 1 2028-01-01 is not in 2027",
        ),
        (
            "2027:\n  holidays: [2027-01-01]\n  workdays:\n    - 2027-02-15\n",
            r"h\.yaml:4: 2027 workdays entry 1: 2027-02-15 is a Monday, already a working day",
        ),
        (
            "2027:\n  holidays: [2027-02-13]\n  workdays: [2027-02-13]\n",
            r"h\.yaml:3: 2027-02-13 is listed both as a holiday and as a workday",
        ),
        (
            "2027:\n  holidays:\n    - {from: 2027-02-12, to: 2027-02-06}\n",
            r"h\.yaml:3: 2027 holidays entry 1: 'to' 2027-02-06 is before 'from'",
        ),
        (
            "2027:\n  holidays:\n    - {from: 2027-02-06}\n",
            r"h\.yaml:3: 2027 holidays entry 1: a range needs both 'from' and 'to'",
        ),
        (
            "2027:\n  holidays:\n    - {date: 2027-01-01, from: 2027-01-01, to: 2027-01-02}\n",
            r"h\.yaml:3: .*either 'date' or 'from'/'to'",
        ),
        (
            "2027:\n  holidays:\n    - {day: 2027-01-01}\n",
            r"h\.yaml:3: 2027 holidays entry 1: unknown field 'day'",
        ),
        (
            "2027:\n  holidays:\n    - 2027-01-01\n    - {from: 2027-01-01, to: 2027-01-02}\n",
            r"h\.yaml:4: 2027 holidays entry 2: 2027-01-01 is listed twice",
        ),
        (
            "2027:\n  holidays: [2027-01-01]\n2027:\n  holidays: [2027-01-02]\n",
            r"h\.yaml:3: year 2027 appears twice",
        ),
        ("2027:\n  holidays:\n", r"h\.yaml:2: 2027 'holidays:' is empty"),
        ("2027:\n  holidays: 2027-01-01\n", r"h\.yaml:2: 2027 'holidays:' must be a list"),
        ("2027:\n  holidays:\n    - [2027-01-01]\n", r"h\.yaml:3: 2027 holidays entry 1: write"),
    ],
)
def test_malformed_holiday_file_names_line_and_entry(text: str, message: str) -> None:
    with pytest.raises(HolidayFileError, match=message):
        parse_holiday_yaml(text, source="h.yaml")


def test_holiday_file_errors_are_value_errors_and_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ValueError, match="missing.yaml: cannot read the holiday file"):
        load_holiday_file(missing)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(HolidayFileError, match="binary.yaml: the holiday file is not UTF-8"):
        load_holiday_file(binary)
    bad = tmp_path / "bad.yaml"
    bad.write_text("2027:\n  holidays:\n    - 2027-13-01\n", encoding="utf-8")
    with pytest.raises(HolidayFileError, match=r"bad\.yaml:3: 2027 holidays entry 1"):
        WorkCalendar.from_file(bad)
