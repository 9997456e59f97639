"""One problem, one card, on both libraries: two observers report the same flooding in
different words; one card counts both (×2), and both are told when it is resolved."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.models import Observer, Report
from tests.e2e.conftest import running_bot
from tests.e2e.test_more_flows import _button, _file_report

pytestmark = pytest.mark.e2e

FIRST = "东濠涌河涌水浸，水面漂着垃圾，路都过不了"
SECOND = "东濠涌条河涌水淹咗，水面啲垃圾冇人捞，行唔到路"
OTHER_PHONE = "+8613800138002"


async def test_two_observers_one_card_both_told(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, me, water = stage.control, stage.observer["id"], stage.water_group["id"]
        with Session(stage.services.engine) as session:
            session.add(Observer(name="李丽", phone=OTHER_PHONE, station_code="GZ-YX-001"))
            session.commit()
        card = await _file_report(stage, FIRST)
        other = (await control.create_user("李丽", phone=OTHER_PHONE, started=True))["id"]
        await control.share_contact(other)
        await stage.texts(other, 1)
        await control.send_text(other, SECOND)
        preview = (await stage.texts(other, 1, since=1))[0]
        assert "已有相似反映" in preview["text"]
        await control.press(other, other, preview["message_id"], data=_button(preview, "补充到"))
        ack = await stage.message_containing(other, "已补充到反映")
        assert "一并办理" in ack["text"]
        card = await stage.message_when(water, card["message_id"], "同一问题 ×2（2位观察员）")
        assert len(await control.bot_messages(water)) == 2  # the card and the follow-up only

        handler = stage.handler["id"]
        await control.press(handler, water, card["message_id"], data=_button(card, "签收"))
        card = await stage.message_when(water, card["message_id"], "✅ 办结")
        for observer in (me, other):
            await stage.message_containing(observer, "签收")
        await control.press(handler, water, card["message_id"], data=_button(card, "办结"))
        prompt = await stage.message_containing(water, "办理结果")
        await control.reply(handler, water, prompt["message_id"], "已清理河道，积水已排走")
        for observer in (me, other):
            told = await stage.message_containing(observer, "已清理河道")
            assert "满意" in str(told["reply_markup"])  # each can rate
        with Session(stage.services.engine) as session:
            first, joined = session.exec(select(Report).order_by(col(Report.id))).all()
        assert joined.duplicate_of == first.id
        assert (first.status, joined.status) == ("resolved", "resolved")
