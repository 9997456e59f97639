"""Week against week: last week's headline figures, the nine-week trend, and red cards (督办).

A leader's first questions are "better or worse than last week?" and "what must I chase?".
``compare_weeks`` answers them on a computed ``Digest``:

- ``previous``: last week's ``Tally``, counted exactly as this week's (``ReportFacts`` with last
  week's bounds), so every change shown beside a figure compares like with like;
- ``trend``: for this week and the eight before it, reports created, resolved, and overdue at
  the week's cut-off (the end of the week, or ``now`` for the current one). Overdue uses the
  same rule as the digest's "overdue now"; the last two points are last week's and this week's
  tallies themselves, so the chart, the text and the workbook never disagree;
- ``red_cards``: the escalations (the ``escalated`` reminder marks that fired) of this week,
  with their reports, and last week's count.

Rows come from ``bot.services.digest.load_week``: ``reports`` are this week's candidates and
``earlier`` the other reports of the eight weeks before (or open across their start).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.digest_facts import ReportFacts, finished_at, sample_line, utc_bounds
from bot.core.digest_types import (
    HANDLED_KINDS,
    Digest,
    Lifecycle,
    RedCard,
    ReportRow,
    Tally,
    WeekPoint,
)
from bot.core.weeks import Week

TREND_WEEKS = 9  # this week and the eight before it


@dataclass(frozen=True, slots=True)
class EscalationRow:
    """A red card that fired: which report, which deadline (sign/resolve) and when."""

    report_id: int
    deadline: str
    fired_at: dt.datetime


def tally_of(reports: Iterable[Lifecycle], week: Week, now: dt.datetime) -> Tally:
    """Return the whole scope's tally of ``week`` as of ``now`` (its end, for a past week)."""
    start, end, cut = utc_bounds(week, min(now, week.end))
    total = Tally()
    for report in reports:
        if report.created_at >= end:
            continue
        finished = finished_at(report)
        if report.created_at < start and finished is not None and finished < start:
            continue
        fact = ReportFacts(report, start, end, cut)
        if fact.relevant:
            fact.add_to(total)
    return total


def _overdue_spells(report: Lifecycle) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """Return the [start, end) spells in which the report counts as overdue."""
    if report.kind not in HANDLED_KINDS:
        return []
    finished = finished_at(report)
    spells: list[tuple[dt.datetime, dt.datetime | None]] = []
    if report.sign_due_at is not None and report.status != "dispatch":
        ends = [m for m in (report.signed_at, finished) if m is not None]
        spells.append((report.sign_due_at, min(ends) if ends else None))
    if report.resolve_due_at is not None:
        spells.append((report.resolve_due_at, finished))
    return spells


def weekly_trend(
    rows: Sequence[Lifecycle], week: Week, now: dt.datetime, weeks: int = TREND_WEEKS
) -> list[WeekPoint]:
    """Return new, resolved and overdue-at-cut-off for ``weeks`` weeks ending with ``week``."""
    spans = [week.shifted(offset - weeks + 1) for offset in range(weeks)]
    # In UTC, as the reports' times are: comparing two zones asks for offsets every time.
    starts = [span.start.astimezone(dt.UTC) for span in spans]
    cuts = [min(now, span.end).astimezone(dt.UTC) for span in spans]
    new = [0] * weeks
    resolved = [0] * weeks
    overdue = [0] * weeks
    first, last, stop = starts[0], cuts[-1], spans[-1].end.astimezone(dt.UTC)
    for report in rows:
        created = report.created_at
        if first <= created < stop:
            index = bisect_right(starts, created) - 1
            if created <= cuts[index]:
                new[index] += 1
        done = report.resolved_at
        if done is not None and report.kind in HANDLED_KINDS and first <= done < last:
            index = bisect_right(starts, done) - 1
            if done < cuts[index]:
                resolved[index] += 1
        marked: set[int] = set()
        for start, end in _overdue_spells(report):
            # Overdue at cut c when start < c, the report existed by c and end is after c.
            low = bisect_right(cuts, max(start, created - dt.timedelta(microseconds=1)))
            high = len(cuts) if end is None else bisect_left(cuts, end)
            marked.update(range(low, high))
        for index in marked:
            overdue[index] += 1
    return [
        WeekPoint(span.label, span.start.date(), new[i], resolved[i], overdue[i])
        for i, span in enumerate(spans)
    ]


def _red_cards(
    escalations: Iterable[EscalationRow],
    rows: Sequence[Lifecycle],
    week: Week,
    cut: dt.datetime,
) -> tuple[list[RedCard], int]:
    """Return this week's red cards (newest report first) and last week's count.

    A card is described from its report's full row; a report known only by its lifecycle (one
    finished before this week) counts for last week but cannot be this week's card.
    """
    known = {row.id for row in rows}
    by_id = {row.id: row for row in rows if isinstance(row, ReportRow)}
    previous_start = week.shifted(-1).start
    cards: list[RedCard] = []
    previous = 0
    for item in escalations:
        if item.report_id not in known or not previous_start <= item.fired_at < cut:
            continue
        if item.fired_at < week.start:
            previous += 1
            continue
        report = by_id.get(item.report_id)
        if report is None:
            continue
        due = report.sign_due_at if item.deadline == "sign" else report.resolve_due_at
        cards.append(
            RedCard(
                number=report.number,
                department=report.department,
                region_code=report.region_code,
                stage="sign" if item.deadline == "sign" else "resolve",
                fired_at=item.fired_at,
                due_at=due,
                status=report.status,
                text=sample_line(report.text),
            )
        )
    cards.sort(key=lambda card: (card.fired_at, card.number))
    return cards, previous


def compare_weeks(
    digest: Digest,
    *,
    reports: Sequence[ReportRow],
    earlier: Sequence[Lifecycle] = (),
    escalations: Iterable[EscalationRow] = (),
    now: dt.datetime,
) -> Digest:
    """Add last week's figures, the nine-week trend and the red cards to ``digest``."""
    week = digest.week
    rows: list[Lifecycle] = [*reports, *earlier]
    digest.previous = tally_of(rows, week.shifted(-1), now)
    trend = weekly_trend(rows, week, now)
    for index, tally in ((-2, digest.previous), (-1, digest.total)):
        point = trend[index]
        trend[index] = WeekPoint(
            point.label, point.first_day, tally.new, tally.resolved, tally.overdue_now
        )
    digest.trend = trend
    digest.red_cards, digest.red_cards_previous = _red_cards(escalations, rows, week, digest.as_of)
    return digest
