"""The outbox of Bot API calls to make (DESIGN.md decision 3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import OutboxMessage, OutboxStatus
from storage.sql import insert_for


def enqueue(
    *,
    session: Session,
    chat_id: int,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    method: str = "sendMessage",
    purpose: str = "",
    report_id: int | None = None,
) -> bool:
    """Queue one Bot API call; a second call with the same key is ignored. Return True if new."""
    statement = (
        insert_for(session, OutboxMessage)
        .values(
            chat_id=chat_id,
            method=method,
            payload=payload,
            purpose=purpose,
            report_id=report_id,
            idempotency_key=idempotency_key,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_try_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage.__table__.c.id)
    )
    return session.execute(statement).first() is not None


def due_messages(*, session: Session, now: datetime, limit: int = 100) -> Sequence[OutboxMessage]:
    """Return pending messages whose next try is due, oldest first."""
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, col(OutboxMessage.next_try_at) <= now)
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    ).all()


def messages_for_chat(*, session: Session, chat_id: int) -> Sequence[OutboxMessage]:
    """Return every queued or sent message for one chat, in queue order."""
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id)
        .order_by(col(OutboxMessage.id))
    ).all()
