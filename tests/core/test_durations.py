"""Durations in words fit their size."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.durations import in_words, time_left


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (dt.timedelta(seconds=20), "不到1分钟"),
        (dt.timedelta(minutes=35), "35分钟"),
        (dt.timedelta(minutes=59, seconds=59), "59分钟"),
        (dt.timedelta(hours=1), "1小时"),
        (dt.timedelta(hours=4, minutes=20), "4小时"),
        (dt.timedelta(hours=47), "47小时"),
        (dt.timedelta(days=2), "2天"),
        (dt.timedelta(days=2, hours=12), "2天半"),
        (dt.timedelta(days=6, hours=20), "7天"),
        (dt.timedelta(days=358, hours=19), "359天"),
        (-dt.timedelta(hours=3), "3小时"),
    ],
)
def test_the_unit_fits_the_size(span: dt.timedelta, words: str) -> None:
    assert in_words(span) == words


def test_time_left_says_which_side_of_the_deadline() -> None:
    now = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC)
    assert time_left(now + dt.timedelta(hours=4), now) == "还剩4小时"
    assert time_left(now - dt.timedelta(days=2), now) == "已超时2天"
    assert time_left(now, now) == "已超时不到1分钟"
