"""How a report takes a step: loaded, asked of the authority policy, moved by the lifecycle.

Every state-changing service of ``bot.services`` goes through ``authorised`` (may this person
do this now?) and ``change`` (the lifecycle's next status, conditional on the status read, so
of two simultaneous presses exactly one wins, and an audit event naming who acted).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from bot.core import lifecycle
from bot.core.authority import Actor
from bot.core.lifecycle import Action
from bot.errors import Refused
from bot.services import Services, access
from storage import reports as report_queries
from storage.models import Report


def load_report(session: Session, report_id: int) -> Report:
    """Return the report, or refuse a button for one that is gone."""
    report = session.get(Report, report_id)
    if report is None:
        raise Refused("common.stale_button")
    return report


def change(
    session: Session,
    report: Report,
    *,
    action: Action,
    values: dict[str, Any],
    by: Actor | None,
    now: dt.datetime,
    details: dict[str, Any] | None = None,
) -> Report:
    """Take ``action`` (a lifecycle step) if the report's status still allows it; record it.

    ``by`` is who takes it (None: the system); their name goes into the audit trail so a card
    can say who acted.

    The status it leads to comes from the lifecycle table; the update is conditional on the
    status the report had when it was read, so of two simultaneous presses exactly one wins.
    """
    if not lifecycle.allows(report.status, action):
        raise Refused("department.not_allowed_now")
    target = lifecycle.next_status(report.status, action, kind=report.kind)
    values = {**values, "status": target, "updated_at": now}
    if not report_queries.transition(
        session=session,
        report_id=report.id or 0,
        from_statuses=lifecycle.sources(action),
        values=values,
    ):
        raise Refused("department.someone_else_acted")
    session.refresh(report)
    report_queries.add_event(
        session=session,
        report_id=report.id,
        actor=access.audit_name(by) if by is not None else "system",
        action=lifecycle.step(action).event,
        at=now,
        details=access.with_name(details or {}, by),
    )
    return report


def authorised(
    session: Session, services: Services, report_id: int, action: Action, by: Actor
) -> Report:
    """Load the report and refuse unless ``by`` may take ``action`` on it now."""
    report = load_report(session, report_id)
    access.require(session, services, action, by, report)
    return report
