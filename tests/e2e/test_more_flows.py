"""More flows on both libraries: invite, guided form across a restart, transfer and return,
replies both ways, reopen, forged and stale buttons."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.messages import t
from bot.services.people import new_code
from storage.models import InviteCode, Report, ReportEvent, ReportStatus
from tests.e2e.conftest import Stage, running_bot

pytestmark = pytest.mark.e2e


def _button(message: dict, label_part: str) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if label_part in button["text"]:
                return button["callback_data"]
    raise AssertionError(f"no button {label_part!r} in {message.get('reply_markup')}")


def _report(stage: Stage) -> Report:
    with Session(stage.services.engine) as session:
        return session.exec(select(Report)).one()


async def _file_report(stage: Stage, text: str = "小区自来水发黄，停水也不通知") -> dict:
    """Register the observer, submit ``text`` and return the card in the water group."""
    control, me = stage.control, stage.observer["id"]
    await control.share_contact(me)
    await stage.texts(me, 1)
    await control.send_text(me, text)
    preview = (await stage.texts(me, 1, since=1))[0]
    await control.press(me, me, preview["message_id"], data=_button(preview, "提交"))
    return (await stage.texts(stage.water_group["id"], 1))[0]


async def test_invite_code_registration(sqlite_file_engine: Engine, runtime_name: str) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        code = new_code()
        with Session(stage.services.engine) as session:
            session.add(
                InviteCode(
                    code=code,
                    station_code="GZ-YX-001",
                    expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
                )
            )
            session.commit()
        newcomer = await stage.control.create_user("新观察员", started=True)
        await stage.control.send_text(newcomer["id"], f"/start {code}")
        welcome = (await stage.texts(newcomer["id"], 1))[0]
        assert "核验成功" in welcome["text"] and "北京街" in welcome["text"]
        stranger = await stage.control.create_user("路人", started=True)
        await stage.control.send_text(stranger["id"], f"/start {code}")
        refused = (await stage.texts(stranger["id"], 1))[0]
        assert refused["text"] == t("observer.bad_invite")


async def test_guided_form_resumes_after_a_restart(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, me = stage.control, stage.observer["id"]
        await control.share_contact(me)
        await stage.texts(me, 1)
        await control.send_text(me, "/new")
        kind = (await stage.texts(me, 1, since=1))[0]
        await control.press(me, me, kind["message_id"], data=_button(kind, "问题反映"))
        category = (await stage.texts(me, 1, since=2))[0]
        await control.press(me, me, category["message_id"], data=_button(category, "其他"))
        await stage.texts(me, 1, since=3)  # the location question
        await stage.stop_bot()
        stage.start_bot()
        await control.send_text(me, "越秀区北京路128号")
        await stage.texts(me, 1, since=4)  # the description question
        await control.send_text(me, "自来水管爆裂，路面积水")
        photos = (await stage.texts(me, 1, since=5))[0]
        await control.press(me, me, photos["message_id"], data=_button(photos, "下一步"))
        urgency = (await stage.texts(me, 1, since=6))[0]
        await control.press(me, me, urgency["message_id"], data=_button(urgency, "紧急"))
        preview = (await stage.texts(me, 1, since=7))[0]
        assert "北京路128号" in preview["text"] and "爆裂" in preview["text"]
        await control.press(me, me, preview["message_id"], data=_button(preview, "提交"))
        card = (await stage.texts(stage.water_group["id"], 1))[0]
        assert card["text"].startswith("🚨") and _report(stage).priority == "urgent"


async def test_transfer_return_and_dispatch(sqlite_file_engine: Engine, runtime_name: str) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, water = stage.control, stage.water_group["id"]
        dispatch = stage.dispatch_group["id"]
        card = await _file_report(stage)
        handler = stage.handler["id"]
        await control.press(handler, water, card["message_id"], data=_button(card, "退回"))
        prompt = (await stage.texts(water, 1, since=1))[0]
        await control.reply(handler, water, prompt["message_id"], "应由属地镇街处理")
        dispatch_card = (await stage.texts(dispatch, 1))[0]
        assert "待分拨" in dispatch_card["text"]
        assert _report(stage).status == ReportStatus.DISPATCH
        assert "应由属地镇街处理" in dispatch_card["text"]  # why it came back
        # The department that returned it is not offered first; dispatch finds it in the menu.
        assert "水务" not in dispatch_card["reply_markup"]["inline_keyboard"][0][0]["text"]
        dispatcher = (await control.create_user("分拨员"))["id"]
        await control.join(dispatch, dispatcher)
        await control.press(
            dispatcher,
            dispatch,
            dispatch_card["message_id"],
            data=_button(dispatch_card, "分拨其他部门"),
        )
        menu = await stage.message_when(dispatch, dispatch_card["message_id"], "返回")
        await control.press(
            dispatcher, dispatch, dispatch_card["message_id"], data=_button(menu, "水务")
        )
        new_card = (await stage.texts(water, 1, since=2))[0]
        assert "待签收" in new_card["text"]
        report = _report(stage)
        assert report.status == ReportStatus.ROUTED and report.department == "water"
        # Transfer from water to a department with no group: it falls back to dispatch.
        await control.press(handler, water, new_card["message_id"], data=_button(new_card, "转办"))
        menu = await stage.message_when(water, new_card["message_id"], "生态环境")
        await control.press(handler, water, new_card["message_id"], data=_button(menu, "生态环境"))
        note = await stage.texts(dispatch, 1, since=1)
        assert "没有绑定的群" in note[0]["text"]


async def test_notes_answers_both_ways_and_reopen(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, me, water = stage.control, stage.observer["id"], stage.water_group["id"]
        card = await _file_report(stage)
        handler = stage.handler["id"]
        # A reply to the card is an internal note: counted on the card, never sent on.
        await control.reply(handler, water, card["message_id"], "@老王 这个是不是我们管的？")
        await stage.message_when(water, card["message_id"], "内部备注 1 条")
        # Answering the observer is the card's button; its prompt opens the reply box for the
        # presser alone (privacy mode is on in the loopback groups).
        await control.press(handler, water, card["message_id"], data=_button(card, "答复观察员"))
        prompt = await stage.message_containing(water, "写下给观察员的答复")
        box = await control.reply_box(water, prompt["message_id"])
        assert box == {"users": [handler]}
        await control.reply(handler, water, prompt["message_id"], "请问是哪一栋？")
        relayed = (await stage.texts(me, 1, since=3))[0]
        assert "请问是哪一栋？" in relayed["text"]
        assert not any("老王" in (m.get("text") or "") for m in await control.bot_messages(me))
        await control.send_text(me, "/my")
        listing = (await stage.texts(me, 1, since=4))[0]
        number = _report(stage).number
        await control.press(me, me, listing["message_id"], data=_button(listing, number))
        timeline = (await stage.texts(me, 1, since=5))[0]
        await control.press(me, me, timeline["message_id"], data=_button(timeline, "补充"))
        await stage.texts(me, 1, since=6)
        await control.send_text(me, "3栋2单元")
        await stage.message_containing(water, "3栋2单元")
        # Sign, resolve, the observer is not satisfied: the report reopens.
        await control.press(handler, water, card["message_id"], data=_button(card, "签收"))
        current = await stage.message_when(water, card["message_id"], "✅ 办结")
        await control.press(handler, water, card["message_id"], data=_button(current, "办结"))
        prompt = await stage.message_containing(water, "办理结果")
        await control.reply(handler, water, prompt["message_id"], "已修复")
        rating = await stage.message_containing(me, "请评价")
        await control.press(me, me, rating["message_id"], data=_button(rating, "不满意"))
        await control.send_text(me, "水还是黄的")
        reopened = await stage.message_containing(water, "重新办理")
        assert "水还是黄的" in reopened["text"]
        report = _report(stage)
        assert report.status == ReportStatus.SIGNED and report.rating_reason == "水还是黄的"


async def test_forged_and_stale_buttons_change_nothing(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control, water = stage.control, stage.water_group["id"]
        dispatch = stage.dispatch_group["id"]
        card = await _file_report(stage)
        rid = _report(stage).id
        # A member of the dispatch group forges a 签收 for the water department's report on
        # a bot message in their own group.
        member = (await control.create_user("分拨员甲"))["id"]
        await control.join(dispatch, member)
        await control.send_text(member, "/my", chat_id=dispatch)
        bait = (await stage.texts(dispatch, 1))[0]
        answer = await control.press(member, dispatch, bait["message_id"], data=f"ob1:sign:{rid}")
        assert answer["answer"]["text"] == t("authority.not_your_report")
        assert _report(stage).status == ReportStatus.ROUTED
        # Old-version and foreign callback data.
        for data in ("v0:sign:1", "somebody-elses-bot:42"):
            answer = await control.press(stage.handler["id"], water, card["message_id"], data=data)
            assert answer["answer"]["text"] == t("common.unknown_button")
        # A stale button: sign, then press 签收 again from the old keyboard.
        await control.press(
            stage.handler["id"], water, card["message_id"], data=_button(card, "签收")
        )
        again = await control.press(
            stage.colleague["id"], water, card["message_id"], data=_button(card, "签收")
        )
        assert again["answer"]["text"] == t("department.already_signed")
        with Session(stage.services.engine) as session:
            signed = session.exec(select(ReportEvent).where(ReportEvent.action == "signed")).all()
            refused = session.exec(
                select(ReportEvent).where(ReportEvent.action == "press_refused")
            ).all()
        assert len(signed) == 1 and len(refused) == 2


async def test_a_leader_receives_the_digest_with_chart_and_workbook(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    from storage.models import Leader

    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        await _file_report(stage)
        leader = await stage.control.create_user("市领导", started=True)
        with Session(stage.services.engine) as session:
            session.add(Leader(name="市领导", chat_id=leader["id"], scope_region="440100"))
            session.commit()
        await stage.control.send_text(leader["id"], "/digest")
        text, photo, document = await stage.texts(leader["id"], 3)
        assert text["text"].startswith("📊 广州市") and "新增 1 件" in text["text"]
        assert "photo" in photo and document["document"]["file_name"] == "digest.xlsx"
        png = await stage.control.file(photo["photo"][-1]["file_id"])
        assert png  # the chart's bytes reached the server


async def test_only_the_group_holding_a_report_routes_or_closes_it(
    sqlite_file_engine: Engine, runtime_name: str
) -> None:
    async with running_bot(runtime_name, sqlite_file_engine) as stage:
        control = stage.control
        water, dispatch = stage.water_group["id"], stage.dispatch_group["id"]
        me = stage.observer["id"]
        await control.share_contact(me)
        await stage.texts(me, 1)
        await control.send_text(me, "这件事不知道该找谁，大家都很烦")
        preview = (await stage.texts(me, 1, since=1))[0]
        await control.press(me, me, preview["message_id"], data=_button(preview, "提交"))
        card = (await stage.texts(dispatch, 1))[0]
        report = _report(stage)
        assert report.status == ReportStatus.DISPATCH  # 分拨 and 关闭 are allowed now
        # The water group's member forges both on a bot message in the water group.
        await control.send_text(stage.handler["id"], "/help", chat_id=water)
        bait = (await stage.texts(water, 1))[0]
        for data in (f"ob1:rto:{report.id}:water", f"ob1:close:{report.id}"):
            forged = await control.press(stage.handler["id"], water, bait["message_id"], data=data)
            assert forged["answer"]["text"] == t("authority.not_your_report")
        assert _report(stage).status == ReportStatus.DISPATCH
        with Session(stage.services.engine) as session:
            refused = session.exec(
                select(ReportEvent).where(ReportEvent.action == "press_refused")
            ).all()
        assert [e.details["chat"] for e in refused] == [water, water]
        # The dispatch group, which holds it, routes it to water.
        dispatcher = (await control.create_user("分拨员乙"))["id"]
        await control.join(dispatch, dispatcher)
        await control.press(
            dispatcher, dispatch, card["message_id"], data=f"ob1:rto:{report.id}:water"
        )
        routed = (await stage.texts(water, 1, since=1))[0]
        assert report.number in routed["text"]
        assert _report(stage).status == ReportStatus.ROUTED
