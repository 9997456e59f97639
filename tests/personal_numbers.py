"""Personal numbers an observer might type, and a check that none of them left unmasked.

Three sets — one for the report, one for a follow-up (补充), one for the reason of 不满意 —
each with a resident ID (valid check character), a landline with its area code and a bank card
(valid Luhn), spelled differently in each place: with spaces, in full-width digits, split by
zero-width characters. ``leaks`` reads a text the way a person reads it (NFKC, invisible
characters ignored) and names every number whose identifying digits are still there.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.core.masking.numbers import id_check, luhn_ok

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ZW = "\u200b"


def with_luhn(body: str) -> str:
    """Return ``body`` with its Luhn check digit appended."""
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def resident_id(first17: str) -> str:
    """Return an 18-character resident ID with its GB 11643 check character."""
    return first17 + id_check(first17)


@dataclass(frozen=True)
class Sample:
    """One personal number: its digits, how it is typed, and how it must look masked."""

    kind: str
    digits: str
    typed: str
    masked: str


def _id(number: str, typed: str) -> Sample:
    return Sample("resident ID", number, typed, number[:6] + "*" * 8 + number[14:])


def _card(number: str, typed: str) -> Sample:
    return Sample("bank card", number, typed, number[:4] + "*" * (len(number) - 8) + number[-4:])


def _zero_width(text: str) -> str:
    """Return ``text`` with a zero-width space after every third character."""
    return ZW.join(text[i : i + 3] for i in range(0, len(text), 3))


_ID_A, _ID_B, _ID_C = (
    resident_id(first17)
    for first17 in ("44010419900101123", "11010519491231002", "44030419851215567")
)
_CARD_A, _CARD_B, _CARD_C = (
    with_luhn(body) for body in ("622202123456789012", "622848001234567", "43678912345678901")
)
# The report: an ID written as the issue lists it, a landline in parentheses, a spaced card.
IN_REPORT = (
    _id(_ID_A, f"{_ID_A[:6]} {_ID_A[6:14]} {_ID_A[14:]}"),
    Sample("landline", "02083331234", "(020)83331234", "(020)****1234"),
    _card(_CARD_A, " ".join(_CARD_A[i : i + 4] for i in range(0, len(_CARD_A), 4))),
)
# The follow-up: a full-width ID, a landline with a dash and a space, a dotted card.
IN_FOLLOW_UP = (
    _id(_ID_B, _ID_B.translate(FULL_WIDTH)),
    Sample("landline", "075526331234", "0755-2633 1234", "0755-****1234"),
    _card(_CARD_B, ".".join(_CARD_B[i : i + 4] for i in range(0, len(_CARD_B), 4))),
)
# The reason for 不满意: zero-width spaces inside the ID and the card.
IN_REASON = (
    _id(_ID_C, _zero_width(_ID_C)),
    Sample("landline", "02087654321", "020 8765 4321", "020 ****4321"),
    _card(_CARD_C, _zero_width(_CARD_C)),
)
EVERY = (*IN_REPORT, *IN_FOLLOW_UP, *IN_REASON)

REPORT_TEXT = (
    "小区自来水发黄有异味，已经三天了。户主身份证{}，供水所座机{}，水费退到银行卡{}。"
).format(*(s.typed for s in IN_REPORT))
FOLLOW_UP_TEXT = "补充：另一户身份证{}，居委会电话{}，卡号{}".format(
    *(s.typed for s in IN_FOLLOW_UP)
)
REASON_TEXT = "水还是黄的。联系人身份证{}，座机{}，银行卡{}".format(*(s.typed for s in IN_REASON))


def digits_of(text: str) -> str:
    """Return the digits (and ``X``) a reader sees in ``text``: NFKC, invisible ones ignored."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(c for c in folded if c.isdigit() or c == "X")


def leaks(text: str, samples: tuple[Sample, ...] = EVERY) -> list[str]:
    """Return ``kind digits`` for each sample whose full number can still be read in ``text``."""
    seen = digits_of(text)
    return [f"{s.kind} {s.digits}" for s in samples if s.digits in seen]
