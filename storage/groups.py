"""Queries for groups that change under the bot: removed, rebound, migrated to a supergroup.

Each change is a conditional ``UPDATE … RETURNING``: the transaction that changes a row is the
one that acts on it, so two paths noticing the same change (an update from Telegram and a
refused send, or the two messages of a migration) never act twice. Message ids are per chat, so
a card pointer never follows a chat to a new id: it is cleared, and the card is posted again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import (
    OPEN_STATUSES,
    GroupBinding,
    KnownGroup,
    Leader,
    OutboxMessage,
    OutboxStatus,
    PendingInput,
    Report,
)

CARD_PURPOSES = ("card", "card_batch")


def deactivate_bindings(*, session: Session, chat_id: int, now: datetime) -> list[GroupBinding]:
    """Stop every active binding of ``chat_id``; return those this call stopped."""
    stopped = session.scalars(
        update(GroupBinding)
        .where(col(GroupBinding.chat_id) == chat_id, col(GroupBinding.active).is_(True))
        .values(active=False, left_at=now)
        .returning(col(GroupBinding.id))
        .execution_options(synchronize_session=False)
    ).all()
    if not stopped:
        return []
    return list(
        session.exec(
            select(GroupBinding)
            .where(col(GroupBinding.id).in_(list(stopped)))
            .execution_options(populate_existing=True)
        ).all()
    )


def inactive_bindings(*, session: Session, chat_id: int) -> Sequence[GroupBinding]:
    """Return the bindings of ``chat_id`` stopped when the bot left it."""
    return session.exec(
        select(GroupBinding).where(
            GroupBinding.chat_id == chat_id,
            col(GroupBinding.active).is_(False),
        )
    ).all()


def open_reports_in_chat(
    *, session: Session, chat_id: int, departments: Collection[str]
) -> list[Report]:
    """Return open reports of ``departments`` whose card is in ``chat_id`` or was queued for it
    and has not reached any chat (a card pending there, or refused there)."""
    queued = select(OutboxMessage.report_id).where(
        OutboxMessage.chat_id == chat_id,
        col(OutboxMessage.purpose).in_(CARD_PURPOSES),
        col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
        col(OutboxMessage.report_id).is_not(None),
    )
    in_chat = col(Report.card_chat_id) == chat_id
    uncarded = col(Report.card_chat_id).is_(None) & col(Report.id).in_(queued)
    return list(
        session.exec(
            select(Report)
            .where(
                in_chat | uncarded,
                col(Report.status).in_(OPEN_STATUSES),
                col(Report.department).in_(list(departments)),
            )
            .order_by(col(Report.id))
        ).all()
    )


def clear_cards(*, session: Session, report_ids: Collection[int], chat_id: int | None) -> list[int]:
    """Forget the card of each report (still in ``chat_id``, or not yet sent when None);
    return the reports this call cleared."""
    if not report_ids:
        return []
    where = (
        col(Report.card_chat_id).is_(None)
        if chat_id is None
        else col(Report.card_chat_id) == chat_id
    )
    return _cleared(session, col(Report.id).in_(list(report_ids)), where)


def cards_in_chat(*, session: Session, chat_id: int) -> list[int]:
    """Clear every card pointer into ``chat_id``; return the reports whose card was there."""
    return _cleared(session, col(Report.card_chat_id) == chat_id)


def _cleared(session: Session, *where: Any) -> list[int]:
    """Clear the card pointers of the reports matching ``where``; return their ids."""
    cleared = session.scalars(
        update(Report)
        .where(*where)
        .values(card_chat_id=None, card_message_id=None)
        .returning(col(Report.id))
        .execution_options(synchronize_session=False)
    ).all()
    return [report_id for report_id in cleared if report_id is not None]


def move_chat_rows(*, session: Session, old_chat_id: int, new_chat_id: int) -> dict[str, int]:
    """Point bindings, leaders and pending prompts of ``old_chat_id`` at ``new_chat_id``.

    A prompt forgets the card message it was asked on (that id means nothing in the new chat).
    Returns how many rows of each moved.
    """
    counts: dict[str, int] = {}
    for name, model in (("bindings", GroupBinding), ("leaders", Leader)):
        result = session.execute(
            update(model)
            .where(col(model.chat_id) == old_chat_id)
            .values(chat_id=new_chat_id)
            .execution_options(synchronize_session=False)
        )
        counts[name] = int(result.rowcount)  # type: ignore[attr-defined]
    prompts = session.exec(select(PendingInput).where(PendingInput.chat_id == old_chat_id)).all()
    for prompt in prompts:
        prompt.chat_id = new_chat_id
        prompt.data = {**prompt.data, "card_message_id": None}
        session.add(prompt)
    counts["prompts"] = len(prompts)
    counts["known_group"] = int(move_known_group(session=session, old=old_chat_id, new=new_chat_id))
    session.flush()
    return counts


def move_known_group(*, session: Session, old: int, new: int) -> bool:
    """Give the record of a group the bot knows the group's new id; return True if it moved."""
    known = session.get(KnownGroup, old)
    if known is None:
        return False
    if session.get(KnownGroup, new) is None:
        session.add(
            KnownGroup(
                chat_id=new,
                title=known.title,
                added_by=known.added_by,
                added_at=known.added_at,
                left_at=known.left_at,
            )
        )
    session.delete(known)
    session.flush()
    return True


def drop_prompts(*, session: Session, chat_id: int, report_ids: Collection[int]) -> int:
    """Delete the pending prompts in ``chat_id`` about ``report_ids``; return how many."""
    prompts = session.exec(
        select(PendingInput).where(
            PendingInput.chat_id == chat_id,
            col(PendingInput.report_id).in_(list(report_ids)),
        )
    ).all()
    for prompt in prompts:
        session.delete(prompt)
    return len(prompts)
