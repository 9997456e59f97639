"""我的反映 (/my): pages, each report's timeline, 催办 once a deadline has passed, 撤回."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from bot.core.messages import t
from handlers.callbacks import Act, Press
from storage.models import Report, ReportEvent, ReportStatus
from tests.handlers.conftest import DISPATCH_GROUP, HANDLER, OBSERVER, WATER_GROUP, register
from tests.handlers.harness import Sent, World


def _file(world: World, text: str = "东濠涌河涌发臭，水面漂着垃圾") -> Sent:
    """File a report as the observer and return its card."""
    preview = world.message(OBSERVER, text)[0]
    sent = world.press(OBSERVER, preview, preview.button("提交"))
    return next(s for s in sent if s.purpose == "card")


def _report(world: World) -> Report:
    with Session(world.services.engine) as session:
        return session.exec(select(Report)).one()


def _open(world: World) -> Sent:
    listing = world.message(OBSERVER, "/my")[0]
    return world.press(OBSERVER, listing, listing.buttons()[0][1])[0]


def test_my_reports_come_in_pages(world: World) -> None:
    register(world)
    for n in range(7):
        world.message(OBSERVER, "/cancel")
        _file(world, f"第{n + 1}处路灯坏了，晚上很黑")
    first = world.message(OBSERVER, "/my")[0]
    assert "共7件" in first.text and "第1/2页" in first.text
    labels = [label for label, _ in first.buttons()]
    assert len(labels) == 6 and labels[-1] == t("observer.my_next")
    assert all(len(data.encode()) <= 64 for _, data in first.buttons())
    second = world.press(OBSERVER, first, first.button("下一页"))[0]
    assert second.method == "editMessageText" and "第2/2页" in second.text
    assert [label for label, _ in second.buttons()][-1] == t("observer.my_previous")
    back = world.press(OBSERVER, second, second.button("上一页"))[0]
    assert "第1/2页" in back.text


def test_the_timeline_says_who_has_it_and_by_when_in_plain_words(world: World) -> None:
    register(world)
    card = _file(world)
    timeline = _open(world)
    assert "广州市水务局" in timeline.text and "前签收" in timeline.text
    assert t("observer.events.created") in timeline.text
    sent = world.press(HANDLER, card, card.button("签收"))
    notice = next(s for s in sent if s.chat_id == OBSERVER)
    assert "已由广州市水务局签收" in notice.text  # named at the level of the group that has it
    timeline = _open(world)
    assert t("observer.events.signed") in timeline.text and "前办结" in timeline.text


def test_remind_once_per_passed_deadline_tells_department_and_dispatch(world: World) -> None:
    register(world)
    card = _file(world)
    timeline = _open(world)
    assert t("observer.button_remind") not in [label for label, _ in timeline.buttons()]
    world.now += dt.timedelta(days=4)  # the sign-for deadline has passed
    timeline = _open(world)
    assert "已过签收时限" in timeline.text
    sent = world.press(OBSERVER, timeline, timeline.button("催办"))
    report = _report(world)
    to_group = next(s for s in sent if s.chat_id == WATER_GROUP)
    assert report.number in to_group.text and "观察员催办" in to_group.text
    assert to_group.payload["reply_parameters"]["message_id"] == card.message_id
    assert any(s.chat_id == DISPATCH_GROUP for s in sent)
    assert any(s.chat_id == OBSERVER and "已催办" in s.text for s in sent)
    assert world.press(OBSERVER, timeline, timeline.button("催办")) == []
    assert world.last_answer() == t("observer.remind_once")
    # signed for, a new deadline runs: once it passes, 催办 works again
    world.press(HANDLER, card, card.button("签收"))
    world.now += dt.timedelta(days=30)
    timeline = _open(world)
    assert "已过办结时限" in timeline.text
    assert any(
        s.chat_id == WATER_GROUP for s in world.press(OBSERVER, timeline, timeline.button("催办"))
    )
    with Session(world.services.engine) as session:
        reminded = session.exec(
            select(ReportEvent).where(ReportEvent.action == "reminded_by_observer")
        ).all()
    assert [e.details["deadline"] for e in reminded] == ["sign", "resolve"]


def test_remind_before_the_deadline_is_refused_politely(world: World) -> None:
    register(world)
    _file(world)
    timeline = _open(world)
    forged = Press(Act.URGE, _report(world).id or 0).encode()
    assert world.press(OBSERVER, timeline, forged) == []
    assert world.last_answer() == t("observer.remind_not_yet")


def test_withdraw_before_signing_closes_the_card(world: World) -> None:
    register(world)
    card = _file(world)
    timeline = _open(world)
    ask = world.press(OBSERVER, timeline, timeline.button("撤回"))[0]
    assert ask.text == t("observer.withdraw_ask", number=_report(world).number)
    assert _report(world).status == ReportStatus.ROUTED  # nothing happens before it is confirmed
    sent = world.press(OBSERVER, ask, ask.button("确定撤回"))
    report = _report(world)
    assert report.status == ReportStatus.CLOSED
    redraw = next(s for s in sent if s.chat_id == WATER_GROUP and s.method == "editMessageText")
    assert redraw.buttons() == [] and "已撤回" in redraw.text  # the card is a short note now
    assert redraw.message_id == card.message_id
    note = next(s for s in sent if s.chat_id == WATER_GROUP and s.method == "sendMessage")
    assert note.text == t("department.withdrawn", number=report.number)
    assert world.press(HANDLER, card, card.button("签收")) == []
    timeline = _open(world)
    assert t("observer.events.withdrawn") in timeline.text and "现在：已撤回" in timeline.text
    assert "已撤回" in world.message(OBSERVER, "/my")[0].buttons()[0][0]


def test_a_withdrawn_card_keeps_personal_numbers_masked(world: World) -> None:
    register(world)
    text = "河涌发臭" + "，水面漂着垃圾" * 6 + "，联系人：是13912345678"  # the cut (60) halves it
    _file(world, text)
    timeline = _open(world)
    ask = world.press(OBSERVER, timeline, timeline.button("撤回"))[0]
    sent = world.press(OBSERVER, ask, ask.button("确定撤回"))
    closed = next(s for s in sent if s.chat_id == WATER_GROUP and s.method == "editMessageText")
    assert "【已撤回】" in closed.text and "13912345" not in closed.text


def test_withdraw_after_signing_is_refused(world: World) -> None:
    register(world)
    card = _file(world)
    timeline = _open(world)
    world.press(HANDLER, card, card.button("签收"))
    ask = world.press(OBSERVER, timeline, timeline.button("撤回"))[0]
    assert world.press(OBSERVER, ask, ask.button("确定撤回")) == []
    assert world.last_answer() == t("observer.withdraw_not_now")
    assert _report(world).status == ReportStatus.SIGNED
    assert t("observer.button_withdraw") not in [label for label, _ in _open(world).buttons()]
