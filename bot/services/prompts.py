"""Questions the bot asks one person in a group about one report (a reason, a result, an answer).

A prompt belongs to one user and one card. It is answered only by a reply to the prompt's own
message, expires after ``PROMPT_TTL`` (the chores tell the user), can be cancelled, and
remembers the report's status and department when it was asked: an answer that comes after
the report moved on (a colleague signed it, it was transferred) is not carried out.

The prompt's message id is only known once delivery has sent it, so the prompt is found
again through its outbox row (``prompt_key``), or — for a reply that came within a moment of
the prompt, before the send was recorded — by the prompt's exact text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from storage.models import OutboxMessage, PendingInput, Report

PROMPT_TTL = dt.timedelta(minutes=30)
ACTIONS = ("return", "resolve", "close", "extend", "answer")


@dataclass(frozen=True, slots=True)
class Asked:
    """A prompt just recorded: its row and the outbox key its message is sent under."""

    pending: PendingInput
    key: str


def ask(
    session: Session,
    *,
    chat_id: int,
    user_id: int,
    action: str,
    report: Report,
    card_message_id: int | None,
    who: str,
    text: str,
    update_id: int,
    now: dt.datetime,
) -> Asked:
    """Record a prompt for ``user_id`` in ``chat_id`` (replacing any earlier one of theirs)."""
    pending = session.exec(
        select(PendingInput).where(PendingInput.chat_id == chat_id, PendingInput.user_id == user_id)
    ).first() or PendingInput(chat_id=chat_id, user_id=user_id, action=action)
    key = f"prompt:{chat_id}:{user_id}:{report.id}:{action}:u{update_id}"
    pending.action = action
    pending.report_id = report.id
    pending.created_at = now
    pending.data = {
        "card_message_id": card_message_id,
        "who": who,
        "status": report.status,
        "department": report.department,
        "prompt_key": key,
        "prompt_text": text,
    }
    session.add(pending)
    session.flush()
    return Asked(pending, key)


def pending_of(session: Session, *, chat_id: int, user_id: int) -> PendingInput | None:
    """Return the prompt ``user_id`` has open in ``chat_id``, if any."""
    return session.exec(
        select(PendingInput).where(PendingInput.chat_id == chat_id, PendingInput.user_id == user_id)
    ).first()


def prompt_message_id(session: Session, pending: PendingInput) -> int | None:
    """Return the message id the prompt was delivered as (None while not yet sent)."""
    key = pending.data.get("prompt_key")
    if not key:
        return None
    return session.exec(
        select(OutboxMessage.result_message_id).where(OutboxMessage.idempotency_key == key)
    ).first()


def answers(
    session: Session,
    pending: PendingInput,
    *,
    reply_to_message_id: int | None,
    reply_to_text: str,
) -> bool:
    """Return True if a message replying to ``reply_to_message_id`` answers ``pending``."""
    if reply_to_message_id is None:
        return False
    sent_as = prompt_message_id(session, pending)
    if sent_as is not None:
        return sent_as == reply_to_message_id
    return bool(reply_to_text) and reply_to_text == pending.data.get("prompt_text")


def expired(pending: PendingInput, now: dt.datetime) -> bool:
    """Return True once the prompt is older than ``PROMPT_TTL``."""
    return pending.created_at + PROMPT_TTL <= now


def moved_on(pending: PendingInput, report: Report | None) -> bool:
    """Return True if the report changed status or department since the prompt was asked."""
    if report is None:
        return True
    data: dict[str, Any] = pending.data
    return report.status != data.get("status") or report.department != data.get("department")


def due_to_expire(session: Session, *, now: dt.datetime, limit: int = 500) -> list[PendingInput]:
    """Return prompts older than ``PROMPT_TTL`` (oldest first)."""
    return list(
        session.exec(
            select(PendingInput)
            .where(col(PendingInput.created_at) <= now - PROMPT_TTL)
            .order_by(col(PendingInput.created_at))
            .limit(limit)
        ).all()
    )
