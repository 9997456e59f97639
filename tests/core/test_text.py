"""Normalisation: Traditional, full-width, Cantonese and odd input."""

from __future__ import annotations

import pytest

from bot.core.text import has_content, map_cantonese, normalise, to_simplified


def test_traditional_becomes_simplified() -> None:
    assert normalise("河涌發臭，無人處理") == "河涌发臭,无人处理"


def test_simplified_text_is_left_alone() -> None:
    assert to_simplified("河涌发臭") == "河涌发臭"


def test_full_width_letters_digits_and_punctuation_become_half_width() -> None:
    assert normalise("ＷｉＦｉ壞咗３日！") == "wifi坏了3日!"


@pytest.mark.parametrize(
    ("cantonese", "mandarin"),
    [
        ("冇人理", "没人管"),
        ("水浸街", "水淹街"),
        ("好嘈", "好吵"),
        ("佢哋唔该晒", "他们谢谢晒"),
        ("呢度塞车", "这里堵车"),
    ],
)
def test_cantonese_colloquialisms_map_to_standard_chinese(cantonese: str, mandarin: str) -> None:
    assert map_cantonese(cantonese) == mandarin


def test_traditional_cantonese_is_converted_then_mapped() -> None:
    assert normalise("水浸街冇人理，呢度好嘈") == "水淹街没人管,这里好吵"


def test_mixed_scripts_and_emoji_survive() -> None:
    assert normalise("  路燈  壞了 😡  Please fix ") == "路灯 坏了 😡 please fix"


@pytest.mark.parametrize("text", ["", "   ", "！！！。。。", "😀😀", "……"])
def test_empty_or_punctuation_only_text_has_no_content(text: str) -> None:
    assert not has_content(normalise(text))


def test_text_with_words_has_content() -> None:
    assert has_content(normalise("路灯坏了"))
