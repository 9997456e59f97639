"""Durations in words a person reads at a glance: 35分钟, 4小时, 2天半, 3天.

The unit fits the size: under an hour in minutes, under two days in hours, then days (halves
kept under a week). Never "0.0小时": anything under a minute reads as 不到1分钟.
"""

from __future__ import annotations

import datetime as dt


def in_words(span: dt.timedelta) -> str:
    """Return ``span`` (its absolute value) in Chinese words of the fitting unit."""
    seconds = abs(span.total_seconds())
    minutes = int(seconds // 60)
    if minutes < 1:
        return "不到1分钟"
    if minutes < 60:
        return f"{minutes}分钟"
    hours = seconds / 3600
    if hours < 48:
        return f"{round(hours)}小时"
    days = hours / 24
    if days < 7:
        halves = round(days * 2)
        whole, half = divmod(halves, 2)
        return f"{whole}天半" if half else f"{whole}天"
    return f"{round(days)}天"


def time_left(due: dt.datetime, now: dt.datetime) -> str:
    """Return ``还剩4小时`` before ``due``, ``已超时2天`` after it."""
    if due > now:
        return f"还剩{in_words(due - now)}"
    return f"已超时{in_words(now - due)}"
