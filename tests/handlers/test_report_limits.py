"""A report has limits, told before they bite; a long report does not hold back the group.

The observer is warned on the preview once a draft passes 80 % of a limit (text, attachments,
merged messages) and told, at the limit, that the message was not added and what to do. In
the group a long report is one card with its first part and a 查看全文 button, so the next
observer's card follows it at once; the rest of the text is sent on request, once.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.core.messages import t
from handlers import limits
from storage.models import OutboxMessage, Report
from tests.handlers.conftest import (
    DISPATCH_GROUP,
    HANDLER,
    OBSERVER,
    OTHER_OBSERVER,
    WATER_GROUP,
    register,
)
from tests.handlers.harness import Sent, World, texts

CHUNK = "自来水发黄有异味，" * 111  # 999 characters


def _reports(world: World) -> list[Report]:
    with Session(world.services.engine) as session:
        return list(session.exec(select(Report).order_by(col(Report.id))).all())


def _preview(sent: list[Sent]) -> Sent:
    return next(s for s in reversed(sent) if "提交" in str(s.buttons()))


def test_text_limit_warned_then_refused(world: World) -> None:
    register(world)
    near = t("observer.limit_near_text", count=4999, most=5000)
    for index in range(4):
        assert near not in world.message(OBSERVER, CHUNK)[-1].text, index
    fifth = world.message(OBSERVER, CHUNK)
    assert near in fifth[-1].text  # the preview warns before the limit bites
    refused = world.message(OBSERVER, "最后再补充一句")
    assert texts(refused)[0] == t("observer.limit_text", most=5000, count=4999, adding=7)
    assert "最后再补充" not in _preview(refused).text  # the draft as it stands, to submit
    world.press(OBSERVER, _preview(refused), _preview(refused).button("提交"))
    (report,) = _reports(world)
    assert len(report.text) == 4999 and "最后再补充" not in report.text
    # A new report starts from nothing: the refused sentence is accepted there.
    assert "最后再补充一句" in world.message(OBSERVER, "最后再补充一句")[-1].text


def test_attachment_limit_warned_then_refused(world: World) -> None:
    register(world)
    world.message(OBSERVER, "小区路灯坏了一排")
    for index in range(limits.ATTACHMENTS):
        sent = world.message(OBSERVER, photo=[{"file_id": f"p{index}", "width": 9}])
    assert t("observer.limit_near_attachments", count=10, most=10) in sent[-1].text
    refused = world.message(OBSERVER, document={"file_id": "d"})
    assert texts(refused)[0] == t("observer.limit_attachments", most=10, count=10)
    world.press(OBSERVER, _preview(sent), _preview(sent).button("提交"))
    assert len(_reports(world)[0].attachments) == 10


def test_merged_message_limit_warned_then_refused(world: World) -> None:
    register(world)
    for index in range(limits.MESSAGES):
        sent = world.message(OBSERVER, f"补充第{index}点")
        warned = t("observer.limit_near_messages", count=index + 1, most=50) in sent[-1].text
        assert warned == (index + 1 >= 40), index
    refused = world.message(OBSERVER, "第五十一条")
    assert texts(refused)[0] == t("observer.limit_messages", most=50)


def test_a_batch_over_the_limit_is_refused_once(world: World) -> None:
    register(world)
    # Seven messages arrive together (the bot was busy): five fit, the last two do not.
    sent = world.backlog(OBSERVER, [CHUNK] * 6 + ["短句"])
    refusal = t("observer.limit_text", most=5000, count=4999, adding=2)
    assert [s.text for s in sent if "没有加进去" in s.text] == [refusal]
    preview = _preview(sent)
    world.press(OBSERVER, preview, preview.button("提交"))
    assert len(_reports(world)[0].text) == 4999


def _long_report(world: World, observer: int = OBSERVER) -> list[Sent]:
    """``observer`` submits a ~4,900-character water report with a phone number at its end."""
    text = CHUNK * 4 + "水表井盖松动，" * 120 + "联系电话13912345678"
    sent = world.message(observer, text)
    return world.press(observer, _preview(sent), _preview(sent).button("提交"))


def test_a_long_report_is_one_card_with_the_rest_on_request(world: World) -> None:
    register(world)
    sent = _long_report(world)
    (card,) = [s for s in sent if s.chat_id == WATER_GROUP]  # the card alone: nothing follows
    assert t("department.text_truncated") in card.text and "13912345678" not in card.text
    more = card.button("查看全文")
    rest = world.press(HANDLER, card, more)
    (full,) = rest
    assert full.chat_id == WATER_GROUP and full.text.startswith(_reports(world)[0].number)
    assert full.payload["reply_parameters"]["message_id"] == card.message_id
    assert "139****5678" in full.text and "13912345678" not in full.text
    assert world.answers[-1].text == t("department.full_text_sent")
    assert world.press(HANDLER, card, more) == []  # once per chat
    # From a chat that does not hold the card, the press shows nothing.
    elsewhere = Sent(DISPATCH_GROUP, "sendMessage", "", card.message_id, {}, "")
    assert world.press(8201, elsewhere, more) == []
    assert world.answers[-1].text == t("department.full_text_elsewhere")


def test_a_long_report_does_not_hold_back_the_next_card(world: World) -> None:
    register(world)
    register(world, OTHER_OBSERVER, "+8613800138002")
    _long_report(world)
    sent = world.message(OTHER_OBSERVER, "东濠涌河涌发臭，水面漂着垃圾")
    world.press(OTHER_OBSERVER, _preview(sent), _preview(sent).button("提交"))
    with Session(world.services.engine) as session:
        queued = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == WATER_GROUP)
            .order_by(col(OutboxMessage.id))
        ).all()
    # The group's queue: the long report's card, then the next observer's card.
    assert [row.purpose for row in queued] == ["card", "card"]
    first, second = _reports(world)
    assert [row.report_id for row in queued] == [first.id, second.id]


def test_the_guided_form_keeps_to_the_same_limits(world: World) -> None:
    register(world)
    kind = world.message(OBSERVER, "/new")[0]
    category = world.press(OBSERVER, kind, kind.button("问题反映"))[0]
    world.press(OBSERVER, category, category.buttons()[0][1])
    world.message(OBSERVER, "越秀区北京路128号门口")
    world.message(OBSERVER, "人行道地砖松动，老人容易摔倒")
    for index in range(limits.ATTACHMENTS):
        world.message(OBSERVER, photo=[{"file_id": f"p{index}", "width": 9}])
    refused = world.message(OBSERVER, photo=[{"file_id": "p11", "width": 9}])
    assert texts(refused) == [t("observer.limit_attachments", most=10, count=10)]


def test_a_refusal_inside_a_batch_is_told_with_its_preview(world: World) -> None:
    register(world)
    too_long = "水压很低，" * 300  # 1,500 characters: does not fit after four chunks
    sent = world.backlog(OBSERVER, [CHUNK] * 4 + [too_long, "短句"])
    refusal = t("observer.limit_text", most=5000, count=3999, adding=1500)
    assert [s.text for s in sent if "没有加进去" in s.text] == [refusal]
    preview = _preview(sent)
    assert "已写4002字" in preview.text  # the draft: four chunks and the short sentence
    assert not any("水压很低" in s.text for s in sent)
    assert sent.index(preview) > [s.text for s in sent].index(refusal)  # told first
