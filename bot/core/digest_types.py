"""The digest's plain rows in and figures out: what the database gives and what a leader sees.

Input rows (``ReportRow``, ``LifecycleRow``, ``EventRow``, ``StationRow``, ``TopicRow``) are
read by ``bot.services.digest``; the figures (``Tally`` for a slice, and ``Digest`` holding the
week's tallies, lists and last week's comparison) are computed by ``bot.core.digest`` and
``bot.core.digest_compare`` and rendered by ``bot.infra.digest_render``. No behaviour beyond
the rates a tally derives from its counts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bot.core.regions import Level
from bot.core.weeks import Week

HANDLED_KINDS = ("problem", "suggestion")  # the kinds a department signs for and resolves
RATINGS = ("satisfied", "basic", "unsatisfied")


@dataclass(frozen=True, slots=True)
class ReportRow:
    """The columns of one report the digest needs."""

    id: int
    number: str
    kind: str
    status: str
    department: str
    region_code: str
    station_code: str
    text: str
    created_at: dt.datetime
    tags: tuple[str, ...] = ()
    keywords: tuple[tuple[str, float], ...] = ()
    category: str | None = None
    priority: str = "normal"
    target_region: str = ""
    sign_due_at: dt.datetime | None = None
    resolve_due_at: dt.datetime | None = None
    signed_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    rating: str | None = None
    duplicate_of: int | None = None  # joined to another report of the same issue
    same_issue: str = ""  # that report's number (exports)


class LifecycleRow(NamedTuple):
    """The lifecycle times of an earlier report: all last week's figures and the trend need.

    A plain tuple, cheap to build by the ten thousand (the province reads about 30,000).
    """

    id: int
    kind: str
    status: str
    created_at: dt.datetime
    sign_due_at: dt.datetime | None = None
    resolve_due_at: dt.datetime | None = None
    signed_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None


Lifecycle = ReportRow | LifecycleRow  # what the per-report facts read: the lifecycle times


@dataclass(frozen=True, slots=True)
class EventRow:
    """One audit-trail entry of a report (transferred, returned, rated, reopened, ...)."""

    report_id: int
    action: str
    at: dt.datetime
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StationRow:
    """A station in the scope."""

    code: str
    name: str
    region_code: str


@dataclass(frozen=True, slots=True)
class TopicRow:
    """Tags and keywords of a report created before the week (for rising topics)."""

    created_at: dt.datetime
    tags: tuple[str, ...] = ()
    keywords: tuple[tuple[str, float], ...] = ()


@dataclass(slots=True)
class Tally:
    """Counts and rates for one slice (the whole scope, a region, a department, a station)."""

    new: int = 0
    new_by_kind: dict[str, int] = field(default_factory=dict)
    issues: int = 0  # the new reports not joined to another: one issue each
    signed: int = 0
    resolved: int = 0
    open: int = 0
    overdue_now: int = 0
    overdue_in_week: int = 0
    sign_due: int = 0
    sign_on_time: int = 0
    resolve_due: int = 0
    resolve_on_time: int = 0

    @property
    def sign_rate(self) -> float | None:
        """Return the on-time sign-for share (None when nothing came to term)."""
        return self.sign_on_time / self.sign_due if self.sign_due else None

    @property
    def resolve_rate(self) -> float | None:
        """Return the on-time resolution share (None when nothing came to term)."""
        return self.resolve_on_time / self.resolve_due if self.resolve_due else None

    @property
    def due(self) -> int:
        """Return how many sign-for and resolution deadlines came to term in the week."""
        return self.sign_due + self.resolve_due

    @property
    def on_time_rate(self) -> float | None:
        """Return the on-time share of sign-for and resolution together (None if none due)."""
        return (self.sign_on_time + self.resolve_on_time) / self.due if self.due else None


@dataclass(frozen=True, slots=True)
class Overdue:
    """An open report past a deadline at the cut-off."""

    number: str
    department: str
    region_code: str
    stage: str  # "sign" or "resolve"
    due_at: dt.datetime
    days: float
    text: str


@dataclass(frozen=True, slots=True)
class Topic:
    """A tag or keyword with this week's count and the previous weeks' weekly average."""

    key: str
    count: int
    baseline: float

    @property
    def rise(self) -> float:
        """Return how far this week exceeds the baseline."""
        return self.count - self.baseline


@dataclass(frozen=True, slots=True)
class StationActivity:
    """One station's week: reports sent, and how many departments accepted (not returned)."""

    code: str
    name: str
    region_code: str
    sent: int
    routed: int
    returned: int

    @property
    def accepted_share(self) -> float | None:
        """Return the share of routed reports not returned (None if none were routed)."""
        return (self.routed - self.returned) / self.routed if self.routed else None


@dataclass(frozen=True, slots=True)
class SentimentGroup:
    """社情民意 records of one topic: how many, and a few representative lines."""

    topic: str
    count: int
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A suggestion of the week and the department's reply (None if not answered yet)."""

    number: str
    department: str
    text: str
    status: str
    reply: str | None
    replied_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One report of the week with its timeline (for the workbook)."""

    report: ReportRow
    transfers: int
    returns: int
    overdue_now: bool
    sign_on_time: bool | None
    resolve_on_time: bool | None


@dataclass(frozen=True, slots=True)
class WeekPoint:
    """One week of the trend: reports created, resolved, and overdue at the week's cut-off."""

    label: str
    first_day: dt.date
    new: int
    resolved: int
    overdue: int


@dataclass(frozen=True, slots=True)
class RedCard:
    """A red card (督办) given in the week: an overdue report escalated to the leaders."""

    number: str
    department: str
    region_code: str
    stage: str  # "sign" or "resolve"
    fired_at: dt.datetime
    due_at: dt.datetime | None
    status: str
    text: str


@dataclass(slots=True)
class Digest:
    """Everything a leader's weekly digest shows, for one scope and one week."""

    scope: str
    week: Week
    as_of: dt.datetime
    total: Tally
    by_region: dict[str, Tally]
    region_level: Level | None
    by_department: dict[str, Tally]
    by_station: dict[str, Tally]
    daily: dict[dt.date, Counter[str]]
    sign_hours: tuple[float | None, float | None]  # median, p90
    resolve_hours: tuple[float | None, float | None]
    ratings: Counter[str]
    reopened: int
    transfers: Counter[str]  # by the department the report left
    returns: Counter[str]
    longest_overdue: list[Overdue]
    all_overdue: list[Overdue]
    top_tags: list[Topic]
    top_keywords: list[Topic]
    rising: list[Topic]
    stations: list[StationActivity]
    silent_stations: list[StationActivity]
    sentiment: list[SentimentGroup]
    suggestions: list[Suggestion]
    timeline: list[TimelineRow]
    previous: Tally | None = None  # last week's figures (bot.core.digest_compare)
    trend: list[WeekPoint] = field(default_factory=list)  # oldest first, this week last
    red_cards: list[RedCard] = field(default_factory=list)
    red_cards_previous: int = 0

    def rating_share(self, rating: str) -> float | None:
        """Return the share of this week's ratings that were ``rating``."""
        total = sum(self.ratings.values())
        return self.ratings[rating] / total if total else None
