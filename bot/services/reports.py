"""The life of a report: creation, routing, and every action on it.

Each function changes state inside the caller's session (the caller commits) and appends to
the audit trail. A refused action raises ``Refused`` carrying the catalogue key of the short
answer to give; a state change that lost a race (two members pressing 签收 at once) is refused
the same way, so exactly one wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from bot.core import lifecycle
from bot.core.authority import Actor
from bot.core.lifecycle import Action
from bot.core.routing import Decision
from bot.core.similarity import similarity_key
from bot.errors import Refused
from bot.services import Services, access, joined
from bot.services.clocks import plan_deadlines
from bot.services.steps import authorised, change, load_report
from storage import bindings
from storage import reports as report_queries
from storage.models import (
    GroupBinding,
    Observer,
    Report,
    ReportEvent,
    ReportKind,
    Station,
)

RATINGS = ("satisfied", "basic", "unsatisfied")


def find_binding(session: Session, *, department: str, region: str) -> GroupBinding | None:
    """Return the group bound for ``department`` at ``region``, falling back upward."""
    return bindings.find_binding(session=session, department=department, region=region)


def binding_of_chat(session: Session, *, chat_id: int) -> Sequence[GroupBinding]:
    """Return every (department, region) a group chat is bound for."""
    return bindings.bindings_of_chat(session=session, chat_id=chat_id)


def create_report(
    session: Session,
    services: Services,
    *,
    observer: Observer,
    station: Station,
    text: str,
    kind: str | None,
    category: str | None,
    decision: Decision,
    source_chat_id: int,
    source_message_id: int,
    attachments: list[dict[str, Any]],
    location: dict[str, Any] | None,
    urgent: bool,
    now: dt.datetime,
) -> Report:
    """Commit-ready new report from a routing decision (the observer may have changed the kind)."""
    existing = report_queries.get_report_by_source(
        session=session, chat_id=source_chat_id, message_id=source_message_id
    )
    if existing is not None:
        return existing  # a replayed submission changes nothing
    kind = kind or decision.kind
    dispatch = services.rules.dispatch
    department = decision.department
    sla_class = (
        "urgent" if urgent and "urgent" in services.rules.sla_classes else decision.sla_class
    )
    priority = "urgent" if urgent else decision.priority
    status = lifecycle.initial_status(
        kind=kind, dispatched=department == dispatch or decision.dispatched
    )
    deadlines = plan_deadlines(services, kind=kind, sla_class=sla_class, start=now)
    report = Report(
        number=report_queries.next_report_number(session=session, now=now),
        kind=kind,
        observer_id=observer.id,  # type: ignore[arg-type]
        station_code=station.code,
        region_code=station.region_code,
        text=text,
        similarity_key=similarity_key(text),
        category=category,
        location=location,
        source_chat_id=source_chat_id,
        source_message_id=source_message_id,
        attachments=attachments,
        tags=list(decision.tags),
        keywords=[[word, round(weight, 4)] for word, weight in decision.keywords],
        rule=decision.rule,
        routing={
            "score": decision.score,
            "runner_up": list(decision.runner_up) if decision.runner_up else None,
            "candidates": [list(c) for c in decision.candidates],
            "explanation": decision.explanation,
            "deadline_note": deadlines.note,
        },
        sla_class=sla_class,
        priority=priority,
        department=department,
        target_region=decision.target_region or station.region_code,
        status=status,
        sign_due_at=deadlines.sign_due,
        resolve_due_at=deadlines.resolve_due,
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    session.flush()
    report_queries.add_event(
        session=session,
        report_id=report.id,
        actor=f"observer:{observer.id}",
        action="created",
        at=now,
        details={"department": department, "rule": decision.rule, "status": status},
    )
    return report


def sign(
    session: Session, services: Services, *, report_id: int, by: Actor, now: dt.datetime
) -> Report:
    """Sign for a report (签收)."""
    report = authorised(session, services, report_id, Action.SIGN, by)
    report = change(
        session,
        report,
        action=Action.SIGN,
        values={"signed_at": now},
        by=by,
        now=now,
    )
    joined.follow_primary(session, report, now=now)  # the reports joined to it: signed too
    return report


def transfer(
    session: Session,
    services: Services,
    *,
    report_id: int,
    department: str,
    by: Actor,
    now: dt.datetime,
) -> tuple[Report, str]:
    """Transfer a report to another department (转办); the sign-for clock restarts."""
    report = authorised(session, services, report_id, Action.TRANSFER, by)
    if department not in services.rules.departments or department in (
        report.department,
        services.rules.dispatch,
    ):
        raise Refused("department.bad_transfer")
    previous = report.department
    target = services.router.target_region(department, report.region_code) or report.region_code
    deadlines = plan_deadlines(services, kind=report.kind, sla_class=report.sla_class, start=now)
    report = change(
        session,
        report,
        action=Action.TRANSFER,
        values={
            "department": department,
            "target_region": target,
            "signed_at": None,
            "sign_due_at": deadlines.sign_due,
            "resolve_due_at": deadlines.resolve_due,
            "card_chat_id": None,
            "card_message_id": None,
        },
        by=by,
        now=now,
        details={"from": previous, "to": department},
    )
    return report, previous


def return_to_dispatch(
    session: Session,
    services: Services,
    *,
    report_id: int,
    reason: str,
    by: Actor,
    now: dt.datetime,
) -> tuple[Report, str]:
    """Return a report to dispatch (退回) with a reason; its clock pauses until re-routed."""
    report = authorised(session, services, report_id, Action.RETURN, by)
    previous = report.department
    return _to_dispatch(session, services, report, Action.RETURN, by, reason, now), previous


def _to_dispatch(
    session: Session,
    services: Services,
    report: Report,
    action: Action,
    by: Actor | None,
    reason: str,
    now: dt.datetime,
) -> Report:
    """Send a report back to dispatch (a return, or its group lost); its clock pauses."""
    return change(
        session,
        report,
        action=action,
        values={
            "department": services.rules.dispatch,
            "signed_at": None,
            "card_chat_id": None,
            "card_message_id": None,
        },
        by=by,
        now=now,
        details={"from": report.department, "reason": reason, "paused_at": now.isoformat()},
    )


def group_gone_to_dispatch(
    session: Session, services: Services, *, report_id: int, reason: str, now: dt.datetime
) -> Report:
    """Return a routed or signed report to dispatch because the bot is out of its group.

    Recorded as a return by the system: its clock pauses as for any return.
    """
    report = load_report(session, report_id)
    return _to_dispatch(session, services, report, Action.GROUP_LOST, None, reason, now)


def resolve(
    session: Session,
    services: Services,
    *,
    report_id: int,
    result: str,
    by: Actor,
    now: dt.datetime,
) -> Report:
    """Close a report as handled (办结) with its result; a suggestion is answered and closed."""
    report = authorised(session, services, report_id, Action.RESOLVE, by)
    values: dict[str, Any] = {"resolved_at": now}
    if report.kind == ReportKind.SUGGESTION:
        values["closed_at"] = now
    report = change(
        session,
        report,
        action=Action.RESOLVE,
        values=values,
        by=by,
        now=now,
        details={"result": result},
    )
    joined.follow_primary(session, report, now=now)  # the reports joined to it: resolved too
    return report


def fall_back_to_dispatch(
    session: Session, services: Services, *, report: Report, note: str, now: dt.datetime
) -> Report:
    """No group is bound for a routed report's department at its level or above: dispatch
    takes it, with ``note`` saying why on its card."""
    report = change(
        session,
        report,
        action=Action.FALL_BACK,
        values={
            "department": services.rules.dispatch,
            "routing": {**report.routing, "no_group": note},
        },
        by=None,
        now=now,
        details={"department": report.department, "region": report.target_region},
    )
    return report


def add_note(
    session: Session, services: Services, *, report: Report, text: str, by: Actor, now: dt.datetime
) -> ReportEvent:
    """Keep a handler's internal note on the report's timeline (never sent to the observer)."""
    access.require(session, services, Action.NOTE, by, report)
    return report_queries.add_event(
        session=session,
        report_id=report.id,
        actor=access.audit_name(by),
        action=lifecycle.step(Action.NOTE).event,
        at=now,
        details=access.with_name({"text": text[:4000]}, by),
    )


def answer_observer(
    session: Session,
    services: Services,
    *,
    report_id: int,
    text: str,
    by: Actor,
    now: dt.datetime,
) -> Report:
    """Record the department's answer to the observer (答复), to be sent to them."""
    report = authorised(session, services, report_id, Action.ANSWER, by)
    report_queries.add_event(
        session=session,
        report_id=report.id,
        actor=access.audit_name(by),
        action=lifecycle.step(Action.ANSWER).event,
        at=now,
        details=access.with_name({"text": text[:4000]}, by),
    )
    return report


URGE_INTERVAL = dt.timedelta(hours=1)


def urge(
    session: Session, services: Services, *, report_id: int, by: Actor, now: dt.datetime
) -> Report:
    """Dispatch or a supervisor presses the department to act on a report (催办).

    At most once an hour per report, so a busy group is not flooded by repeated presses.
    """
    report = authorised(session, services, report_id, Action.URGE, by)
    event = lifecycle.step(Action.URGE).event
    last = max(
        (
            e.at
            for e in report_queries.events_of(session=session, report_id=report_id)
            if e.action == event
        ),
        default=None,
    )
    if last is not None and now - last < URGE_INTERVAL:
        raise Refused("urge.too_soon")
    report_queries.add_event(
        session=session,
        report_id=report_id,
        actor=access.audit_name(by),
        action=event,
        at=now,
        details=access.with_name({"chat": by.chat_id}, by),
    )
    return report


def rate(
    session: Session,
    services: Services,
    *,
    report_id: int,
    observer: Observer,
    rating: str,
    reason: str,
    now: dt.datetime,
) -> Report:
    """Record the observer's rating; 不满意 reopens the report to the same department (重办)."""
    report = load_report(session, report_id)
    if rating not in RATINGS:
        raise Refused("common.stale_button")
    by = Actor(chat_id=observer.telegram_user_id or 0, observer_id=observer.id)
    action = Action.REOPEN if rating == "unsatisfied" else Action.RATE
    access.require(session, services, action, by, report)
    if action == Action.RATE:
        return change(
            session,
            report,
            action=action,
            values={"closed_at": now, "rating": rating},
            by=by,
            now=now,
            details={"rating": rating},
        )
    deadlines = plan_deadlines(services, kind=report.kind, sla_class=report.sla_class, start=now)
    primary = load_report(session, report.duplicate_of) if report.duplicate_of is not None else None
    report = change(
        session,
        report,
        action=action,
        values={
            "rating": rating,
            "rating_reason": reason,
            "resolved_at": None,
            "resolve_due_at": None if primary is not None else deadlines.resolve_due,
        },
        by=by,
        now=now,
        details={"rating": rating, "reason": reason},
    )
    if primary is None or not lifecycle.allows(primary.status, Action.REOPEN):
        return report
    # A joined report has no card of its own: its issue is handled again on the primary's.
    return change(
        session,
        primary,
        action=Action.REOPEN,
        values={"resolved_at": None, "resolve_due_at": deadlines.resolve_due},
        by=None,
        now=now,
        details={"rating": rating, "reason": reason, "report": report.number},
    )
