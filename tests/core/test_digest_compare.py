"""Week against week: the trend agrees with the digest's tallies; red cards; junk keywords."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.digest import compute_digest
from bot.core.digest_compare import EscalationRow, compare_weeks, tally_of, weekly_trend
from bot.core.digest_types import ReportRow
from bot.core.keyword_noise import keyword_filter
from bot.core.weeks import SHANGHAI, parse_week

WEEK = parse_week("2026-W47")
NOW = dt.datetime(2026, 11, 20, 15, tzinfo=SHANGHAI)  # mid-week: the current week so far


def random_rows(seed: int, count: int = 300) -> list[ReportRow]:
    """Reports over the ten weeks before NOW with random lives (signed, resolved, overdue)."""
    rng = random.Random(seed)
    start = WEEK.shifted(-9).start
    span = (NOW - start).total_seconds()
    rows = []
    for n in range(count):
        created = start + dt.timedelta(seconds=rng.uniform(0, span))
        sign_due = created + dt.timedelta(hours=rng.choice([4, 24, 72]))
        resolve_due = created + dt.timedelta(days=rng.choice([3, 7, 15]))
        signed = created + dt.timedelta(hours=rng.uniform(0, 100)) if rng.random() < 0.8 else None
        resolved = (
            signed + dt.timedelta(days=rng.uniform(0, 20))
            if signed and rng.random() < 0.7
            else None
        )
        rows.append(
            ReportRow(
                id=n,
                number=f"GD-{n:05d}",
                kind=rng.choice(["problem", "problem", "suggestion", "sentiment"]),
                status=rng.choice(["routed", "signed", "resolved", "dispatch"]),
                department=rng.choice(["water", "environment"]),
                region_code="440104",
                station_code="ST-1",
                text="河涌发臭",
                created_at=created,
                sign_due_at=sign_due,
                resolve_due_at=resolve_due,
                signed_at=signed,
                resolved_at=resolved,
                closed_at=None,
            )
        )
    return rows


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_the_trend_counts_as_the_digest_does(seed: int) -> None:
    rows = random_rows(seed)
    trend = weekly_trend(rows, WEEK, NOW)
    assert [point.label for point in trend][-1] == "2026-W47" and len(trend) == 9
    for offset, point in enumerate(trend):
        week = WEEK.shifted(offset - 8)
        tally = tally_of(rows, week, NOW)
        assert (point.new, point.resolved, point.overdue) == (
            tally.new,
            tally.resolved,
            tally.overdue_now,
        ), point.label


def test_last_week_and_red_cards() -> None:
    rows = random_rows(7)
    in_week = [r for r in rows if r.created_at >= WEEK.start or r.resolved_at is None]
    earlier = [r for r in rows if r not in in_week]
    digest = compute_digest(scope="440100", week=WEEK, now=NOW, reports=in_week)
    overdue = next(r for r in in_week if r.signed_at is None and r.sign_due_at < WEEK.start)
    escalations = [
        EscalationRow(overdue.id, "sign", WEEK.start + dt.timedelta(hours=9)),
        EscalationRow(overdue.id, "resolve", WEEK.start - dt.timedelta(days=2)),  # last week
        EscalationRow(overdue.id, "resolve", NOW + dt.timedelta(hours=1)),  # not yet
        EscalationRow(10_000, "sign", WEEK.start + dt.timedelta(hours=9)),  # not in scope
    ]
    compare_weeks(digest, reports=in_week, earlier=earlier, escalations=escalations, now=NOW)
    assert digest.previous == tally_of(rows, WEEK.shifted(-1), NOW)
    assert [card.number for card in digest.red_cards] == [overdue.number]
    assert digest.red_cards[0].stage == "sign" and digest.red_cards_previous == 1
    assert digest.trend[-1].new == digest.total.new


def test_keywords_that_say_nothing_are_left_out() -> None:
    ignore = keyword_filter(["越秀区北京街社会工作观察站", "北京街"])
    assert ignore("北京")  # from 北京街, a place of the roster
    assert ignore("越秀")  # a region's name
    assert ignore("地点") and ignore("几天") and ignore("不到")  # the bot's label, vague words
    assert ignore("12345") and ignore("水")
    assert not ignore("河涌") and not ignore("发臭") and not ignore("停水")
