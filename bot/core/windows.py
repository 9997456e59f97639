"""Time windows of service-level classes: wall-clock hours or China's working days.

A window is written the same way in ``routing_rules.yaml``, on the command line and in
settings: ``"48h"``, ``"48 hours"``, ``"2 workdays"``, ``"2wd"``, ``"2 工作日"``, ``"24小时"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.core.messages import t

WindowUnit = Literal["hours", "workdays"]

_UNITS: dict[str, WindowUnit] = {
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "小时": "hours",
    "个小时": "hours",
    "wd": "workdays",
    "workday": "workdays",
    "workdays": "workdays",
    "working day": "workdays",
    "working days": "workdays",
    "工作日": "workdays",
    "个工作日": "workdays",
}

LONGEST: dict[str, int] = {"hours": 366 * 24, "workdays": 366}  # no window is over a year
_PATTERN = re.compile(r"^\s*(\d+)\s*([a-zA-Z\u4e00-\u9fff ]+?)\s*$")


@dataclass(frozen=True, slots=True)
class Window:
    """A length of time: a number of wall-clock hours or of working days."""

    amount: int
    unit: WindowUnit

    def __str__(self) -> str:
        return f"{self.amount}h" if self.unit == "hours" else f"{self.amount} workdays"

    def describe_zh(self) -> str:
        """Return the window in Chinese, e.g. ``5个工作日`` or ``24小时``."""
        return f"{self.amount}小时" if self.unit == "hours" else f"{self.amount}个工作日"


def parse_window(text: str) -> Window:
    """Parse ``"48h"`` or ``"5 workdays"``; raise ValueError saying what is allowed."""
    match = _PATTERN.match(str(text))
    unit = _UNITS.get(match.group(2).strip().lower()) if match else None
    if match is None or unit is None:
        raise ValueError(t("cli.window_format", window=text))
    digits = match.group(1)
    amount = int(digits) if len(digits) <= 6 else 10**6  # anything longer is too long anyway
    if amount <= 0:
        raise ValueError(t("cli.window_zero", window=text))
    most = LONGEST[unit]
    if amount > most:
        raise ValueError(t("cli.window_long", window=text, most=most, unit=t(f"cli.unit_{unit}")))
    return Window(amount=amount, unit=unit)
