"""Telegram's formatting parsers: what they accept, the entities they produce, what they refuse."""

from __future__ import annotations

import pytest

from sandbox.entities import (
    EntityParseError,
    find_auto_entities,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    utf16_len,
)
from sandbox.validation import ApiError, parse_text


def test_html_entities_count_utf16_code_units() -> None:
    text, entities = parse_html("😀 <b>粗体</b> &lt;tag&gt; &amp; <a href='example.com'>链接</a>")
    assert text == "😀 粗体 <tag> & 链接"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 2},
        {"type": "text_link", "offset": 14, "length": 2, "url": "http://example.com/"},
    ]


def test_html_pre_with_language() -> None:
    _, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<x>y</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("<b>open", "Can't find end tag corresponding to start tag b"),
        ("close</b>", "Unexpected end tag at byte offset 5"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_html_refusals_match_telegram(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == error


def test_markdown_v2_entities_and_escapes() -> None:
    text, entities = parse_markdown_v2(r"*b* _i_ __u__ ~s~ ||p|| `c` [l](http://x.org/a\)b) 1\.5")
    assert text == "b i u s p c l 1.5"
    assert [e["type"] for e in entities] == [
        "bold", "italic", "underline", "strikethrough", "spoiler", "code", "text_link",
    ]  # fmt: skip
    assert entities[-1]["url"] == "http://x.org/a)b"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("1.5", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("a-b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
        ("ok _it", "Can't find end of Italic entity at byte offset 3"),
    ],
)
def test_markdown_v2_refusals(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_markdown_v2(source)
    assert str(caught.value) == error


def test_legacy_markdown() -> None:
    assert parse_markdown("*b* _i_")[1] == [
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "italic", "offset": 2, "length": 1},
    ]
    with pytest.raises(EntityParseError, match="Can't find end of the entity starting at byte"):
        parse_markdown("snake_case")


def test_auto_entities_find_commands_at_the_start() -> None:
    found = find_auto_entities("/start@loopback_bot 你好 #话题", [])
    assert found[0] == {"type": "bot_command", "offset": 0, "length": 19}
    assert found[1]["type"] == "hashtag"


def test_limits_apply_after_parsing_and_trimming() -> None:
    text, _ = parse_text("<b>" + "字" * 4096 + "</b>", "HTML", None)
    assert utf16_len(text) == 4096
    with pytest.raises(ApiError, match="message is too long"):
        parse_text("😀" * 2049, None, None)  # 4098 UTF-16 code units
    with pytest.raises(ApiError, match="message text is empty"):
        parse_text("  <b> </b>\n", "HTML", None)
    with pytest.raises(ApiError, match="message caption is too long"):
        parse_text("x" * 1025, None, None, caption=True)
    assert parse_text("  hi  ", None, None)[0] == "hi"
