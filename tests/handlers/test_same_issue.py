"""One problem, one card: two observers report the same flooding; joined, merged, split."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.core.messages import t
from storage.models import Report, ReportEvent, ReportStatus
from storage.reports import held_by_chat
from tests.handlers.conftest import (
    ENV_GROUP,
    ENV_HANDLER,
    HANDLER,
    OBSERVER,
    OTHER_OBSERVER,
    WATER_GROUP,
    register,
)
from tests.handlers.harness import Sent, World

FIRST = "东濠涌河涌水浸，水面漂着垃圾，路都过不了"
SECOND = "东濠涌条河涌水淹咗，水面啲垃圾冇人捞，行唔到路"


def _card(sent: list[Sent]) -> Sent:
    return next(s for s in sent if s.purpose == "card")


def _reports(world: World) -> list[Report]:
    with Session(world.services.engine) as session:
        return list(session.exec(select(Report).order_by(col(Report.id))).all())


def _first_card(world: World) -> Sent:
    register(world)
    preview = world.message(OBSERVER, FIRST)[0]
    return _card(world.press(OBSERVER, preview, preview.button("提交")))


def _second_preview(world: World) -> Sent:
    register(world, OTHER_OBSERVER, "+8613800138002")
    return world.message(OTHER_OBSERVER, SECOND)[0]


def _prompt(sent: list[Sent]) -> Sent:
    return next(s for s in sent if s.purpose == "prompt")


def test_the_second_observer_joins_and_both_are_told_of_the_result(world: World) -> None:
    card = _first_card(world)
    first = _reports(world)[0]
    preview = _second_preview(world)
    assert f"已有相似反映 {first.number}（待签收）" in preview.text and "同站点" in preview.text
    labels = [label for label, _ in preview.buttons()]
    assert labels[:2] == [t("joining.button_join", number=first.number), "✅ 仍然单独提交"]
    assert "✅ 提交" not in labels
    sent = world.press(OTHER_OBSERVER, preview, preview.button("补充到该反映"))
    assert not [s for s in sent if s.purpose == "card"]  # no card of its own
    follow_up = next(s for s in sent if s.chat_id == WATER_GROUP and s.method == "sendMessage")
    assert follow_up.payload["reply_parameters"]["message_id"] == card.message_id
    assert SECOND[:6] in follow_up.text
    redrawn = next(s for s in sent if s.method == "editMessageText")
    assert "同一问题 ×2（2位观察员）" in redrawn.text
    ack = next(s for s in sent if s.chat_id == OTHER_OBSERVER)
    assert f"已补充到反映 {first.number}" in ack.text
    joined = _reports(world)[1]
    assert joined.duplicate_of == first.id and joined.sign_due_at is None

    signed = world.press(HANDLER, card, card.button("签收"))
    assert {s.chat_id for s in signed if s.purpose == "notice:signed"} == {
        OBSERVER,
        OTHER_OBSERVER,
    }
    assert _reports(world)[1].status == ReportStatus.SIGNED  # its /my says 办理中 too
    card = next(s for s in signed if s.method == "editMessageText")
    prompt = _prompt(world.press(HANDLER, card, card.button("办结")))
    resolved = world.reply(HANDLER, prompt, "已清理河道垃圾，积水已排走")
    ratings = {s.chat_id: s for s in resolved if s.purpose == "rating"}
    assert set(ratings) == {OBSERVER, OTHER_OBSERVER}
    assert joined.number in ratings[OTHER_OBSERVER].text
    world.press(OTHER_OBSERVER, ratings[OTHER_OBSERVER], ratings[OTHER_OBSERVER].button("满意"))
    first, joined = _reports(world)
    assert (first.status, joined.status) == (ReportStatus.RESOLVED, ReportStatus.CLOSED)
    assert joined.rating == "satisfied"


def test_submitted_separately_then_merged_and_split_by_hand(world: World) -> None:
    card = _first_card(world)
    preview = _second_preview(world)
    other_card = _card(world.press(OTHER_OBSERVER, preview, preview.button("仍然单独提交")))
    assert other_card.chat_id == WATER_GROUP
    first, second = _reports(world)
    assert "合并" not in str(card.buttons())  # nothing to merge when it was posted
    menu = world.press(HANDLER, other_card, other_card.button("合并"))  # on the later card
    choices = next(s for s in menu if s.method == "editMessageText")
    sent = world.press(HANDLER, choices, choices.button(first.number))
    # The report filed first stays the primary: the later card closes.
    closed = next(s for s in sent if s.message_id == other_card.message_id)
    assert f"{second.number} 已合并到 {first.number}" in closed.text
    card = next(s for s in sent if s.message_id == card.message_id)  # the first card, redrawn
    assert "同一问题 ×2（2位观察员）" in card.text
    told = next(s for s in sent if s.chat_id == OTHER_OBSERVER)
    assert told.text == t("observer.merged", number=second.number, into=first.number)
    with Session(world.services.engine) as session:
        merged = session.exec(select(ReportEvent).where(ReportEvent.action == "merged")).all()
    assert {e.actor for e in merged} == {f"user:{HANDLER}"} and len(merged) == 2
    with Session(world.services.engine) as session:  # the group's list: one issue, one line
        held = held_by_chat(session=session, chat_id=WATER_GROUP, statuses=["routed", "signed"])
        assert [r.id for r in held] == [first.id]

    menu = world.press(HANDLER, card, card.button("拆分"))
    choices = next(s for s in menu if s.method == "editMessageText")
    sent = world.press(HANDLER, choices, choices.button(second.number))
    assert _card(sent).chat_id == WATER_GROUP  # its own card again
    assert t("observer.split", number=second.number) in [s.text for s in sent]
    assert _reports(world)[1].duplicate_of is None


def test_another_departments_group_cannot_merge_or_split(world: World) -> None:
    card = _first_card(world)
    preview = _second_preview(world)
    world.press(OTHER_OBSERVER, preview, preview.button("仍然单独提交"))
    first, second = _reports(world)
    merge = f"ob1:mrgw:{first.id}:{second.id}"
    forged = Sent(ENV_GROUP, "sendMessage", "", card.message_id, {}, "card")
    assert world.press(ENV_HANDLER, forged, merge) == []
    assert world.last_answer() == t("authority.not_your_report")
    split = f"ob1:splo:{first.id}:{second.id}"
    assert world.press(ENV_HANDLER, forged, split) == []
    assert world.last_answer() == t("authority.not_your_report")
    assert [r.duplicate_of for r in _reports(world)] == [None, None]
    with Session(world.services.engine) as session:
        refused = session.exec(
            select(ReportEvent).where(ReportEvent.action == "press_refused")
        ).all()
    assert [e.details["chat"] for e in refused] == [ENV_GROUP, ENV_GROUP]


def _joined_and_signed(world: World) -> Sent:
    """The second observer joins the first's report, the group signs: the card as redrawn."""
    card = _first_card(world)
    preview = _second_preview(world)
    world.press(OTHER_OBSERVER, preview, preview.button("补充到该反映"))
    signed = world.press(HANDLER, card, card.button("签收"))
    return next(s for s in signed if s.method == "editMessageText")


def test_a_joined_observers_dissatisfaction_reopens_the_issue(world: World) -> None:
    card = _joined_and_signed(world)
    prompt = _prompt(world.press(HANDLER, card, card.button("办结")))
    resolved = world.reply(HANDLER, prompt, "已清理")
    rating = next(s for s in resolved if s.purpose == "rating" and s.chat_id == OTHER_OBSERVER)
    asked = world.press(OTHER_OBSERVER, rating, rating.button("不满意"))
    sent = world.reply(OTHER_OBSERVER, asked[-1], "积水还在，路还是过不了")
    first, joined = _reports(world)
    assert first.status == ReportStatus.SIGNED and first.resolve_due_at is not None
    assert joined.status == ReportStatus.SIGNED and joined.resolve_due_at is None
    told = next(s for s in sent if s.chat_id == WATER_GROUP and "不满意" in s.text)
    assert first.number in told.text and "积水还在" in told.text


def test_a_joined_observer_adds_more_under_the_one_card(world: World) -> None:
    card = _first_card(world)
    preview = _second_preview(world)
    world.press(OTHER_OBSERVER, preview, preview.button("补充到该反映"))
    joined = _reports(world)[1]
    opened = world.press(OTHER_OBSERVER, preview, f"ob1:open:{joined.id}")
    world.press(OTHER_OBSERVER, opened[-1], opened[-1].button("补充"))
    sent = world.message(OTHER_OBSERVER, "水已经浸到一楼商铺")
    relayed = next(s for s in sent if s.chat_id == WATER_GROUP)
    assert relayed.payload["reply_parameters"]["message_id"] == card.message_id
    assert "水已经浸到一楼商铺" in relayed.text


def test_split_after_signing_gives_a_signed_card_of_its_own(world: World) -> None:
    card = _joined_and_signed(world)
    joined = _reports(world)[1]
    menu = world.press(HANDLER, card, card.button("拆分"))
    choices = next(s for s in menu if s.method == "editMessageText")
    own = _card(world.press(HANDLER, choices, choices.button(joined.number)))
    assert own.chat_id == WATER_GROUP and "办理中" in own.text
    assert "✅ 办结" in [label for label, _ in own.buttons()]
    split = _reports(world)[1]
    assert split.duplicate_of is None and split.resolve_due_at is not None


def test_a_joined_reports_photo_goes_under_the_one_card(world: World) -> None:
    card = _first_card(world)
    register(world, OTHER_OBSERVER, "+8613800138002")
    world.message(OTHER_OBSERVER, photo=[{"file_id": "flood", "width": 800, "height": 600}])
    preview = world.message(OTHER_OBSERVER, SECOND)[0]
    sent = world.press(OTHER_OBSERVER, preview, preview.button("补充到该反映"))
    photo = next(s for s in sent if s.method == "sendPhoto")
    assert photo.chat_id == WATER_GROUP and photo.payload["photo"] == "flood"
    assert photo.payload["reply_parameters"]["message_id"] == card.message_id


def test_an_issue_resolved_meanwhile_is_not_joined_the_report_goes_alone(world: World) -> None:
    card = _first_card(world)
    preview = _second_preview(world)
    signed = world.press(HANDLER, card, card.button("签收"))
    card = next(s for s in signed if s.method == "editMessageText")
    world.reply(HANDLER, _prompt(world.press(HANDLER, card, card.button("办结"))), "已处理")
    sent = world.press(OTHER_OBSERVER, preview, preview.button("补充到该反映"))
    assert _card(sent).chat_id == WATER_GROUP  # a card of its own
    assert any("已提交" in s.text for s in sent if s.chat_id == OTHER_OBSERVER)
    assert _reports(world)[1].duplicate_of is None
