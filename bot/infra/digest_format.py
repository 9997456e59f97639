"""How the digest writes names, numbers, durations and changes for people (all renderings).

Durations take the unit that fits their size: 分钟 under an hour, 小时 under two days, 天 under
two months, then 个月 — never "0.0小时" or "超期358.8天". A change from last week is an arrow and
the number (↑12, ↓3, 持平); a change of a rate is in percentage points.
"""

from __future__ import annotations

import datetime as dt

from bot.core.messages import t
from bot.core.regions import is_well_formed, name_of


def region_label(code: str) -> str:
    """Return a short Chinese name for a region or town code (the code if unknown)."""
    if not code or not is_well_formed(code):
        return code
    return name_of(code) or name_of(code[:6]) or code


def rate(value: float | None) -> str:
    """Return a share as a whole percentage ("—" when there is none)."""
    return t("digest.none_rate") if value is None else f"{value:.0%}"


def _short(value: float) -> str:
    """Return a number with one decimal under 10 and none above, without a trailing .0."""
    text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
    return text[:-2] if text.endswith(".0") else text


def duration_words(hours: float | None) -> str:
    """Return a duration in the unit that fits it: 分钟, 小时, 天 or 个月."""
    if hours is None:
        return t("digest.none_rate")
    minutes = hours * 60
    if minutes < 1:
        return t("digest.under_minute")
    if hours < 1:
        return t("digest.minutes", value=f"{round(minutes)}")
    if hours < 48:
        return t("digest.hours", value=_short(hours))
    days = hours / 24
    if days < 60:
        return t("digest.days", value=_short(days))
    return t("digest.months", value=f"{round(days / 30)}")


def count_change(now: int, before: int | None) -> str:
    """Return "（↑12）", "（↓3）" or "（持平）" against last week ("" when unknown)."""
    if before is None:
        return ""
    diff = now - before
    if diff == 0:
        return t("digest.change", change=t("digest.same"))
    arrow = "digest.up" if diff > 0 else "digest.down"
    return t("digest.change", change=t(arrow, value=abs(diff)))


def rate_change(now: float | None, before: float | None) -> str:
    """Return a rate's change in percentage points against last week ("" when unknown)."""
    if now is None or before is None:
        return ""
    diff = round(100 * now) - round(100 * before)
    if diff == 0:
        return t("digest.change", change=t("digest.same"))
    arrow = "digest.up" if diff > 0 else "digest.down"
    return t("digest.change", change=t(arrow, value=t("digest.points", value=abs(diff))))


def local_time(moment: dt.datetime | None, tz: dt.tzinfo) -> str:
    """Return a moment as 11月16日 09:30 in ``tz`` ("" for none)."""
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def naive(moment: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    """Return local wall time to the minute without a zone (Excel has no time zones)."""
    if moment is None:
        return None
    return moment.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
