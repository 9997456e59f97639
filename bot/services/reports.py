"""The life of a report: creation, routing, and every action on it.

Each function changes state inside the caller's session (the caller commits) and appends to
the audit trail. A refused action raises ``Refused`` carrying the catalogue key of the short
answer to give; a state change that lost a race (two members pressing 签收 at once) is refused
the same way, so exactly one wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from bot.core import lifecycle
from bot.core.authority import Actor
from bot.core.deadlines import add_workdays, due_at, shift_due
from bot.core.lifecycle import Action
from bot.core.regions import ancestors
from bot.core.routing import Decision
from bot.core.similarity import similarity_key
from bot.core.windows import Window
from bot.errors import Refused
from bot.services import Services, access, joined
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


@dataclass(frozen=True, slots=True)
class Deadlines:
    """A report's due times and a note when a fallback calendar was used."""

    sign_due: dt.datetime | None
    resolve_due: dt.datetime | None
    note: str = ""


def _sla(services: Services, sla_class: str | None) -> Any:
    """Return the SLA class in force (``normal``, or the first one, when it is unknown)."""
    return services.rules.sla_classes.get(sla_class or "normal") or next(
        iter(services.rules.sla_classes.values())
    )


def deadline_window(
    services: Services, *, kind: str, sla_class: str | None, deadline: str
) -> Window:
    """Return the window of a report's ``sign`` or ``resolve`` deadline (a suggestion's reply)."""
    sla = _sla(services, sla_class)
    if deadline == "sign":
        return sla.sign_for  # type: ignore[no-any-return]
    return sla.reply if kind == ReportKind.SUGGESTION else sla.resolve  # type: ignore[no-any-return]


def plan_deadlines(
    services: Services, *, kind: str, sla_class: str | None, start: dt.datetime
) -> Deadlines:
    """Return the due times of a report of ``kind`` whose clock starts at ``start``."""
    if kind == ReportKind.SENTIMENT:
        return Deadlines(None, None)
    sla = _sla(services, sla_class)
    options: dict[str, Any] = {
        "calendar": services.calendar,
        "tz": services.tz,
        "close_of_business": services.close_of_business,
    }
    sign = due_at(start, sla.sign_for, **options)
    second = due_at(start, sla.reply if kind == ReportKind.SUGGESTION else sla.resolve, **options)
    note = "; ".join(sorted({n for n in (sign.note, second.note) if n}))
    return Deadlines(sign.at.astimezone(dt.UTC), second.at.astimezone(dt.UTC), note)


Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True, slots=True)
class Clock:
    """When a deadline's clock last (re)started, and the pauses recorded since."""

    start: dt.datetime
    pauses: tuple[Interval, ...] = ()


def deadline_clock(
    events: Sequence[ReportEvent], *, deadline: str, created_at: dt.datetime
) -> Clock:
    """Read the clock of a report's ``sign`` or ``resolve`` deadline from its audit trail.

    Creation and a transfer restart both clocks; a reopen restarts the resolve clock; routing by
    dispatch restarts the sign-for clock, and the resolve clock too — unless it resumed a
    report a department had returned, whose time in dispatch is then a pause (recorded in the
    ``routed_by_dispatch`` event as ``paused: [from, until]``). An approved extension moves the
    due time, not the start.
    """
    start, pauses = created_at, list[Interval]()
    for event in sorted(events, key=lambda e: (e.at, e.id or 0)):
        action = event.action
        paused = event.details.get("paused") if action == "routed_by_dispatch" else None
        restarts = (
            action in ("created", "transferred")
            or (action == "reopened" and deadline != "sign")
            or (action == "routed_by_dispatch" and (deadline == "sign" or not paused))
        )
        if restarts:
            start, pauses = event.at, []
        elif paused:
            until = dt.datetime.fromisoformat(paused[1])
            pauses.append((dt.datetime.fromisoformat(paused[0]), until))
    return Clock(start, tuple(pauses))


def _open_return(events: Sequence[ReportEvent]) -> dt.datetime | None:
    """Return when the report was returned to dispatch, if that is why it waits there now."""
    moves = ("created", "transferred", "routed_by_dispatch", "returned", "reopened")
    last = max(
        (e for e in events if e.action in moves), key=lambda e: (e.at, e.id or 0), default=None
    )
    if last is None or last.action != "returned":
        return None
    paused_at = last.details.get("paused_at")
    return dt.datetime.fromisoformat(paused_at) if paused_at else last.at


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


def _load(session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise Refused("common.stale_button")
    return report


def _change(
    session: Session,
    report: Report,
    *,
    action: Action,
    values: dict[str, Any],
    by: Actor | None,
    now: dt.datetime,
    details: dict[str, Any] | None = None,
) -> Report:
    """Take ``action`` (a lifecycle step) if the report's status still allows it; record it.

    ``by`` is who takes it (None: the system); their name goes into the audit trail so a card
    can say who acted.

    The status it leads to comes from the lifecycle table; the update is conditional on the
    status the report had when it was read, so of two simultaneous presses exactly one wins.
    """
    if not lifecycle.allows(report.status, action):
        raise Refused("department.not_allowed_now")
    target = lifecycle.next_status(report.status, action, kind=report.kind)
    values = {**values, "status": target, "updated_at": now}
    if not report_queries.transition(
        session=session,
        report_id=report.id or 0,
        from_statuses=lifecycle.sources(action),
        values=values,
    ):
        raise Refused("department.someone_else_acted")
    session.refresh(report)
    report_queries.add_event(
        session=session,
        report_id=report.id,
        actor=access.audit_name(by) if by is not None else "system",
        action=lifecycle.step(action).event,
        at=now,
        details=access.with_name(details or {}, by),
    )
    return report


def _authorised(
    session: Session, services: Services, report_id: int, action: Action, by: Actor
) -> Report:
    """Load the report and refuse unless ``by`` may take ``action`` on it now."""
    report = _load(session, report_id)
    access.require(session, services, action, by, report)
    return report


def sign(
    session: Session, services: Services, *, report_id: int, by: Actor, now: dt.datetime
) -> Report:
    """Sign for a report (签收)."""
    report = _authorised(session, services, report_id, Action.SIGN, by)
    report = _change(
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
    report = _authorised(session, services, report_id, Action.TRANSFER, by)
    if department not in services.rules.departments or department in (
        report.department,
        services.rules.dispatch,
    ):
        raise Refused("department.bad_transfer")
    previous = report.department
    target = services.router.target_region(department, report.region_code) or report.region_code
    deadlines = plan_deadlines(services, kind=report.kind, sla_class=report.sla_class, start=now)
    report = _change(
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
    report = _authorised(session, services, report_id, Action.RETURN, by)
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
    return _change(
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
    report = _load(session, report_id)
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
    report = _authorised(session, services, report_id, Action.RESOLVE, by)
    values: dict[str, Any] = {"resolved_at": now}
    if report.kind == ReportKind.SUGGESTION:
        values["closed_at"] = now
    report = _change(
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
    report = _change(
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
    report = _authorised(session, services, report_id, Action.ANSWER, by)
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
    report = _authorised(session, services, report_id, Action.URGE, by)
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
    report = _load(session, report_id)
    if rating not in RATINGS:
        raise Refused("common.stale_button")
    by = Actor(chat_id=observer.telegram_user_id or 0, observer_id=observer.id)
    action = Action.REOPEN if rating == "unsatisfied" else Action.RATE
    access.require(session, services, action, by, report)
    if action == Action.RATE:
        return _change(
            session,
            report,
            action=action,
            values={"closed_at": now, "rating": rating},
            by=by,
            now=now,
            details={"rating": rating},
        )
    deadlines = plan_deadlines(services, kind=report.kind, sla_class=report.sla_class, start=now)
    primary = _load(session, report.duplicate_of) if report.duplicate_of is not None else None
    report = _change(
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
    return _change(
        session,
        primary,
        action=Action.REOPEN,
        values={"resolved_at": None, "resolve_due_at": deadlines.resolve_due},
        by=None,
        now=now,
        details={"rating": rating, "reason": reason, "report": report.number},
    )


def route_from_dispatch(
    session: Session,
    services: Services,
    *,
    report_id: int,
    department: str,
    by: Actor,
    now: dt.datetime,
) -> Report:
    """Dispatch sends an unrouted or returned report to a department (分拨).

    The sign-for clock restarts (the department is new to it). For a report a department
    returned, the resolve clock resumes: the time it waited in dispatch is a pause, recorded in
    the event, and the resolve deadline moves by the running time lost (``shift_due``). An
    unrouted report's clocks both start now.
    """
    report = _authorised(session, services, report_id, Action.ROUTE, by)
    return _route(
        session,
        services,
        report,
        department=department,
        action=Action.ROUTE,
        by=by,
        now=now,
    )


def route_back(
    session: Session, services: Services, *, report_id: int, department: str, now: dt.datetime
) -> Report:
    """The system sends a report that went to dispatch because its group was lost back to the
    department, once that group is bound again (its clocks as for a routing by dispatch)."""
    report = _load(session, report_id)
    return _route(
        session,
        services,
        report,
        department=department,
        action=Action.GROUP_BACK,
        by=None,
        now=now,
    )


def _route(
    session: Session,
    services: Services,
    report: Report,
    *,
    department: str,
    action: Action,
    by: Actor | None,
    now: dt.datetime,
) -> Report:
    """Route a report waiting at dispatch to ``department`` (see ``route_from_dispatch``)."""
    report_id = report.id or 0
    if department not in services.rules.departments or department == services.rules.dispatch:
        raise Refused("department.bad_transfer")
    target = services.router.target_region(department, report.region_code) or report.region_code
    deadlines = plan_deadlines(services, kind=report.kind, sla_class=report.sla_class, start=now)
    resolve_due = deadlines.resolve_due
    details: dict[str, Any] = {"to": department}
    events = report_queries.events_of(session=session, report_id=report_id)
    returned = _open_return(events)
    if returned is not None and resolve_due is not None and report.resolve_due_at is not None:
        clock = deadline_clock(events, deadline="resolve", created_at=report.created_at)
        pauses = (*clock.pauses, (returned, now))
        window = deadline_window(
            services, kind=report.kind, sla_class=report.sla_class, deadline="resolve"
        )
        base = due_at(
            clock.start,
            window,
            calendar=services.calendar,
            tz=services.tz,
            close_of_business=services.close_of_business,
        )
        resolve_due = shift_due(base, pauses, services.calendar).at.astimezone(dt.UTC)
        details["paused"] = [returned.isoformat(), now.isoformat()]
    return _change(
        session,
        report,
        action=action,
        values={
            "department": department,
            "target_region": target,
            "sign_due_at": deadlines.sign_due,
            "resolve_due_at": resolve_due,
            "card_chat_id": None,
            "card_message_id": None,
        },
        by=by,
        now=now,
        details=details,
    )


def close_by_dispatch(
    session: Session,
    services: Services,
    *,
    report_id: int,
    reason: str,
    by: Actor,
    now: dt.datetime,
) -> Report:
    """Dispatch closes a report that needs no handling, with a reason."""
    report = _authorised(session, services, report_id, Action.CLOSE, by)
    report = _change(
        session,
        report,
        action=Action.CLOSE,
        values={"closed_at": now},
        by=by,
        now=now,
        details={"reason": reason},
    )
    joined.follow_primary(session, report, now=now)
    return report


def find_dispatch_chat(
    session: Session, services: Services, *, region: str | None = None
) -> int | None:
    """Return the chat of the active dispatch group for ``region`` (falling back upward), or of
    the highest-level one; looked up each time, so a rebinding or a removal counts at once."""
    dispatch = services.rules.dispatch
    if region:
        binding = find_binding(session, department=dispatch, region=region)
        if binding is not None:
            return binding.chat_id
    groups = session.exec(
        select(GroupBinding).where(
            GroupBinding.department == dispatch,
            GroupBinding.active == True,  # noqa: E712 - a SQL comparison
        )
    ).all()
    if not groups:
        return None
    return min(groups, key=lambda b: len(ancestors(b.region_code))).chat_id


# --- extensions (延期) -------------------------------------------------------------------------

EXTENSION_MAX_WORKDAYS = 30


def request_extension(
    session: Session,
    services: Services,
    *,
    report_id: int,
    days: int,
    reason: str,
    by: Actor,
    now: dt.datetime,
) -> ReportEvent:
    """A department asks dispatch for ``days`` more working days to resolve a signed report."""
    report = _authorised(session, services, report_id, Action.EXTEND, by)
    if not 1 <= days <= EXTENSION_MAX_WORKDAYS:
        raise Refused("extension.bad_days")
    if pending_extension(session, report_id=report_id) is not None:
        raise Refused("extension.already_pending")
    event = report_queries.add_event(
        session=session,
        report_id=report_id,
        actor=access.audit_name(by),
        action=lifecycle.step(Action.EXTEND).event,
        at=now,
        details={
            "days": days,
            "reason": reason,
            "due": report.resolve_due_at.isoformat() if report.resolve_due_at else None,
        },
    )
    session.flush()
    return event


def pending_extension(session: Session, *, report_id: int) -> ReportEvent | None:
    """Return the report's extension request that dispatch has not decided yet."""
    requested: ReportEvent | None = None
    for item in report_queries.events_of(session=session, report_id=report_id):
        if item.action == "extension_requested":
            requested = item
        elif item.action in ("extension_approved", "extension_refused"):
            requested = None
    return requested


def decide_extension(
    session: Session,
    services: Services,
    *,
    report_id: int,
    request_id: int,
    approve: bool,
    by: Actor,
    now: dt.datetime,
) -> tuple[Report, ReportEvent]:
    """Dispatch approves (the resolve deadline moves) or refuses an extension request."""
    report = _authorised(session, services, report_id, Action.DECIDE_EXTENSION, by)
    request = pending_extension(session, report_id=report_id)
    if request is None or request.id != request_id:
        raise Refused("common.stale_button")
    days = int(request.details["days"])
    details: dict[str, Any] = {"request": request_id, "days": days}
    if approve and report.resolve_due_at is not None:
        new_due = add_workdays(
            report.resolve_due_at,
            days,
            calendar=services.calendar,
            tz=services.tz,
            close_of_business=services.close_of_business,
        )
        details["from"] = report.resolve_due_at.isoformat()
        report.resolve_due_at = new_due.at.astimezone(dt.UTC)
        details["to"] = report.resolve_due_at.isoformat()
        report.updated_at = now
        session.add(report)
    action = "extension_approved" if approve else "extension_refused"
    report_queries.add_event(
        session=session,
        report_id=report_id,
        actor=access.audit_name(by),
        action=action,
        at=now,
        details=access.with_name(details, by),
    )
    return report, request
