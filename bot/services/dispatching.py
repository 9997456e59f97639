"""What dispatch (社会工作部) does to a report: route it, send it back, close it; and where
dispatch's group is for a region.

Routing a report a department returned resumes its resolve clock, its time in dispatch a
pause; routing a new one starts both clocks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, select

from bot.core.authority import Actor
from bot.core.deadlines import due_at, shift_due
from bot.core.lifecycle import Action
from bot.core.regions import ancestors
from bot.errors import Refused
from bot.services import Services, joined
from bot.services.clocks import deadline_clock, deadline_window, open_return, plan_deadlines
from bot.services.reports import find_binding
from bot.services.steps import authorised, change, load_report
from storage import reports as report_queries
from storage.models import GroupBinding, Report


def route_from_dispatch(
    session: Session,
    services: Services,
    *,
    report_id: int,
    department: str,
    by: Actor,
    now: dt.datetime,
) -> Report:
    """Dispatch sends an unrouted or returned report to a department (分拨).

    The sign-for clock restarts (the department is new to it). For a report a department
    returned, the resolve clock resumes: the time it waited in dispatch is a pause, recorded in
    the event, and the resolve deadline moves by the running time lost (``shift_due``). An
    unrouted report's clocks both start now.
    """
    report = authorised(session, services, report_id, Action.ROUTE, by)
    return _route(
        session,
        services,
        report,
        department=department,
        action=Action.ROUTE,
        by=by,
        now=now,
    )


def route_back(
    session: Session, services: Services, *, report_id: int, department: str, now: dt.datetime
) -> Report:
    """The system sends a report that went to dispatch because its group was lost back to the
    department, once that group is bound again (its clocks as for a routing by dispatch)."""
    report = load_report(session, report_id)
    return _route(
        session,
        services,
        report,
        department=department,
        action=Action.GROUP_BACK,
        by=None,
        now=now,
    )


def _route(
    session: Session,
    services: Services,
    report: Report,
    *,
    department: str,
    action: Action,
    by: Actor | None,
    now: dt.datetime,
) -> Report:
    """Route a report waiting at dispatch to ``department`` (see ``route_from_dispatch``)."""
    report_id = report.id or 0
    if department not in services.rules.departments or department == services.rules.dispatch:
        raise Refused("department.bad_transfer")
    target = services.router.target_region(department, report.region_code) or report.region_code
    deadlines = plan_deadlines(services, kind=report.kind, sla_class=report.sla_class, start=now)
    resolve_due = deadlines.resolve_due
    details: dict[str, Any] = {"to": department}
    events = report_queries.events_of(session=session, report_id=report_id)
    returned = open_return(events)
    if returned is not None and resolve_due is not None and report.resolve_due_at is not None:
        clock = deadline_clock(events, deadline="resolve", created_at=report.created_at)
        pauses = (*clock.pauses, (returned, now))
        window = deadline_window(
            services, kind=report.kind, sla_class=report.sla_class, deadline="resolve"
        )
        base = due_at(
            clock.start,
            window,
            calendar=services.calendar,
            tz=services.tz,
            close_of_business=services.close_of_business,
        )
        resolve_due = shift_due(base, pauses, services.calendar).at.astimezone(dt.UTC)
        details["paused"] = [returned.isoformat(), now.isoformat()]
    return change(
        session,
        report,
        action=action,
        values={
            "department": department,
            "target_region": target,
            "sign_due_at": deadlines.sign_due,
            "resolve_due_at": resolve_due,
            "card_chat_id": None,
            "card_message_id": None,
        },
        by=by,
        now=now,
        details=details,
    )


def close_by_dispatch(
    session: Session,
    services: Services,
    *,
    report_id: int,
    reason: str,
    by: Actor,
    now: dt.datetime,
) -> Report:
    """Dispatch closes a report that needs no handling, with a reason."""
    report = authorised(session, services, report_id, Action.CLOSE, by)
    report = change(
        session,
        report,
        action=Action.CLOSE,
        values={"closed_at": now},
        by=by,
        now=now,
        details={"reason": reason},
    )
    joined.follow_primary(session, report, now=now)
    return report


def find_dispatch_chat(
    session: Session, services: Services, *, region: str | None = None
) -> int | None:
    """Return the chat of the active dispatch group for ``region`` (falling back upward), or of
    the highest-level one; looked up each time, so a rebinding or a removal counts at once."""
    dispatch = services.rules.dispatch
    if region:
        binding = find_binding(session, department=dispatch, region=region)
        if binding is not None:
            return binding.chat_id
    groups = session.exec(
        select(GroupBinding).where(
            GroupBinding.department == dispatch,
            GroupBinding.active == True,  # noqa: E712 - a SQL comparison
        )
    ).all()
    if not groups:
        return None
    return min(groups, key=lambda b: len(ancestors(b.region_code))).chat_id
