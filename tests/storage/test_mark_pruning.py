"""Reminder marks of reports closed long ago are pruned; every other mark stays."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.models import ReminderMark, ReminderState, Report, ReportStatus
from storage.reminders import prune_marks_of_closed
from tests import factories

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def _with_marks(session: Session, obs: object, status: str, closed_at: dt.datetime | None) -> int:
    report = factories.report(session, obs=obs, status=status, closed_at=closed_at)  # type: ignore[arg-type]
    assert report.id is not None
    for threshold in ("0.5", "0.8", "overdue", "escalated"):
        session.add(
            ReminderMark(
                report_id=report.id,
                deadline="resolve",
                due_at=NOW - dt.timedelta(days=60),
                threshold=threshold,
                fire_at=NOW - dt.timedelta(days=61),
                state=ReminderState.SENT,
            )
        )
    session.flush()
    return report.id


def test_only_the_marks_of_reports_closed_before_the_cutoff_go(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        station = factories.station(session, code="ST-PRUNE")
        obs = factories.observer(session, station_code=station.code)
        old = [
            _with_marks(session, obs, ReportStatus.CLOSED, NOW - dt.timedelta(days=40))
            for _ in range(3)
        ]
        recent = _with_marks(session, obs, ReportStatus.CLOSED, NOW - dt.timedelta(days=5))
        running = _with_marks(session, obs, ReportStatus.SIGNED, None)
        session.commit()
        cutoff = NOW - dt.timedelta(days=30)
        assert prune_marks_of_closed(session=session, closed_before=cutoff, limit=5) == 5
        assert prune_marks_of_closed(session=session, closed_before=cutoff, limit=5) == 5
        assert prune_marks_of_closed(session=session, closed_before=cutoff, limit=5) == 2
        assert prune_marks_of_closed(session=session, closed_before=cutoff, limit=5) == 0
        session.commit()
        left = {mark.report_id for mark in session.exec(select(ReminderMark)).all()}
        reports = len(session.exec(select(Report)).all())
    assert left == {recent, running} and not left & set(old)
    assert reports == 5  # the reports themselves are untouched
