"""Roster upserts and invite codes, on SQLite and PostgreSQL (``session`` from conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.core.roster import ObserverRecord, StationRecord
from bot.errors import DomainError
from storage.models import InviteCode, Observer, Station
from storage.roster import (
    INVITE_ALPHABET,
    ImportResult,
    count_rows,
    get_observer_by_phone,
    get_station,
    import_roster,
    issue_invites,
    normalize_invite,
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)

STATIONS = [
    StationRecord(
        "GZ-YX-01", "越秀区北京街社会工作观察站", "广州市", "越秀区", "北京街道", "440104"
    ),
    StationRecord(
        "SZ-FT-01", "福田区华富街社会工作观察站", "深圳市", "福田区", "华富街道", "440304"
    ),
]
OBSERVERS = [
    ObserverRecord("陈志强", "+8613800138001", "GZ-YX-01", 2),
    ObserverRecord("李丽娟", "+8613800138002", "GZ-YX-01", 3),
    ObserverRecord("黄海燕", "+8613900001234", "SZ-FT-01", 4),
]


def counts(result: ImportResult) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    s, o = result.stations, result.observers
    return (s.created, s.updated, s.unchanged), (o.created, o.updated, o.unchanged)


def test_first_import_creates_and_second_changes_nothing(session: Session) -> None:
    first = import_roster(session=session, stations=STATIONS, observers=OBSERVERS, now=NOW)
    session.commit()
    assert counts(first) == ((2, 0, 0), (3, 0, 0))
    second = import_roster(session=session, stations=STATIONS, observers=OBSERVERS, now=LATER)
    session.commit()
    assert counts(second) == ((0, 0, 2), (0, 0, 3))
    assert count_rows(session=session) == (2, 3)
    station = get_station(session=session, code="GZ-YX-01")
    assert station is not None
    assert (station.name, station.region_code, station.town) == (
        "越秀区北京街社会工作观察站",
        "440104",
        "北京街道",
    )
    assert station.created_at == NOW and station.updated_at == NOW


def test_reimport_updates_changed_rows_in_place(session: Session) -> None:
    import_roster(session=session, stations=STATIONS, observers=OBSERVERS, now=NOW)
    session.commit()
    before = get_observer_by_phone(session=session, phone="+8613800138002")
    assert before is not None
    renamed = StationRecord(
        "GZ-YX-01", "越秀区北京街观察站", "广州市", "越秀区", "北京街道", "440104"
    )
    moved = ObserverRecord("李丽娟", "+8613800138002", "SZ-FT-01", 3)
    new = ObserverRecord("张伟", "+8613900001235", "SZ-FT-01", 5)
    result = import_roster(
        session=session,
        stations=[renamed, STATIONS[1]],
        observers=[OBSERVERS[0], moved, OBSERVERS[2], new],
        now=LATER,
    )
    session.commit()
    assert counts(result) == ((0, 1, 1), (1, 1, 2))
    assert count_rows(session=session) == (2, 4)
    session.expire_all()
    after = get_observer_by_phone(session=session, phone="+8613800138002")
    assert after is not None
    assert (after.id, after.station_code, after.updated_at) == (before.id, "SZ-FT-01", LATER)
    station = get_station(session=session, code="GZ-YX-01")
    assert station is not None
    assert (station.name, station.created_at, station.updated_at) == (
        "越秀区北京街观察站",
        NOW,
        LATER,
    )


def test_dry_run_counts_without_writing(session: Session) -> None:
    result = import_roster(
        session=session, stations=STATIONS, observers=OBSERVERS, now=NOW, dry_run=True
    )
    session.commit()
    assert counts(result) == ((2, 0, 0), (3, 0, 0))
    assert count_rows(session=session) == (0, 0)


def test_a_bound_observer_keeps_its_telegram_binding_on_reimport(session: Session) -> None:
    import_roster(session=session, stations=STATIONS, observers=OBSERVERS, now=NOW)
    observer = get_observer_by_phone(session=session, phone="+8613800138001")
    assert observer is not None
    observer.telegram_user_id = 5_000_000_001
    observer.bound_at = NOW
    session.add(observer)
    session.commit()
    renamed = ObserverRecord("陈志刚", "+8613800138001", "GZ-YX-01", 2)
    import_roster(session=session, stations=STATIONS, observers=[renamed], now=LATER)
    session.commit()
    session.expire_all()
    again = get_observer_by_phone(session=session, phone="+8613800138001")
    assert again is not None
    assert (again.name, again.telegram_user_id, again.bound_at) == ("陈志刚", 5_000_000_001, NOW)


def test_large_import_in_batches_reports_progress(session: Session) -> None:
    stations = [
        StationRecord(f"ST-{n:04d}", f"测试站{n}", "广州市", "越秀区", "", "440104")
        for n in range(60)
    ]
    observers = [
        ObserverRecord(f"观察员{n}", f"+86138{n:08d}", f"ST-{n % 60:04d}", n + 2)
        for n in range(1200)
    ]
    seen: list[int] = []
    result = import_roster(
        session=session, stations=stations, observers=observers, now=NOW, progress=seen.append
    )
    session.commit()
    assert counts(result) == ((60, 0, 0), (1200, 0, 0))
    assert sum(seen) == 1260
    assert count_rows(session=session) == (60, 1200)
    result = import_roster(session=session, stations=stations, observers=observers, now=LATER)
    assert counts(result) == ((0, 0, 60), (0, 0, 1200))


# --- invite codes ------------------------------------------------------------------------------


def test_invites_are_unique_unambiguous_and_expire(session: Session) -> None:
    import_roster(session=session, stations=STATIONS, observers=[], now=NOW)
    codes = issue_invites(
        session=session, station_code="GZ-YX-01", count=50, ttl=timedelta(days=7), now=NOW
    )
    more = issue_invites(
        session=session, station_code="GZ-YX-01", count=50, ttl=timedelta(days=7), now=NOW
    )
    session.commit()
    assert len(set(codes) | set(more)) == 100
    assert all(len(code) == 8 and set(code) <= set(INVITE_ALPHABET) for code in codes)
    assert not set("".join(codes)) & set("01OIL")
    stored = session.exec(select(InviteCode).where(InviteCode.code == codes[0])).one()
    assert stored.station_code == "GZ-YX-01"
    assert stored.expires_at == NOW + timedelta(days=7)
    assert stored.used_at is None and stored.used_by is None


def test_invite_for_unknown_station_or_bad_count_is_refused(session: Session) -> None:
    import_roster(session=session, stations=STATIONS, observers=[], now=NOW)
    with pytest.raises(DomainError, match="没有站点"):
        issue_invites(session=session, station_code="NOPE", count=1, ttl=timedelta(days=7), now=NOW)
    with pytest.raises(DomainError, match="between 1 and"):
        issue_invites(
            session=session, station_code="GZ-YX-01", count=0, ttl=timedelta(days=7), now=NOW
        )
    with pytest.raises(DomainError, match="positive"):
        issue_invites(session=session, station_code="GZ-YX-01", count=1, ttl=timedelta(0), now=NOW)


def test_typed_invites_are_normalised() -> None:
    assert normalize_invite(" abcd-efgh ") == "ABCDEFGH"


def test_tables_hold_what_was_imported(session: Session) -> None:
    import_roster(session=session, stations=STATIONS, observers=OBSERVERS, now=NOW)
    session.commit()
    phones = sorted(o.phone or "" for o in session.exec(select(Observer)).all())
    assert phones == ["+8613800138001", "+8613800138002", "+8613900001234"]
    assert sorted(s.code for s in session.exec(select(Station)).all()) == ["GZ-YX-01", "SZ-FT-01"]
