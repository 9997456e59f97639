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

Weeks are ``bot.core.weeks``; the rows and figures are ``bot.core.digest_types``; each
report's facts at the cut-off are ``bot.core.digest_facts``. This module gathers them into the
week's ``Digest``: the tallies by region, department and station, durations, ratings, transfers,
overdue reports, hot and rising topics, station activity, 社情民意 groups and suggestions. Last
week's figures, the nine-week trend and the red cards (督办) are added by
``bot.core.digest_compare``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.digest_facts import ReportFacts, percentile, sample_line, utc_bounds
from bot.core.digest_types import (
    HANDLED_KINDS,
    RATINGS,
    Digest,
    EventRow,
    Overdue,
    ReportRow,
    SentimentGroup,
    StationActivity,
    StationRow,
    Suggestion,
    Tally,
    TimelineRow,
    Topic,
    TopicRow,
)
from bot.core.masking import mask_personal_numbers
from bot.core.regions import Level, level_of, region_at
from bot.core.weeks import Week

LONGEST_OVERDUE = 10
TOP_TOPICS = 10
RISING_WEEKS = 4
SAMPLE_LINES = 3
ON_TIME_TARGET = 0.9  # the on-time rate a department is expected to reach (the chart's line)


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
            line = sample_line(member.text)
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
    facts = [ReportFacts(report, start, end, utc_cut) for report in reports]
    facts = [fact for fact in facts if fact.relevant]
    tallies = _tallies(facts, level, week)
    moves = _Moves.read(events, {fact.report.id for fact in facts}, start, utc_cut)
    overdue = _overdue(facts, cut)
    week_reports = [f.report for f in facts if f.new]
    new_handled = [f.report for f in facts if f.new and f.report.kind in HANDLED_KINDS]
    top_tags, top_keywords, rising = _week_topics(
        week_reports, history, week, start, tag_name, ignore_word
    )
    activity = _station_activity(stations, week_reports, new_handled, moves.returns_of)
    sign_hours = [_hours(f.report.created_at, f.report.signed_at) for f in facts if f.signed]
    resolve_hours = [_hours(f.report.created_at, f.report.resolved_at) for f in facts if f.resolved]
    return Digest(
        scope=scope,
        week=week,
        as_of=cut,
        total=tallies.total,
        by_region=dict(sorted(tallies.by_region.items())),
        region_level=level,
        by_department=worst_first(tallies.by_department),
        by_station=dict(sorted(tallies.by_station.items())),
        daily=tallies.daily,
        sign_hours=(percentile(sign_hours, 0.5), percentile(sign_hours, 0.9)),
        resolve_hours=(percentile(resolve_hours, 0.5), percentile(resolve_hours, 0.9)),
        ratings=moves.ratings,
        reopened=moves.reopened,
        transfers=moves.transfers,
        returns=moves.returns,
        longest_overdue=overdue[:LONGEST_OVERDUE],
        all_overdue=overdue,
        top_tags=top_tags,
        top_keywords=top_keywords,
        rising=rising,
        stations=sorted(activity, key=lambda item: (-item.sent, item.code)),
        silent_stations=[item for item in activity if item.sent == 0],
        sentiment=_sentiment_groups(
            sorted((r for r in week_reports if r.kind == "sentiment"), key=lambda r: r.number),
            tag_name,
        ),
        suggestions=_suggestions(week_reports, moves.replies),
        timeline=_timeline(facts, moves),
    )


def _hours(begin: dt.datetime, end: dt.datetime | None) -> float:
    """Return the hours from ``begin`` to ``end`` (a step the report is known to have taken)."""
    assert end is not None
    return (end - begin).total_seconds() / 3600


@dataclass(slots=True)
class _Tallies:
    """The week's counts: in all, by region, department and station, and per day."""

    total: Tally
    by_region: dict[str, Tally]
    by_department: dict[str, Tally]
    by_station: dict[str, Tally]
    daily: dict[dt.date, Counter[str]]


def _tallies(facts: list[ReportFacts], level: Level | None, week: Week) -> _Tallies:
    """Count each relevant report into the totals it belongs to."""
    tallies = _Tallies(
        Tally(),
        defaultdict(Tally),
        defaultdict(Tally),
        defaultdict(Tally),
        {day: Counter() for day in week.days()},
    )
    tz = week.start.tzinfo
    for fact in facts:
        report = fact.report
        fact.add_to(tallies.total)
        fact.add_to(tallies.by_department[report.department])
        fact.add_to(tallies.by_station[report.station_code])
        if level is not None:
            region = region_at(report.region_code, level) or report.region_code
            fact.add_to(tallies.by_region[region])
        if fact.new:
            tallies.daily[report.created_at.astimezone(tz).date()][report.status] += 1
    return tallies


@dataclass(slots=True)
class _Moves:
    """What the audit trail says: ratings, reopenings, transfers, returns and replies."""

    ratings: Counter[str] = field(default_factory=Counter)
    reopened: int = 0
    transfers: Counter[str] = field(default_factory=Counter)  # in the week, by department
    returns: Counter[str] = field(default_factory=Counter)
    transfers_of: Counter[int] = field(default_factory=Counter)  # ever, by report
    returns_of: Counter[int] = field(default_factory=Counter)
    replies: dict[int, tuple[str, dt.datetime]] = field(default_factory=dict)

    @classmethod
    def read(
        cls, events: Iterable[EventRow], ids: set[int], start: dt.datetime, cut: dt.datetime
    ) -> _Moves:
        moves = cls()
        for event in sorted(events, key=lambda e: e.at):
            if event.action == "returned":
                moves.returns_of[event.report_id] += 1
            if event.action == "transferred":
                moves.transfers_of[event.report_id] += 1
            if event.action in ("resolved", "replied"):
                text = event.details.get("result") or event.details.get("text") or ""
                if text and event.at <= cut:
                    moves.replies[event.report_id] = (str(text), event.at)
            if not start <= event.at < cut:
                continue
            if event.report_id not in ids and event.action not in ("rated", "reopened"):
                continue
            if event.action == "rated":
                rating = str(event.details.get("rating", ""))
                if rating in RATINGS:
                    moves.ratings[rating] += 1
            elif event.action == "reopened":
                moves.reopened += 1
                moves.ratings["unsatisfied"] += 1
            elif event.action == "transferred":
                moves.transfers[str(event.details.get("from", ""))] += 1
            elif event.action == "returned":
                moves.returns[str(event.details.get("from", ""))] += 1
        return moves


def _overdue(facts: list[ReportFacts], cut: dt.datetime) -> list[Overdue]:
    """Return the reports overdue at ``cut``, longest overdue first."""
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
                text=sample_line(report.text),
            )
        )
    overdue.sort(key=lambda item: (-item.days, item.number))
    return overdue


def _week_topics(
    week_reports: list[ReportRow],
    history: Iterable[TopicRow],
    week: Week,
    start: dt.datetime,
    tag_name: Callable[[str], str],
    ignore_word: Callable[[str], bool] | None,
) -> tuple[list[Topic], list[Topic], list[Topic]]:
    """Return the week's top categories, top keywords, and the topics rising against before."""
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
    return top_tags, top_keywords, rising


def _station_activity(
    stations: Iterable[StationRow],
    week_reports: list[ReportRow],
    new_handled: list[ReportRow],
    returns_of: Counter[int],
) -> list[StationActivity]:
    """Return each station's reports of the week: sent, routed, and returned by a department."""
    station_rows = {station.code: station for station in stations}
    sent: Counter[str] = Counter(r.station_code for r in week_reports)
    routed: Counter[str] = Counter(r.station_code for r in new_handled)
    returned: Counter[str] = Counter(r.station_code for r in new_handled if returns_of[r.id])
    activity: list[StationActivity] = []
    for code in sorted(set(station_rows) | set(sent)):
        station = station_rows.get(code, StationRow(code, code, ""))
        activity.append(
            StationActivity(
                code, station.name, station.region_code, sent[code], routed[code], returned[code]
            )
        )
    return activity


def _suggestions(
    week_reports: list[ReportRow], replies: dict[int, tuple[str, dt.datetime]]
) -> list[Suggestion]:
    """Return the week's suggestions, each with the department's reply if there is one."""
    return [
        Suggestion(
            number=r.number,
            department=r.department,
            text=sample_line(r.text),
            status=r.status,
            reply=mask_personal_numbers(replies[r.id][0]) if r.id in replies else None,
            replied_at=replies[r.id][1] if r.id in replies else None,
        )
        for r in sorted(week_reports, key=lambda r: r.number)
        if r.kind == "suggestion"
    ]


def _timeline(facts: list[ReportFacts], moves: _Moves) -> list[TimelineRow]:
    """Return one row per relevant report, oldest first, for the workbook's timeline sheet."""
    return [
        TimelineRow(
            report=f.report,
            transfers=moves.transfers_of[f.report.id],
            returns=moves.returns_of[f.report.id],
            overdue_now=f.overdue is not None,
            sign_on_time=f.sign_on_time if f.sign_term else None,
            resolve_on_time=f.resolve_on_time if f.resolve_term else None,
        )
        for f in sorted(facts, key=lambda f: (f.report.created_at, f.report.number))
    ]
