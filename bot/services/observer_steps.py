"""What an observer does to a report already filed: press the department (催办) once a deadline
has passed, and take it back (撤回) before anyone has signed for it.

Both are lifecycle steps (``Action.REMIND``, ``Action.WITHDRAW``) asked of the authority policy
like every other; the observer acts only on their own reports.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from bot.core import lifecycle
from bot.core.authority import Actor
from bot.core.lifecycle import Action
from bot.errors import Refused
from bot.services import Services, access
from bot.services.steps import change as _change
from bot.services.steps import load_report as _load
from storage import reports as report_queries
from storage.models import Observer, Report


def _as_actor(observer: Observer) -> Actor:
    return Actor(chat_id=observer.telegram_user_id or 0, observer_id=observer.id)


def _authorised(
    session: Session, services: Services, report_id: int, action: Action, observer: Observer
) -> Report:
    report = _load(session, report_id)
    try:
        access.require(session, services, action, _as_actor(observer), report)
    except Refused as refused:
        if refused.key == "department.not_allowed_now":  # said to the observer in their words
            raise Refused(f"observer.{action}_not_now") from None
        raise
    return report


def overdue(report: Report, now: dt.datetime) -> tuple[str, dt.datetime] | None:
    """Return the deadline that runs now ("sign" or "resolve") and its due time, if passed."""
    running = lifecycle.running_deadline(report.status)
    due = {"sign": report.sign_due_at, "resolve": report.resolve_due_at}.get(running or "")
    if running is None or due is None or now <= due:
        return None
    return running, due


def remind(
    session: Session, services: Services, *, report_id: int, observer: Observer, now: dt.datetime
) -> tuple[Report, str]:
    """The observer presses the department (催办) on an overdue report: once per deadline.

    Returns the report and the deadline that has passed ("sign" or "resolve").
    """
    report = _authorised(session, services, report_id, Action.REMIND, observer)
    late = overdue(report, now)
    if late is None:
        raise Refused("observer.remind_not_yet")
    running, due = late
    event = lifecycle.step(Action.REMIND).event
    if any(
        e.action == event and e.details.get("due") == due.isoformat()
        for e in report_queries.events_of(session=session, report_id=report_id)
    ):
        raise Refused("observer.remind_once")
    report_queries.add_event(
        session=session,
        report_id=report_id,
        actor=f"observer:{observer.id}",
        action=event,
        at=now,
        details={"deadline": running, "due": due.isoformat()},
    )
    return report, running


def withdraw(
    session: Session, services: Services, *, report_id: int, observer: Observer, now: dt.datetime
) -> Report:
    """The observer takes back a report nobody has signed for yet (撤回): it is closed."""
    report = _authorised(session, services, report_id, Action.WITHDRAW, observer)
    return _change(
        session,
        report,
        action=Action.WITHDRAW,
        values={"closed_at": now},
        by=_as_actor(observer),
        now=now,
    )
