"""Queries on reminder marks: planning, claiming and settling thresholds. No formatting.

A mark is one threshold of one deadline instance (report, deadline, due_at); see
``storage.models.ReminderMark`` and ``handlers.sweeps`` for how they are used.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, text, update
from sqlmodel import Session, col, select

from storage.models import (
    Leader,
    OutboxMessage,
    ReminderMark,
    ReminderState,
    Report,
    ReportEvent,
    ReportStatus,
)
from storage.sql import insert_for

SIGN = "sign"
RESOLVE = "resolve"
OVERDUE = "overdue"


def _has_marks(deadline: str, due: Any) -> Any:
    """Return EXISTS(the marks of the report's deadline instance with due time ``due``).

    Every planned instance has exactly one "overdue" mark; looking for that one keeps the
    check on the small ``ix_remindermark_planned`` index.
    """
    return (
        select(ReminderMark.id)
        .where(
            ReminderMark.threshold == OVERDUE,
            ReminderMark.deadline == deadline,
            ReminderMark.due_at == due,
            ReminderMark.report_id == Report.id,
        )
        .exists()
    )


def running_deadline_filter() -> Any:
    """Return the WHERE clause of reports with a running deadline (routed or signed, due set)."""
    return or_(
        and_(col(Report.status) == ReportStatus.ROUTED, col(Report.sign_due_at).is_not(None)),
        and_(col(Report.status) == ReportStatus.SIGNED, col(Report.resolve_due_at).is_not(None)),
    )


def unplanned_reports(*, session: Session, limit: int) -> list[Report]:
    """Return up to ``limit`` reports whose running deadline has no marks yet (in no order).

    The running deadline is sign-for while routed and resolve (a suggestion's reply) while
    signed; a new due time (transfer, reopen) is a new instance without marks.
    """
    found: list[Report] = []
    for status, deadline, due in (
        (ReportStatus.ROUTED, SIGN, Report.sign_due_at),
        (ReportStatus.SIGNED, RESOLVE, Report.resolve_due_at),
    ):
        if len(found) >= limit:
            break
        # One status at a time and unordered, so an index on status keeps closed reports out
        # of the scan.
        query = (
            select(Report)
            .where(Report.status == status, col(due).is_not(None), ~_has_marks(deadline, due))
            .limit(limit - len(found))
        )
        found.extend(session.exec(query).all())
    return found


def count_running(*, session: Session) -> int:
    """Return how many reports have a running deadline (the sweep's candidate set)."""
    return session.execute(
        select(func.count()).select_from(Report).where(running_deadline_filter())
    ).scalar_one()


def events_of_reports(
    *, session: Session, report_ids: Collection[int], actions: Collection[str]
) -> Sequence[ReportEvent]:
    """Return the events with one of ``actions`` of several reports, by report, oldest first."""
    if not report_ids:
        return []
    return session.exec(
        select(ReportEvent)
        .where(
            col(ReportEvent.report_id).in_(list(report_ids)),
            col(ReportEvent.action).in_(list(actions)),
        )
        .order_by(col(ReportEvent.report_id), col(ReportEvent.id))
    ).all()


def add_planned(*, session: Session, marks: Sequence[dict[str, Any]]) -> None:
    """Insert new marks (planned unless they say otherwise); an existing mark is kept as it is."""
    if not marks:
        return
    table = ReminderMark.__table__  # type: ignore[attr-defined]
    statement = insert_for(session, table).on_conflict_do_nothing(
        index_elements=["report_id", "deadline", "due_at", "threshold"]
    )
    rows = [{"state": ReminderState.PLANNED, "fired_at": None, **mark} for mark in marks]
    session.execute(statement, rows)  # one cached statement, executed for many rows


def refresh_statistics(*, session: Session) -> None:
    """Update PostgreSQL's statistics of the marks table after a large batch was planned.

    Until autovacuum notices a burst of new marks, stale statistics can make the planner pick
    a nested loop for the "planned yet?" check that is quadratic in the number of reports.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE remindermark"))


def claim_due_reports(*, session: Session, now: datetime, limit: int) -> Sequence[Report]:
    """Lock and return up to ``limit`` reports that have a planned mark due by ``now``.

    On PostgreSQL the report rows are locked ``FOR UPDATE SKIP LOCKED`` until the caller
    commits, so a second sweeper skips them; the caller settles every due mark of a claimed
    report in that transaction.
    """
    due = select(ReminderMark.report_id).where(
        ReminderMark.state == ReminderState.PLANNED, col(ReminderMark.fire_at) <= now
    )
    query = (
        select(Report)
        .where(col(Report.id).in_(due))
        .order_by(col(Report.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.exec(query).all()


def due_marks(
    *, session: Session, report_ids: Collection[int], now: datetime
) -> Sequence[ReminderMark]:
    """Return the planned marks of ``report_ids`` due by ``now``, by report and instant."""
    if not report_ids:
        return []
    return session.exec(
        select(ReminderMark)
        .where(
            col(ReminderMark.report_id).in_(list(report_ids)),
            ReminderMark.state == ReminderState.PLANNED,
            col(ReminderMark.fire_at) <= now,
        )
        .order_by(
            col(ReminderMark.report_id),
            col(ReminderMark.deadline),
            col(ReminderMark.due_at),
            col(ReminderMark.fire_at),
        )
    ).all()


def settle(*, session: Session, mark_ids: Collection[int], state: str, now: datetime) -> set[int]:
    """Move planned marks to ``state`` (sent, skipped, void); return the ids that were planned.

    The update only touches marks still planned, so it is the fence of "exactly once": a mark
    settled by anyone else is not among the ids returned.
    """
    if not mark_ids:
        return set()
    result = session.execute(
        update(ReminderMark)
        .where(
            col(ReminderMark.id).in_(list(mark_ids)),
            col(ReminderMark.state) == ReminderState.PLANNED,
        )
        .values(state=state, fired_at=now)
        .returning(col(ReminderMark.id))
        .execution_options(synchronize_session=False)
    )
    ids: list[int | None] = list(result.scalars())
    return {int(mark_id) for mark_id in ids if mark_id is not None}


def void_instance(
    *, session: Session, report_id: int, deadline: str, due_at: datetime, now: datetime
) -> int:
    """Void every planned mark of one deadline instance that no longer applies."""
    result = session.execute(
        update(ReminderMark)
        .where(
            col(ReminderMark.report_id) == report_id,
            col(ReminderMark.deadline) == deadline,
            col(ReminderMark.due_at) == due_at,
            col(ReminderMark.state) == ReminderState.PLANNED,
        )
        .values(state=ReminderState.VOID, fired_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def supervising_leaders(*, session: Session, regions: Collection[str]) -> Sequence[Leader]:
    """Return the leaders who supervise (督办) one of ``regions``."""
    if not regions:
        return []
    return session.exec(
        select(Leader)
        .where(col(Leader.supervises).is_(True), col(Leader.scope_region).in_(list(regions)))
        .order_by(col(Leader.id))
    ).all()


def card_drawn_since(*, session: Session, chat_id: int, report_id: int, since: datetime) -> bool:
    """Return True if the report's card in ``chat_id`` was posted or redrawn at/after ``since``."""
    drawn = session.exec(
        select(OutboxMessage.id)
        .where(
            col(OutboxMessage.chat_id) == chat_id,  # the (chat_id, id) index narrows the search
            col(OutboxMessage.report_id) == report_id,
            or_(
                col(OutboxMessage.purpose) == "card",
                col(OutboxMessage.method) == "editMessageText",
            ),
            col(OutboxMessage.created_at) >= since,
        )
        .limit(1)
    ).first()
    return drawn is not None


def marks_of(*, session: Session, report_id: int) -> Sequence[ReminderMark]:
    """Return a report's marks, by instance and instant."""
    return session.exec(
        select(ReminderMark)
        .where(ReminderMark.report_id == report_id)
        .order_by(col(ReminderMark.due_at), col(ReminderMark.fire_at), col(ReminderMark.id))
    ).all()


def prune_marks_of_closed(*, session: Session, closed_before: datetime, limit: int) -> int:
    """Delete up to ``limit`` reminder marks of reports closed before ``closed_before``.

    A mark exists so that each threshold fires once; a closed report has no running deadline
    (it is never reopened: a reopen comes before closing), so its marks are only history.
    Returns how many were deleted.
    """
    doomed = (
        select(ReminderMark.id)
        .join(Report, col(Report.id) == col(ReminderMark.report_id))
        .where(Report.status == ReportStatus.CLOSED, col(Report.closed_at) < closed_before)
        .limit(limit)
    )
    result = session.execute(
        delete(ReminderMark)
        .where(col(ReminderMark.id).in_(doomed.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
