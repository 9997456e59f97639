"""The console's read-only pages about people and rules: stations, observers, routing rules.

Stations and observers are shown to administrators (all), leaders (their scope) and dispatch
groups' members (their region); a department group's members see their reports only. Phone
numbers are masked as everywhere text leaves the database. The rules page shows the rules in
force and explains where a text would be routed, without filing anything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from sqlalchemy import ColumnElement, case, false, func, or_, true
from sqlmodel import Session, col, select

from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.services import Services
from bot.services.viewers import Viewer, prefix
from storage.models import Observer, Report, Station

SILENT_DAYS = 30  # a station with no report for this long is silent
LIMIT = 500  # rows of one page (a city has a few hundred stations)


def _stations_seen(viewer: Viewer, dispatch: str) -> ColumnElement[bool] | None:
    """Return the condition on ``Station`` of what the viewer may see (None: nothing)."""
    if viewer.admin:
        return true()
    regions = [*viewer.scopes, *(g.region_code for g in viewer.dispatch_groups(dispatch))]
    if not regions:
        return None
    return or_(false(), *(col(Station.region_code).startswith(prefix(r)) for r in regions))


def stations(
    request: Request, session: Session, viewer: Viewer, services: Services
) -> dict[str, Any]:
    """Stations with their active observers, reports in the last 30 days and the last one."""
    seen = _stations_seen(viewer, services.rules.dispatch)
    if seen is None:
        return {"allowed": False, "rows": []}
    since = services.clock() - dt.timedelta(days=SILENT_DAYS)
    observers = dict(
        session.exec(
            select(Observer.station_code, func.count())
            .where(col(Observer.telegram_user_id).is_not(None), Observer.status == "active")
            .group_by(col(Observer.station_code))
        ).all()
    )
    reports = {
        code: (int(recent or 0), last)
        for code, recent, last in session.exec(
            select(
                Report.station_code,
                func.sum(case((col(Report.created_at) >= since, 1), else_=0)),
                func.max(Report.created_at),
            ).group_by(col(Report.station_code))
        ).all()
    }
    rows = []
    for station in session.exec(
        select(Station).where(seen).order_by(col(Station.region_code), col(Station.code))
    ).all()[:LIMIT]:
        recent, last = reports.get(station.code, (0, None))
        rows.append(
            {
                "code": station.code,
                "name": station.name,
                "place": " ".join(p for p in (station.county, station.town) if p),
                "observers": observers.get(station.code, 0),
                "recent": recent,
                "last": last.astimezone(services.tz).strftime("%Y-%m-%d") if last else "",
                "silent": recent == 0,
            }
        )
    return {"allowed": True, "rows": rows, "silent_days": SILENT_DAYS}


def observers(
    request: Request, session: Session, viewer: Viewer, services: Services
) -> dict[str, Any]:
    """Observers of the stations the viewer may see, phone numbers masked."""
    seen = _stations_seen(viewer, services.rules.dispatch)
    if seen is None:
        return {"allowed": False, "rows": []}
    counts = dict(
        session.exec(
            select(Report.observer_id, func.count()).group_by(col(Report.observer_id))
        ).all()
    )
    found = session.exec(
        select(Observer, Station.name)
        .join(Station, col(Station.code) == col(Observer.station_code))
        .where(seen)
        .order_by(col(Station.region_code), col(Observer.station_code), col(Observer.id))
        .limit(LIMIT)
    ).all()
    rows = [
        {
            "name": observer.name,
            "station": station_name,
            "phone": mask_personal_numbers(observer.phone or ""),
            "status": t(f"web.observer_status.{observer.status}"),
            "bound": observer.telegram_user_id is not None,
            "reports": counts.get(observer.id or 0, 0),
        }
        for observer, station_name in found
    ]
    return {"allowed": True, "rows": rows}


def rules(request: Request, session: Session, viewer: Viewer, services: Services) -> dict[str, Any]:
    """The routing rules in force, and where a text given in the query would be routed."""
    ruleset = services.rules
    text = request.query_params.get("text", "").strip()[:500]
    decision = services.router.route(text) if text else None
    return {
        "version": ruleset.version,
        "departments": [
            (dept.name, ", ".join(dept.aliases)) for dept in ruleset.departments.values()
        ],
        "rules": [
            {
                "id": rule.id,
                "description": rule.description,
                "department": ruleset.department_name(rule.department),
                "keywords": "、".join(list(rule.keywords)[:12]),
                "regions": "、".join(rule.regions),
                "sla": rule.sla,
                "priority": rule.priority,
            }
            for rule in ruleset.rules
        ],
        "text": mask_personal_numbers(text),
        "decision": {
            "department": ruleset.department_name(decision.department),
            "kind": decision.kind_label,
            "rule": decision.rule or "",
            "explanation": mask_personal_numbers(decision.explanation),
        }
        if decision is not None
        else None,
    }
