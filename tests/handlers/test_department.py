"""Department and dispatch groups, administrators: card actions re-checked on every press."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.core.messages import t
from storage.models import GroupBinding, KnownGroup, Report, ReportEvent, ReportStatus
from tests.handlers.conftest import (
    ADMIN,
    COLLEAGUE,
    DISPATCH_GROUP,
    DISPATCHER,
    ENV_GROUP,
    ENV_HANDLER,
    HANDLER,
    HOUSING_GROUP,
    OBSERVER,
    STRANGER,
    WATER_GROUP,
    bot_added,
    register,
)
from tests.handlers.harness import Sent, World


def _submit(world: World, text: str = "东濠涌河涌发臭，水面漂着垃圾") -> Sent:
    """Register the observer, file a report and return its card."""
    register(world)
    preview = world.message(OBSERVER, text)[0]
    sent = world.press(OBSERVER, preview, preview.button("提交"))
    return next(s for s in sent if s.purpose == "card")


def _report(world: World) -> Report:
    with Session(world.services.engine) as session:
        return session.exec(select(Report)).one()


def _group_says(world: World, user_id: int, group: int, text: str, **extra: object) -> list[Sent]:
    return world.message(user_id, text, chat_id=group, chat_type="supergroup", title="群", **extra)


def test_sign_edits_the_card_and_tells_the_observer(world: World) -> None:
    card = _submit(world)
    assert card.chat_id == WATER_GROUP  # bound at city level; the county report falls back
    sent = world.press(HANDLER, card, card.button("签收"))
    edit = next(s for s in sent if s.method == "editMessageText")
    assert edit.message_id == card.message_id and "办理中" in edit.text
    assert [label for label, _ in edit.buttons()][0] == t("department.button_resolve")
    notice = next(s for s in sent if s.chat_id == OBSERVER)
    assert "已由水务" in notice.text or "签收" in notice.text
    assert _report(world).status == ReportStatus.SIGNED


def test_only_one_of_two_members_signs(world: World) -> None:
    card = _submit(world)
    sign = card.button("签收")
    world.press(HANDLER, card, sign)
    assert world.press(COLLEAGUE, card, sign) == []
    assert world.last_answer() == t("department.already_signed")
    with Session(world.services.engine) as session:
        signed = session.exec(select(ReportEvent).where(ReportEvent.action == "signed")).all()
    assert len(signed) == 1


def test_a_forged_press_from_another_department_changes_nothing(world: World) -> None:
    card = _submit(world)
    forged = Sent(ENV_GROUP, "sendMessage", "", card.message_id, {}, "card")
    assert world.press(ENV_HANDLER, forged, card.button("签收")) == []
    assert world.last_answer() == t("authority.not_your_report")
    assert _report(world).status == ReportStatus.ROUTED
    with Session(world.services.engine) as session:
        refused = session.exec(
            select(ReportEvent).where(ReportEvent.action == "press_refused")
        ).one()
    assert refused.details["chat"] == ENV_GROUP


def test_unknown_and_old_callback_data_get_a_polite_answer(world: World) -> None:
    card = _submit(world)
    for data in ("v0:sign:1", "other-bot-data", "ob1:sign:notanumber", "ob1:nope:1"):
        assert world.press(HANDLER, card, data) == []
        assert world.last_answer() == t("common.unknown_button")
    assert _report(world).status == ReportStatus.ROUTED


def test_transfer_moves_the_report_and_posts_a_new_card(world: World) -> None:
    card = _submit(world)
    menu = next(
        s for s in world.press(HANDLER, card, card.button("转办")) if s.method == "editMessageText"
    )
    sent = world.press(HANDLER, menu, menu.button("住房"))
    new_card = next(s for s in sent if s.purpose == "card")
    assert new_card.chat_id == HOUSING_GROUP
    old = next(s for s in sent if s.method == "editMessageText")
    assert "已转办" in old.text and old.buttons() == []
    report = _report(world)
    assert report.department == "housing" and report.status == ReportStatus.ROUTED
    assert any("转交" in s.text for s in sent if s.chat_id == OBSERVER)
    # The old card's buttons are now stale.
    assert world.press(HANDLER, card, card.button("签收")) == []


def _prompt(sent: list[Sent]) -> Sent:
    return next(s for s in sent if s.purpose == "prompt")


def test_return_asks_for_a_reason_then_dispatch_routes_it(world: World) -> None:
    card = _submit(world)
    prompt = _prompt(world.press(HANDLER, card, card.button("退回")))
    assert "原因" in prompt.text
    # Someone else's reply, and the presser's plain message, are not taken as the reason.
    world.reply(COLLEAGUE, prompt, "收到")
    _group_says(world, HANDLER, WATER_GROUP, "不属于水务职责")
    assert _report(world).status == ReportStatus.ROUTED
    sent = world.reply(HANDLER, prompt, "不属于水务职责，应由环保处理")
    dispatch_card = next(s for s in sent if s.purpose == "card")
    assert dispatch_card.chat_id == DISPATCH_GROUP and "候选部门" in dispatch_card.text
    # Dispatch sees why it came back, and the department that returned it is not offered first.
    assert "退回原因" in dispatch_card.text and "应由环保处理" in dispatch_card.text
    assert "水务" not in dispatch_card.buttons()[0][0]
    assert _report(world).status == ReportStatus.DISPATCH
    routed = world.press(DISPATCHER, dispatch_card, dispatch_card.button("生态环境"))
    env_card = next(s for s in routed if s.purpose == "card")
    assert env_card.chat_id == ENV_GROUP
    report = _report(world)
    assert report.department == "environment" and report.status == ReportStatus.ROUTED


def test_resolve_then_rating_closes_or_reopens(world: World) -> None:
    card = _submit(world)
    signed = next(
        s for s in world.press(HANDLER, card, card.button("签收")) if s.method == "editMessageText"
    )
    prompt = _prompt(world.press(HANDLER, signed, signed.button("办结")))
    assert "办理结果" in prompt.text
    markup = prompt.payload["reply_markup"]
    assert markup["force_reply"] is True and markup["selective"] is True
    # The prompt mentions its presser, so Telegram opens the reply box for them alone.
    (mention,) = prompt.payload["entities"]
    assert mention["type"] == "text_mention" and mention["user"]["id"] == HANDLER
    sent = world.reply(HANDLER, prompt, "已组织清淤，河涌已恢复")
    rating = next(s for s in sent if s.chat_id == OBSERVER)
    assert "已组织清淤" in rating.text and len(rating.buttons()) == 3
    assert _report(world).status == ReportStatus.RESOLVED
    prompt = world.press(OBSERVER, rating, rating.button("不满意"))
    assert prompt[0].text == t("observer.rate_reason_prompt")
    reopened = world.message(OBSERVER, "还是很臭")
    assert any("重新办理" in s.text for s in reopened if s.chat_id == WATER_GROUP)
    redrawn = next(s for s in reopened if s.method == "editMessageText")
    assert redrawn.message_id == card.message_id
    report = _report(world)
    assert report.status == ReportStatus.SIGNED and report.rating == "unsatisfied"
    prompt = _prompt(world.press(HANDLER, redrawn, redrawn.button("办结")))
    sent = world.reply(HANDLER, prompt, "再次清理并加装格栅")
    rating = next(s for s in sent if s.chat_id == OBSERVER)
    world.press(OBSERVER, rating, rating.button("基本满意"))
    report = _report(world)
    assert report.status == ReportStatus.CLOSED and report.rating == "basic"
    # A second rating press is stale.
    assert world.press(OBSERVER, rating, rating.button("满意")) == []
    assert _report(world).rating == "basic"


def test_a_reply_to_a_card_is_an_internal_note_never_sent_to_the_observer(world: World) -> None:
    card = _submit(world)
    sent = world.reply(HANDLER, card, "@老王 这个是不是我们管的？")
    assert not any(s.chat_id == OBSERVER for s in sent)
    redrawn = next(s for s in sent if s.method == "editMessageText")
    assert redrawn.message_id == card.message_id and "内部备注 1 条" in redrawn.text
    with Session(world.services.engine) as session:
        note = session.exec(select(ReportEvent).where(ReportEvent.action == "note")).one()
    assert note.details["text"] == "@老王 这个是不是我们管的？"
    assert note.actor == f"user:{HANDLER}"


def test_answering_the_observer_is_explicit_and_follow_ups_reach_the_group(world: World) -> None:
    card = _submit(world)
    prompt = _prompt(world.press(HANDLER, card, card.button("答复观察员")))
    sent = world.reply(HANDLER, prompt, "请问具体在哪一段？")
    to_observer = next(s for s in sent if s.chat_id == OBSERVER)
    assert "请问具体在哪一段？" in to_observer.text
    assert any(s.chat_id == WATER_GROUP and "已答复观察员" in s.text for s in sent)
    listing = world.message(OBSERVER, "/my")[0]
    timeline = world.press(OBSERVER, listing, listing.buttons()[0][1])[0]
    world.press(OBSERVER, timeline, timeline.button("补充"))
    sent = world.message(OBSERVER, "在东华东路桥下那一段")
    relayed = next(s for s in sent if s.chat_id == WATER_GROUP)
    assert "东华东路" in relayed.text
    assert relayed.payload["reply_parameters"]["message_id"] == card.message_id


def test_plain_group_chatter_is_ignored(world: World) -> None:
    _submit(world)
    assert _group_says(world, HANDLER, WATER_GROUP, "大家中午吃什么") == []
    assert _group_says(world, HANDLER, WATER_GROUP, "/start@OtherBot") == []


def test_binding_a_group_with_a_one_time_code(world: World) -> None:
    issued = world.message(ADMIN, "/bindcode transport 440104")[0]
    code = issued.text.split("绑定码 ")[1].split("：")[0]
    bound = _group_says(world, STRANGER, -100999, f"/bind {code}")[0]
    assert "交通" in bound.text
    again = _group_says(world, STRANGER, -100998, f"/bind {code}")[0]
    assert again.text == t("group.bad_bind_code")
    with Session(world.services.engine) as session:
        binding = session.exec(
            select(GroupBinding).where(GroupBinding.department == "transport")
        ).one()
    assert binding.chat_id == -100999


def test_admin_commands_are_refused_to_others(world: World) -> None:
    assert world.message(STRANGER, "/bindcode water 440104")[0].text == t("common.admins_only")
    assert world.message(STRANGER, "/stats")[0].text == t("common.admins_only")
    stats = world.message(ADMIN, "/stats")[0].text
    assert "观察员 3 人" in stats
    assert world.message(ADMIN, "/bindcode nosuch 440104")[0].text.startswith("未知部门")
    assert world.message(ADMIN, "/bindcode water 449999")[0].text == t(
        "admin.bad_region", region="449999"
    )
    assert world.message(ADMIN, "/reload")[0].text.startswith("规则已重新加载")
    with Session(world.services.engine) as session:
        assert session.exec(select(ReportEvent).where(ReportEvent.action == "admin_refused")).all()


def test_bot_added_to_a_group_posts_nothing(world: World) -> None:
    sent = world.update(bot_added(-100777, "陌生群"))
    assert sent == []
    with Session(world.services.engine) as session:
        assert session.get(KnownGroup, -100777) is not None


def test_anonymous_admin_messages_are_not_acted_on(world: World) -> None:
    card = _submit(world)
    world.press(HANDLER, card, card.button("退回"))
    sent = _group_says(
        world,
        HANDLER,
        WATER_GROUP,
        "匿名发言",
        sender_chat={"id": WATER_GROUP, "type": "supergroup", "title": "群"},
    )
    assert sent == [] and _report(world).status == ReportStatus.ROUTED


def test_group_migration_moves_bindings_and_cards(world: World) -> None:
    _submit(world)
    _group_says(world, HANDLER, WATER_GROUP, "", migrate_to_chat_id=-1000000100111)
    with Session(world.services.engine) as session:
        binding = session.exec(select(GroupBinding).where(GroupBinding.department == "water")).one()
        assert binding.chat_id == -1000000100111
    assert _report(world).card_chat_id == -1000000100111


def test_reload_with_a_broken_file_keeps_the_old_rules(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "rules.yaml"
    broken.write_text("version: 1\nrules:\n  - id: x\n    department: nowhere\n", encoding="utf-8")
    before = world.services.rules
    world.services.settings.routing_rules = broken
    answer = world.message(ADMIN, "/reload")[0].text
    assert answer.startswith("规则文件有误") and "第 4 行（rules[0].department）" in answer
    assert world.services.rules is before


def _signed_card(world: World) -> Sent:
    card = _submit(world)
    return next(
        s for s in world.press(HANDLER, card, card.button("签收")) if s.method == "editMessageText"
    )


def test_an_extension_is_requested_then_approved(world: World) -> None:
    signed = _signed_card(world)
    due_before = _report(world).resolve_due_at
    prompt = _prompt(world.press(HANDLER, signed, signed.button("延期")))
    assert prompt.payload["reply_markup"]["force_reply"] is True
    assert world.reply(HANDLER, prompt, "需要很久")[0].text == t("extension.usage")
    prompt = _prompt(world.press(HANDLER, signed, signed.button("延期")))
    sent = world.reply(HANDLER, prompt, "5 需协调施工单位")
    request = next(s for s in sent if s.chat_id == DISPATCH_GROUP)
    assert "5个工作日" in request.text and "需协调施工单位" in request.text
    # A second request while one is pending is refused.
    assert world.press(HANDLER, signed, signed.button("延期")) == []
    assert world.last_answer() == t("extension.already_pending")
    # Only dispatch decides.
    forged = Sent(WATER_GROUP, "sendMessage", "", signed.message_id, {}, "")
    assert world.press(HANDLER, forged, request.button("同意")) == []
    assert world.last_answer() == t("authority.not_your_report")
    decided = world.press(DISPATCHER, request, request.button("同意"))
    report = _report(world)
    assert report.resolve_due_at is not None and due_before is not None
    assert report.resolve_due_at > due_before
    assert (report.resolve_due_at - due_before).days >= 7  # 5 working days, with a weekend
    assert any(s.chat_id == OBSERVER and "延期" in s.text for s in decided)
    assert any(s.chat_id == WATER_GROUP and "已同意" in s.text for s in decided)
    # The decision button is now stale.
    assert world.press(DISPATCHER, request, request.button("不同意")) == []
    assert world.last_answer() == t("common.stale_button")


def test_a_refused_extension_keeps_the_deadline(world: World) -> None:
    signed = _signed_card(world)
    due_before = _report(world).resolve_due_at
    prompt = _prompt(world.press(HANDLER, signed, signed.button("延期")))
    sent = world.reply(HANDLER, prompt, "3天 等待材料")
    request = next(s for s in sent if s.chat_id == DISPATCH_GROUP)
    decided = world.press(DISPATCHER, request, request.button("不同意"))
    assert _report(world).resolve_due_at == due_before
    assert not any(s.chat_id == OBSERVER for s in decided)
    assert any("未同意" in s.text for s in decided if s.chat_id == WATER_GROUP)


def test_admin_commands_in_a_group_from_others_are_recorded_not_answered(world: World) -> None:
    assert _group_says(world, HANDLER, WATER_GROUP, "/bindcode water 440104") == []
    with Session(world.services.engine) as session:
        refused = session.exec(
            select(ReportEvent).where(ReportEvent.action == "admin_refused")
        ).one()
    assert refused.details == {"command": "bindcode", "chat": WATER_GROUP}


def test_a_reply_to_a_card_not_yet_recorded_is_a_note_by_its_number(world: World) -> None:
    card = _submit(world)
    number = _report(world).number
    unrecorded = {
        "message_id": 999_999,
        "date": 0,
        "text": card.text,
        "from": {"id": 1, "is_bot": True, "first_name": "bot"},
        "chat": {"id": WATER_GROUP, "type": "supergroup"},
    }
    sent = _group_says(world, HANDLER, WATER_GROUP, "收到，马上处理", reply_to_message=unrecorded)
    assert not any(s.chat_id == OBSERVER for s in sent)
    assert number in card.text
    # The same reply in a group of another department is not kept on the report.
    other = {**unrecorded, "chat": {"id": ENV_GROUP, "type": "supergroup"}}
    assert _group_says(world, ENV_HANDLER, ENV_GROUP, "不是我们的", reply_to_message=other) == []
    with Session(world.services.engine) as session:
        notes = session.exec(select(ReportEvent).where(ReportEvent.action == "note")).all()
    assert [n.details["text"] for n in notes] == ["收到，马上处理"]


def test_the_card_says_why_the_report_came_to_this_group(world: World) -> None:
    card = _submit(world)
    basis = _report(world).routing["explanation"]
    assert basis.startswith("命中关键词：河涌、发臭") and basis.endswith("→ 水务局")
    assert f"分拨依据：{basis}" in card.text.splitlines()
    # It stays on the card through the card's life, and dispatch's card explains itself too.
    sent = world.press(HANDLER, card, card.button("签收"))
    signed = next(s for s in sent if s.method == "editMessageText")
    assert f"分拨依据：{basis}" in signed.text.splitlines()
    preview = world.message(OBSERVER, "这件事不知道该找谁，大家都很烦")[0]
    sent = world.press(OBSERVER, preview, preview.button("提交"))
    dispatch_card = next(s for s in sent if s.purpose == "card")
    assert dispatch_card.chat_id == DISPATCH_GROUP
    # no rule: the observer model finds reports like it had no clear department
    assert (
        "分拨依据：同类反映多无明确承办部门 → 社会工作部（人工分拨）"
        in dispatch_card.text.splitlines()
    )
