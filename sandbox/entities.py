"""Telegram's formatting parsers: HTML, MarkdownV2 and legacy Markdown, as the Bot API runs them.

These follow TDLib's ``parse_html``, ``parse_markdown_v2`` and ``parse_markdown`` closely, so the
same inputs are refused with the same words ("Unsupported start tag "x" at byte offset 3"). Byte
offsets in errors count UTF-8 bytes of the input; entity offsets and lengths count UTF-16 code
units of the parsed text, as the Bot API does.
"""

from __future__ import annotations

import re
from typing import Any

Entity = dict[str, Any]

_SPACES = frozenset(b" \t\r\n\x00\x0b\x0c")
_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_TRIM = " \t\r\n\x0b\x0c"


class EntityParseError(ValueError):
    """The text cannot be parsed in the requested parse mode; the message is Telegram's."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's offsets and limits."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _checked_link(url: str) -> str:
    """Return the URL Telegram would keep for a text link, or "" when it would drop it."""
    url = url.strip()
    if not url:
        return ""
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(//)?", url)
    if match is None:
        url = "http://" + url
        scheme = "http"
    else:
        scheme = match.group(1).lower()
    if scheme not in ("http", "https", "tg", "ton", "tonsite", "mailto"):
        return ""
    if scheme in ("http", "https"):
        rest = url.split("://", 1)[1] if "://" in url else ""
        host = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if not host or " " in host:
            return ""
        if "/" not in rest:
            url += "/"
    return url


def _user_link_id(url: str) -> int | None:
    match = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
    return int(match.group(1)) if match else None


def _link_entity(offset: int, length: int, url: str) -> Entity | None:
    user_id = _user_link_id(url)
    if user_id is not None:
        return {
            "type": "text_mention",
            "offset": offset,
            "length": length,
            "user": {"id": user_id, "is_bot": False, "first_name": str(user_id)},
        }
    checked = _checked_link(url)
    if not checked:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": checked}


def _sort(entities: list[Entity]) -> list[Entity]:
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities


class _Bytes:
    """UTF-8 bytes with C-string reads: past the end reads as 0, like TDLib's buffers."""

    __slots__ = ("data", "size")

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        self.size = len(self.data)

    def __getitem__(self, index: int) -> int:
        return self.data[index] if index < self.size else 0


def _advance(c: int) -> int:
    """UTF-16 units contributed by a UTF-8 byte (0 for continuation bytes)."""
    if (c & 0xC0) == 0x80:
        return 0
    return 2 if c >= 0xF0 else 1


def _decode_html_entity(text: _Bytes, pos: int) -> tuple[int, int]:
    end = pos + 1
    code = 0
    if text[pos + 1] == ord("#"):
        end += 1
        if text[pos + 2] == ord("x"):
            end += 1
            while chr(text[end]) in "0123456789abcdefABCDEF" and text[end]:
                code = code * 16 + int(chr(text[end]), 16)
                end += 1
        else:
            while 0x30 <= text[end] <= 0x39:
                code = code * 10 + text[end] - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(text[end]).isascii() and chr(text[end]).isalpha():
            end += 1
        name = text.data[pos + 1 : end]
        code = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}.get(name, 0)
        if code == 0:
            return 0, pos
    if text[end] == ord(";"):
        end += 1
    return code, end


def parse_html(source: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into plain text and entities, or raise EntityParseError."""
    if "<" not in source and "&" not in source:
        return source, []
    text = _Bytes(source)
    data = text.data
    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    surrogates = False
    nested: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, out position
    i = 0
    while i < text.size:
        c = text[i]
        if c != 0x26 and c != 0x3C:
            # copy a run of plain text at once
            lt, amp = data.find(b"<", i), data.find(b"&", i)
            end = min(x for x in (lt, amp, text.size) if x >= 0)
            chunk = data[i:end]
            out += chunk
            utf16 += len(chunk.decode("utf-8").encode("utf-16-le")) // 2
            i = end
            continue
        if c == 0x26:
            code, new_i = _decode_html_entity(text, i)
            if code:
                utf16 += 2 if code > 0xFFFF else 1
                surrogates |= 0xD800 <= code <= 0xDFFF
                out += chr(code).encode("utf-8", "surrogatepass")
                i = new_i
                continue
        if c != 0x3C:
            utf16 += _advance(c)
            out.append(c)
            i += 1
            continue
        begin = i
        i += 1
        if text[i] != ord("/"):
            while text[i] not in _SPACES and text[i] != ord(">"):
                i += 1
            if text[i] == 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            tag = text.data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while text[i] != ord(">"):
                while text[i] != 0 and text[i] in _SPACES:
                    i += 1
                if text[i] == ord(">"):
                    break
                attr_begin = i
                while text[i] not in _SPACES and text[i] != ord("="):
                    i += 1
                attr_name = text.data[attr_begin:i].decode("utf-8", "replace")
                if not attr_name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while text[i] != 0 and text[i] in _SPACES:
                    i += 1
                if text[i] != ord("="):
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {begin}'
                    )
                i += 1
                while text[i] != 0 and text[i] in _SPACES:
                    i += 1
                if text[i] == 0:
                    raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if text[i] not in (ord("'"), ord('"')):
                    token_begin = i
                    while chr(text[i]).isascii() and (
                        chr(text[i]).isalnum() or text[i] in (ord("."), ord("-"))
                    ):
                        i += 1
                    value = text.data[token_begin:i].decode().lower()
                    if text[i] not in _SPACES and text[i] != ord(">"):
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    raw = bytearray()
                    while text[i] != quote and text[i] != 0:
                        if text[i] == 0x26:
                            code, new_i = _decode_html_entity(text, i)
                            if code:
                                raw += chr(code).encode("utf-8", "surrogatepass")
                                i = new_i
                                continue
                        raw.append(text[i])
                        i += 1
                    if text[i] == quote:
                        i += 1
                    value = raw.decode("utf-8", "replace")
                if text[i] == 0:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr_name == "href":
                    argument = value
                elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attr_name == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            nested.append((tag, argument, utf16, len(out)))
        else:
            if not nested:
                raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
            while text[i] not in _SPACES and text[i] != ord(">"):
                i += 1
            end_tag = text.data[begin + 2 : i].decode("utf-8", "replace").lower()
            while text[i] in _SPACES and text[i] != 0:
                i += 1
            if text[i] != ord(">"):
                raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
            tag, argument, offset, out_begin = nested[-1]
            if end_tag and end_tag != tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                    f'found "</{end_tag}>"'
                )
            if utf16 > offset:
                _close_html_entity(entities, tag, argument, offset, utf16 - offset, out, out_begin)
            nested.pop()
        i += 1
    if nested:
        raise EntityParseError(f"Can't find end tag corresponding to start tag {nested[-1][0]}")
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    try:
        plain = bytes(out).decode("utf-8")
    except UnicodeDecodeError as exc:
        if not surrogates:
            raise
        raise EntityParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        ) from exc
    return plain, _sort(entities)


def _close_html_entity(
    entities: list[Entity],
    tag: str,
    argument: str,
    offset: int,
    length: int,
    out: bytearray,
    out_begin: int,
) -> None:
    simple = {
        "i": "italic", "em": "italic", "b": "bold", "strong": "bold", "s": "strikethrough",
        "strike": "strikethrough", "del": "strikethrough", "u": "underline", "ins": "underline",
        "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
    }  # fmt: skip
    if tag in simple:
        entities.append({"type": simple[tag], "offset": offset, "length": length})
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append(
            {
                "type": "custom_emoji",
                "offset": offset,
                "length": length,
                "custom_emoji_id": argument,
            }
        )
    elif tag == "a":
        url = argument or bytes(out[out_begin:]).decode("utf-8", "replace")
        link = _link_entity(offset, length, url)
        if link is not None:
            entities.append(link)
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and (last["offset"], last["length"]) == (offset, length)
            and last.get("language")
        ):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and "language" not in last
            and (last["offset"], last["length"]) == (offset, length)
            and argument
        ):
            last["language"] = argument
        else:
            entity: Entity = {"type": "code", "offset": offset, "length": length}
            if argument:
                entity["language"] = argument
            entities.append(entity)


_V2_TYPE_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "pre_code": "PreCode",
    "text_link": "TextUrl", "custom_emoji": "CustomEmoji", "blockquote": "BlockQuote",
}  # fmt: skip


def _reserved(ch: int) -> str:
    return f"Character '{chr(ch)}' is reserved and must be escaped with the preceding '\\'"


def parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 into plain text and entities, or raise EntityParseError."""
    text = _Bytes(source)
    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    # kind, argument, utf16 offset, byte offset in the source, position in out
    nested: list[list[Any]] = []
    have_blockquote = False
    i = -1
    while True:
        i += 1
        if i >= text.size:
            break
        c = text[i]
        if c == ord("\\") and 0 < text[i + 1] <= 126:
            i += 1
            utf16 += 1
            out.append(text[i])
            continue
        reserved = b"_*[]()~`>#+-=|{}.!\n"
        if nested and nested[-1][0] in ("code", "pre", "pre_code"):
            reserved = b"`"
        if c not in reserved:
            utf16 += _advance(c)
            out.append(c)
            continue
        is_end = False
        if nested:
            kind = nested[-1][0]
            if have_blockquote and c == 0x0A and (i + 1 == text.size or text[i + 1] != ord(">")):
                is_end = True
            elif kind == "bold":
                is_end = c == ord("*")
            elif kind == "italic":
                is_end = c == ord("_") and text[i + 1] != ord("_")
            elif kind == "code":
                is_end = c == ord("`")
            elif kind in ("pre", "pre_code"):
                is_end = c == ord("`") and text[i + 1] == ord("`") and text[i + 2] == ord("`")
            elif kind in ("text_link", "custom_emoji"):
                is_end = c == ord("]")
            elif kind == "underline":
                is_end = c == ord("_") and text[i + 1] == ord("_")
            elif kind == "strikethrough":
                is_end = c == ord("~")
            elif kind == "spoiler":
                is_end = c == ord("|") and text[i + 1] == ord("|")
        if not is_end:
            argument = ""
            byte_offset = i
            kind = ""
            if c == ord("_"):
                if text[i + 1] == ord("_"):
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif c == ord("*"):
                kind = "bold"
            elif c == ord("~"):
                kind = "strikethrough"
            elif c == ord("|"):
                if text[i + 1] != ord("|"):
                    raise EntityParseError(_reserved(c))
                i += 1
                kind = "spoiler"
            elif c == ord("["):
                kind = "text_link"
            elif c == ord("`"):
                if text[i + 1] == ord("`") and text[i + 2] == ord("`"):
                    i += 3
                    kind = "pre"
                    language_end = i
                    while text[language_end] not in _SPACES and text[language_end] != ord("`"):
                        language_end += 1
                    if (
                        i != language_end
                        and language_end < text.size
                        and text[language_end] != ord("`")
                    ):
                        kind = "pre_code"
                        argument = text.data[i:language_end].decode("utf-8", "replace")
                        i = language_end
                    if text[i] in (0x0A, 0x0D):
                        if text[i + 1] in (0x0A, 0x0D) and text[i] != text[i + 1]:
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif c == ord("!"):
                if text[i + 1] != ord("["):
                    raise EntityParseError(_reserved(c))
                i += 1
                kind = "custom_emoji"
            elif c == 0x0A:
                utf16 += 1
                out.append(0x0A)
                if i + 1 < text.size and text[i + 1] == ord(">"):
                    i += 1
                    if not have_blockquote:
                        kind = "blockquote"
                        have_blockquote = True
            elif c == ord(">"):
                if i != 0:
                    raise EntityParseError(_reserved(c))
                kind = "blockquote"
                have_blockquote = True
            else:
                raise EntityParseError(_reserved(c))
            if not kind:
                continue
            nested.append([kind, argument, utf16, byte_offset, len(out)])
            continue
        kind, argument, offset, byte_offset, out_begin = nested[-1]
        if c == 0x0A and kind != "blockquote":
            raise EntityParseError(
                f"Can't find end of {_V2_TYPE_NAMES[kind]} entity at byte offset {byte_offset}"
            )
        skip = utf16 == offset
        entity: Entity | None = None
        if kind in ("bold", "italic", "code", "strikethrough"):
            entity = {"type": kind}
        elif kind in ("underline", "spoiler"):
            entity = {"type": kind}
            i += 1
        elif kind in ("pre", "pre_code"):
            entity = {"type": "pre"}
            if argument:
                entity["language"] = argument
            i += 2
        elif kind == "text_link":
            if text[i + 1] != ord("("):
                url = bytes(out[out_begin:]).decode("utf-8", "replace")
            else:
                i += 2
                url_begin = i
                raw = bytearray()
                while i < text.size and text[i] != ord(")"):
                    if text[i] == ord("\\") and 0 < text[i + 1] <= 126:
                        raw.append(text[i + 1])
                        i += 2
                        continue
                    raw.append(text[i])
                    i += 1
                if text[i] != ord(")"):
                    raise EntityParseError(f"Can't find end of a URL at byte offset {url_begin}")
                url = raw.decode("utf-8", "replace")
            link = _link_entity(offset, utf16 - offset, url)
            if link is None:
                skip = True
            else:
                entity = link
        elif kind == "custom_emoji":
            if text[i + 1] != ord("("):
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            i += 2
            url_begin = i
            raw = bytearray()
            while i < text.size and text[i] != ord(")"):
                raw.append(text[i])
                i += 1
            if text[i] != ord(")"):
                raise EntityParseError(
                    f"Can't find end of a custom emoji URL at byte offset {url_begin}"
                )
            match = re.fullmatch(r"tg://emoji\?id=(\d+)", raw.decode("utf-8", "replace"))
            if match is None:
                raise EntityParseError("Invalid custom emoji identifier specified")
            entity = {"type": "custom_emoji", "custom_emoji_id": match.group(1)}
        elif kind == "blockquote":
            have_blockquote = False
            out.append(text[i])
            utf16 += 1
            entity = {"type": "blockquote"}
        if not skip and entity is not None:
            entity["offset"] = offset
            entity["length"] = utf16 - offset
            entities.append(entity)
        nested.pop()
    if have_blockquote and nested and nested[-1][0] == "blockquote":
        offset = nested[-1][2]
        if utf16 != offset:
            entities.append({"type": "blockquote", "offset": offset, "length": utf16 - offset})
        nested.pop()
    if nested:
        kind, _, _, byte_offset, _ = nested[-1]
        raise EntityParseError(
            f"Can't find end of {_V2_TYPE_NAMES[kind]} entity at byte offset {byte_offset}"
        )
    return bytes(out).decode("utf-8"), _sort(entities)


def parse_markdown(source: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown into plain text and entities, or raise EntityParseError."""
    text = _Bytes(source)
    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    i = -1
    while True:
        i += 1
        if i >= text.size:
            break
        c = text[i]
        if c == ord("\\") and text[i + 1] in b"_*`[" and text[i + 1]:
            i += 1
            out.append(text[i])
            utf16 += 1
            continue
        if c not in b"_*`[":
            utf16 += _advance(c)
            out.append(c)
            continue
        begin = i
        end_char = ord("]") if c == ord("[") else c
        is_pre = False
        i += 1
        language = ""
        if c == ord("`") and text[i] == ord("`") and text[i + 1] == ord("`"):
            i += 2
            is_pre = True
            language_end = i
            while text[language_end] not in _SPACES and text[language_end] != ord("`"):
                language_end += 1
            if i != language_end and language_end < text.size and text[language_end] != ord("`"):
                language = text.data[i:language_end].decode("utf-8", "replace")
                i = language_end
            if text[i] in (0x0A, 0x0D):
                if text[i + 1] in (0x0A, 0x0D) and text[i] != text[i + 1]:
                    i += 2
                else:
                    i += 1
        offset = utf16
        while i < text.size and (
            text[i] != end_char or (is_pre and not (text[i + 1] == text[i + 2] == ord("`")))
        ):
            utf16 += _advance(text[i])
            out.append(text[i])
            i += 1
        if i == text.size:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        if offset != utf16:
            length = utf16 - offset
            if c == ord("_"):
                entities.append({"type": "italic", "offset": offset, "length": length})
            elif c == ord("*"):
                entities.append({"type": "bold", "offset": offset, "length": length})
            elif c == ord("["):
                if text[i + 1] != ord("("):
                    url = text.data[begin + 1 : i].decode("utf-8", "replace")
                else:
                    i += 2
                    raw = bytearray()
                    while i < text.size and text[i] != ord(")"):
                        raw.append(text[i])
                        i += 1
                    url = raw.decode("utf-8", "replace")
                link = _link_entity(offset, length, url)
                if link is not None:
                    entities.append(link)
            elif is_pre:
                entity: Entity = {"type": "pre", "offset": offset, "length": length}
                if language:
                    entity["language"] = language
                entities.append(entity)
            else:
                entities.append({"type": "code", "offset": offset, "length": length})
        if is_pre:
            i += 2
    return bytes(out).decode("utf-8"), _sort(entities)


_COMMAND = re.compile(r"(?<![\w/<>])/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/<>])")
_MENTION = re.compile(r"(?<!\w)@[a-zA-Z0-9_]{2,32}(?!\w)")
_HASHTAG = re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")
_URL = re.compile(r"(?<![\w@])(?:https?://)[^\s<>\"]+", re.IGNORECASE)


def find_auto_entities(text: str, existing: list[Entity]) -> list[Entity]:
    """Entities Telegram detects by itself: bot commands, mentions, hashtags and URLs."""
    if not any(ch in text for ch in "/@#:"):
        return []
    blocked: list[tuple[int, int]] = [
        (e["offset"], e["offset"] + e["length"])
        for e in existing
        if e["type"] in ("code", "pre", "text_link", "text_mention")
    ]
    found: list[Entity] = []
    for kind, pattern in (
        ("bot_command", _COMMAND),
        ("mention", _MENTION),
        ("hashtag", _HASHTAG),
        ("url", _URL),
    ):
        for match in pattern.finditer(text):
            offset = utf16_len(text[: match.start()])
            length = utf16_len(match.group(0))
            if any(start < offset + length and offset < end for start, end in blocked):
                continue
            found.append({"type": kind, "offset": offset, "length": length})
            blocked.append((offset, offset + length))
    return found


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading and trailing whitespace like Telegram, moving and clipping entities."""
    stripped_left = text.lstrip(_TRIM)
    left = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_TRIM)
    if left == 0 and len(result) == len(text):
        return text, entities
    total = utf16_len(result)
    kept: list[Entity] = []
    for entity in entities:
        start = max(0, entity["offset"] - left)
        end = min(total, entity["offset"] + entity["length"] - left)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return result, kept


PARSERS = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}
