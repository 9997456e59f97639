"""`obsbot deadline START WINDOW`: print when a window that starts at START runs out."""

from __future__ import annotations

import datetime as dt
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from bot.cli.common import fail, say
from bot.cli.common import text as text_of
from bot.core.deadlines import DEFAULT_TZ, due_at
from bot.core.weeks import OutOfRange, check_year
from bot.core.windows import parse_window
from bot.core.workdays import HolidayFileError, WorkCalendar

BAD_INPUT = 2


def _bad_input(message: str) -> NoReturn:
    """Print ``message`` to stderr and exit with status 2."""
    fail(message, code=BAD_INPUT)


def _parse_start(text: str, zone: ZoneInfo) -> dt.datetime:
    """Parse an ISO 8601 START; a START without an offset is local time in ``zone``."""
    try:
        start = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        _bad_input(text_of("deadline_bad_start", start=text, zone=zone.key))
    try:
        check_year(start.year, f"START {text.strip()!r}")
    except OutOfRange as exc:
        _bad_input(str(exc))
    return start if start.tzinfo is not None else start.replace(tzinfo=zone)


def _parse_clock(text: str) -> dt.time:
    """Parse HH:MM into a time of day."""
    try:
        value = dt.time.fromisoformat(text.strip())
    except ValueError:
        _bad_input(text_of("deadline_bad_close", value=text))
    if value.tzinfo is not None:
        _bad_input(text_of("deadline_close_offset", value=text))
    return value


@click.command()
@click.argument("start")
@click.argument("window")
@click.option(
    "--holidays",
    "holidays_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML file of holidays and adjusted workdays for years chinesecalendar does not cover.",
)
@click.option(
    "--close-of-business",
    "close_of_business",
    default="18:00",
    show_default=True,
    help="Local time (HH:MM) at which a working-day window ends.",
)
@click.option(
    "--tz",
    "tz_name",
    default=DEFAULT_TZ,
    show_default=True,
    help="Time zone of the deadline (and of a START given without an offset).",
)
def deadline(
    start: str, window: str, holidays_file: str | None, close_of_business: str, tz_name: str
) -> None:
    """Print the due time (ISO 8601 with offset) of WINDOW starting at START.

    WINDOW is e.g. "5 workdays" (China's working days; the day of receipt is not counted and
    the window ends at close of business) or "48h" (wall-clock hours).
    """
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        _bad_input(text_of("deadline_bad_zone", zone=tz_name))
    start_at = _parse_start(start, zone)
    cob = _parse_clock(close_of_business)
    try:
        parsed_window = parse_window(window)
    except ValueError as exc:
        _bad_input(str(exc))
    try:
        calendar = WorkCalendar.from_file(holidays_file)
    except HolidayFileError as exc:
        _bad_input(text_of("deadline_holidays", reason=exc))
    for year in calendar.shadowed_years:
        say("deadline_shadowed", err=True, year=year)
    due = due_at(start_at, parsed_window, calendar=calendar, tz=zone, close_of_business=cob)
    if due.fallback:
        say("deadline_fallback", err=True, note=due.note)
    click.echo(due.at.isoformat())
