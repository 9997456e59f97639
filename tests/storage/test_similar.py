"""The same-issue candidate window and lookup, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.similarity import similarity_key
from bot.services.similar import similar_reports
from storage import similar
from storage.models import ReportKind, ReportStatus
from tests import factories

NOW = factories.NOW


def _setup(session: Session) -> dict[str, int]:
    """Add reports around station 440104001 and return their ids by name."""
    here = factories.station(session, code="ST-HERE", region="440104001")
    near = factories.station(session, code="ST-NEAR", region="440104002")
    far = factories.station(session, code="ST-FAR", region="440105001")
    a = factories.observer(session, station_code=here.code)
    b = factories.observer(session, station_code=near.code)
    c = factories.observer(session, station_code=far.code)
    hour = dt.timedelta(hours=1)
    river = "东濠涌越秀桥附近河水发黑发臭，水面上漂着死鱼"
    rows = {
        "open": factories.report(
            session,
            obs=a,
            text=river,
            similarity_key=similarity_key(river),
            created_at=NOW - 2 * hour,
        ),
        "near": factories.report(
            session,
            obs=b,
            text="越秀桥下东濠涌臭到行过都要捂住鼻",
            region_code="440104002",
            created_at=NOW - 5 * hour,
        ),
        "lamp": factories.report(
            session,
            obs=a,
            text="高第街路灯坏了一个星期",
            department="urban_management",
            created_at=NOW - hour,
        ),
        "resolved": factories.report(
            session,
            obs=a,
            text=river,
            status=ReportStatus.RESOLVED,
            resolved_at=NOW - 24 * hour,
            created_at=NOW - 30 * hour,
        ),
        "closed_long_ago": factories.report(
            session,
            obs=a,
            text=river,
            status=ReportStatus.CLOSED,
            closed_at=NOW - 200 * hour,
            created_at=NOW - 60 * hour,
        ),
        "old": factories.report(session, obs=a, text=river, created_at=NOW - 30 * 24 * hour),
        "other_county": factories.report(
            session, obs=c, text=river, region_code="440105001", created_at=NOW - hour
        ),
        "sentiment": factories.report(
            session,
            obs=a,
            text=river,
            kind=ReportKind.SENTIMENT,
            status=ReportStatus.RECORDED,
            created_at=NOW - hour,
        ),
    }
    session.commit()
    return {name: row.id for name, row in rows.items()}  # type: ignore[misc]


def test_candidates_are_the_county_open_and_recent_reports(session: Session) -> None:
    ids = _setup(session)
    found = similar.candidates(
        session=session,
        region_code="440104001",
        since=NOW - dt.timedelta(hours=72),
        closed_since=NOW - dt.timedelta(days=3),
        exclude_id=ids["lamp"],
    )
    assert {c.id for c in found} == {ids["open"], ids["near"], ids["resolved"]}
    assert found[0].created_at.tzinfo is not None
    keys = {c.id: c.key for c in found}
    assert keys[ids["open"]] == similarity_key("东濠涌越秀桥附近河水发黑发臭，水面上漂着死鱼")
    assert keys[ids["near"]] is None  # a row from before the key: compared by its text


def test_similar_reports_names_the_same_river_and_not_the_lamp(session: Session) -> None:
    ids = _setup(session)
    matches = similar_reports(
        session,
        text="东濠涌越秀桥嗰段好臭，啲水黑晒，成日有死鱼浮起",
        station_code="ST-HERE",
        region_code="440104001",
        department="environment",
        now=NOW,
    )
    assert [m.candidate.id for m in matches][:1] == [ids["open"]]
    assert ids["lamp"] not in {m.candidate.id for m in matches}
    assert matches[0].reason.startswith("同站点、2小时内")
    assert matches[0].candidate.number.startswith("GD-")


def _plan(engine: Engine, query: Any, values: dict[str, Any] | None = None) -> str:
    """Return the database's plan for ``query``, run with its real bound parameters."""
    postgres = engine.dialect.name == "postgresql"
    explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "

    def prefix(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        return explain + statement, parameters

    with engine.begin() as connection:
        if postgres:  # an almost empty table is cheaper to scan: ask for the index's plan
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        event.listen(connection, "before_cursor_execute", prefix, retval=True)
        return " ".join(str(row) for row in connection.execute(query, values).all())


def test_the_candidate_query_uses_the_county_window_index(engine: Engine) -> None:
    window = similar.county_window(region_code="440104001", since=NOW)
    assert "ix_report_county_created" in _plan(engine, window)
    values = {"county": "440104", "since": NOW, "closed_since": NOW, "exclude_id": -1, "limit": 9}
    assert "ix_report_county_created" in _plan(engine, similar._candidates_statement(), values)
