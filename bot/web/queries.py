"""What the console's pages read: the dispatch queue, filtered lists, the week's numbers.

Each query is restricted to what the viewer may see (``bot.services.viewers.visible``). "Overdue"
means what the cards and sweeps mean: a routed report past its sign-for deadline, or a signed
one past its resolve deadline.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlmodel import Session, col, select

from bot.core.lifecycle import Status
from bot.services.viewers import prefix
from storage import search
from storage.models import GroupBinding, Report

PAGE_SIZE = 25
EXPORT_LIMIT = 20000  # rows of one download: a month of a city's reports
# The list's sortable columns.
SORTS: dict[str, Any] = {
    "created": Report.created_at,
    "number": Report.number,
    "kind": Report.kind,
    "status": Report.status,
    "department": Report.department,
    "sign_due": Report.sign_due_at,
    "resolve_due": Report.resolve_due_at,
}


def overdue(now: dt.datetime) -> ColumnElement[bool]:
    """Return the condition that a report is past its open deadline at ``now``."""
    return or_(
        and_(col(Report.status) == Status.ROUTED, col(Report.sign_due_at) < now),
        and_(col(Report.status) == Status.SIGNED, col(Report.resolve_due_at) < now),
    )


def queue(
    session: Session, seen: ColumnElement[bool], groups: Sequence[GroupBinding], dispatch: str
) -> Sequence[Report]:
    """Return the reports waiting at dispatch that the viewer may see, oldest first.

    ``groups``: the viewer's dispatch groups (empty for an administrator: every region).
    """
    query = select(Report).where(col(Report.status) == Status.DISPATCH, seen)
    if groups:
        query = query.where(
            or_(*(col(Report.region_code).startswith(prefix(g.region_code)) for g in groups))
        )
    return session.exec(query.order_by(col(Report.created_at), col(Report.id))).all()


@dataclass(frozen=True)
class Filters:
    """The list page's filters, as given in its query string."""

    status: str = ""
    kind: str = ""
    department: str = ""
    region: str = ""
    overdue: bool = False
    urgent: bool = False
    words: str = ""  # words of the text (full-text search) or a report's number
    sort: str = "-created"  # a key of SORTS, "-" first for descending
    page: int = 1

    def conditions(self, now: dt.datetime, dialect: str) -> list[ColumnElement[bool]]:
        """Return the SQL conditions these filters stand for."""
        found: list[ColumnElement[bool]] = []
        if self.status:
            found.append(col(Report.status) == self.status)
        if self.kind:
            found.append(col(Report.kind) == self.kind)
        if self.department:
            found.append(col(Report.department) == self.department)
        if self.region:
            found.append(col(Report.region_code).startswith(prefix(self.region)))
        if self.overdue:
            found.append(overdue(now))
        if self.urgent:
            found.append(col(Report.priority) == "urgent")
        if self.words and re.search(r"\d{5}", self.words):
            # Digits are matched against the number only: searching the text for them would
            # tell whose phone or ID number a report holds, which the pages mask.
            found.append(col(Report.number) == self.words)
        elif self.words:
            indexed = search.matching(dialect, self.words)  # full-text: the index narrows,
            if indexed is not None:
                found.append(indexed)
            found.append(col(Report.text).contains(self.words, autoescape=True))  # text decides
        return found

    def order(self) -> list[Any]:
        """Return the ORDER BY of the chosen sort (newest first unless another is chosen)."""
        name = self.sort.removeprefix("-")
        column = col(SORTS.get(name, Report.created_at))
        descending = self.sort.startswith("-") or name not in SORTS
        tie = col(Report.id).desc() if descending else col(Report.id)
        return [column.desc() if descending else column, tie]

    def query_string(self, **changes: Any) -> str:
        """Return the query string of these filters with ``changes`` applied."""
        values = {**self.__dict__, **changes}
        return urlencode({k: ("1" if v is True else v) for k, v in values.items() if v})


def _where(
    session: Session, seen: ColumnElement[bool], filters: Filters, now: dt.datetime
) -> list[ColumnElement[bool]]:
    """Return what the viewer may see and the filters ask for, as SQL conditions."""
    return [seen, *filters.conditions(now, session.get_bind().dialect.name)]


def listing(
    session: Session, seen: ColumnElement[bool], filters: Filters, now: dt.datetime
) -> tuple[Sequence[Report], int]:
    """Return one page of the reports matching ``filters`` in their order, and the total."""
    where = _where(session, seen, filters, now)
    total = session.exec(select(func.count()).select_from(Report).where(*where)).one()
    rows = session.exec(
        select(Report)
        .where(*where)
        .order_by(*filters.order())
        .offset((max(filters.page, 1) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return rows, int(total)


def everything(
    session: Session, seen: ColumnElement[bool], filters: Filters, now: dt.datetime
) -> Sequence[Report]:
    """Return every report matching ``filters`` in their order, up to ``EXPORT_LIMIT``."""
    where = _where(session, seen, filters, now)
    return session.exec(
        select(Report).where(*where).order_by(*filters.order()).limit(EXPORT_LIMIT)
    ).all()


@dataclass(frozen=True)
class Week:
    """One week's numbers."""

    new: int
    signed: int
    resolved: int
    overdue: int


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    """Return how many reports match ``where``."""
    return int(session.exec(select(func.count()).select_from(Report).where(*where)).one())


def week(session: Session, seen: ColumnElement[bool], start: dt.datetime, now: dt.datetime) -> Week:
    """Return the numbers of the week starting at ``start``: new, signed, resolved, and the
    reports still open and overdue at its end (or now, for this week)."""
    end = start + dt.timedelta(days=7)

    def within(column: Any) -> ColumnElement[bool]:
        return and_(col(column) >= start, col(column) < end)

    return Week(
        new=_count(session, seen, within(Report.created_at)),
        signed=_count(session, seen, within(Report.signed_at)),
        resolved=_count(session, seen, within(Report.resolved_at)),
        overdue=_count(session, seen, overdue(min(end, now))),
    )


def departments_worst_first(
    session: Session, seen: ColumnElement[bool], now: dt.datetime
) -> list[tuple[str, int, int]]:
    """Return (department, overdue, open) for departments with open reports, worst first."""
    open_ = col(Report.status).in_([Status.ROUTED, Status.SIGNED])
    rows = session.exec(
        select(
            Report.department,
            func.count(),
            func.sum(case((overdue(now), 1), else_=0)),
        )
        .where(seen, open_)
        .group_by(col(Report.department))
    ).all()
    ranked = [(dept, int(late or 0), int(total)) for dept, total, late in rows]
    return sorted(ranked, key=lambda row: (-row[1], -row[2], row[0]))
