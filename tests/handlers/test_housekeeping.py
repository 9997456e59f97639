"""Unbound groups are left after a grace period; sentiment is summarised for dispatch daily."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from bot.services.housekeeping import leave_unbound_groups, queue_sentiment_summary
from storage.models import KnownGroup, OutboxMessage, ReportEvent
from tests.handlers.conftest import (
    DISPATCH_GROUP,
    NOW,
    OBSERVER,
    WATER_GROUP,
    bot_added,
    register,
)
from tests.handlers.harness import World


def _bot_added(world: World, chat_id: int) -> None:
    world.update(bot_added(chat_id))


def test_an_unbound_group_is_left_after_the_grace_period(world: World) -> None:
    _bot_added(world, -100555)
    _bot_added(world, WATER_GROUP)  # bound: stays
    with Session(world.services.engine) as session:
        assert leave_unbound_groups(session, now=NOW + dt.timedelta(hours=1)) == []
        left = leave_unbound_groups(session, now=NOW + dt.timedelta(hours=25))
        again = leave_unbound_groups(session, now=NOW + dt.timedelta(hours=26))
        session.commit()
        calls = session.exec(select(OutboxMessage).where(OutboxMessage.method == "leaveChat")).all()
        group = session.get(KnownGroup, -100555)
        events = session.exec(
            select(ReportEvent).where(ReportEvent.action == "left_unbound_group")
        ).all()
    assert left == [-100555] and again == []
    assert [c.chat_id for c in calls] == [-100555]
    assert group is not None and group.left_at is not None and len(events) == 1


def test_yesterdays_sentiment_goes_to_dispatch_once(world: World) -> None:
    register(world)
    for text in ("群众议论最近菜价上涨较快，13800138000反映", "群众议论菜价又涨了"):
        preview = world.message(OBSERVER, text)[0]
        choose = world.press(OBSERVER, preview, preview.button("问题/建议/民意"))[0]
        updated = world.press(OBSERVER, choose, choose.button("社情民意"))[0]
        world.press(OBSERVER, updated, updated.button("提交"))
    next_morning = dt.datetime(2026, 11, 27, 1, 30, tzinfo=dt.UTC)  # 09:30 in Guangzhou
    with Session(world.services.engine) as session:
        too_early = queue_sentiment_summary(
            session, world.services, now=dt.datetime(2026, 11, 26, 23, 0, tzinfo=dt.UTC)
        )
        first = queue_sentiment_summary(session, world.services, now=next_morning)
        second = queue_sentiment_summary(
            session, world.services, now=next_morning + dt.timedelta(hours=3)
        )
        session.commit()
        rows = session.exec(
            select(OutboxMessage).where(OutboxMessage.purpose == "sentiment_summary")
        ).all()
    assert (too_early, first, second) == (False, True, False)
    (row,) = rows
    assert row.chat_id == DISPATCH_GROUP
    assert "共2条" in row.payload["text"] and "13800138000" not in row.payload["text"]


def test_chores_leave_groups_and_send_the_weekly_digest_once(world: World) -> None:
    from bot.services.housekeeping import run_chores
    from storage.models import Leader

    register(world)
    preview = world.message(OBSERVER, "小区自来水发黄，停水也不通知")[0]
    world.press(OBSERVER, preview, preview.button("提交"))
    _bot_added(world, -100556)
    with Session(world.services.engine) as session:
        session.add(Leader(name="省领导", chat_id=9100, scope_region="440000"))
        session.commit()
    sunday = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
    monday_morning = dt.datetime(2026, 11, 30, 1, 5, tzinfo=dt.UTC)  # 09:05 in Guangzhou
    # Sunday: the unbound group is left, and the new leader gets last week's digest.
    assert run_chores(world.services, now=sunday) == 2
    # Monday 09:05: this week's digest, once however often the chores run.
    assert run_chores(world.services, now=monday_morning) == 1
    assert run_chores(world.services, now=monday_morning + dt.timedelta(hours=2)) == 0
    with Session(world.services.engine) as session:
        digests = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == 9100)).all()
    texts = [d for d in digests if d.method == "sendMessage"]
    assert len(texts) == 2 and len(digests) == 6  # each with its chart and workbook


def test_chores_prune_the_reminder_marks_of_reports_closed_a_month_ago(world: World) -> None:
    from bot.services.housekeeping import MARKS_KEPT_FOR, run_chores
    from storage.models import ReminderMark, ReminderState, ReportStatus
    from tests import factories

    engine = world.services.engine
    with Session(engine) as session:
        obs = factories.observer(session, station_code=factories.station(session, code="S-1").code)
        for days, status in (
            (MARKS_KEPT_FOR.days + 1, ReportStatus.CLOSED),
            (1, ReportStatus.CLOSED),
        ):
            report = factories.report(
                session, obs=obs, status=status, closed_at=world.now - dt.timedelta(days=days)
            )
            assert report.id is not None
            session.add(
                ReminderMark(
                    report_id=report.id,
                    deadline="resolve",
                    due_at=world.now,
                    threshold="overdue",
                    fire_at=world.now,
                    state=ReminderState.SENT,
                )
            )
        session.commit()
    run_chores(world.services, now=world.now)
    with Session(engine) as session:
        marks = session.exec(select(ReminderMark)).all()
    assert len(marks) == 1  # the month-old closure's mark is gone; yesterday's stays
