"""Per-report facts at a week's cut-off, shared by the week's figures and last week's.

``ReportFacts`` decides once, for one report and one week, whether it is new, signed, resolved,
open or overdue at the cut-off, whether it was overdue during the week, and whether its sign-for
and resolution came to term in the week and on time (the definitions are in
``bot.core.digest``); ``add_to`` counts it in a ``Tally``. ``bot.core.digest`` counts this week
with it and ``bot.core.digest_compare`` last week, so the two compare like with like.
Comparisons run in UTC (``utc_bounds``): comparing aware times of two zones asks the zone for its
offset every time, which tripled the province digest's computing time.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Generic, TypeVar

from bot.core.digest_types import HANDLED_KINDS, Lifecycle, Tally
from bot.core.masking import mask_personal_numbers
from bot.core.weeks import Week

SAMPLE_CHARS = 80
R = TypeVar("R", bound=Lifecycle)  # a full row (this week) or a lifecycle (earlier weeks)


def sample_line(text: str) -> str:
    """Return one masked line of a report's text, shortened for a digest."""
    flat = " ".join(mask_personal_numbers(text).split())
    return flat if len(flat) <= SAMPLE_CHARS else flat[: SAMPLE_CHARS - 1] + "…"


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Return the ``fraction`` percentile by linear interpolation (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _within(moment: dt.datetime | None, start: dt.datetime, end: dt.datetime) -> bool:
    return moment is not None and start <= moment < end


def finished_at(report: Lifecycle) -> dt.datetime | None:
    """Return when the department's handling ended (resolved, or closed without resolving)."""
    moments = [m for m in (report.resolved_at, report.closed_at) if m is not None]
    return min(moments) if moments else None


def _before(moment: dt.datetime | None, cut: dt.datetime) -> bool:
    return moment is not None and moment <= cut


class ReportFacts(Generic[R]):
    """Per-report facts at the cut-off, computed once and shared by every slice."""

    __slots__ = (
        "report",
        "new",
        "signed",
        "resolved",
        "open",
        "overdue",
        "overdue_in_week",
        "sign_term",
        "sign_on_time",
        "resolve_term",
        "resolve_on_time",
    )

    def __init__(self, report: R, start: dt.datetime, end: dt.datetime, cut: dt.datetime) -> None:
        """Compute the facts of ``report`` for the week [start, end) as of ``cut``.

        Pass the bounds in UTC (``utc_bounds``): reports' times are UTC, and comparing aware
        times of two different zones asks the zone for its offset every time.
        """
        self.report: R = report
        self.new = _within(report.created_at, start, end) and report.created_at <= cut
        handled = report.kind in HANDLED_KINDS
        self.signed = handled and _within(report.signed_at, start, cut)
        self.resolved = handled and _within(report.resolved_at, start, cut)
        finished = finished_at(report)
        signed_by_cut = _before(report.signed_at, cut)
        self.open = handled and report.created_at <= cut and not _before(finished, cut)
        self.overdue: tuple[str, dt.datetime] | None = None
        if self.open:
            if (
                not signed_by_cut
                and report.sign_due_at is not None
                and report.sign_due_at < cut
                and report.status != "dispatch"
            ):
                self.overdue = ("sign", report.sign_due_at)
            elif report.resolve_due_at is not None and report.resolve_due_at < cut:
                self.overdue = ("resolve", report.resolve_due_at)
        self.overdue_in_week = handled and (
            self.overdue is not None
            or _spell_overlaps(report.sign_due_at, report.signed_at or finished, start, cut)
            or _spell_overlaps(report.resolve_due_at, finished, start, cut)
        )
        # Sign-for came to term in the week: signed in it, or its deadline passed unsigned in it.
        self.sign_term = False
        self.sign_on_time = False
        if handled and report.sign_due_at is not None:
            if self.signed and report.signed_at is not None:
                self.sign_term = True
                self.sign_on_time = report.signed_at <= report.sign_due_at
            elif not signed_by_cut and _within(report.sign_due_at, start, cut):
                self.sign_term = report.status != "dispatch" and not _before(finished, cut)
        self.resolve_term = False
        self.resolve_on_time = False
        if handled and report.resolve_due_at is not None:
            if self.resolved and report.resolved_at is not None:
                self.resolve_term = True
                self.resolve_on_time = report.resolved_at <= report.resolve_due_at
            elif not _before(finished, cut) and _within(report.resolve_due_at, start, cut):
                self.resolve_term = True

    def add_to(self, tally: Tally) -> None:
        """Count this report in ``tally``."""
        report = self.report
        if self.new:
            tally.new += 1
            tally.new_by_kind[report.kind] = tally.new_by_kind.get(report.kind, 0) + 1
            tally.issues += getattr(report, "duplicate_of", None) is None  # earlier weeks: all
        tally.signed += self.signed
        tally.resolved += self.resolved
        tally.open += self.open
        tally.overdue_now += self.overdue is not None
        tally.overdue_in_week += self.overdue_in_week
        tally.sign_due += self.sign_term
        tally.sign_on_time += self.sign_on_time
        tally.resolve_due += self.resolve_term
        tally.resolve_on_time += self.resolve_on_time

    @property
    def relevant(self) -> bool:
        """True if the report shows anywhere in the week's figures."""
        return bool(
            self.new
            or self.signed
            or self.resolved
            or self.open
            or self.overdue_in_week
            or self.sign_term
            or self.resolve_term
        )


def utc_bounds(week: Week, cut: dt.datetime) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """Return the week's start and end and the cut-off, the same moments in UTC."""
    return week.start.astimezone(dt.UTC), week.end.astimezone(dt.UTC), cut.astimezone(dt.UTC)


def _spell_overlaps(
    due: dt.datetime | None, done: dt.datetime | None, start: dt.datetime, cut: dt.datetime
) -> bool:
    """True if the overdue spell [due, done) overlaps [start, cut)."""
    if due is None or due >= cut:
        return False
    if done is not None and done <= due:
        return False
    return done is None or done > start
