"""Due times of reports: China's working days counted like the Civil Code, or wall-clock hours.

Rules (DESIGN.md decision 5):

- **Working-day windows** ("5 workdays") count like the Civil Code, arts. 201–203: the day of
  receipt is not counted, whatever the hour; the window ends at close of business (default
  18:00) of the N-th working day after it, in the deadline time zone (default Asia/Shanghai).
- **Hour windows** ("48h") are elapsed wall-clock hours from the receipt instant (computed in UTC,
  so a daylight-saving change elsewhere never adds or removes an hour).

*Working time*, used for reminder thresholds and pauses of working-day windows, is the business
hours (``open_of_business``–``close_of_business``, default 09:00–18:00) of working days after the
day of receipt. A window of N working days therefore holds N × 9 working hours, and a reminder at
50 % never falls on a weekend or a holiday. Hour windows measure everything in wall-clock time.

All functions are pure: datetimes must be timezone-aware, nothing reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from bot.core.windows import Window
from bot.core.workdays import CalendarSource, WorkCalendar

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_CLOSE_OF_BUSINESS = dt.time(18, 0)
DEFAULT_OPEN_OF_BUSINESS = dt.time(9, 0)

_UTC = dt.UTC
_ZERO = dt.timedelta(0)


@dataclass(frozen=True, slots=True)
class Due:
    """A computed due time and how it was computed."""

    at: dt.datetime
    """The due instant, aware, in the deadline time zone."""
    start: dt.datetime
    """The receipt instant the window was counted from, in the deadline time zone."""
    window: Window
    tz: ZoneInfo
    close_of_business: dt.time = DEFAULT_CLOSE_OF_BUSINESS
    fallback: bool = False
    """True when some counted day came from the Monday–Friday fallback calendar."""
    note: str = ""
    """Empty for official data; otherwise says which years came from a file or the fallback."""
    sources: tuple[tuple[int, CalendarSource], ...] = ()
    """Each year whose days were counted, with where its calendar came from."""
    paused: dt.timedelta = _ZERO
    """Time added by pauses (working time for working-day windows, wall time for hours)."""


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _require_aware(value: dt.datetime, what: str) -> None:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {value.isoformat()})")


def _check_business_hours(open_of_business: dt.time, close_of_business: dt.time) -> None:
    if close_of_business.tzinfo is not None or open_of_business.tzinfo is not None:
        raise ValueError("business hours are local times; give them without a time zone")
    if not open_of_business < close_of_business:
        raise ValueError(
            f"opening time {open_of_business:%H:%M} must be before "
            f"close of business {close_of_business:%H:%M}"
        )


def _sources(
    calendar: WorkCalendar, first: dt.date, last: dt.date
) -> tuple[tuple[tuple[int, CalendarSource], ...], bool, str]:
    """Return the per-year sources for days ``first``..``last``, the fallback flag and a note."""
    years = range(first.year, max(first.year, last.year) + 1)
    sources = tuple((year, calendar.source_for(year)) for year in years)
    notes = [calendar.describe_source(year) for year, source in sources if source != "official"]
    fallback = any(source == "fallback" for _, source in sources)
    return sources, fallback, "; ".join(notes)


def add_workdays(
    moment: dt.datetime,
    days: int,
    *,
    calendar: WorkCalendar,
    tz: str | ZoneInfo = DEFAULT_TZ,
    close_of_business: dt.time = DEFAULT_CLOSE_OF_BUSINESS,
) -> Due:
    """Return close of business of the ``days``-th working day after ``moment``'s local day."""
    _require_aware(moment, "moment")
    if close_of_business.tzinfo is not None:
        raise ValueError("close of business is a local time; give it without a time zone")
    zone = _zone(tz)
    local = moment.astimezone(zone)
    receipt_day = local.date()
    last_day = calendar.nth_workday_after(receipt_day, days)
    at = dt.datetime.combine(last_day, close_of_business, tzinfo=zone)
    sources, fallback, note = _sources(calendar, receipt_day + dt.timedelta(days=1), last_day)
    return Due(
        at=at,
        start=local,
        window=Window(amount=days, unit="workdays"),
        tz=zone,
        close_of_business=close_of_business,
        fallback=fallback,
        note=note,
        sources=sources,
    )


def due_at(
    start: dt.datetime,
    window: Window,
    *,
    calendar: WorkCalendar,
    tz: str | ZoneInfo = DEFAULT_TZ,
    close_of_business: dt.time = DEFAULT_CLOSE_OF_BUSINESS,
) -> Due:
    """Return when a window that starts at ``start`` (the receipt instant) runs out."""
    _require_aware(start, "start")
    if window.unit == "workdays":
        return add_workdays(
            start, window.amount, calendar=calendar, tz=tz, close_of_business=close_of_business
        )
    zone = _zone(tz)
    at = (start.astimezone(_UTC) + dt.timedelta(hours=window.amount)).astimezone(zone)
    return Due(
        at=at,
        start=start.astimezone(zone),
        window=window,
        tz=zone,
        close_of_business=close_of_business,
    )


# --- working time -------------------------------------------------------------------------------


class _WorkingTime:
    """Business hours on working days after a receipt day, in one time zone."""

    def __init__(
        self,
        calendar: WorkCalendar,
        zone: ZoneInfo,
        receipt_day: dt.date,
        open_of_business: dt.time,
        close_of_business: dt.time,
    ) -> None:
        _check_business_hours(open_of_business, close_of_business)
        self.calendar = calendar
        self.zone = zone
        self.receipt_day = receipt_day
        self.opening = open_of_business
        self.closing = close_of_business

    def _segments_from(self, moment: dt.datetime) -> Iterable[tuple[dt.datetime, dt.datetime]]:
        """Yield business-hour segments on counted working days, clipped to start at ``moment``."""
        day = max(moment.astimezone(self.zone).date(), self.receipt_day + dt.timedelta(days=1))
        while True:
            if self.calendar.is_workday(day):
                opening = dt.datetime.combine(day, self.opening, tzinfo=self.zone)
                closing = dt.datetime.combine(day, self.closing, tzinfo=self.zone)
                if closing > moment:
                    yield max(opening, moment), closing
            day += dt.timedelta(days=1)

    def between(self, begin: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Return the working time from ``begin`` to ``end`` (zero when end <= begin)."""
        total = _ZERO
        if end <= begin:
            return total
        for seg_start, seg_end in self._segments_from(begin):
            if seg_start >= end:
                break
            total += min(seg_end, end) - seg_start
        return total

    def advance(self, begin: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """Return the earliest instant at which ``amount`` of working time has passed."""
        if amount <= _ZERO:
            return begin.astimezone(self.zone)
        remaining = amount
        for seg_start, seg_end in self._segments_from(begin):
            length = seg_end - seg_start
            if remaining <= length:
                return seg_start + remaining
            remaining -= length
        raise AssertionError("unreachable: the segment generator is infinite")


def threshold_times(
    start: dt.datetime,
    due: Due | dt.datetime,
    fractions: Sequence[float] = (0.5, 0.8),
    *,
    calendar: WorkCalendar | None = None,
    open_of_business: dt.time = DEFAULT_OPEN_OF_BUSINESS,
) -> tuple[dt.datetime, ...]:
    """Return the instants at which each fraction of the window from ``start`` to ``due`` elapsed.

    For a ``Due`` of a working-day window the fraction is of working time (business hours of
    working days after the day of receipt; ``calendar`` is then required), so reminders never fall
    on a holiday. For an hour window or a plain datetime it is the wall-clock fraction.
    """
    _require_aware(start, "start")
    due_instant = due.at if isinstance(due, Due) else due
    _require_aware(due_instant, "due")
    if due_instant < start:
        raise ValueError(f"due {due_instant.isoformat()} is before start {start.isoformat()}")
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction {fraction!r} must be greater than 0 and at most 1")
    if isinstance(due, Due) and due.window.unit == "workdays":
        if calendar is None:
            raise ValueError("a working-day window needs calendar= to measure working time")
        working = _WorkingTime(
            calendar,
            due.tz,
            start.astimezone(due.tz).date(),
            open_of_business,
            due.close_of_business,
        )
        total = working.between(start, due.at)
        return tuple(working.advance(start, total * fraction) for fraction in fractions)
    zone = due_instant.tzinfo
    begin = start.astimezone(_UTC)
    span = due_instant.astimezone(_UTC) - begin
    return tuple((begin + span * fraction).astimezone(zone) for fraction in fractions)


def shift_due(
    due: Due,
    paused_intervals: Iterable[tuple[dt.datetime, dt.datetime]],
    calendar: WorkCalendar,
    *,
    open_of_business: dt.time = DEFAULT_OPEN_OF_BUSINESS,
) -> Due:
    """Return ``due`` extended for the intervals its clock was stopped (e.g. returned to dispatch).

    The clock stops at each pause's start with the remaining time kept and restarts at its end;
    remaining time is working time for working-day windows and wall time for hour windows.
    Overlapping pauses are merged; pauses before the receipt are clipped to it; a pause that begins
    when the (already extended) due time has passed changes nothing, since the report was overdue.
    """
    intervals: list[tuple[dt.datetime, dt.datetime]] = []
    for index, (begin, end) in enumerate(paused_intervals, start=1):
        _require_aware(begin, f"pause {index} start")
        _require_aware(end, f"pause {index} end")
        if end < begin:
            raise ValueError(
                f"pause {index} ends ({end.isoformat()}) before it starts ({begin.isoformat()})"
            )
        begin, end = max(begin, due.start), max(end, due.start)
        if end > begin:
            intervals.append((begin, end))
    intervals.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for begin, end in intervals:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))

    at = due.at
    paused = _ZERO
    if due.window.unit == "workdays":
        working = _WorkingTime(
            calendar,
            due.tz,
            due.start.date(),
            open_of_business,
            due.close_of_business,
        )
        for begin, end in merged:
            if begin >= at:
                break
            remaining = working.between(begin, at)
            new_at = working.advance(end, remaining)
            paused += working.between(begin, end)
            at = new_at
        receipt_next = due.start.date() + dt.timedelta(days=1)
        sources, fallback, note = _sources(calendar, receipt_next, at.date())
        return replace(
            due,
            at=at.astimezone(due.tz),
            fallback=fallback,
            note=note,
            sources=sources,
            paused=due.paused + paused,
        )
    for begin, end in merged:
        if begin >= at:
            break
        length = end - begin
        at = (at.astimezone(_UTC) + length).astimezone(due.tz)
        paused += length
    return replace(due, at=at, paused=due.paused + paused)
