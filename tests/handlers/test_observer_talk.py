"""An observer's first words, the keyboard under the input field, drafts kept apart, and reports
made of a voice, a photo, a video or a place alone."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from bot.core.messages import t
from storage.models import Draft, Report, ReportStatus
from tests.handlers.conftest import DISPATCH_GROUP, OBSERVER, register
from tests.handlers.harness import World


def _reports(world: World) -> list[Report]:
    with Session(world.services.engine) as session:
        return list(session.exec(select(Report).order_by(Report.id)).all())  # type: ignore[arg-type]


def _drafts(world: World) -> list[Draft]:
    with Session(world.services.engine) as session:
        return list(session.exec(select(Draft)).all())


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("你好", "observer.smalltalk_greeting"),
        ("在吗", "observer.help"),
        ("怎么用", "observer.help"),
        ("这个是做什么的", "observer.help"),
        ("你好，请问怎么用？", "observer.help"),
        ("谢谢", "observer.smalltalk_thanks"),
    ],
)
def test_greetings_and_questions_are_answered_not_drafted(
    world: World, text: str, answer: str
) -> None:
    register(world)
    (sent,) = world.message(OBSERVER, text)
    assert sent.text == t(answer)
    assert sent.payload["reply_markup"]["keyboard"]  # the menu comes with the answer
    assert _drafts(world) == []
    # ... and the next real report is not merged with it
    preview = world.message(OBSERVER, "北京路的路灯坏了三天")[0]
    assert "反映预览" in preview.text and text not in preview.text


def test_a_greeting_with_a_report_is_a_report(world: World) -> None:
    register(world)
    preview = world.message(OBSERVER, "你好，我们小区路灯坏了")[0]
    assert "反映预览" in preview.text and "路灯坏了" in preview.text


def test_the_menu_is_shown_and_each_button_works(world: World) -> None:
    sent = world.message(
        OBSERVER, contact={"phone_number": "+8613800138001", "user_id": OBSERVER, "first_name": "x"}
    )
    labels = [b["text"] for row in sent[0].payload["reply_markup"]["keyboard"] for b in row]
    assert labels == [t("observer.menu_report"), t("observer.menu_mine"), t("observer.menu_help")]
    assert sent[0].payload["reply_markup"]["is_persistent"] is True
    again = world.message(OBSERVER, "/start")[0]
    assert again.payload["reply_markup"]["keyboard"] == sent[0].payload["reply_markup"]["keyboard"]
    assert world.message(OBSERVER, t("observer.menu_report"))[0].text == t("observer.report_how")
    assert world.message(OBSERVER, t("observer.menu_mine"))[0].text == t("observer.my_empty")
    assert world.message(OBSERVER, t("observer.menu_help"))[0].text == t("observer.help")
    assert world.message(OBSERVER, "帮助")[0].text == t("observer.help")  # typed, no emoji
    assert _drafts(world) == []


@pytest.mark.parametrize(
    ("extra", "method", "what"),
    [
        ({"voice": {"file_id": "v1", "duration": 4}}, "sendVoice", "语音1条"),
        ({"photo": [{"file_id": "p1", "width": 9, "height": 9}]}, "sendPhoto", "照片1张"),
        (
            {"video": {"file_id": "m1", "width": 9, "height": 9, "duration": 3}},
            "sendVideo",
            "视频1段",
        ),
        ({"location": {"latitude": 23.125, "longitude": 113.27}}, "sendLocation", "位置1处"),
    ],
)
def test_a_voice_photo_video_or_place_alone_can_be_submitted(
    world: World, extra: dict, method: str, what: str
) -> None:
    register(world)
    (preview,) = world.message(OBSERVER, **extra)
    placeholder = t("observer.no_text", what=what)
    assert "反映预览" in preview.text and placeholder in preview.text
    assert "社会工作部" in preview.text  # nothing to route by: dispatch, said plainly
    sent = world.press(OBSERVER, preview, preview.button("提交"))
    (report,) = _reports(world)
    assert report.text == placeholder and report.status == ReportStatus.DISPATCH
    assert report.region_code.startswith("440104")  # the station's region
    group = [s for s in sent if s.chat_id == DISPATCH_GROUP]
    assert placeholder in group[0].text and method in [s.method for s in group]
    ack = next(s for s in sent if s.chat_id == OBSERVER)
    assert report.number in ack.text and "社会工作部" in ack.text


def test_a_message_after_an_idle_draft_is_not_merged_without_asking(world: World) -> None:
    register(world)
    world.message(OBSERVER, "北京路的路灯坏了")
    world.now += dt.timedelta(minutes=31)
    (ask,) = world.message(OBSERVER, "河涌有死鱼")
    assert "北京路的路灯坏了" in ask.text and "河涌有死鱼" in ask.text
    (draft,) = _drafts(world)
    assert draft.data["texts"] == ["北京路的路灯坏了"]  # kept apart until the observer says
    joined = world.press(OBSERVER, ask, ask.button("合成一份"))[0]
    assert "路灯坏了\n河涌有死鱼" in joined.text
    assert world.press(OBSERVER, ask, ask.button("合成一份")) == []  # answered once
    world.press(OBSERVER, joined, joined.button("提交"))
    (report,) = _reports(world)
    assert "路灯" in report.text and "死鱼" in report.text


def test_the_earlier_draft_can_be_submitted_first_or_dropped(world: World) -> None:
    register(world)
    world.message(OBSERVER, "北京路的路灯坏了")
    world.now += dt.timedelta(hours=2)
    ask = world.message(OBSERVER, "河涌有死鱼")[0]
    sent = world.press(OBSERVER, ask, ask.button("先提交上一份"))
    preview = [s for s in sent if s.chat_id == OBSERVER and "反映预览" in s.text][-1]
    assert "死鱼" in preview.text and "路灯" not in preview.text
    world.press(OBSERVER, preview, preview.button("提交"))
    assert [r.text for r in _reports(world)] == ["北京路的路灯坏了", "河涌有死鱼"]

    world.message(OBSERVER, "小区电梯停了")
    world.now += dt.timedelta(hours=2)
    ask = world.message(OBSERVER, "垃圾没人收")[0]
    sent = world.press(OBSERVER, ask, ask.button("上一份不要了"))
    preview = [s for s in sent if "反映预览" in s.text][-1]
    assert "垃圾没人收" in preview.text and "电梯" not in preview.text
    assert len(_reports(world)) == 2


def test_messages_in_quick_succession_still_make_one_draft(world: World) -> None:
    register(world)
    world.message(OBSERVER, "北京路的路灯坏了")
    world.now += dt.timedelta(minutes=5)
    preview = world.message(OBSERVER, "已经三天了")[0]
    assert "路灯坏了\n已经三天了" in preview.text


def test_a_sentiment_record_is_worded_as_one(world: World) -> None:
    register(world)
    preview = world.message(OBSERVER, "居民普遍反映菜价涨得厉害，希望领导关注")[0]
    menu = world.press(OBSERVER, preview, preview.button("问题/建议/民意"))[0]
    preview = world.press(OBSERVER, menu, menu.button("社情民意"))[0]
    assert t("observer.preview_sentiment") in preview.text
    assert "将转交" not in preview.text and "签收" not in preview.text
    sent = world.press(OBSERVER, preview, preview.button("提交"))
    ack = next(s for s in sent if s.chat_id == OBSERVER)
    assert t("observer.submitted_sentiment") in ack.text and "进展" not in ack.text


def test_thanks_after_a_report_in_one_batch_still_shows_its_preview(world: World) -> None:
    register(world)
    sent = world.backlog(OBSERVER, ["北京路的路灯坏了", "谢谢"])
    assert [s.text for s in sent][0] == t("observer.smalltalk_thanks")
    assert "反映预览" in sent[-1].text and "路灯坏了" in sent[-1].text
    (draft,) = _drafts(world)
    assert draft.data["texts"] == ["北京路的路灯坏了"]


def test_the_guided_form_takes_a_voice_for_the_description(world: World) -> None:
    register(world)
    kind = world.message(OBSERVER, "/new")[0]
    category = world.press(OBSERVER, kind, kind.button("问题反映"))[0]
    location = world.press(OBSERVER, category, category.buttons()[0][1])[0]
    description = world.press(OBSERVER, location, location.button("使用站点位置"))[0]
    assert "语音" in description.text
    photos = world.message(OBSERVER, voice={"file_id": "v9", "duration": 8})[0]
    urgency = world.press(OBSERVER, photos, photos.button("下一步"))[0]
    preview = world.press(OBSERVER, urgency, urgency.button("一般"))[0]
    placeholder = t("observer.no_text", what="语音1条")
    assert "地点：" in preview.text and placeholder in preview.text
    world.press(OBSERVER, preview, preview.button("提交"))
    (report,) = _reports(world)
    assert report.text.startswith("地点：") and report.text.endswith(placeholder)
    assert report.attachments == [{"kind": "voice", "file_id": "v9"}]
