"""Storage behaviour, run on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session

from storage import inbox, outbox, reports
from storage.models import InboxStatus, Observer, Report, ReportStatus
from tests import factories
from tests.factories import NOW


def test_timestamps_come_back_aware_utc(session: Session) -> None:
    st = factories.station(session)
    obs = factories.observer(session, station_code=st.code)
    shanghai = timezone(timedelta(hours=8))
    factories.report(
        session,
        obs=obs,
        number="GD-20261126-0001",
        sign_due_at=datetime(2026, 11, 27, 18, 0, tzinfo=shanghai),
    )
    session.commit()
    session.expire_all()
    row = reports.get_report_by_number(session=session, number="GD-20261126-0001")
    assert row is not None and row.sign_due_at is not None
    assert row.sign_due_at.utcoffset() == timedelta(0)
    assert row.sign_due_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_naive_timestamps_are_refused(session: Session) -> None:
    st = factories.station(session)
    obs = factories.observer(session, station_code=st.code)
    with pytest.raises(StatementError, match="naive datetime"):
        factories.report(session, obs=obs, sign_due_at=datetime(2026, 11, 27, 18, 0))  # noqa: DTZ001


def test_report_numbers_count_per_shanghai_day(session: Session) -> None:
    late_utc = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 01:30 on the 26th in Shanghai
    first = reports.next_report_number(session=session, now=late_utc)
    second = reports.next_report_number(session=session, now=NOW)
    next_day = reports.next_report_number(session=session, now=NOW + timedelta(days=1))
    assert (first, second, next_day) == ("GD-20261126-0001", "GD-20261126-0002", "GD-20261127-0001")


def test_report_numbers_are_unique_across_sessions(engine) -> None:  # type: ignore[no-untyped-def]
    seen = set()
    for _ in range(5):
        with Session(engine) as one, Session(engine) as two:
            seen.add(reports.next_report_number(session=one, now=NOW))
            one.commit()
            seen.add(reports.next_report_number(session=two, now=NOW))
            two.commit()
    assert len(seen) == 10


def test_a_message_becomes_at_most_one_report(session: Session) -> None:
    st = factories.station(session)
    obs = factories.observer(session, station_code=st.code, telegram_user_id=5550001)
    factories.report(session, obs=obs, message_id=77)
    session.commit()
    with pytest.raises(IntegrityError):
        factories.report(session, obs=obs, message_id=77)
    session.rollback()
    assert reports.get_report_by_source(session=session, chat_id=5550001, message_id=77)


def test_phone_numbers_are_unique(session: Session) -> None:
    st = factories.station(session)
    factories.observer(session, station_code=st.code, phone="+8613800138000")
    session.commit()
    with pytest.raises(IntegrityError):
        factories.observer(session, station_code=st.code, phone="+8613800138000")


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(Observer(name="无站点", phone="+8613900000001", station_code="NO-SUCH"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_inbox_ignores_repeated_updates(session: Session) -> None:
    batch = [{"update_id": 10, "message": {"text": "a"}}, {"update_id": 11, "message": {}}]
    assert inbox.record_updates(session=session, updates=batch, now=NOW) == 2
    assert (
        inbox.record_updates(session=session, updates=batch[1:] + [{"update_id": 12}], now=NOW) == 1
    )
    session.commit()
    assert [row.update_id for row in inbox.pending_updates(session=session)] == [10, 11, 12]
    inbox.mark_update(session=session, update_id=11, status=InboxStatus.DONE, now=NOW)
    session.commit()
    assert [row.update_id for row in inbox.pending_updates(session=session)] == [10, 12]
    assert inbox.last_update_id(session=session) == 12


def test_outbox_enqueues_each_key_once(session: Session) -> None:
    payload = {"text": "已收到您的反映"}
    assert outbox.enqueue(
        session=session,
        chat_id=5550001,
        payload=payload,
        idempotency_key="ack:GD-20261126-0001",
        now=NOW,
    )
    assert not outbox.enqueue(
        session=session,
        chat_id=5550001,
        payload=payload,
        idempotency_key="ack:GD-20261126-0001",
        now=NOW,
    )
    outbox.enqueue(
        session=session,
        chat_id=-100200,
        payload={"text": "card"},
        idempotency_key="card:GD-20261126-0001",
        now=NOW + timedelta(minutes=5),
    )
    session.commit()
    assert [m.chat_id for m in outbox.due_messages(session=session, now=NOW)] == [5550001]
    assert len(outbox.due_messages(session=session, now=NOW + timedelta(minutes=5))) == 2


def test_only_one_of_two_concurrent_transitions_wins(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as setup:
        st = factories.station(setup)
        obs = factories.observer(setup, station_code=st.code)
        report_id = factories.report(setup, obs=obs).id
        setup.commit()
    assert report_id is not None
    with Session(engine) as first, Session(engine) as second:
        won_first = reports.transition(
            session=first,
            report_id=report_id,
            from_statuses=[ReportStatus.ROUTED],
            values={"status": ReportStatus.SIGNED, "signed_at": NOW},
        )
        first.commit()
        won_second = reports.transition(
            session=second,
            report_id=report_id,
            from_statuses=[ReportStatus.ROUTED],
            values={"status": ReportStatus.SIGNED, "signed_at": NOW},
        )
        second.commit()
    assert (won_first, won_second) == (True, False)
    with Session(engine) as check:
        row = check.get(Report, report_id)
        assert row is not None and row.status == ReportStatus.SIGNED


def test_audit_trail_is_kept_in_order(session: Session) -> None:
    st = factories.station(session)
    obs = factories.observer(session, station_code=st.code)
    rep = factories.report(session, obs=obs)
    assert rep.id is not None
    for action in ("created", "routed", "signed"):
        reports.add_event(session=session, report_id=rep.id, actor="system", action=action, at=NOW)
    session.commit()
    assert [e.action for e in reports.events_of(session=session, report_id=rep.id)] == [
        "created",
        "routed",
        "signed",
    ]


def test_open_reports_of_department_sorted_by_due(session: Session) -> None:
    st = factories.station(session)
    obs = factories.observer(session, station_code=st.code)
    late = factories.report(session, obs=obs, sign_due_at=NOW + timedelta(hours=5))
    soon = factories.report(session, obs=obs, sign_due_at=NOW + timedelta(hours=1))
    factories.report(session, obs=obs, status=ReportStatus.CLOSED, sign_due_at=NOW)
    factories.report(session, obs=obs, department="water", sign_due_at=NOW)
    session.commit()
    found = reports.open_reports_of_department(session=session, department="environment")
    assert [r.id for r in found] == [soon.id, late.id]
    due = reports.open_reports_of_department(
        session=session, department="environment", due_before=NOW + timedelta(hours=2)
    )
    assert [r.id for r in due] == [soon.id]
