"""Observers in private chat, through the channel-neutral handlers and the real pipeline."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from bot.core.messages import catalogue, t
from bot.services.people import new_code
from storage.models import Draft, InviteCode, Observer, Report, ReportEvent, ReportStatus
from tests.handlers.conftest import (
    NOW,
    OBSERVER,
    OTHER_OBSERVER,
    STRANGER,
    WATER_GROUP,
    register,
)
from tests.handlers.harness import World


def _reports(world: World) -> list[Report]:
    with Session(world.services.engine) as session:
        return list(session.exec(select(Report)).all())


def _events(world: World, action: str) -> list[ReportEvent]:
    with Session(world.services.engine) as session:
        return list(session.exec(select(ReportEvent).where(ReportEvent.action == action)).all())


def test_every_catalogue_entry_formats() -> None:
    for key, template in catalogue().items():
        fields = {name: "x" for name in _placeholders(template)}
        assert t(key, **fields)


def _placeholders(template: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_start_asks_a_stranger_for_their_phone(world: World) -> None:
    sent = world.message(STRANGER, "/start")
    assert sent[0].text == t("observer.welcome_new")
    keyboard = sent[0].payload["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_contact"] is True


def test_own_contact_on_the_roster_registers(world: World) -> None:
    sent = world.message(
        OBSERVER, contact={"phone_number": "8613800138001", "user_id": OBSERVER, "first_name": "陈"}
    )
    assert "核验成功" in sent[0].text and "北京街社会工作观察站" in sent[0].text
    with Session(world.services.engine) as session:
        observer = session.exec(select(Observer).where(Observer.name == "陈晓明")).one()
        assert observer.telegram_user_id == OBSERVER


def test_someone_elses_contact_is_refused_and_recorded(world: World) -> None:
    sent = world.message(
        STRANGER,
        contact={"phone_number": "+8613800138001", "user_id": OBSERVER, "first_name": "陈"},
    )
    assert sent[0].text == t("observer.not_own_contact")
    refused = _events(world, "contact_refused")
    assert len(refused) == 1 and "13800138001" not in str(refused[0].details)
    with Session(world.services.engine) as session:
        assert (
            session.exec(select(Observer).where(Observer.telegram_user_id == STRANGER)).first()
            is None
        )


def test_phone_not_on_roster_gets_a_polite_explanation(world: World) -> None:
    sent = world.message(
        STRANGER,
        contact={"phone_number": "+8613912345678", "user_id": STRANGER, "first_name": "路人"},
    )
    assert sent[0].text == t("observer.not_on_roster")
    assert world.message(STRANGER, "河涌发臭")[0].text == t("observer.register_first")
    assert _reports(world) == []


def test_suspended_observer_is_told_so(world: World) -> None:
    sent = world.message(
        7003, contact={"phone_number": "+8613800138003", "user_id": 7003, "first_name": "王"}
    )
    assert sent[0].text == t("observer.suspended")


def test_invite_code_registers_once(world: World) -> None:
    code = new_code()
    with Session(world.services.engine) as session:
        session.add(
            InviteCode(code=code, station_code="GZ-YX-001", expires_at=NOW + dt.timedelta(days=7))
        )
        session.commit()
    assert "核验成功" in world.message(STRANGER, f"/start {code.lower()}")[0].text
    assert world.message(7998, f"/start {code}")[0].text == t("observer.bad_invite")


def test_free_text_preview_then_submit(world: World) -> None:
    register(world)
    preview = world.message(OBSERVER, "东濠涌这段河涌发臭，水面漂着垃圾，附近居民反映很久了")[0]
    assert "反映预览" in preview.text and "水务" in preview.text
    assert "问题反映" in preview.text and "前签收" in preview.text
    sent = world.press(OBSERVER, preview, preview.button("提交"))
    ack = [s for s in sent if s.chat_id == OBSERVER][0]
    card = [s for s in sent if s.chat_id == WATER_GROUP][0]
    (report,) = _reports(world)
    assert report.number.startswith("GD-20261126-") and report.number in ack.text
    assert report.status == ReportStatus.ROUTED and report.department == "water"
    assert report.number in card.text and "签收" in [b for b, _ in card.buttons()][0]
    assert report.card_message_id == card.message_id
    with Session(world.services.engine) as session:
        assert session.exec(select(Draft)).all() == []


def test_pressing_submit_twice_files_one_report(world: World) -> None:
    register(world)
    preview = world.message(OBSERVER, "小区路灯坏了一个多月，晚上很黑")[0]
    world.press(OBSERVER, preview, preview.button("提交"))
    again = world.press(OBSERVER, preview, preview.button("提交"))
    assert again == [] and world.last_answer() == t("common.stale_button")
    assert len(_reports(world)) == 1


def test_a_replayed_update_changes_nothing(world: World) -> None:
    register(world)
    preview = world.message(OBSERVER, "楼下餐馆油烟很大，晚上很嘈")[0]
    body = {
        "update_id": 500,
        "callback_query": {
            "id": "cb-replay",
            "from": {"id": OBSERVER, "is_bot": False, "first_name": "陈"},
            "chat_instance": "x",
            "data": preview.button("提交"),
            "message": {
                "message_id": preview.message_id,
                "date": 0,
                "chat": {"id": OBSERVER, "type": "private"},
            },
        },
    }
    first = world.update(dict(body))
    second = world.update(dict(body))
    assert first and second == []
    assert len(_reports(world)) == 1


def test_more_text_updates_the_draft_and_old_buttons_go_stale(world: World) -> None:
    register(world)
    first = world.message(OBSERVER, "路口的井盖不见了")[0]
    second = world.message(OBSERVER, "在北京路和文明路交界，很危险")[0]
    assert "井盖" in second.text and "文明路" in second.text
    assert world.press(OBSERVER, first, first.button("提交")) == []
    assert world.last_answer() == t("common.stale_button")
    world.press(OBSERVER, second, second.button("提交"))
    (report,) = _reports(world)
    assert "井盖" in report.text and "文明路" in report.text


def test_change_kind_and_cancel(world: World) -> None:
    register(world)
    preview = world.message(OBSERVER, "建议在社区增设长者饭堂")[0]
    choose = world.press(OBSERVER, preview, preview.button("问题/建议/民意"))[0]
    updated = world.press(OBSERVER, choose, choose.button("社情民意"))[0]
    assert "类型：社情民意" in updated.text
    sent = world.press(OBSERVER, updated, updated.button("提交"))
    (report,) = _reports(world)
    assert report.kind == "sentiment" and report.status == ReportStatus.RECORDED
    assert [s.chat_id for s in sent] == [OBSERVER]  # sentiment goes to no department group
    preview = world.message(OBSERVER, "另一件事")[0]
    assert world.press(OBSERVER, preview, preview.button("取消"))[0].text == t("observer.cancelled")
    assert len(_reports(world)) == 1


def test_photos_and_location_join_the_draft_and_reach_the_group(world: World) -> None:
    register(world)
    world.message(
        OBSERVER,
        photo=[
            {"file_id": "small", "width": 90, "height": 90},
            {"file_id": "big", "width": 1280, "height": 960},
        ],
    )
    world.message(OBSERVER, location={"latitude": 23.125, "longitude": 113.27})
    preview = world.message(OBSERVER, "河涌边堆满建筑垃圾")[0]
    assert "照片1" in preview.text and "位置1" in preview.text
    sent = world.press(OBSERVER, preview, preview.button("提交"))
    group_calls = [s for s in sent if s.chat_id != OBSERVER]
    methods = [s.method for s in group_calls]
    assert methods[0] == "sendMessage" and "sendPhoto" in methods and "sendLocation" in methods
    photo = next(s for s in group_calls if s.method == "sendPhoto")
    assert photo.payload["photo"] == "big"
    assert photo.payload["reply_parameters"]["message_id"] == group_calls[0].message_id


def test_text_is_kept_exactly_and_long_text_is_split(world: World) -> None:
    register(world)
    special = "<b>路灯</b> & *坏了* _很久_ `x` [a](b)"
    preview = world.message(OBSERVER, special)[0]
    assert special in preview.text and "parse_mode" not in preview.payload
    world.press(OBSERVER, preview, preview.button("提交"))
    long_text = "小区外墙脱落，" * 700  # ~4,900 characters
    world.message(OBSERVER, "/cancel")
    previews = world.message(OBSERVER, long_text)
    assert len(previews) >= 2 and all(len(p.text) <= 4096 for p in previews)
    world.press(OBSERVER, previews[-1], previews[-1].button("提交"))
    report = [r for r in _reports(world) if r.text.startswith("小区外墙")][0]
    assert report.text == long_text  # kept whole


def test_bad_input_gets_a_clear_answer(world: World) -> None:
    register(world)
    assert world.message(OBSERVER, sticker={"file_id": "s"})[0].text == t(
        "observer.unsupported", what="sticker"
    )
    assert world.message(OBSERVER, "别人发的", forward_origin={"type": "hidden_user", "date": 0})[
        0
    ].text == t("observer.forwarded")
    assert world.message(OBSERVER, "改过的", edited=True)[0].text == t("observer.edited")
    assert world.message(OBSERVER, "/frobnicate")[0].text == t(
        "common.unknown_command", command="frobnicate"
    )
    assert world.message(OBSERVER, "/bind ABC")[0].text == t("observer.group_command_in_private")
    assert _events(world, "forward_refused")
    assert _reports(world) == []


def test_guided_form_survives_a_restart(world: World) -> None:
    register(world)
    kind = world.message(OBSERVER, "/new")[0]
    category = world.press(OBSERVER, kind, kind.button("问题反映"))[0]
    assert "第2步" in category.text
    location = world.press(OBSERVER, category, category.buttons()[0][1])[0]
    # A restart: a fresh pipeline over the same database picks up from the stored draft.
    from bot.app import build_services
    from tests.handlers.conftest import make_world  # noqa: F401  (same database, new services)

    world.services = build_services(
        world.services.settings, engine=world.services.engine, clock=world.clock
    )
    description = world.message(OBSERVER, "越秀区北京路128号门口")[0]
    assert "第4步" in description.text and location
    photos = world.message(OBSERVER, "人行道地砖松动，老人容易摔倒")[0]
    world.message(OBSERVER, photo=[{"file_id": "p1", "width": 10, "height": 10}])
    urgency = world.press(OBSERVER, photos, photos.button("下一步"))[0]
    preview = world.press(OBSERVER, urgency, urgency.button("一般"))[0]
    assert "地砖松动" in preview.text and "北京路128号" in preview.text
    world.press(OBSERVER, preview, preview.button("提交"))
    (report,) = _reports(world)
    assert report.attachments == [{"kind": "photo", "file_id": "p1"}]


def test_my_lists_reports_and_opens_a_timeline(world: World) -> None:
    register(world)
    assert world.message(OBSERVER, "/my")[0].text == t("observer.my_empty")
    preview = world.message(OBSERVER, "河涌发臭")[0]
    world.press(OBSERVER, preview, preview.button("提交"))
    listing = world.message(OBSERVER, "/my")[0]
    (report,) = _reports(world)
    assert report.number in listing.buttons()[0][0]
    timeline = world.press(OBSERVER, listing, listing.buttons()[0][1])[0]
    assert report.number in timeline.text and "提交" in timeline.text
    # Another observer cannot open it by forging the button.
    register(world, OTHER_OBSERVER, "+8613800138002")
    assert world.press(OTHER_OBSERVER, listing, listing.buttons()[0][1]) == []
    assert world.last_answer() == t("common.stale_button")


def test_a_backlog_of_messages_gets_one_preview(world: World) -> None:
    register(world)
    sent = world.backlog(OBSERVER, ["北京路的路灯坏了", "已经三天了", "晚上很危险"])
    assert len(sent) == 1
    assert all(part in sent[0].text for part in ("路灯坏了", "三天", "很危险"))


def test_the_preview_says_in_plain_words_where_an_urgent_report_goes(world: World) -> None:
    register(world)
    preview = world.message(OBSERVER, "六岁细路下昼出去玩到而家都揾唔到")[0]
    # No police group is bound at any level: the report will reach dispatch, and the preview
    # says so rather than promising a department that will never see it.
    assert "将由广东省社会工作部分拨。已按紧急事项（人员失联）处理。" in preview.text
    for internal in ("命中", "模型", "找不到", "%"):  # nothing the observer did not write
        assert internal not in preview.text


def test_the_observer_can_choose_the_category_in_the_preview(world: World) -> None:
    register(world)
    preview = world.message(OBSERVER, "楼下这个事情一直没人处理，大家都很头疼")[0]
    assert "社会工作部" in preview.text  # nothing to go on: dispatch
    menu = world.press(OBSERVER, preview, preview.button("改类别"))[0]
    updated = world.press(OBSERVER, menu, menu.button("供水"))[0]
    # the observer reads a plain sentence, never the routing basis (观察员选择, 命中关键词 ...)
    assert "将转交广州市水务局办理。" in updated.text  # the group is bound for the city
    assert "观察员选择" not in updated.text and "命中" not in updated.text
    world.press(OBSERVER, updated, updated.button("提交"))
    (report,) = _reports(world)
    assert report.department == "water" and report.category == "water_supply"


def test_malformed_updates_are_kept_and_answer_nobody(world: World) -> None:
    from storage.models import InboxUpdate, OutboxMessage

    for body in (
        {"message": {"message_id": 1, "text": "no chat"}},
        {"message": {"message_id": 2, "chat": "not-an-object", "text": "x"}},
        {"callback_query": {"id": "q", "data": "ob1:sign:1"}},
    ):
        assert world.update(body) == []
    with Session(world.services.engine) as session:
        statuses = sorted(row.status for row in session.exec(select(InboxUpdate)))
        assert session.exec(select(OutboxMessage)).all() == []
    assert len(statuses) == 3 and "pending" not in statuses


def test_long_reports_reach_the_group_with_numbers_masked(world: World) -> None:
    register(world)
    long_text = "联系电话13912345678，小区外墙脱落。" + "详细情况说明，" * 600
    previews = world.message(OBSERVER, long_text)
    sent = world.press(OBSERVER, previews[-1], previews[-1].button("提交"))
    group = [s for s in sent if s.chat_id < 0]
    assert group and all("13912345678" not in s.text for s in group)
    assert any("139****5678" in s.text for s in group)
