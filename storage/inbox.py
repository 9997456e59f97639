"""The inbox of received updates (docs/ARCHITECTURE.md, decision 2): durable and idempotent."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
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


def claim_updates(*, session: Session, update_ids: Collection[int]) -> list[int]:
    """Claim the still-pending updates among ``update_ids`` for this transaction; return them.

    The batch twin of ``claim_update``: one statement that also counts the attempt. On
    PostgreSQL the rows are taken ``FOR UPDATE SKIP LOCKED``, so an update held or already
    handled by another instance is not returned. Being a write, it also starts SQLite's
    write transaction at once, so nothing another connection commits can change what this
    transaction reads until it ends.
    """
    if not update_ids:
        return []
    free = (
        select(InboxUpdate.update_id)
        .where(
            col(InboxUpdate.update_id).in_(list(update_ids)),
            InboxUpdate.status == InboxStatus.PENDING,
        )
        .with_for_update(skip_locked=True)
    )
    claimed: Sequence[int] = session.scalars(
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id).in_(free.scalar_subquery()))
        .values(attempts=col(InboxUpdate.attempts) + 1)
        .returning(col(InboxUpdate.update_id))
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(claimed)


def mark_done(*, session: Session, done: Sequence[tuple[int, datetime]]) -> None:
    """Mark claimed updates handled, each at its own instant (the attempt is already counted)."""
    if not done:
        return
    table = InboxUpdate.__table__  # type: ignore[attr-defined]
    session.execute(
        update(table)
        .where(table.c.update_id == bindparam("claimed"))
        .values(status=InboxStatus.DONE, processed_at=bindparam("at"), error=None),
        [{"claimed": update_id, "at": at} for update_id, at in done],
    )
