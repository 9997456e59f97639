"""Is a message small talk (a greeting, thanks, a question about the bot) rather than a report?

An observer's first words are often "你好" or "在吗" or "这个怎么用"; they must be answered as
such, never turned into a report draft. A message is small talk only when nothing of substance
is left once the known phrases, particles and punctuation are taken out, so "你好，我们小区路灯
坏了" is still a report. Pure: no database, no clock.
"""

from __future__ import annotations

import re
from enum import StrEnum

from bot.core.text import to_simplified


class SmallTalk(StrEnum):
    """What kind of small talk a message is."""

    GREETING = "greeting"
    THANKS = "thanks"
    QUESTION = "question"


# Longest first within each list, so "请问一下" goes before "请问".
_THANKS = (
    "非常感谢",
    "谢谢你们",
    "谢谢您",
    "谢谢你",
    "辛苦了",
    "多谢",
    "感谢",
    "谢谢",
    "唔该",
    "thanks",
    "thank you",
)
_QUESTIONS = (
    "这个是做什么的",
    "这个是干什么的",
    "这是做什么的",
    "这是干什么的",
    "是做什么的",
    "是干什么的",
    "做什么用的",
    "有什么用",
    "能做什么",
    "可以做什么",
    "怎么使用",
    "如何使用",
    "怎样使用",
    "怎么反映",
    "怎么提交",
    "怎么弄",
    "点样用",
    "怎么用",
    "怎样用",
    "如何用",
    "你是谁",
    "你是机器人吗",
    "是机器人吗",
    "有人吗",
    "在不在",
    "在吗",
    "帮助",
    "help",
)
_GREETINGS = (
    "早上好",
    "中午好",
    "下午好",
    "晚上好",
    "大家好",
    "您好",
    "你好",
    "早晨",
    "哈喽",
    "嗨",
    "hello",
    "hi",
)
_FILLERS = (
    "请问一下",
    "请问",
    "想问一下",
    "想问",
    "问一下",
    "同志",
    "领导",
    "小助手",
    "机器人",
    "这个",
    "这里",
    "一下",
    "好的",
    "好",
    "ok",
)
_PARTICLES = re.compile(r"[啊呀吧呢哦噢喔嗯的了吗么嘛哈啦呐哇喂唉诶]")
_NOISE = re.compile(r"[\s\W_]+")  # punctuation, emoji, spaces
_LONGEST = 30  # longer than this is not small talk, whatever it contains


def classify(text: str) -> SmallTalk | None:
    """Return the kind of small talk ``text`` is, or None if it may be a report."""
    plain = _NOISE.sub("", to_simplified(text).lower())
    if not plain or len(plain) > _LONGEST:
        return None
    found: list[SmallTalk] = []
    for kind, phrases in (
        (SmallTalk.QUESTION, _QUESTIONS),
        (SmallTalk.THANKS, _THANKS),
        (SmallTalk.GREETING, _GREETINGS),
    ):
        for phrase in phrases:
            if phrase in plain:
                plain = plain.replace(phrase, "")
                found.append(kind)
    for filler in _FILLERS:
        plain = plain.replace(filler, "")
    if not found or _PARTICLES.sub("", plain):
        return None
    return found[0]  # a question is answered with help even when it starts with 你好
