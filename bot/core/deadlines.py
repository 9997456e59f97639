"""Due times of reports: China's working days counted like the Civil Code, or wall-clock hours.

Rules (docs/ARCHITECTURE.md, decision 5):

- **Working-day windows** ("5 workdays") count like the Civil Code, arts. 201–203: the day of
  receipt is not counted, whatever the hour; the window ends at close of business (default
  18:00) of the N-th working day after it, in the deadline time zone (default Asia/Shanghai).
- **Hour windows** ("48h") are elapsed wall-clock hours from the receipt instant (computed in UTC,
  so a daylight-saving change elsewhere never adds or removes an hour).

*Working time*, used for reminder thresholds and pauses of working-day windows, is the business
hours (``open_of_business``–``close_of_business``, default 09:00–18:00) of working days after the
day of receipt. With the defaults a window of N working days holds N × 9 working hours, and a
reminder at 50 % never falls on a weekend or a holiday. Hour windows run on wall-clock time.
A pause (a report returned to dispatch) stops the clock: ``shift_due`` moves the due time by the
running time lost, and ``threshold_times`` skips paused time when given the same pauses.

All functions are pure: datetimes must be timezone-aware, nothing reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
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
    """Each year whose days were counted, with where its calendar came from (empty for hours)."""
    paused: dt.timedelta = _ZERO
    """Running time lost to the pauses given to ``shift_due`` (working or wall time)."""


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
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
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


# --- active time: working time or wall time, minus pauses ---------------------------------------

Interval = tuple[dt.datetime, dt.datetime]
_FOREVER = dt.datetime(9999, 1, 1, tzinfo=_UTC)


def _merge_pauses(intervals: Iterable[Interval], not_before: dt.datetime) -> list[Interval]:
    """Validate pauses, clip them to ``not_before`` and merge overlapping ones, in order."""
    clipped: list[Interval] = []
    for index, (begin, end) in enumerate(intervals, start=1):
        _require_aware(begin, f"pause {index} start")
        _require_aware(end, f"pause {index} end")
        if end < begin:
            raise ValueError(
                f"pause {index} ends ({end.isoformat()}) before it starts ({begin.isoformat()})"
            )
        begin, end = max(begin, not_before), max(end, not_before)
        if end > begin:
            clipped.append((begin.astimezone(_UTC), end.astimezone(_UTC)))
    clipped.sort()
    merged: list[Interval] = []
    for begin, end in clipped:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


class _ActiveTime:
    """The time a window's clock runs: working time (business hours of working days after the
    receipt day) or, without a calendar, all wall time; in both cases minus the pauses."""

    def __init__(
        self,
        *,
        calendar: WorkCalendar | None,
        zone: dt.tzinfo,
        receipt_day: dt.date,
        open_of_business: dt.time,
        close_of_business: dt.time,
        pauses: Sequence[Interval] = (),
    ) -> None:
        if calendar is not None:
            _check_business_hours(open_of_business, close_of_business)
        self.calendar = calendar
        self.zone = zone
        self.receipt_day = receipt_day
        self.opening = open_of_business
        self.closing = close_of_business
        self.pauses = pauses

    def _base_segments(self, moment: dt.datetime) -> Iterator[Interval]:
        """Yield the running segments before pauses, clipped to start at ``moment``."""
        if self.calendar is None:
            yield moment, _FOREVER
            return
        day = max(moment.astimezone(self.zone).date(), self.receipt_day + dt.timedelta(days=1))
        while True:
            if self.calendar.is_workday(day):
                opening = dt.datetime.combine(day, self.opening, tzinfo=self.zone)
                closing = dt.datetime.combine(day, self.closing, tzinfo=self.zone)
                if closing > moment:
                    yield max(opening, moment), closing
            day += dt.timedelta(days=1)

    def segments_from(self, moment: dt.datetime) -> Iterator[Interval]:
        """Yield the segments in which the clock runs, from ``moment`` on."""
        for seg_start, seg_end in self._base_segments(moment):
            cursor = seg_start
            for pause_start, pause_end in self.pauses:
                if pause_end <= cursor or pause_start >= seg_end:
                    continue
                if pause_start > cursor:
                    yield cursor, pause_start
                cursor = max(cursor, pause_end)
                if cursor >= seg_end:
                    break
            if cursor < seg_end:
                yield cursor, seg_end

    def between(self, begin: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Return the running time from ``begin`` to ``end`` (zero when end <= begin)."""
        total = _ZERO
        if end <= begin:
            return total
        for seg_start, seg_end in self.segments_from(begin):
            if seg_start >= end:
                break
            total += min(seg_end, end) - seg_start
        return total

    def advance(self, begin: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """Return the earliest instant at which ``amount`` of running time has passed."""
        remaining = amount
        for seg_start, seg_end in self.segments_from(begin):
            length = seg_end - seg_start
            if remaining <= length:
                return (seg_start + remaining).astimezone(self.zone)
            remaining -= length
        raise AssertionError("unreachable: running segments never end")


def _active_time(
    due: Due,
    start: dt.datetime,
    calendar: WorkCalendar | None,
    open_of_business: dt.time,
    pauses: Sequence[Interval],
) -> _ActiveTime:
    """Build the clock of ``due``'s window: working time for working days, else wall time."""
    return _ActiveTime(
        calendar=calendar if due.window.unit == "workdays" else None,
        zone=due.tz,
        receipt_day=start.astimezone(due.tz).date(),
        open_of_business=open_of_business,
        close_of_business=due.close_of_business,
        pauses=pauses,
    )


def threshold_times(
    start: dt.datetime,
    due: Due | dt.datetime,
    fractions: Sequence[float] = (0.5, 0.8),
    *,
    calendar: WorkCalendar | None = None,
    open_of_business: dt.time = DEFAULT_OPEN_OF_BUSINESS,
    paused_intervals: Iterable[Interval] = (),
) -> tuple[dt.datetime, ...]:
    """Return the instants at which each fraction of the window from ``start`` to ``due`` elapsed.

    For a ``Due`` of a working-day window the fraction is of working time (business hours of
    working days after the day of receipt; ``calendar`` is then required), so reminders never fall
    on a holiday. For an hour window or a plain datetime it is the wall-clock fraction. Time inside
    ``paused_intervals`` does not run (pass the same pauses as to ``shift_due``).
    """
    _require_aware(start, "start")
    due_instant = due.at if isinstance(due, Due) else due
    _require_aware(due_instant, "due")
    if due_instant < start:
        raise ValueError(f"due {due_instant.isoformat()} is before start {start.isoformat()}")
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction {fraction!r} must be greater than 0 and at most 1")
    pauses = _merge_pauses(paused_intervals, start)
    if isinstance(due, Due):
        if due.window.unit == "workdays" and calendar is None:
            raise ValueError("a working-day window needs calendar= to measure working time")
        clock = _active_time(due, start, calendar, open_of_business, pauses)
    else:
        clock = _ActiveTime(
            calendar=None,
            zone=_UTC,
            receipt_day=start.date(),
            open_of_business=open_of_business,
            close_of_business=DEFAULT_CLOSE_OF_BUSINESS,
            pauses=pauses,
        )
    total = clock.between(start, due_instant)
    moments = (clock.advance(start, total * fraction) for fraction in fractions)
    return tuple(moment.astimezone(due_instant.tzinfo) for moment in moments)


def shift_due(
    due: Due,
    paused_intervals: Iterable[Interval],
    calendar: WorkCalendar,
    *,
    open_of_business: dt.time = DEFAULT_OPEN_OF_BUSINESS,
) -> Due:
    """Return ``due`` extended for the intervals its clock was stopped (e.g. returned to dispatch).

    The clock stops while paused: the new due is when the window's running time has elapsed
    outside the pauses (working time for working-day windows, wall time for hour windows).
    Overlapping pauses are merged, pauses before the receipt are clipped to it, and a pause that
    begins once the due time has passed changes nothing (the report was already overdue). Pass
    all of a report's pauses each time: shifting an already shifted ``Due`` again with the same
    list changes nothing.
    """
    pauses = _merge_pauses(paused_intervals, due.start)
    unpaused = _active_time(due, due.start, calendar, open_of_business, ())
    window_time = unpaused.between(due.start, due.at) - due.paused
    clock = _active_time(due, due.start, calendar, open_of_business, pauses)
    at = clock.advance(due.start, window_time)
    paused = unpaused.between(due.start, at) - window_time
    if due.window.unit == "hours":
        return replace(due, at=at, paused=paused)
    receipt_next = due.start.astimezone(due.tz).date() + dt.timedelta(days=1)
    sources, fallback, note = _sources(calendar, receipt_next, at.date())
    return replace(due, at=at, fallback=fallback, note=note, sources=sources, paused=paused)
