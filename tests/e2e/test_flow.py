"""The whole observer → department flow on both libraries against the loopback server."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.messages import t
from storage.models import InboxUpdate, Report, ReportStatus
from tests.e2e.conftest import running_bot

pytestmark = __import__("pytest").mark.e2e


def _button(message: dict, label_part: str) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if label_part in button["text"]:
                return button["callback_data"]
    raise AssertionError(f"no button {label_part!r} in {message.get('reply_markup')}")


async def test_register_report_sign_resolve_rate(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, me = stage.control, stage.observer["id"]
        water = stage.water_group["id"]

        await control.send_text(me, "/start")
        welcome = (await stage.texts(me, 1))[0]
        menus = {
            json.loads(c["params"]["scope"])["type"]
            if isinstance(c["params"]["scope"], str)
            else c["params"]["scope"]["type"]: str(c["params"]["commands"])
            for c in await control.calls("setMyCommands")
        }
        groups, private = menus["all_group_chats"], menus["all_private_chats"]
        assert "bind" in groups and "list" in groups and "queue" in groups
        assert "my" in private and "list" not in private and "/start" not in str(menus)
        assert welcome["text"] == t("observer.welcome_new")
        assert (await control.keyboard(me))["keyboard"][0][0]["request_contact"] is True

        await control.share_contact(me)
        registered = (await stage.texts(me, 1, since=1))[0]
        assert "核验成功" in registered["text"]

        await control.send_text(me, "小区自来水发黄，停水也不通知 <b>&</b>")
        preview = (await stage.texts(me, 1, since=2))[0]
        assert "水务" in preview["text"] and "<b>&</b>" in preview["text"]
        answer = await control.press(me, me, preview["message_id"], data=_button(preview, "提交"))
        assert answer["answered"] and answer["answer"]["text"].startswith("GD-")
        ack = (await stage.texts(me, 1, since=3))[0]
        card = (await stage.texts(water, 1))[0]
        with Session(stage.services.engine) as session:
            report = session.exec(select(Report)).one()
        assert report.number in ack["text"] and report.number in card["text"]

        answer = await control.press(
            stage.handler["id"], water, card["message_id"], data=_button(card, "签收")
        )
        assert answer["answer"]["text"] == t("department.signed_answer")
        signed = (await stage.texts(me, 1, since=4))[0]
        assert report.number in signed["text"]
        current = await stage.message_when(water, card["message_id"], "办理中")
        assert "水务小张" in current["text"]

        second = await control.press(
            stage.colleague["id"], water, card["message_id"], data=_button(card, "签收")
        )
        assert second["answer"]["text"] == t("department.already_signed")

        await control.press(
            stage.handler["id"], water, card["message_id"], data=_button(current, "办结")
        )
        prompt = (await stage.texts(water, 1, since=1))[0]
        assert "请回复本消息" in prompt["text"]
        await control.reply(
            stage.handler["id"], water, prompt["message_id"], "已安排清淤保洁，河面已清理"
        )
        rating = (await stage.texts(me, 1, since=5))[0]
        assert "已安排清淤保洁" in rating["text"]
        answer = await control.press(me, me, rating["message_id"], data=_button(rating, "满意"))
        assert "感谢" in answer["answer"]["text"]
        with Session(stage.services.engine) as session:
            report = session.exec(select(Report)).one()
        assert report.status == ReportStatus.CLOSED and report.rating == "satisfied"
        # Every update the library fetched was stored, handled once and without an error.
        with Session(stage.services.engine) as session:
            stored = session.exec(select(InboxUpdate)).all()
        assert stored and {(row.status, row.error, row.attempts) for row in stored} == {
            ("done", None, 1)
        }


async def test_updates_sent_while_the_bot_is_down_are_handled(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        me = stage.observer["id"]
        await stage.control.share_contact(me)
        await stage.texts(me, 1)
        await stage.stop_bot()
        for n in range(50):
            await stage.control.send_text(me, f"第{n}条补充：小区自来水发黄")
        assert len(await stage.control.pending_updates()) == 50
        stage.start_bot()
        await stage.control.wait_idle(timeout=10)
        # One preview answers the whole backlog, not fifty.
        preview = (await stage.texts(me, 1, since=1))[0]
        assert "第0条补充" in preview["text"] and "第49条补充" in preview["text"]
        with Session(stage.services.engine) as session:
            from storage.models import InboxUpdate

            done = session.exec(select(InboxUpdate).where(InboxUpdate.status == "done")).all()
        assert len(done) == 51
