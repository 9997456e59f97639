"""The candidates a new report is compared with: its county's open and recent reports.

One indexed query. ``ix_report_county_created`` (migration 0006) indexes the county part of
the region code (``substr(region_code, 1, 6)``) with ``created_at``, so the window "this
county, filed since X" is one index range however many years of reports the table holds.
Closed reports stay candidates for ``closed_since``; sentiment records never are (they are not
handled). Columns, not ORM objects, are read: the lookup must stay within milliseconds with
100,000 open and recent reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select
from sqlmodel import Session, col

from bot.core.similarity import Candidate
from storage.models import OPEN_STATUSES, Report, ReportKind, ReportStatus

DONE_STATUSES = (ReportStatus.RESOLVED, ReportStatus.CLOSED)
# Written with literal 1 and 6 (not bound parameters), so that both databases see the indexed
# expression itself and use ``ix_report_county_created``.
COUNTY: Any = func.substr(Report.region_code, literal_column("1"), literal_column("6"))

_COLUMNS: tuple[Any, ...] = (
    col(Report.id),
    col(Report.number),
    col(Report.status),
    col(Report.text),
    col(Report.station_code),
    col(Report.region_code),
    col(Report.department),
    col(Report.created_at),
    col(Report.observer_id),
    col(Report.duplicate_of),
    col(Report.similarity_key),
)


def county_window(*, region_code: str, since: datetime) -> Any:
    """Return the bare indexed SELECT of a county's reports filed since ``since``."""
    return select(*_COLUMNS).where(region_code[:6] == COUNTY, col(Report.created_at) >= since)


def candidates(
    *,
    session: Session,
    region_code: str,
    since: datetime,
    closed_since: datetime,
    exclude_id: int | None = None,
    limit: int = 2000,
) -> list[Candidate]:
    """Return the county's open reports, and those closed since ``closed_since``, filed since."""
    done_at = func.coalesce(col(Report.closed_at), col(Report.resolved_at))
    query = county_window(region_code=region_code, since=since).where(
        col(Report.kind) != ReportKind.SENTIMENT,
        or_(
            col(Report.status).in_(list(OPEN_STATUSES)),
            and_(col(Report.status).in_(list(DONE_STATUSES)), done_at >= closed_since),
        ),
    )
    if exclude_id is not None:
        query = query.where(col(Report.id) != exclude_id)
    rows: Sequence[Any] = session.execute(
        query.order_by(col(Report.created_at).desc()).limit(limit)
    ).all()
    return [Candidate(*row) for row in rows]
