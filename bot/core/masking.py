"""Masking of personal numbers in report text shown to groups and leaders (DESIGN.md 9)."""

from __future__ import annotations

import re

# 18-digit resident ID (last character may be X) and the old 15-digit form.
_ID_CARD = re.compile(r"(?<![0-9])([1-9]\d{5})(\d{8}|\d{6})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# Mainland mobiles, optionally with +86/86, spaces or dashes; and landlines like 020-12345678.
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[ -]?)?1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(0\d{2,3})-?(\d{3,4})(\d{4})(?![0-9])")


def mask_personal_numbers(text: str) -> str:
    """Return ``text`` with ID-card and phone numbers partly replaced by asterisks."""
    text = _ID_CARD.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 6), text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
