"""Only the right group, on the right card, in the right state, may act; prompts cannot misfire.

Every forged press here targets a report in a state where the action *would* be allowed, so
only authority (region, department, card, membership) can refuse it.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from bot.core.authority import Membership
from bot.core.messages import t
from bot.infra.membership import MembershipCache
from bot.services.housekeeping import run_chores
from handlers.callbacks import Act, Press
from storage.models import GroupBinding, Observer, PendingInput, Report, ReportEvent, ReportStatus
from tests.handlers.conftest import (
    COLLEAGUE,
    DISPATCH_GROUP,
    DISPATCHER,
    ENV_GROUP,
    ENV_HANDLER,
    HANDLER,
    OBSERVER,
    STRANGER,
    WATER_GROUP,
    register,
)
from tests.handlers.harness import Sent, World

SZ_OBSERVER = 7003
SZ_WATER_GROUP = -100555  # water, 深圳市
SZ_DISPATCH_GROUP = -100666  # social_work, 深圳市
SZ_HANDLER = 8501
SZ_DISPATCHER = 8601


def _shenzhen(world: World) -> None:
    """Bind Shenzhen's water and dispatch groups and register a Shenzhen observer."""
    with Session(world.services.engine) as session:
        session.add(GroupBinding(department="water", region_code="440300", chat_id=SZ_WATER_GROUP))
        session.add(
            GroupBinding(department="social_work", region_code="440300", chat_id=SZ_DISPATCH_GROUP)
        )
        session.add(Observer(name="黄敏", phone="+8613800138009", station_code="SZ-FT-001"))
        session.commit()
    register(world, SZ_OBSERVER, "+8613800138009")


def _submit(world: World, user: int = OBSERVER, text: str = "东濠涌河涌发臭，水面漂着垃圾") -> Sent:
    preview = world.message(user, text)[0]
    sent = world.press(user, preview, preview.button("提交"))
    return next(s for s in sent if s.purpose == "card")


def _report(world: World, number_of: Sent) -> Report:
    with Session(world.services.engine) as session:
        return next(r for r in session.exec(select(Report)) if r.number in number_of.text)


def _prompt(sent: list[Sent]) -> Sent:
    return next(s for s in sent if s.purpose == "prompt")


def _forge(chat: int, message_id: int) -> Sent:
    """A message in ``chat`` to press a forged button on."""
    return Sent(chat, "sendMessage", "", message_id, {}, "")


def _refusals(world: World) -> list[ReportEvent]:
    with Session(world.services.engine) as session:
        return list(
            session.exec(select(ReportEvent).where(ReportEvent.action == "press_refused")).all()
        )


def test_a_group_cannot_act_on_another_regions_report(world: World) -> None:
    register(world)
    _shenzhen(world)
    gz_card = _submit(world)
    sz_card = _submit(world, SZ_OBSERVER, "福田河涌发臭，水面漂着垃圾")
    assert sz_card.chat_id == SZ_WATER_GROUP and gz_card.chat_id == WATER_GROUP
    sz = _report(world, sz_card)
    sign = Press(Act.SIGN, sz.id or 0).encode()
    # Guangzhou's water group forges 签收 on a message of its own: same department, other region.
    assert world.press(HANDLER, gz_card, sign) == []
    assert world.last_answer() == t("authority.not_your_report")
    assert _report(world, sz_card).status == ReportStatus.ROUTED
    # Shenzhen signs; Guangzhou forges 办结 (allowed in that state) and 退回.
    world.press(SZ_HANDLER, sz_card, sign)
    for act in (Act.RESOLVE, Act.RETURN, Act.ANSWER, Act.TRANSFER):
        assert world.press(HANDLER, gz_card, Press(act, sz.id or 0).encode()) == []
        assert world.last_answer() == t("authority.not_your_report")
    assert not any(p.purpose == "prompt" for p in world.transcript if p.chat_id == WATER_GROUP)
    assert [e.details["chat"] for e in _refusals(world)] == [WATER_GROUP] * 5


def test_a_dispatch_group_acts_only_on_reports_waiting_at_it(world: World) -> None:
    register(world)
    _shenzhen(world)
    card = _submit(world, text="这件事不知道该找谁，大家都很烦")
    report = _report(world, card)
    assert card.chat_id == DISPATCH_GROUP and report.status == ReportStatus.DISPATCH
    forged = _forge(SZ_DISPATCH_GROUP, 1)
    for data in (
        Press(Act.ROUTE_TO, report.id or 0, "environment").encode(),
        Press(Act.CLOSE, report.id or 0).encode(),
    ):
        assert world.press(SZ_DISPATCHER, forged, data) == []
        assert world.last_answer() == t("authority.not_your_report")
    # A department group cannot take dispatch's actions either.
    route = Press(Act.ROUTE_TO, report.id or 0, "water").encode()
    assert world.press(HANDLER, _forge(WATER_GROUP, 1), route) == []
    assert world.last_answer() == t("authority.not_your_report")
    assert _report(world, card).status == ReportStatus.DISPATCH
    # The provincial dispatch group can, on its card.
    routed = world.press(DISPATCHER, card, route)
    assert any(s.purpose == "card" and s.chat_id == WATER_GROUP for s in routed)


def test_a_press_counts_only_on_the_reports_current_card(world: World) -> None:
    register(world)
    card = _submit(world)
    report = _report(world, card)
    # Any other bot message in the right group (here: the observer's follow-up under the card).
    other = _forge(WATER_GROUP, card.message_id + 500)
    assert world.press(HANDLER, other, Press(Act.SIGN, report.id or 0).encode()) == []
    assert world.last_answer() == t("common.stale_button")
    assert _report(world, card).status == ReportStatus.ROUTED
    assert world.press(HANDLER, card, card.button("签收"))
    assert _report(world, card).status == ReportStatus.SIGNED


def test_an_extension_is_decided_only_by_the_dispatch_group_of_the_reports_region(
    world: World,
) -> None:
    register(world)
    _shenzhen(world)
    card = _submit(world)
    signed = next(
        s for s in world.press(HANDLER, card, card.button("签收")) if s.method == "editMessageText"
    )
    prompt = _prompt(world.press(HANDLER, signed, signed.button("延期")))
    asked = world.reply(HANDLER, prompt, "5 需协调")
    request = next(s for s in asked if s.chat_id == DISPATCH_GROUP)
    forged = _forge(SZ_DISPATCH_GROUP, request.message_id)
    assert world.press(SZ_DISPATCHER, forged, request.button("同意")) == []
    assert world.last_answer() == t("authority.not_your_report")
    assert world.press(DISPATCHER, request, request.button("同意"))


def test_the_presser_must_be_a_member_of_the_group(world: World) -> None:
    register(world)
    card = _submit(world)
    members = {(WATER_GROUP, HANDLER): Membership.MEMBER}
    asked: list[tuple[int, int]] = []

    def ask(chat: int, user: int) -> Membership:
        asked.append((chat, user))
        if user == COLLEAGUE:
            raise TimeoutError("Telegram did not answer")
        return members.get((chat, user), Membership.NOT_MEMBER)

    world.services.membership = MembershipCache(ask)
    assert world.press(STRANGER, card, card.button("签收")) == []
    assert world.last_answer() == t("authority.not_member")
    assert world.press(COLLEAGUE, card, card.button("签收")) == []
    assert world.last_answer() == t("authority.membership_unknown")
    assert _report(world, card).status == ReportStatus.ROUTED
    assert world.press(HANDLER, card, card.button("签收"))
    assert _report(world, card).status == ReportStatus.SIGNED
    # Asked once per person, before the transaction; the answer is cached.
    world.press(HANDLER, card, card.button("签收"))
    assert asked.count((WATER_GROUP, HANDLER)) == 1


def test_a_prompt_is_answered_only_by_a_reply_to_it(world: World) -> None:
    register(world)
    card_a = _submit(world)
    card_b = _submit(world, text="东湖路自来水管爆裂，路面全是水")
    prompt = _prompt(world.press(HANDLER, card_a, card_a.button("退回")))
    # Replying to report B's card is a note on B, not the reason to return A.
    world.reply(HANDLER, card_b, "这个要现场看看")
    assert _report(world, card_a).status == ReportStatus.ROUTED
    assert _report(world, card_b).status == ReportStatus.ROUTED
    # A colleague's reply to the prompt is not an answer either.
    world.reply(COLLEAGUE, prompt, "我觉得不用退")
    assert _report(world, card_a).status == ReportStatus.ROUTED
    world.reply(HANDLER, prompt, "不属于水务")
    assert _report(world, card_a).status == ReportStatus.DISPATCH


def test_a_stale_prompt_does_not_return_a_report_a_colleague_signed(world: World) -> None:
    register(world)
    card = _submit(world)
    prompt = _prompt(world.press(HANDLER, card, card.button("退回")))
    world.press(COLLEAGUE, card, card.button("签收"))
    sent = world.reply(HANDLER, prompt, "不属于我们")
    assert _report(world, card).status == ReportStatus.SIGNED
    assert sent[0].text == t(
        "prompt.moved_on",
        number=_report(world, card).number,
        status=t("status.signed"),
        action=t("prompt.action.return"),
    )


def test_a_prompt_can_be_cancelled(world: World) -> None:
    register(world)
    card = _submit(world)
    prompt = _prompt(world.press(HANDLER, card, card.button("退回")))
    assert "已撤销" in world.reply(HANDLER, prompt, "取消")[0].text
    assert world.reply(HANDLER, prompt, "不属于我们")[0].method == "editMessageText"  # a note
    assert _report(world, card).status == ReportStatus.ROUTED
    _prompt(world.press(HANDLER, card, card.button("退回")))
    cancelled = world.message(
        HANDLER, "/cancel", chat_id=WATER_GROUP, chat_type="supergroup", title="群"
    )
    assert "已撤销" in cancelled[0].text
    with Session(world.services.engine) as session:
        assert session.exec(select(PendingInput)).all() == []


def test_an_unanswered_prompt_expires_with_a_notice(world: World) -> None:
    register(world)
    card = _submit(world)
    prompt = _prompt(world.press(HANDLER, card, card.button("退回")))
    world.now += dt.timedelta(minutes=29)
    run_chores(world.services, now=world.now)
    assert world.deliver() == []
    world.now += dt.timedelta(minutes=2)
    run_chores(world.services, now=world.now)
    (notice,) = world.deliver()
    assert notice.chat_id == WATER_GROUP and "已作废" in notice.text
    assert notice.payload["reply_parameters"]["message_id"] == prompt.message_id
    assert notice.payload["entities"][0]["user"]["id"] == HANDLER
    # A late answer does nothing but become a note.
    world.reply(HANDLER, prompt, "不属于我们")
    assert _report(world, card).status == ReportStatus.ROUTED


def test_another_departments_reply_to_a_card_is_not_kept(world: World) -> None:
    register(world)
    card = _submit(world)
    forged_reply = {
        "message_id": card.message_id,
        "date": 0,
        "text": card.text,
        "from": {"id": 1, "is_bot": True, "first_name": "bot"},
        "chat": {"id": ENV_GROUP, "type": "supergroup"},
    }
    world.message(
        ENV_HANDLER,
        "不是我们的",
        chat_id=ENV_GROUP,
        chat_type="supergroup",
        title="群",
        reply_to_message=forged_reply,
    )
    with Session(world.services.engine) as session:
        assert session.exec(select(ReportEvent).where(ReportEvent.action == "note")).all() == []


def test_the_department_that_returned_a_report_cannot_route_or_close_it(world: World) -> None:
    register(world)
    card = _submit(world)
    prompt = _prompt(world.press(HANDLER, card, card.button("退回")))
    sent = world.reply(HANDLER, prompt, "不属于水务")
    dispatch_card = next(s for s in sent if s.purpose == "card")
    report = _report(world, card)
    assert report.status == ReportStatus.DISPATCH  # route and close are allowed now
    prompts = sum(p.purpose == "prompt" for p in world.transcript)
    for chat, user, message in (
        (WATER_GROUP, HANDLER, card.message_id),  # its old card in its own group
        (ENV_GROUP, ENV_HANDLER, 1),  # a department it never reached
    ):
        for data in (
            Press(Act.ROUTE_TO, report.id or 0, "environment").encode(),
            Press(Act.CLOSE, report.id or 0).encode(),
        ):
            assert world.press(user, _forge(chat, message), data) == []
            assert world.last_answer() == t("authority.not_your_report")
    assert _report(world, card).status == ReportStatus.DISPATCH
    assert sum(p.purpose == "prompt" for p in world.transcript) == prompts
    assert len(_refusals(world)) == 4
    close = world.press(DISPATCHER, dispatch_card, dispatch_card.button("无需转办"))
    assert any(p.purpose == "prompt" and p.chat_id == DISPATCH_GROUP for p in close)


def test_another_regions_dispatch_group_cannot_route_or_close(world: World) -> None:
    register(world)
    _shenzhen(world)
    card = _submit(world, SZ_OBSERVER, "这件事不知道该找谁，大家都很烦")
    report = _report(world, card)
    assert card.chat_id == SZ_DISPATCH_GROUP and report.status == ReportStatus.DISPATCH
    # The provincial dispatch group does not hold Shenzhen's report.
    forged = _forge(DISPATCH_GROUP, 1)
    for data in (
        Press(Act.ROUTE_TO, report.id or 0, "water").encode(),
        Press(Act.CLOSE, report.id or 0).encode(),
    ):
        assert world.press(DISPATCHER, forged, data) == []
        assert world.last_answer() == t("authority.not_your_report")
    assert _report(world, card).status == ReportStatus.DISPATCH
    routed = world.press(SZ_DISPATCHER, card, Press(Act.ROUTE_TO, report.id or 0, "water").encode())
    assert any(s.purpose == "card" and s.chat_id == SZ_WATER_GROUP for s in routed)


def test_an_extension_is_refused_only_by_the_dispatch_group_of_the_reports_region(
    world: World,
) -> None:
    register(world)
    _shenzhen(world)
    card = _submit(world)
    signed = next(
        s for s in world.press(HANDLER, card, card.button("签收")) if s.method == "editMessageText"
    )
    prompt = _prompt(world.press(HANDLER, signed, signed.button("延期")))
    asked = world.reply(HANDLER, prompt, "5 需协调")
    request = next(s for s in asked if s.chat_id == DISPATCH_GROUP)
    for chat, user in ((SZ_DISPATCH_GROUP, SZ_DISPATCHER), (WATER_GROUP, HANDLER)):
        for label in ("同意", "不同意"):
            forged = _forge(chat, request.message_id)
            assert world.press(user, forged, request.button(label)) == []
            assert world.last_answer() == t("authority.not_your_report")
    with Session(world.services.engine) as session:
        decided = session.exec(
            select(ReportEvent).where(ReportEvent.action == "extension_decided")
        ).all()
    assert decided == []
    refused = world.press(DISPATCHER, request, request.button("不同意"))
    assert any("未同意" in s.text for s in refused)
