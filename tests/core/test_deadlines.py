"""Due times: Civil Code counting of working days, wall-clock hours, thresholds and pauses."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.core.deadlines import Due, add_workdays, due_at, shift_due, threshold_times
from bot.core.windows import Window, parse_window
from bot.core.workdays import WorkCalendar, parse_holiday_yaml

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
CALENDAR = WorkCalendar()


def sh(*args: int) -> dt.datetime:
    """Return a datetime in Asia/Shanghai."""
    return dt.datetime(*args, tzinfo=SH)  # type: ignore[misc]


def due(start: dt.datetime, window: str, calendar: WorkCalendar = CALENDAR, **kw: object) -> Due:
    return due_at(start, parse_window(window), calendar=calendar, **kw)  # type: ignore[arg-type]


# --- working-day windows ------------------------------------------------------------------------


def test_brief_example_across_national_day_counts_the_adjusted_saturday() -> None:
    # 30 Sep is the receipt day (not counted); 1-7 Oct off; 8, 9, 10 (Sat, worked), 12, 13 Oct.
    result = due(dt.datetime.fromisoformat("2026-09-30T16:00+08:00"), "5 workdays")
    assert result.at == sh(2026, 10, 13, 18, 0)
    assert result.at.utcoffset() == dt.timedelta(hours=8)
    assert result.fallback is False
    assert result.note == ""
    assert result.sources == ((2026, "official"),)


def test_receipt_at_2359_and_at_0001_differ_by_a_whole_working_day() -> None:
    late = due(sh(2026, 9, 28, 23, 59), "5 workdays")  # Mon: count 29, 30 Sep, 8, 9, 10 Oct
    early = due(sh(2026, 9, 29, 0, 1), "5 workdays")  # Tue: count 30 Sep, 8, 9, 10, 12 Oct
    assert late.at == sh(2026, 10, 10, 18, 0)  # the adjusted Saturday
    assert early.at == sh(2026, 10, 12, 18, 0)


def test_hour_of_receipt_within_the_day_does_not_matter() -> None:
    results = {due(sh(2026, 9, 30, h, m), "1 workday").at for h, m in [(0, 1), (16, 0), (23, 59)]}
    assert results == {sh(2026, 10, 8, 18, 0)}


def test_receipt_during_the_holiday_counts_from_the_first_working_day() -> None:
    assert due(sh(2026, 10, 3, 11, 0), "2 workdays").at == sh(2026, 10, 9, 18, 0)


def test_spring_festival_2026_with_both_adjusted_saturdays() -> None:
    # 14 Feb (Sat) worked, 15-23 Feb off, 28 Feb (Sat) worked.
    assert due(sh(2026, 2, 13, 10, 0), "1 workday").at == sh(2026, 2, 14, 18, 0)
    assert due(sh(2026, 2, 13, 10, 0), "2 workdays").at == sh(2026, 2, 24, 18, 0)
    assert due(sh(2026, 2, 13, 10, 0), "6 workdays").at == sh(2026, 2, 28, 18, 0)
    assert due(sh(2026, 2, 16, 10, 0), "5 workdays").at == sh(2026, 2, 28, 18, 0)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (sh(2026, 11, 7, 10, 0), sh(2026, 11, 9, 18, 0)),  # Saturday
        (sh(2026, 11, 8, 23, 30), sh(2026, 11, 9, 18, 0)),  # Sunday night
        (sh(2026, 11, 6, 17, 0), sh(2026, 11, 9, 18, 0)),  # Friday before close
        (sh(2026, 10, 10, 9, 0), sh(2026, 10, 12, 18, 0)),  # adjusted Saturday is a receipt day
    ],
)
def test_weekend_receipt(start: dt.datetime, expected: dt.datetime) -> None:
    assert due(start, "1 workday").at == expected


def test_receipt_day_is_taken_in_shanghai_not_in_the_input_offset() -> None:
    # 29 Sep 20:00 UTC is 30 Sep 04:00 in Shanghai; 30 Sep 09:30 -04:00 is 30 Sep 21:30 there.
    for text in ("2026-09-29T20:00+00:00", "2026-09-30T09:30-04:00"):
        result = due(dt.datetime.fromisoformat(text), "5 workdays")
        assert result.at == sh(2026, 10, 13, 18, 0)
        assert result.start.tzinfo == SH


def test_close_of_business_and_time_zone_are_configurable() -> None:
    result = due(
        sh(2026, 11, 9, 10, 0), "1 workday", close_of_business=dt.time(17, 30), tz="Asia/Shanghai"
    )
    assert result.at == sh(2026, 11, 10, 17, 30)
    urumqi = ZoneInfo("Asia/Urumqi")
    result = due(sh(2026, 11, 9, 10, 0), "1 workday", tz=urumqi)
    assert result.at == dt.datetime(2026, 11, 10, 18, 0, tzinfo=urumqi)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(dt.datetime(2026, 9, 30, 16, 0), Window(5, "workdays"), calendar=CALENDAR)  # noqa: DTZ001


# --- hour windows -------------------------------------------------------------------------------


def test_hour_windows_ignore_holidays() -> None:
    result = due(sh(2026, 9, 30, 16, 0), "48h")
    assert result.at == sh(2026, 10, 2, 16, 0)
    assert result.fallback is False


def test_hour_window_from_another_offset_is_reported_in_shanghai() -> None:
    result = due(dt.datetime.fromisoformat("2026-09-30T08:00Z"), "24h")
    assert result.at == sh(2026, 10, 1, 16, 0)
    assert result.at.tzinfo == SH


def test_hour_window_counts_elapsed_hours_across_a_foreign_dst_change() -> None:
    start = dt.datetime(2026, 10, 31, 12, 0, tzinfo=NY)  # EDT; clocks go back on 1 Nov 02:00
    assert due(start, "24h").at == sh(2026, 11, 2, 0, 0)
    in_new_york = due(start, "24h", tz=NY).at
    assert in_new_york == dt.datetime(2026, 11, 1, 11, 0, tzinfo=NY)  # 24 h, 23 on the wall
    assert in_new_york.utcoffset() == dt.timedelta(hours=-5)


def test_shanghai_has_no_dst_so_hours_are_plain_clock_hours() -> None:
    start = sh(2026, 3, 1, 9, 0)
    assert due(start, "2160h").at == sh(2026, 5, 30, 9, 0)  # 90 days later, same clock time


# --- the year end and the fallback ----------------------------------------------------------------


def test_2027_uses_the_fallback_and_says_so() -> None:
    # 31 Dec 2026, then 1 Jan 2027 off in the fallback; 4, 5, 6, 7 Jan.
    result = due(sh(2026, 12, 30, 16, 0), "5 workdays")
    assert result.at == sh(2027, 1, 7, 18, 0)
    assert result.fallback is True
    assert "2027" in result.note and "Monday–Friday" in result.note
    assert result.sources == ((2026, "official"), (2027, "fallback"))


def test_window_ending_in_2026_is_not_flagged_even_without_2027() -> None:
    result = due(sh(2026, 12, 21, 16, 0), "5 workdays")
    assert result.at == sh(2026, 12, 28, 18, 0)
    assert result.fallback is False


def test_2027_from_a_holiday_file() -> None:
    calendar = WorkCalendar(
        parse_holiday_yaml("2027:\n  holidays: [{from: 2027-01-01, to: 2027-01-04}]\n").values(),
        source_name="holidays.yaml",
    )
    result = due(sh(2026, 12, 30, 16, 0), "5 workdays", calendar=calendar)
    assert result.at == sh(2027, 1, 8, 18, 0)  # 4 Jan is a holiday in the file
    assert result.fallback is False
    assert "holidays.yaml" in result.note


def test_add_workdays_for_escalation_one_working_day_after_overdue() -> None:
    overdue = sh(2026, 9, 30, 18, 0)
    escalate = add_workdays(overdue, 1, calendar=CALENDAR)
    assert escalate.at == sh(2026, 10, 8, 18, 0)
    assert escalate.window == Window(1, "workdays")
    late = add_workdays(sh(2026, 12, 31, 18, 0), 1, calendar=CALENDAR)
    assert late.at == sh(2027, 1, 4, 18, 0)
    assert late.fallback is True


# --- reminder thresholds ------------------------------------------------------------------------


def test_thresholds_of_a_working_day_window_are_in_working_time() -> None:
    start = sh(2026, 9, 30, 16, 0)
    result = due(start, "5 workdays")  # 5 x 9 working hours on 8, 9, 10, 12, 13 Oct
    half, most = threshold_times(start, result, calendar=CALENDAR)
    assert half == sh(2026, 10, 10, 13, 30)  # 22.5 h: two full days and 4.5 h of the Saturday
    assert most == sh(2026, 10, 12, 18, 0)  # 36 h: exactly four working days
    assert threshold_times(start, result, (1.0,), calendar=CALENDAR) == (result.at,)


def test_thresholds_of_one_working_day() -> None:
    start = sh(2026, 11, 9, 10, 0)
    result = due(start, "1 workday")
    assert threshold_times(start, result, calendar=CALENDAR) == (
        sh(2026, 11, 10, 13, 30),
        sh(2026, 11, 10, 16, 12),
    )
    assert threshold_times(
        start, result, (0.5,), calendar=CALENDAR, open_of_business=dt.time(8, 0)
    ) == (sh(2026, 11, 10, 13, 0),)


def test_working_day_thresholds_never_fall_outside_working_hours() -> None:
    start = sh(2026, 1, 1, 10, 0)
    while start.year == 2026:
        result = due(start, "3 workdays")
        for moment in threshold_times(start, result, (0.2, 0.5, 0.8), calendar=CALENDAR):
            assert CALENDAR.is_workday(moment.date()), (start, moment)
            assert dt.time(9, 0) <= moment.time() <= dt.time(18, 0), (start, moment)
            assert start < moment <= result.at
        start += dt.timedelta(days=1)


def test_thresholds_of_an_hour_window_are_wall_clock() -> None:
    start = sh(2026, 9, 30, 8, 0)
    result = due(start, "10h")
    assert threshold_times(start, result) == (sh(2026, 9, 30, 13, 0), sh(2026, 9, 30, 16, 0))


def test_thresholds_between_plain_datetimes_are_wall_clock() -> None:
    start = dt.datetime.fromisoformat("2026-09-30T00:00Z")
    end = sh(2026, 10, 1, 8, 0)  # 24 h after start
    assert threshold_times(start, end, (0.25,)) == (sh(2026, 9, 30, 14, 0),)


def test_threshold_arguments_are_checked() -> None:
    start = sh(2026, 9, 30, 16, 0)
    result = due(start, "5 workdays")
    with pytest.raises(ValueError, match="needs calendar="):
        threshold_times(start, result)
    with pytest.raises(ValueError, match="greater than 0 and at most 1"):
        threshold_times(start, result, (0.5, 1.5), calendar=CALENDAR)
    with pytest.raises(ValueError, match="is before start"):
        threshold_times(result.at, start)
    with pytest.raises(ValueError, match="must be before close of business"):
        threshold_times(start, result, calendar=CALENDAR, open_of_business=dt.time(19, 0))


# --- pauses (returned to dispatch) ----------------------------------------------------------------


def test_pause_extends_a_working_day_window_by_the_working_time_lost() -> None:
    result = due(sh(2026, 9, 30, 16, 0), "5 workdays")
    shifted = shift_due(result, [(sh(2026, 10, 8, 12, 0), sh(2026, 10, 9, 12, 0))], CALENDAR)
    assert shifted.at == sh(2026, 10, 14, 18, 0)
    assert shifted.paused == dt.timedelta(hours=9)
    assert shifted.start == result.start and shifted.window == result.window


def test_pause_on_receipt_day_or_in_a_holiday_or_after_due_changes_nothing() -> None:
    result = due(sh(2026, 9, 30, 10, 0), "5 workdays")
    quiet = [
        (sh(2026, 9, 30, 11, 0), sh(2026, 9, 30, 17, 0)),  # the receipt day is not counted
        (sh(2026, 10, 2, 9, 0), sh(2026, 10, 6, 18, 0)),  # National Day
        (sh(2026, 10, 13, 18, 0), sh(2026, 10, 20, 9, 0)),  # returned once already overdue
    ]
    shifted = shift_due(result, quiet, CALENDAR)
    assert shifted.at == result.at
    assert shifted.paused == dt.timedelta(0)


def test_overlapping_pauses_are_merged() -> None:
    result = due(sh(2026, 9, 30, 16, 0), "5 workdays")
    pauses = [
        (sh(2026, 10, 9, 10, 0), sh(2026, 10, 9, 15, 0)),
        (sh(2026, 10, 8, 12, 0), sh(2026, 10, 9, 12, 0)),
    ]
    shifted = shift_due(result, pauses, CALENDAR)
    assert shifted.paused == dt.timedelta(hours=12)  # 8 Oct 12-18, 9 Oct 9-15
    assert shifted.at == sh(2026, 10, 15, 12, 0)  # 42 working hours left, from 9 Oct 15:00


def test_a_pause_overlapping_the_latest_of_several_is_merged_with_it() -> None:
    result = due(sh(2026, 9, 30, 16, 0), "24h")
    pauses = [
        (sh(2026, 10, 1, 9, 0), sh(2026, 10, 1, 10, 0)),
        (sh(2026, 10, 1, 11, 0), sh(2026, 10, 1, 12, 0)),
        (sh(2026, 10, 1, 11, 30), sh(2026, 10, 1, 12, 30)),  # overlaps the second, not the first
    ]
    shifted = shift_due(result, pauses, CALENDAR)
    assert shifted.paused == dt.timedelta(hours=2, minutes=30)
    assert shifted.at == sh(2026, 10, 1, 18, 30)
    inside = [*pauses[:1], (sh(2026, 10, 1, 11, 0), sh(2026, 10, 1, 13, 0)), pauses[2]]
    shifted = shift_due(result, inside, CALENDAR)  # the third lies inside the second
    assert shifted.paused == dt.timedelta(hours=3)
    assert shifted.at == sh(2026, 10, 1, 19, 0)


def test_a_window_over_two_uncovered_years_names_both() -> None:
    result = due(sh(2027, 12, 28, 10, 0), "5 workdays")
    assert [year for year, _ in result.sources] == [2027, 2028]
    assert result.note == "; ".join(CALENDAR.describe_source(year) for year in (2027, 2028))


def test_pause_into_an_uncovered_year_flags_the_fallback() -> None:
    result = due(sh(2026, 12, 21, 16, 0), "5 workdays")
    assert result.fallback is False
    shifted = shift_due(result, [(sh(2026, 12, 28, 9, 0), sh(2027, 1, 4, 9, 0))], CALENDAR)
    assert shifted.at == sh(2027, 1, 4, 18, 0)
    assert shifted.fallback is True
    assert "2027" in shifted.note


def test_pause_extends_an_hour_window_by_wall_time() -> None:
    result = due(sh(2026, 9, 30, 16, 0), "24h")
    pauses = [
        (sh(2026, 9, 30, 15, 0), sh(2026, 9, 30, 17, 0)),  # one hour after receipt counts
        (sh(2026, 10, 1, 12, 0), sh(2026, 10, 1, 14, 30)),
        (sh(2026, 10, 1, 19, 30), sh(2026, 10, 1, 20, 0)),  # at the extended due: overdue
    ]
    shifted = shift_due(result, pauses, CALENDAR)
    assert shifted.at == sh(2026, 10, 1, 19, 30)
    assert shifted.paused == dt.timedelta(hours=3, minutes=30)


def test_bad_pauses_are_refused() -> None:
    result = due(sh(2026, 9, 30, 16, 0), "24h")
    with pytest.raises(ValueError, match="pause 1 ends"):
        shift_due(result, [(sh(2026, 10, 1, 12, 0), sh(2026, 10, 1, 11, 0))], CALENDAR)
    naive = dt.datetime(2026, 10, 1, 12, 0)  # noqa: DTZ001
    with pytest.raises(ValueError, match="pause 1 start must be timezone-aware"):
        shift_due(result, [(naive, sh(2026, 10, 1, 13, 0))], CALENDAR)


def test_shifting_again_with_the_same_pauses_changes_nothing() -> None:
    result = due(sh(2026, 9, 30, 16, 0), "5 workdays")
    first = [(sh(2026, 10, 8, 12, 0), sh(2026, 10, 9, 12, 0))]
    both = [*first, (sh(2026, 10, 12, 9, 0), sh(2026, 10, 12, 18, 0))]
    once = shift_due(result, first, CALENDAR)
    assert shift_due(once, first, CALENDAR) == once
    assert shift_due(once, both, CALENDAR) == shift_due(result, both, CALENDAR)
    assert shift_due(result, both, CALENDAR).at == sh(2026, 10, 15, 18, 0)
    assert shift_due(result, both, CALENDAR).paused == dt.timedelta(hours=18)
    hourly = due(sh(2026, 9, 30, 16, 0), "24h")
    pause = [(sh(2026, 10, 1, 9, 0), sh(2026, 10, 1, 10, 0))]
    assert shift_due(shift_due(hourly, pause, CALENDAR), pause, CALENDAR).at == sh(2026, 10, 1, 17)


def test_thresholds_skip_paused_time() -> None:
    start = sh(2026, 11, 9, 10, 0)  # Monday; 1 working day = Tuesday 09:00-18:00
    pauses = [(sh(2026, 11, 10, 9, 0), sh(2026, 11, 10, 11, 0))]
    shifted = shift_due(due(start, "1 workday"), pauses, CALENDAR)
    assert shifted.at == sh(2026, 11, 11, 11, 0)
    assert threshold_times(start, shifted, calendar=CALENDAR, paused_intervals=pauses) == (
        sh(2026, 11, 10, 15, 30),
        sh(2026, 11, 11, 9, 12),
    )
    hourly = shift_due(due(start, "10h"), pauses, CALENDAR)
    assert hourly.at == sh(2026, 11, 9, 20, 0)  # the pause began after the due: no change
    early = [(sh(2026, 11, 9, 11, 0), sh(2026, 11, 9, 13, 0))]
    hourly = shift_due(due(start, "10h"), early, CALENDAR)
    assert hourly.at == sh(2026, 11, 9, 22, 0)
    assert threshold_times(start, hourly, (0.5,), paused_intervals=early) == (
        sh(2026, 11, 9, 17, 0),
    )


def test_shifted_due_never_moves_earlier_and_keeps_the_window_time() -> None:
    start = sh(2026, 9, 25, 11, 0)
    result = due(start, "3 workdays")
    for offset_hours in range(0, 24 * 20, 7):
        begin = start + dt.timedelta(hours=offset_hours)
        pauses = [(begin, begin + dt.timedelta(hours=31))]
        shifted = shift_due(result, pauses, CALENDAR)
        assert shifted.at >= result.at
        assert CALENDAR.is_workday(shifted.at.date())
        (full,) = threshold_times(
            start, shifted, (1.0,), calendar=CALENDAR, paused_intervals=pauses
        )
        assert full == shifted.at


# --- every door checks its inputs -------------------------------------------------------------


def test_each_input_is_checked_with_a_message_naming_it() -> None:
    start = sh(2026, 9, 30, 16, 0)
    naive = dt.datetime(2026, 9, 30, 16, 0)  # noqa: DTZ001
    # A tzinfo that gives no offset is as naive as none.
    offsetless = naive.replace(tzinfo=_NoOffset())
    for bad in (naive, offsetless):
        with pytest.raises(ValueError, match="moment must be timezone-aware"):
            add_workdays(bad, 1, calendar=CALENDAR)
        with pytest.raises(ValueError, match="start must be timezone-aware"):
            due_at(bad, Window(2, "hours"), calendar=CALENDAR)
        with pytest.raises(ValueError, match="due must be timezone-aware"):
            threshold_times(start, bad)
        with pytest.raises(ValueError, match="pause 1 start must be timezone-aware"):
            shift_due(due(start, "1 workday"), [(bad, start)], CALENDAR)
        with pytest.raises(ValueError, match="pause 1 end must be timezone-aware"):
            shift_due(due(start, "1 workday"), [(start, bad)], CALENDAR)
    with pytest.raises(TypeError, match="moment must be a datetime, got date"):
        add_workdays(dt.date(2026, 9, 30), 1, calendar=CALENDAR)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="days must be at least 1, got 0"):
        add_workdays(start, 0, calendar=CALENDAR)
    assert add_workdays(start, 1, calendar=CALENDAR).at == sh(2026, 10, 8, 18, 0)  # after 国庆
    local = dt.time(18, 0, tzinfo=SH)
    with pytest.raises(ValueError, match="close of business is a local time"):
        add_workdays(start, 1, calendar=CALENDAR, close_of_business=local)
    result = due(start, "5 workdays")
    with pytest.raises(ValueError, match="business hours are local times"):
        threshold_times(start, result, calendar=CALENDAR, open_of_business=local)
    zoned_close = dataclasses.replace(result, close_of_business=local)
    with pytest.raises(ValueError, match="business hours are local times"):
        threshold_times(start, zoned_close, calendar=CALENDAR)
    with pytest.raises(ValueError, match="opening time 18:00 must be before close of business"):
        threshold_times(start, result, calendar=CALENDAR, open_of_business=dt.time(18, 0))


class _NoOffset(dt.tzinfo):
    """A time zone that does not know its offset."""

    def utcoffset(self, _: dt.datetime | None) -> None:
        return None


def test_a_pause_inside_another_adds_nothing() -> None:
    result = due(sh(2026, 9, 30, 16, 0), "5 workdays")
    outer = (sh(2026, 10, 8, 9, 0), sh(2026, 10, 8, 18, 0))  # the whole of 8 Oct
    inner = (sh(2026, 10, 8, 10, 0), sh(2026, 10, 8, 11, 0))
    for pauses in ([outer, inner], [inner, outer], [outer, outer]):
        shifted = shift_due(result, pauses, CALENDAR)
        assert shifted.paused == dt.timedelta(hours=9)
        assert shifted.at == shift_due(result, [outer], CALENDAR).at


def test_the_calendar_years_counted_start_the_day_after_receipt() -> None:
    # Received on New Year's Day: only that year's calendar is used, not the year before.
    result = add_workdays(sh(2026, 1, 1, 10, 0), 1, calendar=CALENDAR)
    assert result.sources == ((2026, "official"),)
    assert result.at == sh(2026, 1, 4, 18, 0)  # 元旦 1-3 Jan; Sunday the 4th is worked
    # Received on New Year's Eve: the days counted are all in the new year.
    result = add_workdays(sh(2025, 12, 31, 10, 0), 1, calendar=CALENDAR)
    assert result.sources == ((2026, "official"),) and result.at == sh(2026, 1, 4, 18, 0)


def test_an_empty_pause_is_accepted_and_changes_nothing() -> None:
    result = due(sh(2026, 9, 30, 16, 0), "5 workdays")
    instant = sh(2026, 10, 8, 12, 0)
    shifted = shift_due(result, [(instant, instant)], CALENDAR)
    assert shifted.at == result.at and shifted.paused == dt.timedelta(0)
