"""Weeks as the digest and the leaders count them: ISO weeks in the digest's time zone.

A week runs Monday 00:00 to the next Monday 00:00 in its zone (Asia/Shanghai unless told
otherwise) and is named like ``2026-W47``. Weeks, exports and deadlines are bounded to the years
``FIRST_YEAR``..``LAST_YEAR``; a well-formed week outside them raises ``OutOfRange``, so each door
can say so in one line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.core.messages import t

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Week:
    """An ISO week: its label (2026-W47) and its bounds as aware datetimes in ``tz``."""

    year: int
    number: int
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        """Return the ISO label, e.g. ``2026-W47``."""
        return f"{self.year}-W{self.number:02d}"

    def days(self) -> list[dt.date]:
        """Return the seven local dates, Monday first."""
        first = self.start.date()
        return [first + dt.timedelta(days=offset) for offset in range(7)]

    def shifted(self, weeks: int) -> Week:
        """Return the week ``weeks`` later (negative: earlier)."""
        return week_of(self.start + dt.timedelta(days=7 * weeks + 3), self.start.tzinfo)  # type: ignore[arg-type]


def week_of(moment: dt.datetime, tz: dt.tzinfo = SHANGHAI) -> Week:
    """Return the week (Monday-Sunday in ``tz``) containing ``moment``."""
    local = moment.astimezone(tz)
    year, number, weekday = local.isocalendar()
    monday = local.date() - dt.timedelta(days=weekday - 1)
    start = dt.datetime.combine(monday, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=tz)
    return Week(year, number, start, end)


FIRST_YEAR = 2000  # no digest, export, week or deadline before this year: there were no reports
LAST_YEAR = 2999  # nor after this one (dates and timestamps beyond would overflow)


class OutOfRange(ValueError):
    """A well-formed week or date the digest and exports cannot cover (see ``check_year``)."""


def check_year(year: int, what: str) -> None:
    """Raise ``OutOfRange`` unless ``year`` lies within FIRST_YEAR..LAST_YEAR."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise OutOfRange(t("cli.year_range", what=what, first=FIRST_YEAR, last=LAST_YEAR))


def parse_week(label: str, tz: dt.tzinfo = SHANGHAI) -> Week:
    """Return the week named like ``2026-W47``; raise ValueError on anything else.

    A well-formed week of a year outside FIRST_YEAR..LAST_YEAR raises ``OutOfRange``.
    """
    text = label.strip().upper()
    year_part, sep, week_part = text.partition("-W")
    if not sep or not _ascii_number(year_part, 4) or not _ascii_number(week_part, 2):
        raise ValueError(f"week {label!r} is not like 2026-W47")
    check_year(int(year_part), f"周次 {label.strip()}")
    try:
        monday = dt.date.fromisocalendar(int(year_part), int(week_part), 1)
    except ValueError:
        raise ValueError(f"week {label!r} does not exist") from None
    return week_of(dt.datetime.combine(monday, dt.time(12), tzinfo=tz), tz)


def _ascii_number(text: str, digits: int) -> bool:
    """Return True if ``text`` is 1 to ``digits`` ASCII digits."""
    return text.isascii() and text.isdigit() and len(text) <= digits


def previous_week(now: dt.datetime, tz: dt.tzinfo = SHANGHAI) -> Week:
    """Return the last complete week before ``now`` (the one a Monday digest reports)."""
    return week_of(now, tz).shifted(-1)
