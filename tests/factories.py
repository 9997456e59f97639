"""Small builders of valid rows for tests (plain functions, no magic)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from typing import Any

from sqlmodel import Session

from storage.models import Observer, Report, ReportKind, ReportStatus, Station

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
_sequence = count(1)


def station(session: Session, *, code: str = "ST-440104-001", region: str = "440104") -> Station:
    """Add and return a station in 越秀区."""
    row = Station(
        code=code,
        name="北京街社会工作观察站",
        city="广州市",
        county="越秀区",
        town="北京街道",
        region_code=region,
    )
    session.add(row)
    session.flush()
    return row


def observer(
    session: Session,
    *,
    station_code: str,
    phone: str | None = None,
    telegram_user_id: int | None = None,
) -> Observer:
    """Add and return an active observer at ``station_code``."""
    n = next(_sequence)
    row = Observer(
        name=f"测试观察员{n}",
        phone=phone or f"+861380013{n:04d}",
        station_code=station_code,
        telegram_user_id=telegram_user_id,
    )
    session.add(row)
    session.flush()
    return row


def report(
    session: Session,
    *,
    obs: Observer,
    number: str | None = None,
    message_id: int | None = None,
    **values: Any,
) -> Report:
    """Add and return a routed problem report from ``obs``."""
    n = next(_sequence)
    fields: dict[str, Any] = {
        "number": number or f"GD-20261126-{n:04d}",
        "kind": ReportKind.PROBLEM,
        "observer_id": obs.id,
        "station_code": obs.station_code,
        "region_code": "440104",
        "text": "河涌发臭，已经一个星期了",
        "source_chat_id": obs.telegram_user_id or 1000 + n,
        "source_message_id": message_id or n,
        "department": "environment",
        "target_region": "440104",
        "status": ReportStatus.ROUTED,
        "created_at": NOW,
    }
    fields.update(values)
    row = Report(**fields)
    session.add(row)
    session.flush()
    return row
