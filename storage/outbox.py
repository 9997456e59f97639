"""The outbox of Bot API calls to make: every message the bot sends is a row here first.

Handlers and services queue rows in the same transaction as the state change that calls for
them; the delivery worker (``bot.infra.delivery``) sends them in order per chat. A row's payload
is the Bot API call's JSON; a local file to upload (a digest's chart or workbook) is queued as
``{UPLOAD: "/path"}`` and turned into an upload only by the transport, only from the digest
directory.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.groups import cards_in_chat, move_chat_rows
from storage.models import OutboxMessage, OutboxStatus, Report
from storage.sql import insert_for

UPLOAD = "$upload"  # {UPLOAD: "/path"} in a payload: a local file to upload
CARD = "card"  # purpose of a report's card; a sent one records the report's card ids
CARD_BATCH = "card_batch"  # purpose of the one list message that announces a burst of cards


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
        .returning(col(OutboxMessage.id))
    )
    return session.execute(statement).first() is not None


def enqueue_many(*, session: Session, messages: Sequence[dict[str, Any]]) -> int:
    """Queue many outbox rows at once (the bulk twin of ``enqueue``); return how many new.

    Each message has ``chat_id``, ``method``, ``payload``, ``purpose``, ``report_id``,
    ``idempotency_key`` and ``now``; a key already queued is ignored, as with ``enqueue``.
    """
    if not messages:
        return 0
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    statement = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    )
    rows = [
        {
            "chat_id": message["chat_id"],
            "method": message["method"],
            "payload": message["payload"],
            "purpose": message["purpose"],
            "report_id": message["report_id"],
            "idempotency_key": message["idempotency_key"],
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_try_at": message["now"],
            "created_at": message["now"],
        }
        for message in messages
    ]
    return len(session.execute(statement, rows).all())


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


# --- the delivery worker's queries (bot/infra/delivery.py) ----------------------------------
#
# A chat's rows are sent in id order: only the oldest pending row of a chat (its "head") can be
# claimed, so while one worker holds a head nobody else touches that chat. A claim leases the
# head by pushing ``next_try_at`` forward and bumping ``attempts``; ``attempts`` is then the
# fencing token every later update checks, so a worker whose lease ran out changes nothing.


def claim_heads(
    *,
    session: Session,
    now: datetime,
    lease_until: datetime,
    limit: int,
    exclude_chats: Collection[int] = (),
    owner: int | None = None,
) -> list[OutboxMessage]:
    """Lease the due head row of up to ``limit`` chats and return them, oldest first.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``, so two workers
    claiming at the same time never get the same row. ``owner`` names the leasing instance
    (see ``release_leases_of``).
    """
    earlier = aliased(OutboxMessage)
    has_earlier = (
        select(earlier.id)
        .where(
            earlier.chat_id == OutboxMessage.chat_id,
            earlier.status == OutboxStatus.PENDING,
            col(earlier.id) < col(OutboxMessage.id),
        )
        .exists()
    )
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            col(OutboxMessage.next_try_at) <= now,
            ~has_earlier,
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if exclude_chats:
        query = query.where(col(OutboxMessage.chat_id).not_in(list(exclude_chats)))
    rows = list(session.exec(query).all())
    for row in rows:
        row.attempts += 1
        row.next_try_at = lease_until
        row.lease_owner = owner
        session.add(row)
    session.flush()
    return rows


def lease_owners(*, session: Session, now: datetime) -> list[int]:
    """Return the instances holding a lease (or a backoff) on a pending row at ``now``."""
    return list(
        session.exec(
            select(OutboxMessage.lease_owner)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                col(OutboxMessage.next_try_at) > now,
                col(OutboxMessage.lease_owner).is_not(None),
            )
            .distinct()
        ).all()  # type: ignore[arg-type]
    )


def release_leases_of(*, session: Session, owners: Collection[int], now: datetime) -> int:
    """Make the pending rows leased by ``owners`` (instances known to be gone) due now.

    A dead instance's rows would otherwise wait for their lease to run out. Whether a row's
    send reached Telegram before the instance died is unknown: as after any crash, it may be
    sent twice.
    """
    if not owners:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.status) == OutboxStatus.PENDING,
            col(OutboxMessage.next_try_at) > now,
            col(OutboxMessage.lease_owner).in_(list(owners)),
        )
        .values(next_try_at=now, lease_owner=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def release_all(*, session: Session, now: datetime) -> int:
    """Make every pending row due at ``now``; return how many were leased or backing off.

    Only for a worker that knows no other worker is running (SQLite's instance lock): a
    lease then belongs to a process that is gone.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.status) == OutboxStatus.PENDING, col(OutboxMessage.next_try_at) > now
        )
        .values(next_try_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _fenced(message_id: int, attempts: int) -> Any:
    """Return the WHERE clause matching a row still pending under the given lease."""
    return (
        col(OutboxMessage.id) == message_id,
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.attempts == attempts,
    )


def mark_sent(
    *,
    session: Session,
    message_id: int,
    attempts: int,
    now: datetime,
    result_message_id: int | None,
) -> bool:
    """Record a row as sent (if the caller's lease still holds); return True if it did."""
    result = session.execute(
        update(OutboxMessage)
        .where(*_fenced(message_id, attempts))
        .values(
            status=OutboxStatus.SENT,
            sent_at=now,
            result_message_id=result_message_id,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def reschedule(
    *,
    session: Session,
    message_id: int,
    attempts: int,
    next_try_at: datetime,
    last_error: str | None,
    count_attempt: bool = True,
) -> bool:
    """Put a leased row back in the queue for ``next_try_at``; return True if it did.

    With ``count_attempt=False`` (a 429, a migration, waiting for a card) the attempt is given
    back, so only real failures count towards giving up.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(*_fenced(message_id, attempts))
        .values(
            next_try_at=next_try_at,
            last_error=last_error,
            attempts=attempts if count_attempt else attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_failed(*, session: Session, message_id: int, attempts: int, last_error: str) -> bool:
    """Give up on a leased row for good; return True if it did."""
    result = session.execute(
        update(OutboxMessage)
        .where(*_fenced(message_id, attempts))
        .values(status=OutboxStatus.FAILED, last_error=last_error)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def pending_of_chat(*, session: Session, chat_id: int, limit: int) -> Sequence[OutboxMessage]:
    """Return a chat's pending rows in send order (the head first)."""
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    ).all()


def count_pending(*, session: Session, chat_id: int, purpose: str) -> int:
    """Return how many rows with ``purpose`` wait in a chat's queue."""
    return session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.purpose == purpose,
        )
    ).scalar_one()


def card_chat(*, session: Session, report: Report) -> int | None:
    """Return the chat holding the report's card (sent or still queued), None without one."""
    if report.card_message_id is not None and report.card_chat_id is not None:
        return report.card_chat_id
    pending = first_pending(session=session, report_id=report.id or 0, purpose=CARD)
    return pending.chat_id if pending is not None else None


def first_pending(*, session: Session, report_id: int, purpose: str) -> OutboxMessage | None:
    """Return the oldest pending row with ``purpose`` for the report, if one waits."""
    return session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.report_id == report_id,
            OutboxMessage.purpose == purpose,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .order_by(col(OutboxMessage.id))
        .limit(1)
    ).first()


def sent_with_purpose(
    *, session: Session, chat_id: int, result_message_id: int, purpose: str
) -> OutboxMessage | None:
    """Return the sent row with ``purpose`` that produced a message, if any."""
    return session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.result_message_id == result_message_id,
            OutboxMessage.purpose == purpose,
            OutboxMessage.status == OutboxStatus.SENT,
        )
        .limit(1)
    ).first()


def mark_coalesced(
    *,
    session: Session,
    message_ids: Sequence[int],
    now: datetime,
    result_message_id: int,
) -> int:
    """Mark pending rows as delivered inside a combined message; return how many were."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(list(message_ids)),
            col(OutboxMessage.status) == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.SENT, sent_at=now, result_message_id=result_message_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def record_sent(
    *,
    session: Session,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    purpose: str,
    idempotency_key: str,
    now: datetime,
    result_message_id: int | None,
) -> OutboxMessage:
    """Add a row for a call the worker made itself (a combined message), already sent."""
    row = OutboxMessage(
        chat_id=chat_id,
        method=method,
        payload=payload,
        purpose=purpose,
        idempotency_key=idempotency_key,
        status=OutboxStatus.SENT,
        attempts=1,
        next_try_at=now,
        created_at=now,
        sent_at=now,
        result_message_id=result_message_id,
    )
    session.add(row)
    session.flush()
    return row


def migrate_chat(*, session: Session, old_chat_id: int, new_chat_id: int) -> dict[str, int]:
    """Move everything addressed to a group that became a supergroup; return counts per table.

    Bindings, leaders' chats, pending prompts and the group's record take the new id; pending
    rows move to the new chat (``move_pending``). Message ids are per chat, so report cards in
    the old chat are forgotten (``cards``), not moved: the caller posts the open ones again.
    """
    counts = move_chat_rows(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    counts["cards"] = len(cards_in_chat(session=session, chat_id=old_chat_id))
    counts["outbox"] = move_pending(
        session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id
    )
    return counts


def move_pending(*, session: Session, old_chat_id: int, new_chat_id: int) -> int:
    """Move a chat's pending rows to its new id; return how many moved.

    A row addressing a message of the old chat by its id cannot follow (that id means nothing in
    the new chat): an edit of it is dropped, a reply to it is sent as a plain message. Card
    placeholders follow, as they resolve to the card wherever it is posted next.
    """
    rows = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.chat_id == old_chat_id, OutboxMessage.status == OutboxStatus.PENDING
        )
    ).all()
    for row in rows:
        payload = {**row.payload, "chat_id": new_chat_id}
        if isinstance(payload.get("message_id"), int):
            row.status = OutboxStatus.FAILED
            row.last_error = f"a message of chat {old_chat_id}, which became {new_chat_id}"
        reply = payload.get("reply_parameters")
        if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
            del payload["reply_parameters"]
        row.chat_id = new_chat_id
        row.payload = payload
        session.add(row)
    session.flush()
    return len(rows)


def cancel_pending(
    *, session: Session, chat_id: int, reason: str, report_ids: Collection[int] | None = None
) -> int:
    """Give up on a chat's pending rows (those about ``report_ids``, if given); return how many."""
    where: list[Any] = [
        OutboxMessage.chat_id == chat_id,
        OutboxMessage.status == OutboxStatus.PENDING,
    ]
    if report_ids is not None:
        where.append(col(OutboxMessage.report_id).in_(list(report_ids)))
    result = session.execute(
        update(OutboxMessage)
        .where(*where)
        .values(status=OutboxStatus.FAILED, last_error=reason[:2000])
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
