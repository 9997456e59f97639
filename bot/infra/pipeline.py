"""From the inbox to the outbox: handle each stored update in one transaction.

For every pending update, in update order: build the neutral event, run the handlers, write
the calls they queued to the outbox, mark the update done — and commit all of it at once. A
crash before the commit leaves the update pending (handled again, nothing doubled); after it,
nothing is lost. A handler error rolls back, marks the update failed with the error, logs the
traceback and tells the person in plain Chinese; it never reaches them as a traceback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session

from bot.core.messages import t
from bot.services import Services
from handlers.context import Ctx
from handlers.entry import handle
from handlers.events import Event
from storage import inbox, outbox
from storage.models import InboxStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """The answer to a button press, sent directly once the update is committed."""

    callback_id: str
    text: str
    alert: bool


def process_pending(services: Services, *, limit: int = 200) -> tuple[int, list[CallbackAnswer]]:
    """Handle up to ``limit`` pending updates; return how many, and the answers to send."""
    with Session(services.engine, expire_on_commit=False) as session:
        pending = [
            (row.update_id, row.payload)
            for row in inbox.pending_updates(session=session, limit=limit)
        ]
    answers: list[CallbackAnswer] = []
    followed = _followed_by_a_message(pending)
    for update_id, payload in pending:
        answer = process_one(
            services, update_id=update_id, payload=payload, followed=update_id in followed
        )
        if answer is not None:
            answers.append(answer)
    return len(pending), answers


def _followed_by_a_message(pending: list[tuple[int, dict]]) -> set[int]:  # type: ignore[type-arg]
    """Return the updates after which the same chat already sent another message.

    An observer on a weak signal often sends several messages at once (text, photos, more
    text); answering each with a preview would flood their phone, so only the last one does.
    """
    chats = [(update_id, _message_chat(payload)) for update_id, payload in pending]
    last_message_of = {chat: update_id for update_id, chat in chats if chat is not None}
    return {
        update_id
        for update_id, chat in chats
        if chat is not None and last_message_of[chat] != update_id
    }


def _message_chat(payload: dict) -> int | None:  # type: ignore[type-arg]
    """Return the chat of a plain new message, or None (for anything else or malformed)."""
    message = payload.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    return chat_id if isinstance(chat_id, int) else None


def process_one(
    services: Services,
    *,
    update_id: int,
    payload: dict,
    followed: bool = False,  # type: ignore[type-arg]
) -> CallbackAnswer | None:
    """Handle one stored update and commit its effects; return its callback answer, if any.

    ``followed`` says the same chat has already sent another message after this one.
    """
    now = services.clock()
    try:
        event = Event.from_update(payload, bot_username=services.bot_username)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # Not an update Telegram would send; keep it, marked failed, and tell nobody.
        log.warning("malformed update=%s error=%s", update_id, type(exc).__name__)
        _fail(
            services,
            Event(update_id=update_id, kind="other"),
            update_id=update_id,
            error=f"malformed update: {type(exc).__name__}: {exc}",
        )
        return None
    try:
        with Session(services.engine, expire_on_commit=False) as session:
            if inbox.claim_update(session=session, update_id=update_id) is None:
                return None  # another instance is handling it, or already has
            ctx = Ctx(services=services, session=session, now=now, followed=followed)
            handle(event, ctx)
            _queue(session, ctx, update_id=update_id)
            inbox.mark_update(
                session=session, update_id=update_id, status=InboxStatus.DONE, now=now
            )
            session.commit()
            answer = ctx.out.answer
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into a reply
        log.exception(
            "update failed update=%s kind=%s chat=%s", update_id, event.kind, event.chat_id
        )
        _fail(services, event, update_id=update_id, error=f"{type(exc).__name__}: {exc}")
        return (
            CallbackAnswer(event.callback_id, t("common.error"), True)
            if event.callback_id
            else None
        )
    if event.callback_id:
        text, alert = answer if answer is not None else ("", False)
        return CallbackAnswer(event.callback_id, text, alert)
    return None


def _queue(session: Session, ctx: Ctx, *, update_id: int) -> None:
    """Write the handler's calls to the outbox, keyed by the update so a replay adds nothing."""
    for index, call in enumerate(ctx.out.calls):
        outbox.enqueue(
            session=session,
            chat_id=call.chat_id,
            method=call.method,
            payload=call.payload,
            purpose=call.purpose,
            report_id=call.report_id,
            idempotency_key=call.key or f"u{update_id}:{index}",
            now=ctx.now,
        )


def _fail(services: Services, event: Event, *, update_id: int, error: str) -> None:
    """Record a failed update and tell the person something went wrong (never a traceback)."""
    now = services.clock()
    with Session(services.engine, expire_on_commit=False) as session:
        inbox.mark_update(
            session=session,
            update_id=update_id,
            status=InboxStatus.FAILED,
            now=now,
            error=error[:2000],
        )
        if event.private and event.chat_id and event.kind != "callback":
            outbox.enqueue(
                session=session,
                chat_id=event.chat_id,
                payload={"chat_id": event.chat_id, "text": t("common.error")},
                idempotency_key=f"u{update_id}:error",
                now=now,
                purpose="error",
            )
        session.commit()
