"""Leaders: registered by administrators, /digest of their own scope, the Monday sweep."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from bot.core.messages import t
from bot.services.digest_jobs import send_due_digests
from storage.models import Leader, Observer, OutboxMessage, ReportEvent
from tests import factories
from tests.handlers.conftest import ADMIN, NOW, OBSERVER, STRANGER
from tests.handlers.harness import World, texts

LEADER = 6001  # a city leader of 广州
SZ_LEADERS_GROUP = -100666  # a leaders' group for 深圳


def add_reports(world: World) -> None:
    """One report this week from 越秀 (广州), one last week; nothing from 深圳."""
    with Session(world.services.engine) as session:
        obs = session.exec(select(Observer).where(Observer.name == "陈晓明")).one()
        factories.report(session, obs=obs, region_code="440104001", created_at=NOW)
        factories.report(
            session, obs=obs, region_code="440104001", created_at=NOW - dt.timedelta(days=7)
        )
        session.commit()


def leaders(world: World) -> list[Leader]:
    with Session(world.services.engine) as session:
        return list(session.exec(select(Leader).order_by(col(Leader.id))).all())


def test_admin_registers_leaders_and_it_is_audited(world: World) -> None:
    sent = world.message(ADMIN, f"/leader add {LEADER} 440100")
    assert "已登记领导" in sent[0].text and "广东省广州市" in sent[0].text
    world.message(ADMIN, f"/leader add {SZ_LEADERS_GROUP} 440300 supervises")
    again = world.message(ADMIN, f"/leader add {LEADER} 440104")
    assert "已更新领导" in again[0].text
    rows = leaders(world)
    assert [(r.chat_id, r.scope_region, r.supervises) for r in rows] == [
        (LEADER, "440104", False),
        (SZ_LEADERS_GROUP, "440300", True),
    ]
    with Session(world.services.engine) as session:
        actions = [
            e.action for e in session.exec(select(ReportEvent).order_by(col(ReportEvent.id))).all()
        ]
    assert actions == ["leader_added", "leader_added", "leader_updated"]


def test_leader_command_is_for_admins_only_and_checks_its_arguments(world: World) -> None:
    refused = world.message(STRANGER, f"/leader add {STRANGER} 440000")
    assert texts(refused) == [t("common.admins_only")]
    assert leaders(world) == []
    assert texts(world.message(ADMIN, "/leader add")) == [t("leader.add_usage")]
    assert texts(world.message(ADMIN, "/leader add abc 440100")) == [
        t("leader.bad_chat", chat="abc")
    ]
    assert texts(world.message(ADMIN, "/leader add 5 440104001")) == [
        t("leader.bad_scope", scope="440104001")
    ]
    assert texts(world.message(ADMIN, "/leader add 5 440100 boss")) == [t("leader.add_usage")]


def test_only_a_leader_chat_gets_a_digest_of_its_own_scope(world: World) -> None:
    add_reports(world)
    assert texts(world.message(OBSERVER, "/digest")) == [t("leader.not_leader")]
    world.message(ADMIN, f"/leader add {LEADER} 440100")
    world.message(ADMIN, f"/leader add {SZ_LEADERS_GROUP} 440300")
    mine = world.message(LEADER, "/digest")
    assert [m.method for m in mine] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert {m.chat_id for m in mine} == {LEADER}
    assert mine[1].payload["photo"]["$upload"].endswith("chart.png")
    assert mine[2].payload["document"]["$upload"].endswith("digest.xlsx")
    assert mine[0].text.startswith("📊 广州市社会工作观察站周报")
    assert "2026-W48" in mine[0].text and "新增 1 件" in mine[0].text
    last = world.message(LEADER, "/digest last")
    assert "2026-W47" in last[0].text and "新增 1 件" in last[0].text
    group = world.message(
        7777, "/digest", chat_id=SZ_LEADERS_GROUP, chat_type="supergroup", title="深圳领导群"
    )
    assert group[0].text.startswith("📊 深圳市") and "新增 0 件" in group[0].text
    # A group that is not a leaders' group hears nothing.
    assert world.message(7777, "/digest", chat_id=-100999, chat_type="supergroup") == []


def test_subscribe_and_the_monday_sweep_sends_each_week_once(world: World) -> None:
    add_reports(world)
    world.message(ADMIN, f"/leader add {LEADER} 440100")
    world.message(ADMIN, f"/leader add {SZ_LEADERS_GROUP} 440300")
    assert "已退订" in world.message(LEADER, "/unsubscribe")[0].text
    assert [r.subscribed for r in leaders(world)] == [False, True]
    assert "已订阅" in world.message(LEADER, "/subscribe")[0].text

    shanghai = world.services.tz
    sunday = dt.datetime(2026, 11, 29, 23, 0, tzinfo=shanghai)
    monday_early = dt.datetime(2026, 11, 30, 8, 59, tzinfo=shanghai)
    monday = dt.datetime(2026, 11, 30, 9, 0, tzinfo=shanghai)
    # Down since before Monday 23 09:00: W47 goes out once, on recovery (any day that week).
    recovered = send_due_digests(world.services, sunday)
    assert recovered.week.label == "2026-W47" and recovered.queued == 2
    assert {m.idempotency_key for m in _digests(world)} == {
        f"digest:{chat}:2026-W47{part}"
        for chat in (LEADER, SZ_LEADERS_GROUP)
        for part in ("", ":chart", ":xlsx")
    }
    assert send_due_digests(world.services, sunday).queued == 0
    early = send_due_digests(world.services, monday_early)
    assert early.week.label == "2026-W48" and not early.due and early.queued == 0
    run = send_due_digests(world.services, monday)
    assert run.due and run.queued == 2
    again = send_due_digests(world.services, monday + dt.timedelta(hours=3))
    assert again.queued == 0 and again.skipped == 2
    w48 = [m for m in _digests(world) if m.idempotency_key.endswith("2026-W48")]
    assert len([m for m in _digests(world) if "2026-W48:" in m.idempotency_key]) == 4
    assert sorted(m.chat_id for m in w48) == sorted([LEADER, SZ_LEADERS_GROUP])
    mine = next(m for m in w48 if m.chat_id == LEADER)
    assert mine.payload["text"].startswith("📊 广州市") and "新增 1 件" in mine.payload["text"]


def test_an_unsubscribed_leader_gets_nothing(world: World) -> None:
    world.message(ADMIN, f"/leader add {LEADER} 440100")
    world.message(LEADER, "/unsubscribe")
    monday = dt.datetime(2026, 11, 30, 10, 0, tzinfo=world.services.tz)
    assert send_due_digests(world.services, monday).queued == 0
    assert _digests(world) == []


def _digests(world: World) -> list[OutboxMessage]:
    with Session(world.services.engine) as session:
        return list(
            session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "digest")).all()
        )
