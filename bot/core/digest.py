"""The weekly digest's figures: plain rows in, plain numbers out (no database, ``now`` given).

A week runs Monday 00:00 to the next Monday 00:00 in the digest's time zone (Asia/Shanghai by
default). Figures are "as of" the earlier of ``now`` and the week's end, so a past week's digest
shows the state at its close and the current week's shows the state now.

Definitions (each figure is documented where it is computed):

- new / signed / resolved: reports created, signed for (签收), resolved (办结) during the week.
- open: problems and suggestions created by the cut-off and neither resolved nor closed by it.
- overdue now: open at the cut-off with a sign-for deadline passed unsigned, or a resolution
  deadline passed unresolved. Overdue in the week: such an overdue spell overlapped the week.
- on-time sign-for rate: of the reports whose sign-for came to term in the week (signed in the
  week, or still unsigned with the deadline passed in the week), the share signed by the
  deadline; likewise for resolution (reply, for suggestions).
- satisfaction: ratings given in the week (满意, 基本满意; 不满意 reopens the report).
- on-time rate (按时率) of a department: sign-for and resolution together, of those that came to
  term in the week the share done by the deadline. Departments are listed worst first: lowest
  on-time rate, then most overdue; those with nothing due come last.

Last week's figures, the nine-week trend and the red cards (督办) are added by
``bot.core.digest_compare``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.masking import mask_personal_numbers
from bot.core.regions import Level, level_of, region_at

SHANGHAI = ZoneInfo("Asia/Shanghai")
HANDLED_KINDS = ("problem", "suggestion")
RATINGS = ("satisfied", "basic", "unsatisfied")
LONGEST_OVERDUE = 10
TOP_TOPICS = 10
RISING_WEEKS = 4
SAMPLE_LINES = 3
SAMPLE_CHARS = 80
ON_TIME_TARGET = 0.9  # the on-time rate a department is expected to reach (the chart's line)


# --- input rows ------------------------------------------------------------------------------


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


# --- weeks -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Week:
    """An ISO week: its label (2026-W47) and its bounds as aware datetimes in ``tz``."""

    year: int
    number: int
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        """Return the ISO label, e.g. ``2026-W47``."""
        return f"{self.year}-W{self.number:02d}"

    def days(self) -> list[dt.date]:
        """Return the seven local dates, Monday first."""
        first = self.start.date()
        return [first + dt.timedelta(days=offset) for offset in range(7)]

    def shifted(self, weeks: int) -> Week:
        """Return the week ``weeks`` later (negative: earlier)."""
        return week_of(self.start + dt.timedelta(days=7 * weeks + 3), self.start.tzinfo)  # type: ignore[arg-type]


def week_of(moment: dt.datetime, tz: dt.tzinfo = SHANGHAI) -> Week:
    """Return the week (Monday-Sunday in ``tz``) containing ``moment``."""
    local = moment.astimezone(tz)
    year, number, weekday = local.isocalendar()
    monday = local.date() - dt.timedelta(days=weekday - 1)
    start = dt.datetime.combine(monday, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=tz)
    return Week(year, number, start, end)


FIRST_YEAR = 2000  # no digest, export, week or deadline before this year: there were no reports
LAST_YEAR = 2999  # nor after this one (dates and timestamps beyond would overflow)


class OutOfRange(ValueError):
    """A well-formed week or date the digest and exports cannot cover (see ``check_year``)."""


def check_year(year: int, what: str) -> None:
    """Raise ``OutOfRange`` unless ``year`` lies within FIRST_YEAR..LAST_YEAR."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise OutOfRange(f"{what} is out of range: years {FIRST_YEAR}–{LAST_YEAR} only")


def parse_week(label: str, tz: dt.tzinfo = SHANGHAI) -> Week:
    """Return the week named like ``2026-W47``; raise ValueError on anything else.

    A well-formed week of a year outside FIRST_YEAR..LAST_YEAR raises ``OutOfRange``.
    """
    text = label.strip().upper()
    year_part, sep, week_part = text.partition("-W")
    if not sep or not _ascii_number(year_part, 4) or not _ascii_number(week_part, 2):
        raise ValueError(f"week {label!r} is not like 2026-W47")
    check_year(int(year_part), f"week {label!r}")
    try:
        monday = dt.date.fromisocalendar(int(year_part), int(week_part), 1)
    except ValueError:
        raise ValueError(f"week {label!r} does not exist") from None
    return week_of(dt.datetime.combine(monday, dt.time(12), tzinfo=tz), tz)


def _ascii_number(text: str, digits: int) -> bool:
    """Return True if ``text`` is 1 to ``digits`` ASCII digits."""
    return text.isascii() and text.isdigit() and len(text) <= digits


def previous_week(now: dt.datetime, tz: dt.tzinfo = SHANGHAI) -> Week:
    """Return the last complete week before ``now`` (the one a Monday digest reports)."""
    return week_of(now, tz).shifted(-1)


# --- output ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """Counts and rates for one slice (the whole scope, a region, a department, a station)."""

    new: int = 0
    new_by_kind: dict[str, int] = field(default_factory=dict)
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


# --- computation -----------------------------------------------------------------------------


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


def _finished_at(report: ReportRow) -> dt.datetime | None:
    """Return when the department's handling ended (resolved, or closed without resolving)."""
    moments = [m for m in (report.resolved_at, report.closed_at) if m is not None]
    return min(moments) if moments else None


def _before(moment: dt.datetime | None, cut: dt.datetime) -> bool:
    return moment is not None and moment <= cut


class _ReportFacts:
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

    def __init__(
        self, report: ReportRow, start: dt.datetime, end: dt.datetime, cut: dt.datetime
    ) -> None:
        """Compute the facts of ``report`` for the week [start, end) as of ``cut``.

        Pass the bounds in UTC (``utc_bounds``): reports' times are UTC, and comparing aware
        times of two different zones asks the zone for its offset every time.
        """
        self.report = report
        self.new = _within(report.created_at, start, end) and report.created_at <= cut
        handled = report.kind in HANDLED_KINDS
        self.signed = handled and _within(report.signed_at, start, cut)
        self.resolved = handled and _within(report.resolved_at, start, cut)
        finished = _finished_at(report)
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
            if self.signed:
                self.sign_term = True
                self.sign_on_time = report.signed_at <= report.sign_due_at  # type: ignore[operator]
            elif not signed_by_cut and _within(report.sign_due_at, start, cut):
                self.sign_term = report.status != "dispatch" and not _before(finished, cut)
        self.resolve_term = False
        self.resolve_on_time = False
        if handled and report.resolve_due_at is not None:
            if self.resolved:
                self.resolve_term = True
                self.resolve_on_time = report.resolved_at <= report.resolve_due_at  # type: ignore[operator]
            elif not _before(finished, cut) and _within(report.resolve_due_at, start, cut):
                self.resolve_term = True

    def add_to(self, tally: Tally) -> None:
        """Count this report in ``tally``."""
        report = self.report
        if self.new:
            tally.new += 1
            tally.new_by_kind[report.kind] = tally.new_by_kind.get(report.kind, 0) + 1
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


def breakdown_level(scope: str) -> Level | None:
    """Return the level the scope is broken down by: province→city, city→county, else none."""
    level = level_of(scope)
    return {"province": "city", "city": "county"}.get(level)  # type: ignore[return-value]


def _topics(
    this_week: Iterable[Iterable[str]], before: Iterable[Iterable[str]], weeks: int
) -> tuple[list[Topic], list[Topic]]:
    """Return the top topics of the week and those rising most against the earlier weeks."""
    now_counts: Counter[str] = Counter()
    for keys in this_week:
        now_counts.update(set(keys))
    then_counts: Counter[str] = Counter()
    for keys in before:
        then_counts.update(set(keys))
    topics = [Topic(key, count, then_counts[key] / weeks) for key, count in now_counts.items()]
    top = sorted(topics, key=lambda topic: (-topic.count, topic.key))[:TOP_TOPICS]
    rising = sorted(
        (topic for topic in topics if topic.count >= 2 and topic.rise > 0),
        key=lambda topic: (-topic.rise, -topic.count, topic.key),
    )[:TOP_TOPICS]
    return top, rising


def _keywords(
    report: ReportRow | TopicRow, limit: int = 5, ignore: Callable[[str], bool] | None = None
) -> list[str]:
    """Return a report's strongest keywords, leaving out those ``ignore`` rejects."""
    ranked = sorted(report.keywords, key=lambda pair: -float(pair[1]))
    words = [str(word) for word, _ in ranked]
    if ignore is not None:
        words = [word for word in words if not ignore(word)]
    return words[:limit]


def worst_first(tallies: Mapping[str, Tally]) -> dict[str, Tally]:
    """Return the slices ordered worst first: lowest on-time rate, then most overdue."""

    def key(item: tuple[str, Tally]) -> tuple[bool, float, int, int, str]:
        name, tally = item
        rate = tally.on_time_rate
        return (rate is None, rate or 0.0, -tally.overdue_now, -tally.new, name)

    return dict(sorted(tallies.items(), key=key))


def _line(text: str) -> str:
    """Return one masked line of a report's text, shortened for a digest."""
    flat = " ".join(mask_personal_numbers(text).split())
    return flat if len(flat) <= SAMPLE_CHARS else flat[: SAMPLE_CHARS - 1] + "…"


def _sentiment_groups(
    records: Sequence[ReportRow], tag_name: Callable[[str], str]
) -> list[SentimentGroup]:
    """Group 社情民意 records by topic (first tag, else the observer's category)."""
    groups: dict[str, list[ReportRow]] = defaultdict(list)
    for record in records:
        topic = record.tags[0] if record.tags else (record.category or "")
        groups[topic].append(record)
    result: list[SentimentGroup] = []
    for topic, members in groups.items():
        common: Counter[str] = Counter()
        for member in members:
            common.update(set(_keywords(member)))

        def typical(member: ReportRow, common: Counter[str] = common) -> tuple[float, int, str]:
            score = sum(common[word] for word in _keywords(member))
            return (-score, len(member.text), member.number)

        lines: list[str] = []
        for member in sorted(members, key=typical):
            line = _line(member.text)
            if line and line not in lines:
                lines.append(line)
            if len(lines) == SAMPLE_LINES:
                break
        result.append(SentimentGroup(tag_name(topic) if topic else "", len(members), tuple(lines)))
    return sorted(result, key=lambda group: (-group.count, group.topic))


def compute_digest(
    *,
    scope: str,
    week: Week,
    now: dt.datetime,
    reports: Iterable[ReportRow],
    events: Iterable[EventRow] = (),
    stations: Iterable[StationRow] = (),
    history: Iterable[TopicRow] = (),
    tag_name: Callable[[str], str] = str,
    ignore_word: Callable[[str], bool] | None = None,
) -> Digest:
    """Return the week's figures for ``scope`` from plain rows.

    ``reports``: the scope's reports created in the week or still open at its start (others are
    ignored); ``events``: their audit trail; ``stations``: the scope's stations; ``history``:
    tags and keywords of reports created in the four weeks before. ``tag_name`` names a tag;
    ``ignore_word`` rejects keywords that say nothing (stop words, place names, the bot's labels).
    """
    cut = min(now, week.end)
    level = breakdown_level(scope)
    start, end, utc_cut = utc_bounds(week, cut)
    facts = [_ReportFacts(report, start, end, utc_cut) for report in reports]
    facts = [fact for fact in facts if fact.relevant]
    by_id = {fact.report.id: fact for fact in facts}

    total = Tally()
    by_region: dict[str, Tally] = defaultdict(Tally)
    by_department: dict[str, Tally] = defaultdict(Tally)
    by_station: dict[str, Tally] = defaultdict(Tally)
    daily: dict[dt.date, Counter[str]] = {day: Counter() for day in week.days()}
    tz = week.start.tzinfo
    for fact in facts:
        report = fact.report
        fact.add_to(total)
        fact.add_to(by_department[report.department])
        fact.add_to(by_station[report.station_code])
        if level is not None:
            fact.add_to(by_region[region_at(report.region_code, level) or report.region_code])
        if fact.new:
            daily[report.created_at.astimezone(tz).date()][report.status] += 1

    new_handled = [f.report for f in facts if f.new and f.report.kind in HANDLED_KINDS]
    sign_hours = [
        (f.report.signed_at - f.report.created_at).total_seconds() / 3600  # type: ignore[operator]
        for f in facts
        if f.signed
    ]
    resolve_hours = [
        (f.report.resolved_at - f.report.created_at).total_seconds() / 3600  # type: ignore[operator]
        for f in facts
        if f.resolved
    ]

    ratings: Counter[str] = Counter()
    reopened = 0
    transfers: Counter[str] = Counter()
    returns: Counter[str] = Counter()
    transfers_of: Counter[int] = Counter()
    returns_of: Counter[int] = Counter()
    replies: dict[int, tuple[str, dt.datetime]] = {}
    for event in sorted(events, key=lambda e: e.at):
        if event.action == "returned":
            returns_of[event.report_id] += 1
        if event.action == "transferred":
            transfers_of[event.report_id] += 1
        if event.action in ("resolved", "replied"):
            text = event.details.get("result") or event.details.get("text") or ""
            if text and event.at <= utc_cut:
                replies[event.report_id] = (str(text), event.at)
        if not _within(event.at, start, utc_cut):
            continue
        if event.report_id not in by_id and event.action not in ("rated", "reopened"):
            continue
        if event.action == "rated":
            rating = str(event.details.get("rating", ""))
            if rating in RATINGS:
                ratings[rating] += 1
        elif event.action == "reopened":
            reopened += 1
            ratings["unsatisfied"] += 1
        elif event.action == "transferred":
            transfers[str(event.details.get("from", ""))] += 1
        elif event.action == "returned":
            returns[str(event.details.get("from", ""))] += 1

    overdue: list[Overdue] = []
    for fact in facts:
        if fact.overdue is None:
            continue
        stage, due = fact.overdue
        report = fact.report
        overdue.append(
            Overdue(
                number=report.number,
                department=report.department,
                region_code=report.region_code,
                stage=stage,
                due_at=due,
                days=(cut - due).total_seconds() / 86400,
                text=_line(report.text),
            )
        )
    overdue.sort(key=lambda item: (-item.days, item.number))

    week_reports = [f.report for f in facts if f.new]
    history = list(history)
    earliest = week.shifted(-RISING_WEEKS).start.astimezone(dt.UTC)
    before = [row for row in history if earliest <= row.created_at < start]
    top_tags, rising_tags = _topics(
        (r.tags for r in week_reports), (r.tags for r in before), RISING_WEEKS
    )
    top_keywords, rising_words = _topics(
        (_keywords(r, ignore=ignore_word) for r in week_reports),
        (_keywords(r, ignore=ignore_word) for r in before),
        RISING_WEEKS,
    )
    top_tags = [Topic(tag_name(t.key), t.count, t.baseline) for t in top_tags]
    rising = [Topic(tag_name(t.key), t.count, t.baseline) for t in rising_tags]
    rising += [t for t in rising_words if t.key not in {r.key for r in rising}]
    rising = sorted(rising, key=lambda t: (-t.rise, -t.count, t.key))[:TOP_TOPICS]

    activity: list[StationActivity] = []
    station_rows = {station.code: station for station in stations}
    sent: Counter[str] = Counter(r.station_code for r in week_reports)
    routed: Counter[str] = Counter(r.station_code for r in new_handled)
    returned: Counter[str] = Counter(r.station_code for r in new_handled if returns_of[r.id])
    for code in sorted(set(station_rows) | set(sent)):
        station = station_rows.get(code, StationRow(code, code, ""))
        activity.append(
            StationActivity(
                code, station.name, station.region_code, sent[code], routed[code], returned[code]
            )
        )
    silent = [item for item in activity if item.sent == 0]
    activity.sort(key=lambda item: (-item.sent, item.code))

    sentiment = _sentiment_groups(
        sorted((r for r in week_reports if r.kind == "sentiment"), key=lambda r: r.number),
        tag_name,
    )
    suggestions = [
        Suggestion(
            number=r.number,
            department=r.department,
            text=_line(r.text),
            status=r.status,
            reply=mask_personal_numbers(replies[r.id][0]) if r.id in replies else None,
            replied_at=replies[r.id][1] if r.id in replies else None,
        )
        for r in sorted(week_reports, key=lambda r: r.number)
        if r.kind == "suggestion"
    ]
    timeline = [
        TimelineRow(
            report=f.report,
            transfers=transfers_of[f.report.id],
            returns=returns_of[f.report.id],
            overdue_now=f.overdue is not None,
            sign_on_time=f.sign_on_time if f.sign_term else None,
            resolve_on_time=f.resolve_on_time if f.resolve_term else None,
        )
        for f in sorted(facts, key=lambda f: (f.report.created_at, f.report.number))
    ]
    return Digest(
        scope=scope,
        week=week,
        as_of=cut,
        total=total,
        by_region=dict(sorted(by_region.items())),
        region_level=level,
        by_department=worst_first(by_department),
        by_station=dict(sorted(by_station.items())),
        daily=daily,
        sign_hours=(percentile(sign_hours, 0.5), percentile(sign_hours, 0.9)),
        resolve_hours=(percentile(resolve_hours, 0.5), percentile(resolve_hours, 0.9)),
        ratings=ratings,
        reopened=reopened,
        transfers=transfers,
        returns=returns,
        longest_overdue=overdue[:LONGEST_OVERDUE],
        all_overdue=overdue,
        top_tags=top_tags,
        top_keywords=top_keywords,
        rising=rising,
        stations=activity,
        silent_stations=silent,
        sentiment=sentiment,
        suggestions=suggestions,
        timeline=timeline,
    )
