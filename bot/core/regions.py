"""Administrative division codes (GB/T 2260) and the levels of government they name.

A code is 6 digits for province (``440000``), city (``440100``) and county (``440104``);
town-level codes (乡镇街道) extend a county code to 9 digits (``440104001``), and
village/community codes to 12 digits. Levels are derived from the code itself.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Literal

Level = Literal["province", "city", "county", "town", "village"]
LEVELS: tuple[Level, ...] = ("province", "city", "county", "town", "village")


def is_well_formed(code: str) -> bool:
    """Return True if ``code`` has the shape of a GB/T 2260 (or town/village) code."""
    return code.isascii() and code.isdigit() and len(code) in (6, 9, 12) and code[:2] != "00"


def level_of(code: str) -> Level:
    """Return the level of government a well-formed code names."""
    if not is_well_formed(code):
        raise ValueError(f"malformed region code {code!r}: expected 6, 9 or 12 digits")
    if len(code) == 12:
        return "village"
    if len(code) == 9:
        return "town"
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def region_at(code: str, level: Level) -> str | None:
    """Return the code of the region at ``level`` that contains ``code`` (None if below it)."""
    own = level_of(code)
    if LEVELS.index(level) > LEVELS.index(own):
        return None
    if level == "province":
        return code[:2] + "0000"
    if level == "city":
        # Province-administered county-level units (e.g. 东莞、中山 have no counties) keep
        # their own city code; the generic rule covers them: the city is the first 4 digits.
        return code[:4] + "00"
    if level == "county":
        return code[:6]
    if level == "town":
        return code[:9]
    return code[:12]


def ancestors(code: str) -> list[str]:
    """Return ``code`` and every region containing it, most local first, province last."""
    own = level_of(code)
    chain: list[str] = []
    for level in reversed(LEVELS[: LEVELS.index(own) + 1]):
        parent = region_at(code, level)
        if parent is not None and parent not in chain:
            chain.append(parent)
    return chain


# --- Guangdong's table of known codes -------------------------------------------------------

PROVINCE_CODE = "440000"
_TABLE_FILE = "gd_regions.csv"


@dataclass(frozen=True, slots=True)
class Region:
    """One known administrative division: code, Chinese name and its kind (e.g. 市辖区)."""

    code: str
    name: str
    kind: str


@functools.cache
def _table() -> dict[str, Region]:
    """Load Guangdong's province, city and county codes once (lazily, on first use)."""
    text = resources.files("bot.core").joinpath("data", _TABLE_FILE).read_text(encoding="utf-8")
    return {
        row["code"]: Region(code=row["code"], name=row["name"], kind=row["type"])
        for row in csv.DictReader(text.splitlines())
    }


def known_regions() -> list[Region]:
    """Return every shipped province, city and county region, in code order."""
    return sorted(_table().values(), key=lambda region: region.code)


def is_known(code: str) -> bool:
    """Return True if ``code`` is a shipped Guangdong code, or a town/village code below one."""
    if not is_well_formed(code):
        return False
    if len(code) == 6:
        return code in _table()
    # Town (9) and village (12) codes are not shipped; accept them as given when the county
    # (or county-less city such as 东莞 441900) they extend is known.
    return code[:6] in _table()


def name_of(code: str) -> str | None:
    """Return the Chinese name of a shipped code (None for unknown, town or village codes)."""
    region = _table().get(code)
    return region.name if region is not None else None


def full_name(code: str) -> str | None:
    """Return the names from province down, e.g. 广东省广州市越秀区 (None if unknown)."""
    if not is_known(code):
        return None
    names: list[str] = []
    for part in reversed(ancestors(code[:6])):
        name = name_of(part)
        if name is not None and name not in names:
            names.append(name)
    return "".join(names)
