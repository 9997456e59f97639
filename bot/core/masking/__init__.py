"""Masking of personal numbers wherever text leaves the database for people.

``mask_personal_numbers`` is the one function every exit calls: the delivery worker on every
message it sends to Telegram, the log-record factory on every record, the export and the
digest on every text they write. It reads each run of digits the way a person would (see
``runs``: full-width digits, zero-width characters, spaces, dots, dashes and parentheses between
groups), tries the longest combinations of whole groups first, and replaces each personal number
it recognises (``numbers``: mobiles, landlines with area codes, resident IDs, bank cards) by its
masked form. Everything else in the text — report numbers, dates, times, money, region codes,
counts — is left exactly as it was, character for character.
"""

from __future__ import annotations

import re
from typing import Any

from bot.core.masking.numbers import Found, detect
from bot.core.masking.runs import ANY_DIGIT, INVISIBLE, Group, digit_of, runs

__all__ = ["mask_personal_numbers", "mask_payload", "mask_with_entities"]

_LONGEST = 19  # digits of the longest personal number (a bank card)
_MIN_INNER = 3  # a group inside a combination has at least this many digits (not a date's "12")
_ESCAPED = re.compile(r"\\{1,4}(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2})")


def mask_personal_numbers(text: str) -> str:
    """Return ``text`` with every personal number partly replaced by asterisks."""
    spans = personal_numbers(text)
    return _replaced(text, spans) if spans else text


def personal_numbers(text: str) -> list[tuple[int, int, str]]:
    """Return (start, end, masked form) of each personal number in ``text``, in order."""
    if not text or ANY_DIGIT.search(text) is None:
        return []
    return [span for run in runs(text) for span in _numbers_in(text, run)]


def mask_with_entities(
    text: str, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]] | None]:
    """Mask ``text`` and move its Bot API entities (offsets in UTF-16 units) to match."""
    spans = personal_numbers(text)
    if not spans:
        return text, entities
    if entities:
        entities = [_moved(entity, text, spans) for entity in entities]
    return _replaced(text, spans), entities


def _replaced(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Return ``text`` with each span replaced."""
    pieces: list[str] = []
    position = 0
    for start, end, replacement in spans:
        pieces += (text[position:start], replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def mask_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Return a Bot API payload with its text and caption masked (a copy if anything changed)."""
    changed: dict[str, Any] = {}
    for key, entities_key in (("text", "entities"), ("caption", "caption_entities")):
        value = payload.get(key)
        if isinstance(value, str):
            masked, entities = mask_with_entities(value, payload.get(entities_key))
            if masked != value:
                changed[key] = masked
                if entities is not None:
                    changed[entities_key] = entities
    return {**payload, **changed} if changed else payload


def _units(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, as Telegram counts offsets."""
    return len(text.encode("utf-16-le")) // 2


def _moved(entity: dict[str, Any], text: str, spans: list[tuple[int, int, str]]) -> dict[str, Any]:
    """Return ``entity`` with its offset and length moved to the masked text."""
    start = int(entity.get("offset", 0))
    end = start + int(entity.get("length", 0))
    new_start, new_end = start, end
    for first, last, replacement in spans:
        low, high = _units(text[:first]), _units(text[:last])
        delta = _units(replacement) - (high - low)
        if start >= high:
            new_start += delta
        elif start > low:  # begins inside a number: from the start of its masked form
            new_start += low - start
        if end >= high:
            new_end += delta
        elif end > low:  # ends inside a number: at the end of its masked form
            new_end += low + _units(replacement) - end
    return {**entity, "offset": new_start, "length": max(0, new_end - new_start)}


def _numbers_in(text: str, run: list[Group]) -> list[tuple[int, int, str]]:
    """Return (start, end, replacement) of each personal number in one run, leftmost-longest."""
    found: list[tuple[int, int, str]] = []
    first = 0
    while first < len(run):
        hit = _longest_from(run, first)
        if hit is None:
            first += 1
            continue
        last, number = hit
        found.append(_replacement(text, run[first : last + 1], number))
        first = last + 1
    return found


def _longest_from(run: list[Group], first: int) -> tuple[int, Found] | None:
    """Return the last group and the number of the longest combination starting at ``first``."""
    ends: list[int] = []
    total = 0
    for last in range(first, len(run)):
        group = run[last]
        if group.code or (last - 1 > first and len(run[last - 1].digits) < _MIN_INNER):
            break
        total += len(group.digits)
        if total > _LONGEST:
            break
        ends.append(last)
    for last in reversed(ends):
        digits = "".join(d for group in run[first : last + 1] for d in group.digits)
        if len(digits) < 11:
            break
        number = detect(digits)
        if number is not None:
            return last, number
    return None


def _replacement(text: str, groups: list[Group], number: Found) -> tuple[int, int, str]:
    """Return the span of ``groups`` in ``text`` and what replaces it."""
    starts = [start for group in groups for start in group.starts]
    start, end = starts[0], groups[-1].end
    kept = _plain(text[start : starts[number.keep]]) if number.keep else ""
    return start, end, kept + number.masked


def _plain(text: str) -> str:
    """Return a kept prefix with its digits in ASCII and invisible characters removed."""
    text = _ESCAPED.sub(lambda m: _unescaped(m[0]), text)
    return "".join(digit_of(char) or char for char in text if char not in INVISIBLE)


def _unescaped(escape: str) -> str:
    """Return the character an escape such as ``\\u3000`` stands for."""
    return chr(int(escape.lstrip("\\")[1:], 16))
