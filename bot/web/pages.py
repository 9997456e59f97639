"""What each console page shows, read for one viewer (plain dicts for the templates).

Texts that leave the database — a report's words, reasons, notes — pass through
``mask_personal_numbers`` here, before any template sees them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from sqlmodel import Session

from bot.core.lifecycle import Status
from bot.core.masking import mask_personal_numbers
from bot.core.messages import catalogue, t
from bot.services import Services, access
from bot.services.extensions import pending_extension
from bot.services.viewers import Viewer, actor_for, can_see, visible
from bot.web import queries
from bot.web.actions import ACTIONS, DECISIONS
from handlers.cards import dispatch_candidates, is_overdue, last_return
from handlers.context import Ctx
from storage import reports as report_queries
from storage.models import Report

KNOWN = catalogue()
TREND_WEEKS = 10  # this week, last week and the eight before


def _local(services: Services, moment: dt.datetime | None) -> str:
    """Format ``moment`` in the rules' time zone, e.g. ``2026-11-27 18:00``."""
    return moment.astimezone(services.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _row(services: Services, report: Report, now: dt.datetime) -> dict[str, Any]:
    """Return what a list shows of one report."""
    return {
        "id": report.id,
        "number": report.number,
        "kind": t(f"kind.{report.kind}"),
        "status": t(f"status.{report.status}"),
        "department": services.rules.department_name(report.department),
        "created": _local(services, report.created_at),
        "overdue": is_overdue(report, now),
        "urgent": report.priority == "urgent",
        "text": mask_personal_numbers(report.text)[:80],
    }


def _reason(ctx: Ctx, report: Report) -> str:
    """Return why a report waits at dispatch: returned, no group bound, or not clear enough."""
    events = report_queries.events_of(session=ctx.session, report_id=report.id or 0)
    returned = last_return(report, events)
    if returned:
        return t(
            "dispatch.card_returned",
            department=ctx.department_name(returned.get("from", "")),
            reason=mask_personal_numbers(returned.get("reason", "")),
        )
    if report.routing.get("no_group"):
        return str(report.routing["no_group"])
    return str(report.routing.get("explanation") or t("web.reason_unclear"))


def dashboard(
    request: Request, session: Session, viewer: Viewer, services: Services
) -> dict[str, Any]:
    """This week against last week, and the departments with the most overdue, worst first."""
    now = services.clock()
    seen = visible(viewer, services.rules.dispatch)
    today = now.astimezone(services.tz).date()
    monday = dt.datetime.combine(
        today - dt.timedelta(days=today.weekday()), dt.time(), services.tz
    ).astimezone(dt.UTC)
    weeks = [
        (
            (monday - dt.timedelta(days=7 * back)).astimezone(services.tz).strftime("%m-%d"),
            queries.week(session, seen, monday - dt.timedelta(days=7 * back), now),
        )
        for back in range(TREND_WEEKS)
    ]
    this, last = weeks[0][1], weeks[1][1]
    peak = max((max(week.new, week.resolved) for _, week in weeks), default=0) or 1
    departments = [
        (services.rules.department_name(dept), late, total)
        for dept, late, total in queries.departments_worst_first(session, seen, now)
    ]
    return {
        "this": this,
        "last": last,
        "trend": list(reversed(weeks)),
        "peak": peak,
        "departments": departments,
    }


def dispatch_queue(
    request: Request, session: Session, viewer: Viewer, services: Services
) -> dict[str, Any]:
    """The reports waiting at the viewer's dispatch groups, with why each is there."""
    dispatch = services.rules.dispatch
    now = services.clock()
    ctx = Ctx(services=services, session=session, now=now)
    groups = () if viewer.admin else viewer.dispatch_groups(dispatch)
    if not viewer.is_dispatcher(dispatch):
        return {"items": [], "dispatcher": False}
    items = []
    for report in queries.queue(session, visible(viewer, dispatch), groups, dispatch):
        events = report_queries.events_of(session=session, report_id=report.id or 0)
        items.append(
            {
                **_row(services, report, now),
                "reason": _reason(ctx, report),
                "candidates": [
                    (dept, ctx.department_name(dept))
                    for dept in dispatch_candidates(ctx, report, events)
                ],
            }
        )
    return {"items": items, "dispatcher": True, "departments": _departments(services)}


def _departments(services: Services) -> list[tuple[str, str]]:
    """Return (id, name) of every department dispatch may route to."""
    return [
        (dept, services.rules.department_name(dept))
        for dept in services.rules.departments
        if dept != services.rules.dispatch
    ]


def _flag(value: str | None) -> bool:
    """Return True for a checked checkbox in a query string."""
    return value in ("1", "on", "true")


def list_filters(request: Request, services: Services) -> queries.Filters:
    """Return the list's filters as the query string gives them (unknown values dropped)."""
    query = request.query_params
    page = query.get("page", "1")
    sort = query.get("sort", "-created")
    return queries.Filters(
        status=query.get("status", "") if query.get("status", "") in set(Status) else "",
        kind=query.get("kind", "") if query.get("kind", "") in KINDS else "",
        department=query.get("department", "")
        if query.get("department", "") in services.rules.departments
        else "",
        region=query.get("region", "")[:12] if query.get("region", "").isdigit() else "",
        overdue=_flag(query.get("overdue")),
        urgent=_flag(query.get("urgent")),
        words=query.get("words", "").strip()[:50],
        sort=sort if sort.removeprefix("-") in queries.SORTS else "-created",
        page=int(page) if page.isdigit() and 0 < int(page) < 100000 else 1,
    )


def report_list(
    request: Request, session: Session, viewer: Viewer, services: Services
) -> dict[str, Any]:
    """A page of the reports the viewer may see, filtered and sorted by the query string."""
    filters = list_filters(request, services)
    now = services.clock()
    rows, total = queries.listing(session, visible(viewer, services.rules.dispatch), filters, now)
    pages = max(1, -(-total // queries.PAGE_SIZE))
    return {
        "rows": [_row(services, report, now) for report in rows],
        "total": total,
        "filters": filters,
        "pages": pages,
        "statuses": [(s.value, t(f"status.{s.value}")) for s in Status],
        "kinds": [(k, t(f"kind.{k}")) for k in KINDS],
        "departments": [(d, services.rules.department_name(d)) for d in services.rules.departments],
        "previous": filters.query_string(page=filters.page - 1) if filters.page > 1 else None,
        "next": filters.query_string(page=filters.page + 1) if filters.page < pages else None,
        "sorted": {
            name: filters.query_string(
                sort=name if filters.sort == f"-{name}" else f"-{name}", page=1
            )
            for name in queries.SORTS
        },
        "download": filters.query_string(page=None),
    }


KINDS = ("problem", "suggestion", "sentiment")


def _event_line(services: Services, event: Any) -> dict[str, Any]:
    """Return one timeline entry: when, what, who and its details (masked)."""
    key = f"timeline.event.{event.action}"
    details = {
        name: mask_personal_numbers(str(value))
        for name, value in (event.details or {}).items()
        if value not in (None, "", [], {})
    }
    return {
        "at": _local(services, event.at),
        "what": t(key) if key in KNOWN else event.action,
        "actor": event.actor,
        "details": details,
        "note": event.action == "note",
    }


def one_report(
    request: Request, session: Session, viewer: Viewer, services: Services
) -> dict[str, Any]:
    """One report: its text (masked), routing basis, timeline and the actions allowed now."""
    raw = request.path_params.get("report_id", "")
    report = (
        can_see(session, viewer, services.rules.dispatch, int(raw)) if str(raw).isdigit() else None
    )
    if report is None:
        return {"status": 404}
    now = services.clock()
    ctx = Ctx(services=services, session=session, now=now)
    events = report_queries.events_of(session=session, report_id=report.id or 0)
    allowed = {
        name: bool(
            access.verdict(
                session,
                services,
                action,
                actor_for(session, services, viewer, report, dispatch=name in DECISIONS),
                report,
            )
        )
        for name, (action, _) in ACTIONS.items()
    }
    pending = pending_extension(session, report_id=report.id or 0)
    routing = report.routing or {}
    return {
        "report": _row(services, report, now),
        "text": mask_personal_numbers(report.text),
        "region": ctx.region_name(report.region_code),
        "target_region": ctx.region_name(report.target_region),
        "sign_due": _local(services, report.sign_due_at),
        "resolve_due": _local(services, report.resolve_due_at),
        "routing": {
            "rule": report.rule or "",
            "explanation": mask_personal_numbers(str(routing.get("explanation", ""))),
            "candidates": [
                (services.rules.department_name(dept), score)
                for dept, score in routing.get("candidates", [])
                if dept in services.rules.departments
            ],
        },
        "timeline": [_event_line(services, event) for event in events],
        "allowed": allowed,
        "reason": _reason(ctx, report) if report.status == Status.DISPATCH else "",
        "candidates": [
            (dept, ctx.department_name(dept)) for dept in dispatch_candidates(ctx, report, events)
        ]
        if report.status == Status.DISPATCH
        else [],
        "departments": _departments(services),
        "extension": {
            "days": pending.details.get("days"),
            "reason": mask_personal_numbers(str(pending.details.get("reason", ""))),
        }
        if pending is not None
        else None,
    }
