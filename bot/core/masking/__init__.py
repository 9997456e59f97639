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

__all__ = ["mask_personal_numbers", "mask_payload"]

_LONGEST = 19  # digits of the longest personal number (a bank card)
_MIN_INNER = 3  # a group inside a combination has at least this many digits (not a date's "12")
_ESCAPED = re.compile(r"\\(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2})")


def mask_personal_numbers(text: str) -> str:
    """Return ``text`` with every personal number partly replaced by asterisks."""
    if not text or ANY_DIGIT.search(text) is None:
        return text
    spans = [span for run in runs(text) for span in _numbers_in(text, run)]
    if not spans:
        return text
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
    for key in ("text", "caption"):
        value = payload.get(key)
        if isinstance(value, str):
            masked = mask_personal_numbers(value)
            if masked != value:
                changed[key] = masked
    return {**payload, **changed} if changed else payload


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
    return chr(int(escape[2:], 16))
