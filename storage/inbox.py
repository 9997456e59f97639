"""The inbox of received updates (DESIGN.md decision 2): durable and idempotent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import InboxStatus, InboxUpdate
from storage.sql import insert_for


def record_updates(*, session: Session, updates: Iterable[dict[str, Any]], now: datetime) -> int:
    """Store raw updates, ignoring ids already stored; return how many were new.

    Telegram delivers at least once, so a repeated update id changes nothing.
    """
    rows = [
        {
            "update_id": int(update["update_id"]),
            "payload": update,
            "status": InboxStatus.PENDING,
            "attempts": 0,
            "received_at": now,
        }
        for update in updates
    ]
    if not rows:
        return 0
    statement = (
        insert_for(session, InboxUpdate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(col(InboxUpdate.update_id))
    )
    return len(session.execute(statement).all())


def pending_updates(*, session: Session, limit: int = 100) -> Sequence[InboxUpdate]:
    """Return stored updates not yet handled, in update order."""
    return session.exec(
        select(InboxUpdate)
        .where(InboxUpdate.status == InboxStatus.PENDING)
        .order_by(col(InboxUpdate.update_id))
        .limit(limit)
    ).all()


def claim_update(*, session: Session, update_id: int) -> InboxUpdate | None:
    """Lock a pending update for this transaction; None if handled or held by another process.

    On PostgreSQL the row is taken ``FOR UPDATE SKIP LOCKED``, so two instances sharing the
    inbox never handle the same update; SQLite (one instance) ignores the lock.
    """
    return session.exec(
        select(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.status == InboxStatus.PENDING)
        .with_for_update(skip_locked=True)
    ).first()


def mark_update(
    *,
    session: Session,
    update_id: int,
    status: InboxStatus,
    now: datetime,
    error: str | None = None,
) -> None:
    """Record the outcome of handling one update."""
    row = session.get(InboxUpdate, update_id)
    if row is None:
        return
    row.status = status
    row.attempts += 1
    row.processed_at = now
    row.error = error
    session.add(row)


def last_update_id(*, session: Session) -> int | None:
    """Return the highest update id ever stored (the next getUpdates offset is this + 1)."""
    return session.exec(
        select(InboxUpdate.update_id).order_by(col(InboxUpdate.update_id).desc()).limit(1)
    ).first()
