"""Authority, asked from the database: gather where a report is held and ask the policy.

``require`` is what every state-changing service calls before it changes anything; the
handlers (and any other door) never decide authority themselves. The facts come from the
report row and the group bindings: the group holding a report is the one its current card was
delivered to, or — before that card is out — the group bound for its department at its level
(dispatch: the dispatch group of the station's region).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.core.authority import Actor, Holding, Verdict, decide
from bot.core.lifecycle import Action, Role, Status, step
from bot.core.regions import ancestors, is_well_formed
from bot.errors import Refused
from bot.services import Services
from storage import bindings, reminders
from storage.models import Report


def holder_chat(session: Session, services: Services, report: Report) -> int | None:
    """Return the group that holds ``report`` now (its card's chat, or the one due to get it)."""
    if report.card_chat_id is not None:
        return report.card_chat_id
    if report.status == Status.DISPATCH:
        department, region = services.rules.dispatch, report.region_code
    elif report.status in (Status.ROUTED, Status.SIGNED):
        department, region = report.department, report.target_region
    else:
        return None
    binding = bindings.find_binding(session=session, department=department, region=region)
    return binding.chat_id if binding is not None else None


def region_dispatch_chat(session: Session, services: Services, report: Report) -> int | None:
    """Return the dispatch group of the report's region (it decides extension requests)."""
    binding = bindings.find_binding(
        session=session, department=services.rules.dispatch, region=report.region_code
    )
    return binding.chat_id if binding is not None else None


def supervisor_chats(session: Session, services: Services, report: Report) -> list[int]:
    """Return the chats a report's escalation goes to: leaders in scope, the escalation group."""
    chats: list[int] = []
    if services.rules.escalation.leaders and is_well_formed(report.region_code):
        chats.extend(
            leader.chat_id
            for leader in reminders.supervising_leaders(
                session=session, regions=ancestors(report.region_code)
            )
        )
    binding = bindings.find_binding(
        session=session, department=services.rules.escalate_to, region=report.region_code
    )
    if binding is not None:
        chats.append(binding.chat_id)
    return list(dict.fromkeys(chats))


def overseer_chats(session: Session, services: Services, report: Report) -> tuple[int, ...]:
    """Return the chats that may press the department on a report: its region's dispatch
    group and its supervisors."""
    dispatch = region_dispatch_chat(session, services, report)
    chats = ([dispatch] if dispatch is not None else []) + supervisor_chats(
        session, services, report
    )
    return tuple(dict.fromkeys(chats))


def holding_of(session: Session, services: Services, report: Report, action: Action) -> Holding:
    """Return the facts the policy needs to decide ``action`` on ``report``."""
    role = step(action).role
    holder = holder_chat(session, services, report) if role == Role.HOLDER else None
    return Holding(
        status=report.status,
        holder_chat=holder,
        card_message=report.card_message_id if report.card_chat_id == holder else None,
        region_dispatch_chat=(
            region_dispatch_chat(session, services, report)
            if role == Role.REGION_DISPATCH
            else None
        ),
        observer_id=report.observer_id,
        overseer_chats=(overseer_chats(session, services, report) if role == Role.OVERSEER else ()),
    )


def verdict(
    session: Session, services: Services, action: Action, actor: Actor, report: Report
) -> Verdict:
    """Return whether ``actor`` may take ``action`` on ``report`` now."""
    return decide(action, actor, holding_of(session, services, report, action))


def require(
    session: Session, services: Services, action: Action, actor: Actor, report: Report
) -> None:
    """Raise ``Refused`` unless ``actor`` may take ``action`` on ``report`` now."""
    answer = verdict(session, services, action, actor, report)
    if not answer:
        raise Refused(answer.reason)


def audit_name(actor: Actor) -> str:
    """Return how the audit trail names ``actor`` (``user:ID`` or ``observer:ID``)."""
    if actor.observer_id is not None:
        return f"observer:{actor.observer_id}"
    return f"user:{actor.user_id}"


def with_name(details: dict[str, Any], by: Actor | None) -> dict[str, Any]:
    """Return an audit event's details with the actor's display name, when there is one."""
    if by is None or not by.name:
        return details
    return {**details, "who": by.name[:64]}
