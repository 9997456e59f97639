"""Extensions (延期): a department asks its region's dispatch for more time; dispatch decides."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session

from bot.core import lifecycle
from bot.core.authority import Actor
from bot.core.deadlines import add_workdays
from bot.core.lifecycle import Action
from bot.errors import Refused
from bot.services import Services, access
from bot.services.steps import authorised
from storage import reports as report_queries
from storage.models import Report, ReportEvent

EXTENSION_MAX_WORKDAYS = 30


def request_extension(
    session: Session,
    services: Services,
    *,
    report_id: int,
    days: int,
    reason: str,
    by: Actor,
    now: dt.datetime,
) -> ReportEvent:
    """A department asks dispatch for ``days`` more working days to resolve a signed report."""
    report = authorised(session, services, report_id, Action.EXTEND, by)
    if not 1 <= days <= EXTENSION_MAX_WORKDAYS:
        raise Refused("extension.bad_days")
    if pending_extension(session, report_id=report_id) is not None:
        raise Refused("extension.already_pending")
    event = report_queries.add_event(
        session=session,
        report_id=report_id,
        actor=access.audit_name(by),
        action=lifecycle.step(Action.EXTEND).event,
        at=now,
        details={
            "days": days,
            "reason": reason,
            "due": report.resolve_due_at.isoformat() if report.resolve_due_at else None,
        },
    )
    session.flush()
    return event


def pending_extension(session: Session, *, report_id: int) -> ReportEvent | None:
    """Return the report's extension request that dispatch has not decided yet."""
    requested: ReportEvent | None = None
    for item in report_queries.events_of(session=session, report_id=report_id):
        if item.action == "extension_requested":
            requested = item
        elif item.action in ("extension_approved", "extension_refused"):
            requested = None
    return requested


def decide_extension(
    session: Session,
    services: Services,
    *,
    report_id: int,
    request_id: int,
    approve: bool,
    by: Actor,
    now: dt.datetime,
) -> tuple[Report, ReportEvent]:
    """Dispatch approves (the resolve deadline moves) or refuses an extension request."""
    report = authorised(session, services, report_id, Action.DECIDE_EXTENSION, by)
    request = pending_extension(session, report_id=report_id)
    if request is None or request.id != request_id:
        raise Refused("common.stale_button")
    days = int(request.details["days"])
    details: dict[str, Any] = {"request": request_id, "days": days}
    if approve and report.resolve_due_at is not None:
        new_due = add_workdays(
            report.resolve_due_at,
            days,
            calendar=services.calendar,
            tz=services.tz,
            close_of_business=services.close_of_business,
        )
        details["from"] = report.resolve_due_at.isoformat()
        report.resolve_due_at = new_due.at.astimezone(dt.UTC)
        details["to"] = report.resolve_due_at.isoformat()
        report.updated_at = now
        session.add(report)
    action = "extension_approved" if approve else "extension_refused"
    report_queries.add_event(
        session=session,
        report_id=report_id,
        actor=access.audit_name(by),
        action=action,
        at=now,
        details=access.with_name(details, by),
    )
    return report, request
