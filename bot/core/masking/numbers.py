"""Which digit strings are personal numbers, and how each kind is shown masked.

Each detector takes the normalised digits of a candidate (ASCII digits, perhaps a final ``X``)
and either recognises it or not; checks keep report numbers, dates, money and region codes out:

- mainland mobile: ``1[3-9]`` and nine digits, perhaps after ``86`` or ``0086``;
- landline with its area code: ``010``/``02x`` and eight digits, or ``0[3-9]xx`` and seven or
  eight, the local number starting with 2-9;
- resident ID: 18 characters with a real birth date (1900-2099) and a valid GB 11643-1999 check
  character (``X`` for ten) — or, with a wrong check character, a real province code: a typo in
  one digit must not leak the other seventeen; or the old 15-digit form (province code and a
  real birth date in the 1900s);
- bank card: 16-19 digits passing the Luhn check.

A mask keeps what a handler needs to tell numbers apart and nothing that identifies a person:
``139****5678``, ``020-****1234``, ``440104********1234``, ``6222***********1234``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_MOBILE = re.compile(r"(?:0086|86)?(1[3-9]\d{9})")
_LANDLINE = re.compile(r"(0(?:10|2\d))([2-9]\d{7})|(0[3-9]\d\d)([2-9]\d{6,7})")
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"
# The first two digits of every resident ID (GB/T 2260 provinces, Taiwan, Hong Kong, Macao).
_PROVINCES = frozenset(
    f"{code}" for code in (*range(11, 16), 21, 22, 23, *range(31, 38), *range(41, 47))
) | frozenset(f"{code}" for code in (*range(50, 55), *range(61, 66), 71, 81, 82))


@dataclass(frozen=True, slots=True)
class Found:
    """A personal number: its kind, how many leading digits stay as typed, and its masked tail."""

    kind: str
    keep: int  # leading digits rendered from the original (a prefix, an area code)
    masked: str  # what replaces the rest


def _date(year: int, month: int, day: int) -> bool:
    """Return True when the numbers make a real date."""
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def id_check(first17: str) -> str:
    """Return the GB 11643 check character of an ID's first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def luhn_ok(digits: str) -> bool:
    """Return True when ``digits`` pass the Luhn check (bank card numbers)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _resident_id(s: str) -> Found | None:
    """Return an 18- or 15-character resident ID number, masked, or None."""
    if (
        len(s) == 18
        and s[:17].isdigit()
        and 1900 <= int(s[6:10]) <= 2099
        and _date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
        and (s[:2] in _PROVINCES or id_check(s[:17]) == s[17])
    ):
        return Found("id", 0, s[:6] + "*" * 8 + s[14:])
    if (
        len(s) == 15
        and s[:2] in _PROVINCES
        and s.isdigit()
        and _date(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))
    ):
        return Found("id", 0, s[:6] + "*" * 6 + s[12:])
    return None


def detect(s: str) -> Found | None:
    """Return what kind of personal number the digit string ``s`` is, or None."""
    if s.endswith("X"):
        return _resident_id(s)
    found = _resident_id(s)
    if found is not None:
        return found
    if 16 <= len(s) <= 19 and s[0] != "0" and luhn_ok(s):
        return Found("bank", 0, s[:4] + "*" * (len(s) - 8) + s[-4:])
    mobile = _MOBILE.fullmatch(s)
    if mobile is not None:
        core = mobile[1]
        return Found("mobile", len(s) - 11, core[:3] + "****" + core[7:])
    landline = _LANDLINE.fullmatch(s)
    if landline is not None:
        local = landline[2] or landline[4]
        return Found("landline", len(s) - len(local), "*" * (len(local) - 4) + local[-4:])
    return None
