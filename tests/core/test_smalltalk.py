"""Small talk is told apart from a report by what is left once its phrases are taken out."""

from __future__ import annotations

import pytest

from bot.core.smalltalk import SmallTalk, classify


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("你好", SmallTalk.GREETING),
        ("您好！", SmallTalk.GREETING),
        ("在吗", SmallTalk.QUESTION),
        ("在吗？有人吗", SmallTalk.QUESTION),
        ("怎么用", SmallTalk.QUESTION),
        ("这个是做什么的", SmallTalk.QUESTION),
        ("你好，请问怎么用？", SmallTalk.QUESTION),
        ("謝謝", SmallTalk.THANKS),
        ("谢谢啦 🙏", SmallTalk.THANKS),
        ("好的，辛苦了", SmallTalk.THANKS),
        ("好的", None),  # no phrase of ours at all: left to the draft (a report is never lost)
        ("hello", SmallTalk.GREETING),
    ],
)
def test_small_talk_is_recognised(text: str, kind: SmallTalk | None) -> None:
    assert classify(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "你好，我们小区路灯坏了",
        "谢谢你们，上次的井盖还没修好",
        "这个路口怎么没有红绿灯",
        "有人在河边倒垃圾",
        "",
        "   ",
    ],
)
def test_a_report_is_never_small_talk(text: str) -> None:
    assert classify(text) is None
