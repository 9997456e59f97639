"""The weekly digest's figures, computed from plain rows (no database)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from bot.core.digest import compute_digest
from bot.core.digest_facts import percentile
from bot.core.digest_types import EventRow, ReportRow, StationRow, TopicRow
from bot.core.weeks import SHANGHAI, parse_week, previous_week, week_of

WEEK = parse_week("2026-W47")  # Monday 16 Nov – Sunday 22 Nov 2026, Asia/Shanghai
_ids = itertools.count(1)


def at(day: int, hour: int = 10, month: int = 11) -> dt.datetime:
    """Return a local Guangzhou time in November 2026."""
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def row(**values: object) -> ReportRow:
    n = next(_ids)
    fields: dict[str, object] = {
        "id": n,
        "number": f"GD-202611-{n:04d}",
        "kind": "problem",
        "status": "routed",
        "department": "environment",
        "region_code": "440104001",
        "station_code": "GZ-YX-001",
        "text": "河涌发臭",
        "created_at": at(17),
        "sign_due_at": at(18, 18),
        "resolve_due_at": at(24, 18),
    }
    fields.update(values)
    return ReportRow(**fields)  # type: ignore[arg-type]


def test_weeks_run_monday_to_sunday_in_shanghai() -> None:
    week = parse_week("2026-w47")
    assert week.label == "2026-W47"
    assert week.start == dt.datetime(2026, 11, 16, tzinfo=SHANGHAI)
    assert week.end == dt.datetime(2026, 11, 23, tzinfo=SHANGHAI)
    # Sunday 23:30 in Guangzhou is 15:30 UTC: still W47.
    assert week_of(dt.datetime(2026, 11, 22, 15, 30, tzinfo=dt.UTC)).label == "2026-W47"
    assert week_of(dt.datetime(2026, 11, 22, 16, 0, tzinfo=dt.UTC)).label == "2026-W48"
    assert previous_week(at(23, 9)).label == "2026-W47"
    assert parse_week("2026-W01").shifted(-1).label == "2025-W52"
    with pytest.raises(ValueError, match="2026-W47"):
        parse_week("47")
    with pytest.raises(ValueError, match="does not exist"):
        parse_week("2026-W60")


def test_percentile_interpolates() -> None:
    assert percentile([], 0.5) is None
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([float(x) for x in range(1, 11)], 0.9) == pytest.approx(9.1)


def test_counts_rates_and_times() -> None:
    reports = [
        # signed on time (2 h), resolved on time (48 h)
        row(
            status="resolved",
            created_at=at(16, 9),
            sign_due_at=at(17, 18),
            signed_at=at(16, 11),
            resolve_due_at=at(23, 18),
            resolved_at=at(18, 9),
        ),
        # signed late (after the due time), still open, resolve deadline not reached
        row(
            status="signed",
            created_at=at(17, 9),
            sign_due_at=at(18, 18),
            signed_at=at(19, 9),
            resolve_due_at=at(25, 18),
        ),
        # never signed, deadline passed in the week: overdue now and late
        row(created_at=at(19, 9), sign_due_at=at(20, 18), department="water"),
        # a sentiment record: counted as new, never open
        row(kind="sentiment", status="recorded", sign_due_at=None, resolve_due_at=None),
        # created the week before and resolved then: not in this week at all
        row(
            status="closed",
            created_at=at(10),
            signed_at=at(10, 11),
            resolved_at=at(11),
            closed_at=at(12),
        ),
    ]
    digest = compute_digest(scope="440000", week=WEEK, now=at(23, 9), reports=reports)
    total = digest.total
    assert total.new == 4
    assert total.new_by_kind == {"problem": 3, "sentiment": 1}
    assert (total.signed, total.resolved, total.open) == (2, 1, 2)
    assert total.overdue_now == 1
    assert total.overdue_in_week == 2  # the late-signed one was overdue for a while
    assert (total.sign_on_time, total.sign_due) == (1, 3)
    assert (total.resolve_on_time, total.resolve_due) == (1, 1)
    assert total.sign_rate == pytest.approx(1 / 3)
    median, p90 = digest.sign_hours
    assert median == pytest.approx((2 + 48) / 2)
    assert digest.resolve_hours == (pytest.approx(48.0), pytest.approx(48.0))
    assert digest.as_of == WEEK.end  # a past week is shown as it stood at its end
    assert digest.by_department["water"].overdue_now == 1
    assert digest.region_level == "city"
    assert set(digest.by_region) == {"440100"}
    assert digest.daily[dt.date(2026, 11, 17)] == {"signed": 1, "recorded": 1}
    assert digest.daily[dt.date(2026, 11, 16)]["resolved"] == 1
    assert [item.number for item in digest.longest_overdue] == [reports[2].number]
    overdue = digest.longest_overdue[0]
    assert overdue.stage == "sign"
    assert overdue.days == pytest.approx((WEEK.end - at(20, 18)).total_seconds() / 86400)


def test_open_and_overdue_from_before_the_week_are_counted() -> None:
    old = row(
        status="signed",
        created_at=at(2),
        signed_at=at(2, 12),
        resolve_due_at=at(9, 18),
    )
    digest = compute_digest(scope="440104", week=WEEK, now=at(18, 12), reports=[old])
    assert digest.total.new == 0
    assert digest.total.open == 1
    assert digest.total.overdue_now == 1
    assert digest.longest_overdue[0].stage == "resolve"
    assert digest.longest_overdue[0].days == pytest.approx(
        (at(18, 12) - at(9, 18)).total_seconds() / 86400
    )
    assert digest.region_level is None and digest.by_region == {}
    assert digest.as_of == at(18, 12)  # the current week is shown as of now


def test_longest_overdue_keeps_ten_longest() -> None:
    reports = [
        row(created_at=at(1 + day), sign_due_at=at(2 + day, 18), number=f"GD-X-{day:02d}")
        for day in range(12)
    ]
    digest = compute_digest(scope="440000", week=WEEK, now=at(23, 9), reports=reports)
    assert len(digest.all_overdue) == 12
    assert [item.number for item in digest.longest_overdue] == [
        f"GD-X-{day:02d}" for day in range(10)
    ]


def test_events_ratings_transfers_returns_and_station_activity() -> None:
    a = row(station_code="S1", status="closed", rating="satisfied")
    b = row(station_code="S1")
    c = row(station_code="S2", status="signed", rating="unsatisfied")
    events = [
        EventRow(a.id, "rated", at(19), {"rating": "satisfied"}),
        EventRow(c.id, "reopened", at(19), {"rating": "unsatisfied", "reason": "没修好"}),
        EventRow(b.id, "returned", at(18), {"from": "water", "reason": "不归我们管"}),
        EventRow(b.id, "transferred", at(17, 12), {"from": "environment", "to": "water"}),
        EventRow(a.id, "rated", at(12), {"rating": "basic"}),  # the week before
    ]
    stations = [
        StationRow("S1", "北京街站", "440104001"),
        StationRow("S2", "福田站", "440304"),
        StationRow("S3", "沉默站", "440305"),
    ]
    digest = compute_digest(
        scope="440000",
        week=WEEK,
        now=at(23, 9),
        reports=[a, b, c],
        events=events,
        stations=stations,
    )
    assert digest.ratings == {"satisfied": 1, "unsatisfied": 1}
    assert digest.rating_share("satisfied") == 0.5
    assert digest.reopened == 1
    assert digest.transfers == {"environment": 1}
    assert digest.returns == {"water": 1}
    activity = {item.code: item for item in digest.stations}
    assert (activity["S1"].sent, activity["S1"].routed, activity["S1"].returned) == (2, 2, 1)
    assert activity["S1"].accepted_share == 0.5
    assert activity["S2"].accepted_share == 1.0
    assert [item.code for item in digest.silent_stations] == ["S3"]
    timeline = {item.report.id: item for item in digest.timeline}
    assert (timeline[b.id].transfers, timeline[b.id].returns) == (1, 1)


def test_hot_and_rising_topics() -> None:
    def r(tags: tuple[str, ...], words: tuple[str, ...]) -> ReportRow:
        return row(tags=tags, keywords=tuple((w, 1.0) for w in words))

    week_rows = [r(("water_supply",), ("停水",)) for _ in range(5)]
    week_rows += [r(("noise",), ("噪音",)) for _ in range(3)]
    history = [
        TopicRow(at(1 + i), ("noise",), (("噪音", 1.0),)) for i in range(12)
    ]  # 3 a week in the four weeks before: not rising
    history.append(TopicRow(at(1), ("water_supply",), (("停水", 1.0),)))
    history.append(TopicRow(at(1, month=9), ("water_supply",), ()))  # too old: ignored
    names = {"water_supply": "供水", "noise": "噪声"}
    digest = compute_digest(
        scope="440000",
        week=WEEK,
        now=at(23, 9),
        reports=week_rows,
        history=history,
        tag_name=lambda tag: names.get(tag, tag),
    )
    assert [(t.key, t.count) for t in digest.top_tags] == [("供水", 5), ("噪声", 3)]
    assert [t.key for t in digest.top_keywords] == ["停水", "噪音"]
    assert digest.rising[0].key == "供水"
    assert digest.rising[0].baseline == 0.25
    assert "噪声" not in [t.key for t in digest.rising]


def test_sentiment_groups_and_suggestion_replies() -> None:
    mood = [
        row(
            kind="sentiment",
            status="recorded",
            tags=("elderly_care",),
            keywords=(("养老", 1.0), ("食堂", 1.0)),
            text=f"群众议论长者食堂{i}，联系电话13800138000",
        )
        for i in range(4)
    ]
    mood.append(row(kind="sentiment", status="recorded", tags=(), text="大家担心物价"))
    suggestion = row(kind="suggestion", status="closed", text="建议增设公交站")
    pending = row(kind="suggestion", status="routed", text="建议延长图书馆开放时间")
    events = [EventRow(suggestion.id, "resolved", at(20), {"result": "已纳入明年计划"})]
    digest = compute_digest(
        scope="440100",
        week=WEEK,
        now=at(23, 9),
        reports=[*mood, suggestion, pending],
        events=events,
        tag_name=lambda tag: {"elderly_care": "养老服务"}.get(tag, tag),
    )
    first = digest.sentiment[0]
    assert (first.topic, first.count, len(first.lines)) == ("养老服务", 4, 3)
    assert all("13800138000" not in line and "138****8000" in line for line in first.lines)
    assert digest.sentiment[1].topic == "" and digest.sentiment[1].count == 1
    replies = {s.number: s.reply for s in digest.suggestions}
    assert replies == {suggestion.number: "已纳入明年计划", pending.number: None}
    assert digest.region_level == "county"


def test_reports_of_one_issue_count_once_as_an_issue() -> None:
    first = row()
    reports = [first, row(duplicate_of=first.id), row(), row(created_at=at(9))]
    digest = compute_digest(scope="440000", week=WEEK, now=at(23, 9), reports=reports)
    assert (digest.total.issues, digest.total.new) == (2, 3)  # the joined one is not an issue
