"""Reports joined to another follow it: the members of an issue, and their status.

A joined report (``Report.duplicate_of``) has no card and no deadline of its own; its observer
is told what happens to the primary report and rates it like their own. So when the primary is
signed for (签收), resolved (办结) or closed, each joined report still open takes the same status
through the lifecycle's ``with_primary`` step, recorded on its audit trail: its observer's /my
shows where the issue stands, and once it is resolved they can rate it.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from bot.core import lifecycle
from bot.core.lifecycle import Action, Status
from storage import reports as report_queries
from storage.models import Report

FOLLOWED = (Status.SIGNED, Status.RESOLVED, Status.CLOSED)  # the primary's steps its members take


def members_of(session: Session, primary_id: int) -> tuple[Report, ...]:
    """Return the reports joined to ``primary_id``, oldest first."""
    rows = session.exec(
        select(Report)
        .where(Report.duplicate_of == primary_id)
        .order_by(col(Report.created_at), col(Report.id))
    ).all()
    return tuple(rows)


def follow_primary(session: Session, primary: Report, *, now: dt.datetime) -> list[Report]:
    """Give the open reports joined to ``primary`` its signed, resolved or closed status;
    return those that moved."""
    if primary.id is None or primary.status not in FOLLOWED:
        return []
    moved: list[Report] = []
    for member in members_of(session, primary.id):
        if member.status == primary.status or not lifecycle.allows(
            member.status, Action.WITH_PRIMARY
        ):
            continue
        values = {
            "status": primary.status,
            "signed_at": member.signed_at or primary.signed_at or now,
            "updated_at": now,
        }
        if primary.status != Status.SIGNED:
            values.update(resolved_at=primary.resolved_at or now, closed_at=primary.closed_at)
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
