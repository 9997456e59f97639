"""Queries on reports and their audit trail. Keyword-only, session first; no formatting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.models import OPEN_STATUSES, Report, ReportCounter, ReportEvent
from storage.sql import insert_for

NUMBER_PREFIX = "GD"
NUMBER_TZ = ZoneInfo("Asia/Shanghai")


def next_report_number(*, session: Session, now: datetime) -> str:
    """Hand out the next public number for the Shanghai day of ``now``: GD-YYYYMMDD-NNNN.

    The counter row is incremented with one atomic upsert, so two processes on PostgreSQL
    never receive the same number.
    """
    day = now.astimezone(NUMBER_TZ).strftime("%Y%m%d")
    statement = (
        insert_for(session, ReportCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": col(ReportCounter.last) + 1})
        .returning(col(ReportCounter.last))
    )
    last: int = session.execute(statement).scalar_one()
    return f"{NUMBER_PREFIX}-{day}-{last:04d}"


def get_report_by_number(*, session: Session, number: str) -> Report | None:
    """Return the report with public number ``number``."""
    return session.exec(select(Report).where(Report.number == number)).first()


def get_report_by_source(*, session: Session, chat_id: int, message_id: int) -> Report | None:
    """Return the report created from message ``message_id`` in ``chat_id``, if any."""
    return session.exec(
        select(Report).where(
            Report.source_chat_id == chat_id, Report.source_message_id == message_id
        )
    ).first()


def add_event(
    *,
    session: Session,
    report_id: int | None,
    actor: str,
    action: str,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> ReportEvent:
    """Append one entry to a report's audit trail (or a report-less security event)."""
    event = ReportEvent(
        report_id=report_id, actor=actor, action=action, at=at, details=details or {}
    )
    session.add(event)
    return event


def events_of(*, session: Session, report_id: int) -> Sequence[ReportEvent]:
    """Return a report's audit trail, oldest first."""
    return session.exec(
        select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(col(ReportEvent.id))
    ).all()


def transition(
    *,
    session: Session,
    report_id: int,
    from_statuses: Sequence[str],
    values: dict[str, Any],
) -> bool:
    """Change a report only if its status is still one of ``from_statuses``.

    Returns False when another actor got there first; exactly one of two concurrent
    callers wins.
    """
    result = session.execute(
        update(Report)
        .where(col(Report.id) == report_id, col(Report.status).in_(list(from_statuses)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def open_reports_of_department(
    *, session: Session, department: str, due_before: datetime | None = None
) -> Sequence[Report]:
    """Return a department's open reports, soonest sign-for deadline first."""
    query = select(Report).where(
        Report.department == department, col(Report.status).in_(list(OPEN_STATUSES))
    )
    if due_before is not None:
        query = query.where(col(Report.sign_due_at) <= due_before)
    return session.exec(query.order_by(col(Report.sign_due_at), col(Report.id))).all()


def reports_of_observer(
    *, session: Session, observer_id: int, limit: int = 10, offset: int = 0
) -> Sequence[Report]:
    """Return an observer's reports, newest first: ``limit`` of them after the first ``offset``."""
    return session.exec(
        select(Report)
        .where(Report.observer_id == observer_id)
        .order_by(col(Report.created_at).desc(), col(Report.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()


def count_reports_of_observer(*, session: Session, observer_id: int) -> int:
    """Return how many reports an observer has filed."""
    return session.exec(
        select(func.count()).select_from(Report).where(Report.observer_id == observer_id)
    ).one()


def count_reports_by_status(*, session: Session) -> dict[str, int]:
    """Return how many reports are in each status."""
    rows = session.exec(select(Report.status, func.count()).group_by(col(Report.status))).all()
    return {status: count for status, count in rows}


def held_by_chat(
    *, session: Session, chat_id: int, statuses: Sequence[str], limit: int = 500
) -> Sequence[Report]:
    """Return the reports in ``statuses`` whose current card is in ``chat_id`` (newest first).

    A report merged into another (the same issue) is held on that report's card, not its own.
    """
    return session.exec(
        select(Report)
        .where(
            Report.card_chat_id == chat_id,
            col(Report.status).in_(statuses),
            col(Report.duplicate_of).is_(None),
        )
        .order_by(col(Report.id).desc())
        .limit(limit)
    ).all()
