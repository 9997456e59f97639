"""Roster queries: upsert stations and observers in bulk, issue invite codes.

A re-import updates rows and never duplicates them: stations are keyed by their code,
observers by their phone (E.164). Writes are bulk statements (one INSERT or UPDATE per batch,
not one ORM object per row), so a 100,000-row roster imports in seconds on SQLite.
Observers and stations that are in the database but not in the file are left alone.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import func, insert, select, update
from sqlmodel import Session, col

from bot.core.messages import t
from bot.core.roster import ObserverRecord, StationRecord
from bot.errors import DomainError
from storage.models import InviteCode, Observer, ObserverStatus, Station

log = logging.getLogger(__name__)

BATCH = 500  # rows per statement; also keeps IN (...) lists under every database's limit
INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or typed safely
INVITE_LENGTH = 8
MAX_INVITES = 1000

T = TypeVar("T")
Progress = Callable[[int], None]
_STATION_FIELDS = ("name", "city", "county", "town", "region_code")


@dataclass(slots=True)
class Counts:
    """How many rows an import created, updated and left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        """Return the number of rows the file named."""
        return self.created + self.updated + self.unchanged


@dataclass(slots=True)
class ImportResult:
    """The outcome of importing a roster: counts for stations and for observers."""

    stations: Counts = field(default_factory=Counts)
    observers: Counts = field(default_factory=Counts)


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_roster(
    *,
    session: Session,
    stations: Sequence[StationRecord],
    observers: Sequence[ObserverRecord],
    now: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Upsert stations (by code) then observers (by phone); the caller commits.

    With ``dry_run`` nothing is written and the counts say what an import would do.
    ``progress`` is called with the number of records handled after each batch.
    """
    result = ImportResult()
    station_rows = _plan_stations(session, stations, now, result.stations)
    observer_rows = _plan_observers(session, observers, now, result.observers)
    if not dry_run:
        _write(session, Station, station_rows, progress)
        _write(session, Observer, observer_rows, progress)
        session.flush()
    log.info(
        "roster import dry_run=%s stations_created=%d stations_updated=%d "
        "observers_created=%d observers_updated=%d",
        dry_run,
        result.stations.created,
        result.stations.updated,
        result.observers.created,
        result.observers.updated,
    )
    return result


@dataclass(slots=True)
class _Planned:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0


def _plan_stations(
    session: Session, stations: Sequence[StationRecord], now: datetime, counts: Counts
) -> _Planned:
    """Split stations into inserts, updates and unchanged ones."""
    planned = _Planned()
    existing: dict[str, tuple[str, ...]] = {}
    codes = [station.code for station in stations]
    columns = [col(getattr(Station, name)) for name in _STATION_FIELDS]
    for chunk in _chunks(codes):
        query = select(col(Station.code), *columns).where(col(Station.code).in_(chunk))
        for row in session.execute(query):
            existing[str(row[0])] = tuple(str(value) for value in row[1:])
    for station in stations:
        values = {name: getattr(station, name) for name in _STATION_FIELDS}
        old = existing.get(station.code)
        if old is None:
            planned.inserts.append(
                {"code": station.code, **values, "created_at": now, "updated_at": now}
            )
        elif old != tuple(values.values()):
            planned.updates.append({"code": station.code, **values, "updated_at": now})
        else:
            planned.unchanged += 1
    counts.created, counts.updated = len(planned.inserts), len(planned.updates)
    counts.unchanged = planned.unchanged
    return planned


def _plan_observers(
    session: Session, observers: Sequence[ObserverRecord], now: datetime, counts: Counts
) -> _Planned:
    """Split observers into inserts, updates (name or station changed) and unchanged ones."""
    planned = _Planned()
    existing: dict[str, tuple[int, str, str]] = {}
    phones = [observer.phone for observer in observers]
    for chunk in _chunks(phones):
        query = select(
            col(Observer.id), col(Observer.phone), col(Observer.name), col(Observer.station_code)
        ).where(col(Observer.phone).in_(chunk))
        for observer_id, phone, name, station_code in session.execute(query):
            existing[str(phone)] = (cast(int, observer_id), str(name), str(station_code))
    for observer in observers:
        old = existing.get(observer.phone)
        if old is None:
            planned.inserts.append(
                {
                    "name": observer.name,
                    "phone": observer.phone,
                    "station_code": observer.station_code,
                    "telegram_user_id": None,
                    "status": ObserverStatus.ACTIVE.value,
                    "bound_at": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif (old[1], old[2]) != (observer.name, observer.station_code):
            planned.updates.append(
                {
                    "id": old[0],
                    "name": observer.name,
                    "station_code": observer.station_code,
                    "updated_at": now,
                }
            )
        else:
            planned.unchanged += 1
    counts.created, counts.updated = len(planned.inserts), len(planned.updates)
    counts.unchanged = planned.unchanged
    return planned


def _write(session: Session, table: Any, planned: _Planned, progress: Progress | None) -> None:
    """Run the planned inserts and primary-key updates as bulk statements, batch by batch."""
    for chunk in _chunks(planned.inserts, BATCH * 10):
        session.execute(insert(table), list(chunk))
        if progress is not None:
            progress(len(chunk))
    for chunk in _chunks(planned.updates, BATCH * 10):
        session.execute(update(table), list(chunk))
        if progress is not None:
            progress(len(chunk))
    if progress is not None and planned.unchanged:
        progress(planned.unchanged)


def count_rows(*, session: Session) -> tuple[int, int]:
    """Return how many stations and observers the database holds."""
    stations: int = session.execute(select(func.count()).select_from(Station)).scalar_one()
    observers: int = session.execute(select(func.count()).select_from(Observer)).scalar_one()
    return int(stations), int(observers)


def get_station(*, session: Session, code: str) -> Station | None:
    """Return the station with ``code``, or None."""
    return session.get(Station, code)


def get_observer_by_phone(*, session: Session, phone: str) -> Observer | None:
    """Return the observer with the E.164 ``phone``, or None."""
    query = select(Observer).where(col(Observer.phone) == phone)
    return session.execute(query).scalars().first()


# --- invite codes --------------------------------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def normalize_invite(text: str) -> str:
    """Return typed invite-code text as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def issue_invites(
    *, session: Session, station_code: str, count: int, ttl: timedelta, now: datetime
) -> list[str]:
    """Create ``count`` one-time invite codes for a station, valid for ``ttl`` from ``now``.

    Codes are 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L) and unique
    across all invite codes ever issued. Raises DomainError for an unknown station or a count
    outside 1..1000. The caller commits.
    """
    if not 1 <= count <= MAX_INVITES:
        raise DomainError(f"count must be between 1 and {MAX_INVITES}, not {count}")
    if ttl <= timedelta(0):
        raise DomainError("an invite code must be valid for a positive time")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if session.get(Station, station_code) is None:
        raise DomainError(t("cli.invite_unknown_station", station=station_code))
    codes: list[str] = []
    while len(codes) < count:
        wanted = {_new_code() for _ in range(count - len(codes))} - set(codes)
        query = select(col(InviteCode.code)).where(col(InviteCode.code).in_(wanted))
        taken: set[str] = set(session.execute(query).scalars())
        codes.extend(sorted(wanted - taken))
    expires = now + ttl
    session.execute(
        insert(InviteCode),
        [
            {
                "code": code,
                "station_code": station_code,
                "created_at": now,
                "expires_at": expires,
                "used_at": None,
                "used_by": None,
            }
            for code in codes
        ],
    )
    session.flush()
    log.info("invites issued station=%s count=%d expires=%s", station_code, count, expires)
    return codes
