"""Groups that change under the running bot, on both libraries against the loopback server:
the bot removed from a bound group (told, or finding out from Telegram's 403), added back and
re-bound, and a basic group migrating to a supergroup."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage import outbox
from storage.models import GroupBinding, ReportEvent, ReportStatus
from storage.types import utcnow
from tests.e2e.conftest import Stage, running_bot
from tests.e2e.test_more_flows import _button, _report

pytestmark = pytest.mark.e2e


def _water(stage: Stage) -> GroupBinding:
    with Session(stage.services.engine) as session:
        return session.exec(select(GroupBinding).where(GroupBinding.department == "water")).one()


async def _submit(stage: Stage, text: str = "小区自来水发黄，停水也不通知") -> None:
    """Register the observer and submit ``text``."""
    control, me = stage.control, stage.observer["id"]
    await control.share_contact(me)
    await stage.texts(me, 1)
    await control.send_text(me, text)
    preview = (await stage.texts(me, 1, since=1))[0]
    await control.press(me, me, preview["message_id"], data=_button(preview, "提交"))


async def _card_in(stage: Stage, chat_id: int, number: str) -> dict[str, Any]:
    """Wait for the bot's newest message in ``chat_id`` naming ``number`` with buttons."""
    for _ in range(200):
        cards = [
            m
            for m in await stage.control.bot_messages(chat_id)
            if number in (m.get("text") or "") and m.get("reply_markup")
        ]
        if cards:
            return cards[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no card of {number} in chat {chat_id}")


async def test_removed_added_back_and_rebound(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, me = stage.control, stage.observer["id"]
        water, dispatch = stage.water_group["id"], stage.dispatch_group["id"]
        admin = await control.create_user("系统管理员", started=True)
        stage.services.admin_ids = frozenset({admin["id"]})
        await _submit(stage)
        first_card = (await stage.texts(water, 1))[0]
        number = _report(stage).number

        await control.remove_bot(water, by_user_id=stage.handler["id"])
        notice = await stage.message_containing(dispatch, "已被移出")
        assert number in notice["text"] and "/bindcode water 440100" in notice["text"]
        assert "越秀水务承办群" in notice["text"]
        dispatch_card = await _card_in(stage, dispatch, number)
        assert _button(dispatch_card, "分拨")  # dispatch can route it on
        await stage.message_containing(admin["id"], "已被移出")
        await stage.message_containing(me, "暂时无法送达")
        assert not _water(stage).active
        assert _report(stage).status == ReportStatus.DISPATCH

        await control.add_bot(water, by_user_id=stage.handler["id"])
        asked = await stage.message_containing(water, "/bind 绑定码")
        assert "水务局" in asked["text"]
        await stage.message_containing(admin["id"], "加回")
        # Back in the group but not re-bound: its old card's buttons act on nothing.
        stale = await control.press(
            stage.handler["id"], water, first_card["message_id"], data=_button(first_card, "签收")
        )
        assert stale["answered"] and _report(stage).status == ReportStatus.DISPATCH
        await control.send_text(admin["id"], "/bindcode water 440100")
        issued = await stage.message_containing(admin["id"], "绑定码 ")
        code = issued["text"].split("绑定码 ")[1].split("：")[0]
        await control.send_text(stage.handler["id"], f"/bind {code}", chat_id=water)
        await stage.message_containing(water, "本群已绑定")
        card = await stage.message_containing(water, "承办群变更")
        assert card["message_id"] != first_card["message_id"] and number in card["text"]
        answer = await control.press(
            stage.handler["id"], water, card["message_id"], data=_button(card, "签收")
        )
        assert answer["answered"]
        await stage.message_when(water, card["message_id"], "办理中")
        report = _report(stage)
        assert report.status == ReportStatus.SIGNED and report.card_chat_id == water
        assert report.card_message_id == card["message_id"] and _water(stage).active
        await stage.message_when(dispatch, dispatch_card["message_id"], "恢复绑定")
        assert not (await control.get_message(dispatch, dispatch_card["message_id"])).get(
            "reply_markup"
        )


async def test_a_card_refused_by_a_group_the_bot_left_goes_to_dispatch(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, me = stage.control, stage.observer["id"]
        water, dispatch = stage.water_group["id"], stage.dispatch_group["id"]
        # Removed while the bot was not told (an update lost): Telegram's 403 is the news.
        await control.remove_bot(water, by_user_id=stage.handler["id"], silent=True)
        await _submit(stage)
        await stage.message_containing(dispatch, "已被移出")
        number = _report(stage).number
        await _card_in(stage, dispatch, number)
        told = await stage.message_containing(me, "暂时无法送达")
        assert number in told["text"] and "社会工作部" in told["text"]
        texts = [m.get("text") or "" for m in await control.bot_messages(me)]
        assert not any("已转交" in text for text in texts), texts  # never told it arrived
        assert await stage.sent_count(water) == 0
        assert not _water(stage).active
        report = _report(stage)
        assert report.status == ReportStatus.DISPATCH and report.card_chat_id == dispatch
        with Session(stage.services.engine) as session:
            lost = session.exec(select(ReportEvent).where(ReportEvent.action == "group_lost")).one()
        assert "bot was kicked" in lost.details["cause"] and lost.details["reports"] == [number]
        # The bot hears of the removal later after all: nothing happens twice.
        await control.add_bot(water, by_user_id=stage.handler["id"])
        await control.remove_bot(water, by_user_id=stage.handler["id"])
        await control.wait_idle(timeout=10)
        await asyncio.sleep(0.5)
        notices = [
            m for m in await control.bot_messages(dispatch) if "已被移出" in (m.get("text") or "")
        ]
        assert len(notices) == 1


async def _water_in_a_basic_group(stage: Stage) -> int:
    """Create a basic group with the handler in it and bind the water department there."""
    handler = stage.handler["id"]
    basic = await stage.control.create_group(
        "荔湾水务群", type="group", members=[handler], creator=handler
    )
    with Session(stage.services.engine) as session:
        binding = session.exec(select(GroupBinding).where(GroupBinding.department == "water")).one()
        binding.chat_id = basic["id"]
        session.add(binding)
        session.commit()
    return int(basic["id"])


async def test_a_migrated_group_gets_its_open_cards_again_once(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control = stage.control
        handler = stage.handler["id"]
        basic = await _water_in_a_basic_group(stage)
        await _submit(stage)
        card = (await stage.texts(basic, 1))[0]
        await control.press(handler, basic, card["message_id"], data=_button(card, "签收"))
        await stage.message_when(basic, card["message_id"], "办理中")

        supergroup = (await control.migrate(basic))["supergroup_id"]
        moved = await stage.message_containing(supergroup, "承办群变更")
        number = _report(stage).number
        assert number in moved["text"] and _button(moved, "办结")
        await control.wait_idle(timeout=10)
        await asyncio.sleep(0.5)
        cards = [m for m in await control.bot_messages(supergroup) if m.get("reply_markup")]
        assert [m["message_id"] for m in cards] == [moved["message_id"]]  # once, not twice
        assert _water(stage).chat_id == supergroup
        report = _report(stage)
        assert (report.card_chat_id, report.card_message_id) == (supergroup, moved["message_id"])
        answer = await control.press(
            handler, supergroup, moved["message_id"], data=_button(moved, "办结")
        )
        assert answer["answered"] and "不属于" not in str(answer["answer"])
        with Session(stage.services.engine) as session:
            migrated = session.exec(
                select(ReportEvent).where(ReportEvent.action == "group_migrated")
            ).all()
        assert len(migrated) == 1


async def test_a_migration_found_by_delivery_is_followed_once_too(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control = stage.control
        basic = await _water_in_a_basic_group(stage)
        await _submit(stage)
        await stage.texts(basic, 1)
        report = _report(stage)
        await stage.stop_bot()
        # While the bot is down the group migrates, and a reminder about the card is queued for
        # the old chat: on restart delivery meets "upgraded to a supergroup" and the updates
        # arrive too, in whichever order.
        supergroup = (await control.migrate(basic))["supergroup_id"]
        with Session(stage.services.engine) as session:
            outbox.enqueue(
                session=session,
                chat_id=basic,
                payload={
                    "chat_id": basic,
                    "text": "⏰ 提醒：请尽快签收",
                    "reply_parameters": {
                        "message_id": {"$card": report.id},
                        "allow_sending_without_reply": True,
                    },
                },
                idempotency_key="test:reminder",
                now=utcnow(),
                purpose="reminder",
                report_id=report.id,
            )
            session.commit()
        stage.start_bot()
        moved = await stage.message_containing(supergroup, "承办群变更")
        await stage.message_containing(supergroup, "请尽快签收")
        await control.wait_idle(timeout=10)
        await asyncio.sleep(0.5)
        cards = [m for m in await control.bot_messages(supergroup) if m.get("reply_markup")]
        assert [m["message_id"] for m in cards] == [moved["message_id"]]
        assert _button(moved, "签收") and _water(stage).chat_id == supergroup
        after = _report(stage)
        assert (after.card_chat_id, after.card_message_id) == (supergroup, moved["message_id"])


async def test_rebinding_to_another_group_moves_the_open_cards(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control = stage.control
        water, handler = stage.water_group["id"], stage.handler["id"]
        admin = await control.create_user("系统管理员", started=True)
        stage.services.admin_ids = frozenset({admin["id"]})
        await _submit(stage)
        old_card = (await stage.texts(water, 1))[0]
        number = _report(stage).number
        new_group = (
            await control.create_group("广州水务新群", type="supergroup", members=[handler])
        )["id"]
        await control.add_bot(new_group, by_user_id=handler)
        await control.send_text(admin["id"], "/bindcode water 440100")
        issued = await stage.message_containing(admin["id"], "绑定码 ")
        code = issued["text"].split("绑定码 ")[1].split("：")[0]
        await control.send_text(handler, f"/bind {code}", chat_id=new_group)
        card = await stage.message_containing(new_group, "承办群变更")
        assert number in card["text"] and _button(card, "签收")
        retired = await stage.message_when(water, old_card["message_id"], "停止使用")
        assert not retired.get("reply_markup") and "广州水务新群" in retired["text"]
        stale = await control.press(
            handler, water, old_card["message_id"], data=_button(old_card, "签收")
        )
        assert stale["answered"] and _report(stage).status == ReportStatus.ROUTED
        await control.press(handler, new_group, card["message_id"], data=_button(card, "签收"))
        await stage.message_when(new_group, card["message_id"], "办理中")
        report = _report(stage)
        assert report.status == ReportStatus.SIGNED
        assert (report.card_chat_id, report.card_message_id) == (new_group, card["message_id"])
