"""Load a scope's week from the database and compute its digest (bot.core.digest).

A scope is a region code; its reports are those whose station region starts with the scope's
prefix (``4401`` for 广州市 440100), found with a range on the indexed ``region_code`` column
(``ix_report_region_created``), never a LIKE. Only the columns the figures need are read, as
plain tuples: the week's reports and those open (or finished) across its start, with every
column; the other reports of the eight weeks before, with their lifecycle times only (for last
week's figures and the nine-week trend, ``bot.core.digest_compare``); tags and keywords of the
four weeks before (rising topics); the week's audit trail; the red cards (fired ``escalated``
reminder marks) of this week and the last; and the stations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, null, or_, select
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlmodel import Session

from bot.core.digest import RISING_WEEKS, compute_digest
from bot.core.digest_compare import TREND_WEEKS, EscalationRow, compare_weeks
from bot.core.digest_types import (
    HANDLED_KINDS,
    Digest,
    EventRow,
    LifecycleRow,
    ReportRow,
    StationRow,
    TopicRow,
)
from bot.core.keyword_noise import keyword_filter
from bot.core.regions import is_well_formed, level_of
from bot.core.rules import RuleSet
from bot.core.weeks import Week
from bot.errors import DomainError
from storage.models import ReminderMark, Report, ReportEvent, Station

EVENT_ACTIONS = ("transferred", "returned", "rated", "reopened", "resolved", "replied")
ID_CHUNK = 5000

# Table columns (not the model's attributes) so queries return plain tuples.
_R: Any = Report.__table__.c  # type: ignore[attr-defined]
_E: Any = ReportEvent.__table__.c  # type: ignore[attr-defined]
_S: Any = Station.__table__.c  # type: ignore[attr-defined]
_M: Any = ReminderMark.__table__.c  # type: ignore[attr-defined]
_REPORT_COLUMNS = tuple(
    _R[name]
    for name in (
        "id",
        "number",
        "kind",
        "status",
        "department",
        "region_code",
        "station_code",
        "text",
        "created_at",
        "tags",
        "keywords",
        "category",
        "priority",
        "target_region",
        "sign_due_at",
        "resolve_due_at",
        "signed_at",
        "resolved_at",
        "closed_at",
        "rating",
        "duplicate_of",
    )
)


# Reports carried over into the week are never its new ones: their keywords are not needed.
_CARRIED_COLUMNS = tuple(
    null().label("keywords") if column.name == "keywords" else column for column in _REPORT_COLUMNS
)

# What the trend and last week's figures need of the earlier weeks' reports.
_LEAN_TIMES = ("sign_due_at", "resolve_due_at", "signed_at", "resolved_at", "closed_at")
_LEAN_COLUMNS = tuple(_R[name] for name in ("id", "kind", "status", "created_at", *_LEAN_TIMES))


class ScopeError(DomainError):
    """A scope that is not a region code."""


def scope_prefix(scope: str) -> str:
    """Return the code prefix every region inside ``scope`` starts with."""
    if not is_well_formed(scope):
        raise ScopeError(f"scope {scope!r} is not a region code such as 440000, 440100 or 440104")
    level = level_of(scope)
    return {"province": scope[:2], "city": scope[:4], "county": scope[:6]}.get(level, scope)


def scope_range(column: Any, scope: str) -> Any:
    """Return a condition keeping region codes inside ``scope`` (an index-friendly range)."""
    prefix = scope_prefix(scope)
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return and_(column >= prefix, column < upper)


def _report_row(values: Sequence[Any]) -> ReportRow:
    (
        id_,
        number,
        kind,
        status,
        department,
        region_code,
        station_code,
        text,
        created_at,
        tags,
        keywords,
        category,
        priority,
        target_region,
        sign_due_at,
        resolve_due_at,
        signed_at,
        resolved_at,
        closed_at,
        rating,
        duplicate_of,
    ) = values
    return ReportRow(
        id=id_,
        number=number,
        kind=kind,
        status=status,
        department=department,
        region_code=region_code,
        station_code=station_code,
        text=text,
        created_at=created_at,
        tags=tuple(tags or ()),
        keywords=tuple((str(pair[0]), float(pair[1])) for pair in keywords or ()),
        category=category,
        priority=priority,
        target_region=target_region,
        sign_due_at=sign_due_at,
        resolve_due_at=resolve_due_at,
        signed_at=signed_at,
        resolved_at=resolved_at,
        closed_at=closed_at,
        rating=rating,
        duplicate_of=duplicate_of,
    )


@dataclass(frozen=True, slots=True)
class WeekRows:
    """The plain rows one digest is computed from."""

    reports: list[ReportRow]  # created in the week, or open (or finished) across its start
    events: list[EventRow]
    stations: list[StationRow]
    history: list[TopicRow]  # the four weeks before: tags and keywords, for rising topics
    earlier: list[LifecycleRow] = field(default_factory=list)  # the rest of the 8 weeks before
    escalations: list[EscalationRow] = field(default_factory=list)
    places: list[str] = field(default_factory=list)  # station and town names of the scope


def _unindexed(session: Session, scope: str, column: Any) -> Any:
    """Return ``column``, hidden from SQLite's planner when the scope is a whole province.

    A province's range on ``ix_report_region_created`` selects nearly every row, yet SQLite's
    planner cannot see that and prefers it: one table look-up per report ever made, where the
    indexes on ``created_at``, ``resolved_at`` and ``closed_at`` find the week's rows, or the
    few still open, directly (0.5 s instead of 0.1 s for the reports carried over a week, with
    200,000 reports). SQLite's unary ``+`` keeps the value and hides the index. PostgreSQL's
    planner sees the spread and needs no help.
    """
    if session.get_bind().dialect.name != "sqlite" or level_of(scope) != "province":
        return column
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def _in_scope(session: Session, scope: str) -> Any:
    """Return the condition keeping the scope's reports, as fast as the database allows."""
    return scope_range(_unindexed(session, scope, _R.region_code), scope)


def _chunks(ids: Sequence[int], size: int = ID_CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _earlier_weeks(
    session: Session, scope: str, in_scope: Any, week: Week, known: set[int]
) -> list[LifecycleRow]:
    """Return the other reports of the eight weeks before ``week``: lifecycle columns only.

    Those created in the span, and those created before it and finished inside it (the ones
    still open at the week's start are among the week's own rows already).
    """
    first = week.shifted(1 - TREND_WEEKS).start
    created_in_span = session.execute(
        select(*_LEAN_COLUMNS).where(in_scope, _R.created_at >= first, _R.created_at < week.start)
    ).all()
    finished_in_span = session.execute(
        select(*_LEAN_COLUMNS).where(
            in_scope,
            _unindexed(session, scope, _R.created_at) < first,
            _R.kind.in_(HANDLED_KINDS),
            or_(
                and_(_R.resolved_at >= first, _R.resolved_at < week.start),
                and_(_R.closed_at >= first, _R.closed_at < week.start),
            ),
        )
    ).all()
    found: Any = (*created_in_span, *finished_in_span)
    return [LifecycleRow(*values) for values in found if values[0] not in known]


def load_week(*, session: Session, scope: str, week: Week, now: dt.datetime) -> WeekRows:
    """Read what the digest of ``scope`` for ``week`` needs, as of ``now``."""
    cut = min(now, week.end)
    in_scope = _in_scope(session, scope)
    created_in_week = session.execute(
        select(*_REPORT_COLUMNS).where(
            in_scope,
            _R.created_at >= week.start,
            _R.created_at < week.end,
            _R.created_at <= cut,
        )
    ).all()
    # Handled reports created earlier that were still open at the week's start, or whose
    # signing, resolution or closing fell after it.
    carried_over = session.execute(
        select(*_CARRIED_COLUMNS).where(
            in_scope,
            _unindexed(session, scope, _R.created_at) < week.start,
            _R.kind.in_(HANDLED_KINDS),
            or_(
                and_(_R.resolved_at.is_(None), _R.closed_at.is_(None)),
                _R.resolved_at >= week.start,
                _R.closed_at >= week.start,
            ),
        )
    ).all()
    reports = [_report_row(values) for values in (*created_in_week, *carried_over)]
    earlier = _earlier_weeks(session, scope, in_scope, week, {report.id for report in reports})

    rising_from = week.shifted(-RISING_WEEKS).start
    topics: Any = session.execute(
        select(_R.created_at, _R.tags, _R.keywords).where(
            in_scope, _R.created_at >= rising_from, _R.created_at < week.start
        )
    )
    history = [
        TopicRow(created_at, tuple(tags or ()), tuple((str(w), float(x)) for w, x in kw or ()))
        for created_at, tags, kw in topics
    ]

    ids = sorted(report.id for report in reports)
    events: list[EventRow] = []
    for chunk in _chunks(ids):
        found: Any = session.execute(
            select(_E.report_id, _E.action, _E.at, _E.details).where(
                _E.report_id.in_(chunk),
                _E.action.in_(EVENT_ACTIONS),
                _E.at < cut,
            )
        )
        for report_id, action, at, details in found:
            events.append(EventRow(report_id, action, at, details or {}))

    escalated: Any = session.execute(
        select(_M.report_id, _M.deadline, _M.fired_at)
        .join_from(ReminderMark.__table__, Report.__table__, _M.report_id == _R.id)  # type: ignore[attr-defined]
        .where(
            in_scope,
            _M.threshold == "escalated",
            _M.state == "sent",
            _M.fired_at >= week.shifted(-1).start,
            _M.fired_at < cut,
        )
    )
    escalations = [EscalationRow(rid, deadline, at) for rid, deadline, at in escalated]
    found = session.execute(
        select(_S.code, _S.name, _S.region_code, _S.town).where(scope_range(_S.region_code, scope))
    )
    stations: list[StationRow] = []
    places: set[str] = set()
    for code, name, region_code, town in found:
        stations.append(StationRow(code, name, region_code))
        places.update((name, town or ""))
    return WeekRows(reports, events, stations, history, earlier, escalations, sorted(places))


def build_digest(
    *, session: Session, rules: RuleSet, scope: str, week: Week, now: dt.datetime
) -> Digest:
    """Return the digest of ``scope`` for ``week`` as of ``now``."""
    rows = load_week(session=session, scope=scope, week=week, now=now)
    return digest_of(rows, rules=rules, scope=scope, week=week, now=now)


def digest_of(
    rows: WeekRows, *, rules: RuleSet, scope: str, week: Week, now: dt.datetime
) -> Digest:
    """Return the digest computed from the week's loaded ``rows`` (tags named by ``rules``)."""

    def tag_name(tag: str) -> str:
        found = rules.tags.get(tag)
        return found.name if found else tag

    digest = compute_digest(
        scope=scope,
        week=week,
        now=now,
        reports=rows.reports,
        events=rows.events,
        stations=rows.stations,
        history=rows.history,
        tag_name=tag_name,
        ignore_word=keyword_filter(rows.places),
    )
    return compare_weeks(
        digest, reports=rows.reports, earlier=rows.earlier, escalations=rows.escalations, now=now
    )


def export_rows(
    *,
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    scope: str | None = None,
    department: str | None = None,
    status: str | None = None,
) -> list[ReportRow]:
    """Return the reports created in [start, end), filtered, oldest first."""
    query = select(*_REPORT_COLUMNS).where(_R.created_at >= start, _R.created_at < end)
    if scope is not None:
        query = query.where(scope_range(_R.region_code, scope))
    if department is not None:
        query = query.where(_R.department == department)
    if status is not None:
        query = query.where(_R.status == status)
    query = query.order_by(_R.created_at, _R.id)
    rows = [_report_row(values) for values in session.execute(query)]
    joined = {row.duplicate_of for row in rows if row.duplicate_of is not None}
    if not joined:
        return rows
    numbers = dict(session.execute(select(_R.id, _R.number).where(_R.id.in_(joined))).all())
    return [replace(row, same_issue=numbers.get(row.duplicate_of, "")) for row in rows]
