"""Reading digit runs out of text the way a person reads them.

People type the same number in many ways: full-width digits (１３９…), groups split by spaces,
dots, dashes or parentheses (``1391 234 5673``, ``139.1234.5674``, ``(020)83331234``), or with
zero-width characters between the digits so that a naive pattern misses it. Log lines add the
same text as Python ``repr`` or JSON would print it (``139\\u200b1234``). This module
normalises every such spelling without changing the text: it finds *runs* of digit *groups*
and keeps, for every digit, where it stands in the original text, so that a number found in
the normalised digits can be replaced in the original exactly.

A digit is any character whose NFKC form is one ASCII digit (full-width, superscript, circled,
other scripts' decimal digits). Invisible characters (format characters such as U+200B,
variation selectors, the keycap mark) are ignored altogether: they never split a group.
Visible separators (spaces, dots, dashes, parentheses, a plus sign, at most three in a row)
split groups; anything else ends the run.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Blocks holding the non-ASCII characters NFKC folds to a digit or separator (full-width forms,
# superscripts, circled digits, odd spaces); scanning them at import takes a few milliseconds.
_BLOCKS = ((0x80, 0x100), (0x2000, 0x2500), (0x3000, 0x3100), (0xFE00, 0xFE70), (0xFF00, 0xFFF0))
_VISIBLE = " \t.·・･‧-‐‑‒–—―﹘−()+"  # besides what NFKC folds to " ", ".", "-", "(", ")", "+"
_INVISIBLE = "\u00ad\u034f\u115f\u1160\u180e\u20e3\u3164\ufeff\uffa0" + "".join(
    chr(cp) for cp in range(0xFE00, 0xFE10)
)
MAX_SEPARATORS = 3  # visible separator characters allowed between two groups of one run


def _classes() -> tuple[dict[str, str], str, str]:
    """Return (non-ASCII digit -> ASCII digit, visible separators, invisible characters)."""
    digits: dict[str, str] = {}
    visible, invisible = set(_VISIBLE), set(_INVISIBLE)
    for low, high in _BLOCKS:
        for code in range(low, high):
            char = chr(code)
            folded = unicodedata.normalize("NFKC", char)
            if len(folded) == 1 and "0" <= folded <= "9" and not char.isdecimal():
                digits[char] = folded
            elif folded in (" ", ".", "-", "(", ")", "+") or unicodedata.category(char) == "Zs":
                visible.add(char)
            elif unicodedata.category(char) == "Cf":
                invisible.add(char)
    invisible.update(chr(c) for c in range(0x200B, 0x2070) if unicodedata.category(chr(c)) == "Cf")
    return digits, "".join(sorted(visible)), "".join(sorted(invisible))


FOLDED_DIGITS, VISIBLE, INVISIBLE = _classes()
_X = "xXｘＸ"
# How repr() and JSON print a character (once more escaped when a log prints that repr).
# At most four backslashes: a longer run is no escape, and matching it must not cost its length.
_ESCAPE = r"\\{1,4}(?:u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2})"
_ESCAPE_AT = re.compile(_ESCAPE)
_DIGIT = rf"(?:[\d{''.join(FOLDED_DIGITS)}]|\\{{1,4}}u[fF][fF]1[0-9])"
_GAP = rf"(?:[{re.escape(VISIBLE + INVISIBLE)}]|{_ESCAPE}){{0,16}}"
# A candidate run: digits with short gaps between them, perhaps a final X (an ID's check).
CLUSTER = re.compile(rf"{_DIGIT}(?:{_GAP}{_DIGIT})*(?:{_GAP}[{_X}](?![A-Za-z]))?")
_TOKEN = re.compile(r"\\{1,4}(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))|(.)", re.S)
_ASCII_PART = re.compile(r"[0-9]+|[xX]")
ANY_DIGIT = re.compile(rf"[\d{''.join(FOLDED_DIGITS)}]|\\u[fF][fF]1")
_CODE_BEFORE = re.compile(r"(?:[A-Za-z]-|\*)\Z")  # "GD-20261202-0001", or a masked number's tail


@dataclass(slots=True)
class Group:
    """Digits typed together, and where each one stands in the original text."""

    digits: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # text index of each digit
    end: int = 0  # text index just after the last digit
    code: bool = False  # part of an identifier such as a report number: never personal


def digit_of(char: str) -> str | None:
    """Return the ASCII digit ``char`` stands for, or None."""
    if "0" <= char <= "9":
        return char
    folded = FOLDED_DIGITS.get(char)
    if folded is not None:
        return folded
    value = unicodedata.decimal(char, None)
    return None if value is None else str(value)


def runs(text: str) -> list[list[Group]]:
    """Return the runs of digit groups in ``text`` that hold at least ``11`` digits."""
    found: list[list[Group]] = []
    position = 0
    while (match := CLUSTER.search(text, position)) is not None:
        start, end = match.span()
        position = end
        if end - start < 11:  # too short for a number, and so is any part of it
            continue
        escape_end = _escape_end(text, start)
        if escape_end is not None:  # it began on the hex digits of an escape: look after it
            position = escape_end
            continue
        if len(ANY_DIGIT.findall(text, start, end)) < 11:
            continue
        plain = match[0].isascii() and "\\" not in match[0]
        found += (_split_ascii if plain else _split)(text, start, end)
    return found


def _escape_end(text: str, start: int) -> int | None:
    """Return where an escape ends if ``start`` is inside one ("\\u53616222": 卡, then 6222)."""
    if "\\" not in text[max(0, start - 5) : start]:
        return None
    for backslash in range(max(0, start - 5), start):
        escape = _ESCAPE_AT.match(text, backslash)
        if escape is not None and escape.start() < start < escape.end():
            return escape.end()
    return None


def _split_ascii(text: str, start: int, end: int) -> list[list[Group]]:
    """Read a cluster of ASCII digits and separators into runs of groups (the common case)."""
    result: list[list[Group]] = []
    run: list[Group] = []
    previous = start
    for part in _ASCII_PART.finditer(text, start, end):
        gap = part.start() - previous
        if part[0] in "xX" and not gap:  # an ID's check character, right after its digits
            run[-1].digits.append("X")
            run[-1].starts.append(part.start())
            run[-1].end = part.end()
            break
        if run and gap > MAX_SEPARATORS:
            result.append(run)
            run = []
        digits = ["X"] if part[0] in "xX" else list(part[0])  # or after a space: "... 123 X"
        run.append(Group(digits, list(range(part.start(), part.end())), part.end()))
        previous = part.end()
    if run:
        result.append(run)
    return _mark_codes(text, result)


def _split(text: str, start: int, end: int) -> list[list[Group]]:
    """Read one candidate cluster into runs of groups."""
    result: list[list[Group]] = []
    run: list[Group] = []
    group = Group()
    separators = 0
    for token in _TOKEN.finditer(text, start, end):
        char = token[3] if token[3] is not None else chr(int(token[1] or token[2], 16))
        if char in _X:  # only an ID's last character, right at the end of the cluster
            digit = "X" if token.end() == end and (group.digits or run) else None
        else:
            digit = digit_of(char)
        if digit is not None:
            if separators and group.digits:
                run.append(group)
                group = Group()
            separators = 0
            group.digits.append(digit)
            group.starts.append(token.start())
            group.end = token.end()
        elif char in INVISIBLE:
            continue
        elif char in VISIBLE and separators < MAX_SEPARATORS:
            separators += 1
        else:  # something else between digits (an escaped letter, too many separators)
            if group.digits:
                run.append(group)
            if run:
                result.append(run)
            run, group, separators = [], Group(), 0
    if group.digits:
        run.append(group)
    if run:
        result.append(run)
    return _mark_codes(text, result)


def _mark_codes(text: str, result: list[list[Group]]) -> list[list[Group]]:
    """Mark the end groups of each run that belong to an identifier or a masked number."""
    for each in result:
        first, last = each[0], each[-1]
        before = text[max(0, first.starts[0] - 2) : first.starts[0]]
        first.code = first.code or bool(_CODE_BEFORE.search(before))
        last.code = last.code or text.startswith("*", last.end)
    return [each for each in result if sum(len(group.digits) for group in each) >= 11]
