"""The observer's side of the workbench on both libraries: the menu under the input field, a
question answered as help, a voice-only report, 我的反映 with 撤回 and 催办."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.messages import t
from storage.models import Report, ReportStatus
from tests.e2e.conftest import Stage, running_bot
from tests.e2e.test_flow import _button

pytestmark = __import__("pytest").mark.e2e


async def _open_first_report(stage: Stage, seen: int) -> dict:
    """Send /my, open the newest report; return its timeline (``seen``: messages so far)."""
    control, me = stage.control, stage.observer["id"]
    await control.send_text(me, "/my")
    listing = (await stage.texts(me, 1, since=seen))[0]
    data = listing["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await control.press(me, me, listing["message_id"], data=data)
    return (await stage.texts(me, 1, since=seen + 1))[0]


async def test_menu_help_voice_only_and_withdraw(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, me = stage.control, stage.observer["id"]
        dispatch = stage.dispatch_group["id"]
        await control.share_contact(me)
        await stage.texts(me, 1)
        keyboard = await control.keyboard(me)
        labels = [button["text"] for row in keyboard["keyboard"] for button in row]
        assert labels == [t(f"observer.menu_{k}") for k in ("report", "mine", "help")]

        await control.send_text(me, "你好，请问怎么用？")
        assert (await stage.texts(me, 1, since=1))[0]["text"] == t("observer.help")
        await control.send_text(me, t("observer.menu_mine"))
        assert (await stage.texts(me, 1, since=2))[0]["text"] == t("observer.my_empty")

        await control.send_voice(me)
        preview = (await stage.texts(me, 1, since=3))[0]
        placeholder = t("observer.no_text", what="语音1条")
        assert "反映预览" in preview["text"] and placeholder in preview["text"]
        await control.press(me, me, preview["message_id"], data=_button(preview, "提交"))
        ack = (await stage.texts(me, 1, since=4))[0]
        card, voice = await stage.texts(dispatch, 2)
        with Session(stage.services.engine) as session:
            report = session.exec(select(Report)).one()
        assert report.number in ack["text"] and placeholder in card["text"] and "voice" in voice

        timeline = await _open_first_report(stage, 5)
        await control.press(me, me, timeline["message_id"], data=_button(timeline, "撤回"))
        ask = (await stage.texts(me, 1, since=7))[0]
        await control.press(me, me, ask["message_id"], data=_button(ask, "确定撤回"))
        await stage.message_when(me, ask["message_id"], "已撤回")
        await stage.message_containing(dispatch, t("department.withdrawn", number=report.number))
        closed = await stage.message_when(dispatch, card["message_id"], "【已撤回】")
        assert not (closed.get("reply_markup") or {}).get("inline_keyboard")
        with Session(stage.services.engine) as session:
            assert session.exec(select(Report)).one().status == ReportStatus.CLOSED


async def test_remind_after_the_deadline(sqlite_file_engine: Engine, runtime_name: str) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, me = stage.control, stage.observer["id"]
        water, dispatch = stage.water_group["id"], stage.dispatch_group["id"]
        await control.share_contact(me)
        await stage.texts(me, 1)
        await control.send_text(me, "小区自来水发黄，停水也不通知")
        preview = (await stage.texts(me, 1, since=1))[0]
        await control.press(me, me, preview["message_id"], data=_button(preview, "提交"))
        await stage.texts(me, 1, since=2)
        card = (await stage.texts(water, 1))[0]
        with Session(stage.services.engine) as session:  # the sign-for deadline has passed
            report = session.exec(select(Report)).one()
            report.sign_due_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
            session.add(report)
            session.commit()
            number = report.number

        timeline = await _open_first_report(stage, 3)
        assert "已过签收时限" in timeline["text"]
        await control.press(me, me, timeline["message_id"], data=_button(timeline, "催办"))
        urged = await stage.message_containing(water, "观察员催办")
        assert number in urged["text"]
        assert urged["reply_to_message"]["message_id"] == card["message_id"]
        await stage.message_containing(dispatch, "观察员催办")
        await stage.message_containing(me, "已催办")
