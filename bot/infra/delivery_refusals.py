"""What the delivery worker does when Telegram refuses a message for good, or moves a chat.

- **Permanent errors** (blocked, chat not found, kicked, bad request): the row is failed with
  ``last_error``, a ``delivery_failed`` report event is recorded, and — for a report's message,
  once per chat and report — a notice is queued to the dispatch chat, looked up when the notice
  is queued (never remembered from start-up), saying in Chinese why (``failure_reason``). A
  403 from a bound group the bot is no longer in is the group lost
  (``handlers.groups.group_lost``): its bindings stop, its open reports go to dispatch with
  their cards, and dispatch, the administrators and the observers are told.
- **Migration** (``ChatMigrated``): bindings, leaders, prompts and the chat's pending rows move
  to the supergroup's id (``handlers.groups.migrate``), open cards are posted there again (a
  message id means nothing in another chat), and the row is sent there.

Without ``services`` (tests of delivery alone) notices go to a fixed dispatch chat and a
migration moves only the outbox rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.core.messages import t
from bot.infra.delivery_plan import Claimed
from bot.infra.pacing import is_private
from bot.services import Services
from bot.services.dispatching import find_dispatch_chat
from handlers import groups
from storage import groups as group_queries
from storage import outbox
from storage.models import GroupBinding, Observer, Report
from storage.reports import add_event

DELIVERY_FAILED = "delivery_failed"


def record_failure(
    session: Session,
    row: Claimed,
    description: str,
    *,
    now: datetime,
    services: Services | None,
    dispatch_chat_id: int | None,
) -> bool | None:
    """Fail ``row`` for good; return whether someone was told (None: nothing was recorded)."""
    # A lost group is followed first: it takes the group's bindings and then its queued
    # rows (this one among them), in the order the update's handler takes them too.
    gone = _group_gone(session, row, description, services)
    failed = outbox.mark_failed(
        session=session, message_id=row.id, attempts=row.attempts, last_error=description
    )
    if not (failed or gone):
        return None
    add_event(
        session=session,
        report_id=row.report_id,
        actor="system",
        action=DELIVERY_FAILED,
        at=now,
        details={
            "outbox_id": row.id,
            "chat_id": row.chat_id,
            "method": row.method,
            "purpose": row.purpose,
            "error": description,
        },
    )
    # The group's reports went to dispatch, which was told; otherwise tell it now.
    return gone or _tell_dispatch(session, row, description, now, services, dispatch_chat_id)


def migrate_row(
    session: Session, row: Claimed, new_chat_id: int, *, now: datetime, services: Services | None
) -> dict[str, int]:
    """Follow the chat of ``row`` to ``new_chat_id`` and make the row due there now."""
    if services is not None:
        reposted = groups.outside_update(
            services,
            session,
            f"migrate:{row.chat_id}",
            lambda ctx: groups.migrate(ctx, row.chat_id, new_chat_id),
        )
        counts: dict[str, int] = {"reposted": reposted}
    else:
        counts = outbox.migrate_chat(
            session=session, old_chat_id=row.chat_id, new_chat_id=new_chat_id
        )
    outbox.reschedule(
        session=session,
        message_id=row.id,
        attempts=row.attempts,
        next_try_at=now,
        last_error=f"migrated to {new_chat_id}",
        count_attempt=False,
    )
    return counts


def _group_gone(
    session: Session, row: Claimed, description: str, services: Services | None
) -> bool:
    """If Telegram says the bot is out of a bound group, follow it (``groups.group_lost``);
    return True if the chat is a department or dispatch group the bot has lost."""
    if services is None or not groups.is_group_gone(row.chat_id, description):
        return False
    groups.outside_update(
        services,
        session,
        f"lost:{row.chat_id}",
        lambda ctx: groups.group_lost(ctx, row.chat_id, cause=description),
    )
    return bool(group_queries.inactive_bindings(session=session, chat_id=row.chat_id))


def _tell_dispatch(
    session: Session,
    row: Claimed,
    description: str,
    now: datetime,
    services: Services | None,
    dispatch_chat_id: int | None,
) -> bool:
    """Queue a notice to the dispatch chat about a report's undeliverable message."""
    report = session.get(Report, row.report_id) if row.report_id is not None else None
    if services is None:
        dispatch = dispatch_chat_id
    else:  # looked up now, for the report's region
        region = report.region_code if report is not None else None
        dispatch = find_dispatch_chat(session, services, region=region)
    if (
        dispatch is None
        or row.report_id is None
        or row.chat_id == dispatch
        or row.purpose == DELIVERY_FAILED
    ):
        return False
    number = report.number if report is not None else str(row.report_id)
    text = t(
        "delivery.failed",
        number=number,
        recipient=_recipient(session, row.chat_id, services),
        reason=failure_reason(description),
    )
    return outbox.enqueue(
        session=session,
        chat_id=dispatch,
        payload={"chat_id": dispatch, "text": text},
        idempotency_key=f"{DELIVERY_FAILED}:{row.chat_id}:{row.report_id}",
        now=now,
        purpose=DELIVERY_FAILED,
        report_id=row.report_id,
    )


def _recipient(session: Session, chat_id: int, services: Services | None) -> str:
    """Name the chat a message was for, without personal data beyond a name."""
    if is_private(chat_id):
        observer = session.exec(
            select(Observer).where(Observer.telegram_user_id == chat_id)
        ).first()
        if observer is not None:
            return t("delivery.recipient_observer", name=observer.name)
        return t("delivery.recipient_user", chat=chat_id)
    binding = session.exec(select(GroupBinding).where(GroupBinding.chat_id == chat_id)).first()
    if binding is not None:
        title = f"（{binding.chat_title}）" if binding.chat_title else ""
        department = binding.department
        if services is not None:
            department = services.rules.department_name(department)
        return t("delivery.recipient_group", department=department, title=title)
    return t("delivery.recipient_chat", chat=chat_id)


# Telegram's words -> the catalogue's explanation (section delivery.reason).
_REASONS: tuple[tuple[str, str], ...] = (
    ("blocked by the user", "blocked"),
    ("user is deactivated", "deactivated"),
    ("can't initiate conversation", "not_started"),
    ("chat not found", "chat_not_found"),
    ("kicked", "kicked"),
    ("not a member", "not_member"),
    ("never delivered", "card_lost"),
)


def failure_reason(description: str) -> str:
    """Return a short Chinese explanation of why Telegram refused a message."""
    lowered = description.lower()
    for hint, reason in _REASONS:
        if hint in lowered:
            return t(f"delivery.reason.{reason}")
    return t("delivery.reason.other", description=description)
