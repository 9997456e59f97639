"""Reports joined to another follow it: the members of an issue, and their status.

A joined report (``Report.duplicate_of``) has no card and no deadline of its own; its observer
is told what happens to the primary report and rates it like their own. So when the primary is
resolved (办结) or closed, each joined report still open takes the same status through the
lifecycle's ``with_primary`` step, recorded on its audit trail; its observer can then rate it.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from bot.core import lifecycle
from bot.core.lifecycle import Action, Status
from storage import reports as report_queries
from storage.models import Report


def members_of(session: Session, primary_id: int) -> tuple[Report, ...]:
    """Return the reports joined to ``primary_id``, oldest first."""
    rows = session.exec(
        select(Report)
        .where(Report.duplicate_of == primary_id)
        .order_by(col(Report.created_at), col(Report.id))
    ).all()
    return tuple(rows)


def follow_primary(session: Session, primary: Report, *, now: dt.datetime) -> list[Report]:
    """Give the open reports joined to ``primary`` its resolved or closed status; return them."""
    if primary.id is None or primary.status not in (Status.RESOLVED, Status.CLOSED):
        return []
    moved: list[Report] = []
    for member in members_of(session, primary.id):
        if not lifecycle.allows(member.status, Action.WITH_PRIMARY):
            continue
        values = {
            "status": primary.status,
            "resolved_at": primary.resolved_at or now,
            "closed_at": primary.closed_at,
            "updated_at": now,
        }
        if report_queries.transition(
            session=session,
            report_id=member.id or 0,
            from_statuses=lifecycle.sources(Action.WITH_PRIMARY),
            values=values,
        ):
            session.refresh(member)
            report_queries.add_event(
                session=session,
                report_id=member.id,
                actor="system",
                action=lifecycle.step(Action.WITH_PRIMARY).event,
                at=now,
                details={"primary": primary.number, "status": primary.status},
            )
            moved.append(member)
    return moved
