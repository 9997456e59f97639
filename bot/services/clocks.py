"""A report's deadlines: planning their due times and reading their clocks from the audit trail.

``plan_deadlines`` gives the sign-for and resolve (a suggestion's reply) due times of a new
clock; ``deadline_clock`` reads when a clock last (re)started and the pauses since, from the
report's events, so that reminders and the card count the same time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.deadlines import due_at
from bot.core.windows import Window
from bot.services import Services
from storage.models import ReportEvent, ReportKind


@dataclass(frozen=True, slots=True)
class Deadlines:
    """A report's due times and a note when a fallback calendar was used."""

    sign_due: dt.datetime | None
    resolve_due: dt.datetime | None
    note: str = ""


def _sla(services: Services, sla_class: str | None) -> Any:
    """Return the SLA class in force (``normal``, or the first one, when it is unknown)."""
    return services.rules.sla_classes.get(sla_class or "normal") or next(
        iter(services.rules.sla_classes.values())
    )


def deadline_window(
    services: Services, *, kind: str, sla_class: str | None, deadline: str
) -> Window:
    """Return the window of a report's ``sign`` or ``resolve`` deadline (a suggestion's reply)."""
    sla = _sla(services, sla_class)
    if deadline == "sign":
        return sla.sign_for
    return sla.reply if kind == ReportKind.SUGGESTION else sla.resolve


def plan_deadlines(
    services: Services, *, kind: str, sla_class: str | None, start: dt.datetime
) -> Deadlines:
    """Return the due times of a report of ``kind`` whose clock starts at ``start``."""
    if kind == ReportKind.SENTIMENT:
        return Deadlines(None, None)
    sla = _sla(services, sla_class)
    options: dict[str, Any] = {
        "calendar": services.calendar,
        "tz": services.tz,
        "close_of_business": services.close_of_business,
    }
    sign = due_at(start, sla.sign_for, **options)
    second = due_at(start, sla.reply if kind == ReportKind.SUGGESTION else sla.resolve, **options)
    note = "; ".join(sorted({n for n in (sign.note, second.note) if n}))
    return Deadlines(sign.at.astimezone(dt.UTC), second.at.astimezone(dt.UTC), note)


Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True, slots=True)
class Clock:
    """When a deadline's clock last (re)started, and the pauses recorded since."""

    start: dt.datetime
    pauses: tuple[Interval, ...] = ()


def deadline_clock(
    events: Sequence[ReportEvent], *, deadline: str, created_at: dt.datetime
) -> Clock:
    """Read the clock of a report's ``sign`` or ``resolve`` deadline from its audit trail.

    Creation and a transfer restart both clocks; a reopen restarts the resolve clock; routing by
    dispatch restarts the sign-for clock, and the resolve clock too — unless it resumed a
    report a department had returned, whose time in dispatch is then a pause (recorded in the
    ``routed_by_dispatch`` event as ``paused: [from, until]``). An approved extension moves the
    due time, not the start.
    """
    start, pauses = created_at, list[Interval]()
    for event in sorted(events, key=lambda e: (e.at, e.id or 0)):
        action = event.action
        paused = event.details.get("paused") if action == "routed_by_dispatch" else None
        restarts = (
            action in ("created", "transferred")
            or (action == "reopened" and deadline != "sign")
            or (action == "routed_by_dispatch" and (deadline == "sign" or not paused))
        )
        if restarts:
            start, pauses = event.at, []
        elif paused:
            until = dt.datetime.fromisoformat(paused[1])
            pauses.append((dt.datetime.fromisoformat(paused[0]), until))
    return Clock(start, tuple(pauses))


def open_return(events: Sequence[ReportEvent]) -> dt.datetime | None:
    """Return when the report was returned to dispatch, if that is why it waits there now."""
    moves = ("created", "transferred", "routed_by_dispatch", "returned", "reopened")
    last = max(
        (e for e in events if e.action in moves), key=lambda e: (e.at, e.id or 0), default=None
    )
    if last is None or last.action != "returned":
        return None
    paused_at = last.details.get("paused_at")
    return dt.datetime.fromisoformat(paused_at) if paused_at else last.at
