"""Text normalisation before tagging and routing.

Observers in Guangdong write on phones, in Simplified or Traditional characters, with
full-width digits and letters, emoji, English words and Cantonese colloquialisms. Everything
that is matched against keywords (report text, and the keywords of the rules file themselves)
goes through :func:`normalise` first, so ``水浸街``, ``水浸街`` and ``水浸街`` all meet.

Steps, in order:

1. Unicode NFKC: full-width ``ＡＢＣ１２３！`` becomes ``ABC123!``; compatibility forms unfold.
2. Letters are lower-cased (``WiFi`` and ``wifi`` meet).
3. Traditional -> Simplified with ``zhconv`` (``zh-cn``), only when the text holds a character
   that zhconv would change: most reports are Simplified already and skip the converter.
4. Cantonese colloquialisms -> standard written Chinese (``冇人理`` -> ``没人管``,
   ``嘈`` -> ``吵``, ``水浸`` -> ``水淹``), longest expression first.
5. Runs of whitespace collapse to one space.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import zhconv  # type: ignore[import-untyped]

# Cantonese (粤语) written colloquialisms -> standard written Chinese. Applied after
# Traditional -> Simplified, so keys are in Simplified characters. Longest keys win.
CANTONESE: dict[str, str] = {
    "冇人理": "没人管",
    "冇人管": "没人管",
    "冇得": "没有",
    "冇": "没有",
    "唔该": "谢谢",
    "唔得": "不行",
    "唔": "不",
    "嘅": "的",
    "咗": "了",
    "啲": "些",
    "佢哋": "他们",
    "佢": "他",
    "哋": "们",
    "乜嘢": "什么",
    "咩": "什么",
    "点解": "为什么",
    "边度": "哪里",
    "边个": "谁",
    "喺": "在",
    "睇": "看",
    "嘈吵": "吵闹",
    "嘈": "吵",
    "水浸街": "水淹街",
    "水浸": "水淹",
    "揾": "找",
    "攞": "拿",
    "畀": "给",
    "屋企": "家里",
    "细路仔": "小孩",
    "细路": "小孩",
    "街坊": "居民",
    "塞车": "堵车",
    "泊车": "停车",
    "的士": "出租车",
    "巴士": "公交车",
    "电单车": "摩托车",
    "坑渠": "下水道",
    "曱甴": "蟑螂",
    "嘥": "浪费",
    "差佬": "警察",
    "而家": "现在",
    "琴日": "昨天",
    "听日": "明天",
    "成日": "整天",
    "几时": "什么时候",
    "好似": "好像",
    "揸车": "开车",
    "走鬼": "流动摊贩",
    "士多": "小卖部",
    "雪柜": "冰箱",
    "返工": "上班",
    "搞掂": "搞定",
    "落雨": "下雨",
    "老人家": "老人",
    "呢度": "这里",
    "嗰度": "那里",
    "呢个": "这个",
    "嗰个": "那个",
}

_CANTONESE_RE = re.compile("|".join(sorted(map(re.escape, CANTONESE), key=len, reverse=True)))
_CANTONESE_CHARS = frozenset("".join(CANTONESE))
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Return the single characters zhconv changes when converting to zh-cn."""
    table = zhconv.zhconv.getdict("zh-cn")
    return frozenset(k for k, v in table.items() if len(k) == 1 and k != v)


def to_simplified(text: str) -> str:
    """Convert Traditional characters to Simplified (a no-op for Simplified text)."""
    if text.isascii() or _traditional_chars().isdisjoint(text):
        return text
    return str(zhconv.convert(text, "zh-cn"))


def map_cantonese(text: str) -> str:
    """Replace common Cantonese colloquialisms with standard written Chinese."""
    if _CANTONESE_CHARS.isdisjoint(text):
        return text
    return _CANTONESE_RE.sub(lambda m: CANTONESE[m.group(0)], text)


def normalise(text: str) -> str:
    """Return ``text`` normalised for matching: NFKC, lower-case ASCII, Simplified, Mandarin."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    text = to_simplified(text)
    text = map_cantonese(text)
    return _SPACES.sub(" ", text).strip()


def has_content(text: str) -> bool:
    """Return True if ``text`` holds at least one letter, digit or CJK character."""
    return any(c.isalnum() for c in text)
