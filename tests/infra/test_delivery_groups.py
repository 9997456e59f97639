"""The delivery worker follows a group that changed before the bot heard of it, on SQLite and
PostgreSQL, against the loopback server: a 403 from a group the bot was removed from, and a
"group chat was upgraded to a supergroup" for a group that migrated."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.services.reports import find_binding
from bot.telegram.transport import BotApi
from sandbox import ControlClient
from storage.models import GroupBinding, OutboxStatus, Report, ReportEvent, ReportStatus
from tests.handlers.conftest import (
    ADMIN,
    DISPATCH_GROUP,
    HANDLER,
    OBSERVER,
    WATER_GROUP,
    make_world,
    register,
)
from tests.handlers.harness import World
from tests.infra.test_delivery import api, control, deliver_all, loopback, make_worker, queue, rows
from tests.infra.test_delivery import texts as sent_texts

__all__ = ["api", "control", "loopback"]  # the fixtures this module borrows


async def _people_and_groups(control: ControlClient, *, water_type: str, bot_status: str) -> None:
    """The loopback's side of the handler tests' world: the water group, dispatch, people."""
    for user_id, name in ((OBSERVER, "陈晓明"), (ADMIN, "管理员"), (HANDLER, "水务小张")):
        await control.create_user(name, id=user_id, started=True)
    await control.create_group(
        "越秀水务承办群",
        id=WATER_GROUP,
        type=water_type,
        members=[HANDLER],
        creator=HANDLER,
        bot_status=bot_status,
    )
    await control.create_group("社会工作部分拨群", id=DISPATCH_GROUP, type="supergroup")


def _filed(engine: Engine, tmp_path: Path) -> tuple[World, Report]:
    """A report filed through the handlers; its card is in the water group."""
    world = make_world(engine, tmp_path)
    register(world)
    preview = world.message(OBSERVER, "东濠涌河涌发臭，水面漂着垃圾")[0]
    world.press(OBSERVER, preview, preview.button("提交"))
    with Session(engine) as session:
        report = session.exec(select(Report)).one()
    assert report.card_chat_id == WATER_GROUP
    return world, report


def _reminder(engine: Engine, report: Report) -> int:
    """Queue a reminder to the water group replying to the report's card."""
    return queue(
        engine,
        WATER_GROUP,
        payload={
            "chat_id": WATER_GROUP,
            "text": "⏰ 提醒：请尽快签收",
            "reply_parameters": {"message_id": {"$card": report.id}},
        },
        purpose="reminder",
        report_id=report.id,
    )


async def test_a_403_from_a_group_the_bot_left_sends_its_reports_to_dispatch(
    engine: Engine, api: BotApi, control: ControlClient, tmp_path: Path
) -> None:
    world, report = await asyncio.to_thread(_filed, engine, tmp_path)  # World runs its own loop
    await _people_and_groups(control, water_type="supergroup", bot_status="kicked")
    _reminder(engine, report)
    await deliver_all(make_worker(engine, api, services=world.services), engine=engine)
    dispatch = await sent_texts(control, DISPATCH_GROUP)
    assert len(dispatch) == 2 and sum("已被移出" in text for text in dispatch) == 1
    assert all(report.number in text for text in dispatch)
    assert any("已被移出" in text for text in await sent_texts(control, ADMIN))
    observer = await sent_texts(control, OBSERVER)
    assert len(observer) == 1 and "暂时无法送达" in observer[0]
    with Session(engine) as session:
        after = session.get(Report, report.id)
        assert after is not None and after.status == ReportStatus.DISPATCH
        assert after.card_chat_id == DISPATCH_GROUP
        assert find_binding(session, department="water", region="440104") is None
        lost = session.exec(select(ReportEvent).where(ReportEvent.action == "group_lost")).one()
        assert "bot was kicked" in lost.details["cause"]
    failed = [row for row in rows(engine) if row.chat_id == WATER_GROUP]
    assert {row.status for row in failed if row.purpose == "reminder"} == {OutboxStatus.FAILED}


async def test_a_group_found_migrated_by_delivery_gets_its_cards_again(
    engine: Engine, api: BotApi, control: ControlClient, tmp_path: Path
) -> None:
    world, report = await asyncio.to_thread(_filed, engine, tmp_path)  # World runs its own loop
    await _people_and_groups(control, water_type="group", bot_status="member")
    supergroup = (await control.migrate(WATER_GROUP))["supergroup_id"]  # nobody polls: unheard
    _reminder(engine, report)
    await deliver_all(make_worker(engine, api, services=world.services), engine=engine)
    messages = await control.bot_messages(supergroup)
    assert [m["text"] for m in messages][0] == "⏰ 提醒：请尽快签收"  # queued before the card
    cards = [m for m in messages if m.get("reply_markup")]
    assert len(cards) == 1 and report.number in cards[0]["text"]
    with Session(engine) as session:
        after = session.get(Report, report.id)
        assert after is not None
        assert (after.card_chat_id, after.card_message_id) == (supergroup, cards[0]["message_id"])
        binding = session.exec(select(GroupBinding).where(GroupBinding.department == "water")).one()
        assert binding.chat_id == supergroup and binding.active


async def test_dispatch_is_found_when_a_notice_is_sent_and_names_the_department(
    engine: Engine, api: BotApi, control: ControlClient, tmp_path: Path
) -> None:
    world, report = await asyncio.to_thread(_filed, engine, tmp_path)
    await _people_and_groups(control, water_type="supergroup", bot_status="member")
    worker = make_worker(engine, api, services=world.services)
    # Dispatch is rebound to another group after the worker started: the notice follows it.
    moved = await control.create_group("新分拨群", type="supergroup")
    with Session(engine) as session:
        binding = session.exec(
            select(GroupBinding).where(GroupBinding.department == "social_work")
        ).one()
        binding.chat_id = moved["id"]
        session.add(binding)
        session.commit()
    queue(
        engine,
        WATER_GROUP,
        method="editMessageText",
        payload={"chat_id": WATER_GROUP, "message_id": 999_999, "text": "改"},
        report_id=report.id,
    )
    await deliver_all(worker, engine=engine)
    notices = await sent_texts(control, moved["id"])
    assert len(notices) == 1 and report.number in notices[0] and "水务局" in notices[0]
    assert await sent_texts(control, DISPATCH_GROUP) == []
