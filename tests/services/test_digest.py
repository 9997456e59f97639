"""Loading a scope's week from the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.core.rules import load_rules
from bot.core.weeks import SHANGHAI, parse_week
from bot.infra.digest_render import render_text
from bot.services.digest import ScopeError, build_digest, export_rows, load_week, scope_range
from storage.models import ReminderMark, Report, ReportEvent
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
WEEK = parse_week("2026-W47")
NOW = dt.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


def populate(session: Session) -> dict[str, int]:
    """Two stations in 广州 (越秀, 天河), one in 深圳; reports in and around W47."""
    yuexiu = factories.station(session, code="GZ-YX", region="440104001")
    factories.station(session, code="GZ-TH", region="440106")
    futian = factories.station(session, code="SZ-FT", region="440304")
    gz = factories.observer(session, station_code=yuexiu.code)
    sz = factories.observer(session, station_code=futian.code)
    ids: dict[str, int] = {}

    def add(name: str, obs=gz, region: str = "440104001", **values) -> None:  # type: ignore[no-untyped-def]
        report = factories.report(session, obs=obs, region_code=region, **values)
        assert report.id is not None
        ids[name] = report.id

    add(
        "resolved",
        created_at=at(16, 9),
        status="resolved",
        sign_due_at=at(17, 18),
        signed_at=at(16, 11),
        resolve_due_at=at(23, 18),
        resolved_at=at(18, 9),
        tags=["river"],
        keywords=[["河涌", 1.2], ["发臭", 0.8]],
    )
    add("late", created_at=at(19, 9), sign_due_at=at(20, 18), resolve_due_at=at(27, 18))
    add(
        "carried",
        created_at=at(2),
        status="signed",
        signed_at=at(2, 12),
        sign_due_at=at(3, 18),
        resolve_due_at=at(9, 18),
    )
    add(
        "finished_before",
        created_at=at(2),
        status="closed",
        signed_at=at(2, 12),
        resolved_at=at(5),
        closed_at=at(6),
    )
    add("next_week", created_at=at(24))
    add("shenzhen", obs=sz, region="440304", created_at=at(17), sign_due_at=at(18, 18))
    add(
        "history",
        created_at=at(5),
        status="closed",
        resolved_at=at(6),
        closed_at=at(6),
        tags=["river"],
    )
    session.add(
        ReportEvent(
            report_id=ids["late"],
            actor="user:1",
            action="transferred",
            at=at(19, 12),
            details={"from": "water", "to": "environment"},
        )
    )
    session.add(
        ReportEvent(
            report_id=ids["resolved"],
            actor="user:1",
            action="resolved",
            at=at(18, 9),
            details={"result": "已清淤"},
        )
    )
    session.commit()
    return ids


def test_scope_selects_by_region_prefix(session: Session) -> None:
    ids = populate(session)
    city = load_week(session=session, scope="440100", week=WEEK, now=NOW)
    assert {r.id for r in city.reports} == {ids["resolved"], ids["late"], ids["carried"]}
    assert {s.code for s in city.stations} == {"GZ-YX", "GZ-TH"}
    assert {e.action for e in city.events} == {"transferred", "resolved"}
    assert len(city.history) == 3  # carried, finished_before, history: the 4 weeks before
    province = load_week(session=session, scope="440000", week=WEEK, now=NOW)
    assert ids["shenzhen"] in {r.id for r in province.reports}
    county = load_week(session=session, scope="440106", week=WEEK, now=NOW)
    assert county.reports == [] and [s.code for s in county.stations] == ["GZ-TH"]


def test_build_digest_from_the_database(session: Session) -> None:
    ids = populate(session)
    rules = load_rules(ROOT / "routing_rules.yaml")
    digest = build_digest(session=session, rules=rules, scope="440100", week=WEEK, now=NOW)
    assert digest.total.new == 2
    assert digest.total.open == 2  # late (never signed) and carried (overdue resolution)
    assert digest.total.overdue_now == 2
    assert digest.transfers == {"water": 1}
    assert set(digest.by_region) == {"440104"}  # a city is broken down by county
    assert [s.code for s in digest.silent_stations] == ["GZ-TH"]
    assert digest.longest_overdue[0].number == next(
        t.report.number for t in digest.timeline if t.report.id == ids["carried"]
    )
    assert {t.key for t in digest.top_keywords} == {"河涌", "发臭"}
    # The previous week's digest sees none of W47's reports.
    earlier = build_digest(
        session=session, rules=rules, scope="440100", week=WEEK.shifted(-1), now=NOW
    )
    assert ids["resolved"] not in {t.report.id for t in earlier.timeline}
    assert earlier.total.new == 0


def test_export_filters(session: Session) -> None:
    populate(session)
    rows = export_rows(session=session, start=at(16, 0), end=at(23, 0))
    assert len(rows) == 3
    assert [
        r.region_code
        for r in export_rows(session=session, start=at(16, 0), end=at(23, 0), scope="440300")
    ] == ["440304"]
    assert (
        export_rows(
            session=session, start=at(1, 0), end=at(30, 0), status="closed", scope="440104"
        )[0].status
        == "closed"
    )
    assert export_rows(session=session, start=at(1, 0), end=at(30, 0), department="nope") == []


def test_export_names_the_report_a_joined_one_went_into(session: Session) -> None:
    populate(session)
    first, second, *_ = session.exec(select(Report).order_by(col(Report.id))).all()
    second.duplicate_of = first.id
    session.add(second)
    session.commit()
    rows = {r.id: r for r in export_rows(session=session, start=at(1, 0), end=at(30, 0))}
    assert rows[second.id].same_issue == first.number and rows[first.id].same_issue == ""


def test_bad_scope_is_refused() -> None:
    with pytest.raises(ScopeError, match="440000"):
        scope_range(None, "44")


def test_red_cards_and_last_week_from_the_database(session: Session) -> None:
    ids = populate(session)
    carried = session.get(Report, ids["carried"])
    assert carried is not None and carried.resolve_due_at is not None
    marks = ((at(17, 9), "sent"), (at(10, 9), "sent"), (at(18, 9), "void"))
    for days, (fired, state) in enumerate(marks):  # a transfer or extension: a new due time
        session.add(
            ReminderMark(
                report_id=ids["carried"],
                deadline="resolve",
                due_at=carried.resolve_due_at + dt.timedelta(days=days),
                threshold="escalated",
                fire_at=fired,
                state=state,
                fired_at=fired if state == "sent" else None,
            )
        )
    session.commit()
    rules = load_rules(ROOT / "routing_rules.yaml")
    digest = build_digest(session=session, rules=rules, scope="440100", week=WEEK, now=NOW)
    assert [card.number for card in digest.red_cards] == [carried.number]
    assert digest.red_cards[0].stage == "resolve" and digest.red_cards_previous == 1
    assert digest.previous is not None and digest.previous.new == 0
    assert [p.new for p in digest.trend][-4:] == [0, 3, 0, 2]  # W45: carried, finished, history
    text = render_text(digest, rules)
    assert "本周红牌督办 1 件（持平）" in text and carried.number in text
    elsewhere = build_digest(session=session, rules=rules, scope="440300", week=WEEK, now=NOW)
    assert elsewhere.red_cards == []
