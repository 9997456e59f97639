"""The candidates a new report is compared with: its county's open and recent reports.

One indexed query. ``ix_report_county_created`` (migration 0006) indexes the county part of
the region code (``substr(region_code, 1, 6)``) with ``created_at``, so the window "this
county, filed since X" is one index range however many years of reports the table holds.
Closed reports stay candidates for ``closed_since``; sentiment records never are (they are not
handled). Columns, not ORM objects, are read: the lookup must stay within milliseconds with
100,000 open and recent reports.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, literal_column, or_, select
from sqlmodel import Session, col

from bot.core.similarity import Candidate
from storage.models import OPEN_STATUSES, Report, ReportKind, ReportStatus
from storage.types import UTCDateTime

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


@functools.cache
def _candidates_statement() -> Any:
    """Return the candidate query, built once, with its values as bound parameters."""
    done_at = func.coalesce(col(Report.closed_at), col(Report.resolved_at))
    return (
        select(*_COLUMNS)
        .where(
            bindparam("county") == COUNTY,
            col(Report.created_at) >= bindparam("since", type_=UTCDateTime()),
            col(Report.kind) != ReportKind.SENTIMENT,
            col(Report.id) != bindparam("exclude_id"),
            or_(
                col(Report.status).in_(list(OPEN_STATUSES)),
                and_(
                    col(Report.status).in_(list(DONE_STATUSES)),
                    done_at >= bindparam("closed_since", type_=UTCDateTime()),
                ),
            ),
        )
        .order_by(col(Report.created_at).desc())
        .limit(bindparam("limit", type_=Integer()))
    )


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
    values = {
        "county": region_code[:6],
        "since": since,
        "closed_since": closed_since,
        "exclude_id": -1 if exclude_id is None else exclude_id,
        "limit": limit,
    }
    rows: Sequence[Any] = session.execute(_candidates_statement(), values).all()
    return [Candidate(*row) for row in rows]
