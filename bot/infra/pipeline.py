"""From the inbox to the outbox: handle each stored update in one transaction.

For every pending update, in update order: build the neutral event, run the handlers, write
the calls they queued to the outbox, mark the update done — and commit all of it at once. A
crash before the commit leaves the update pending (handled again, nothing doubled); after it,
nothing is lost. A handler error rolls back, marks the update failed with the error, logs the
traceback and tells the person in plain Chinese; it never reaches them as a traceback.
"""

from __future__ import annotations

import datetime as dt
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


BATCH = 50  # updates handled in one transaction (see ``_process_batch``)


def process_pending(
    services: Services, *, limit: int = 200, batch: int = BATCH
) -> tuple[int, list[CallbackAnswer]]:
    """Handle up to ``limit`` pending updates; return how many, and the answers to send."""
    with Session(services.engine, expire_on_commit=False) as session:
        pending = [
            (row.update_id, row.payload)
            for row in inbox.pending_updates(session=session, limit=limit)
        ]
    answers: list[CallbackAnswer] = []
    followed = _followed_by_a_message(pending)
    for start in range(0, len(pending), max(1, batch)):
        answers.extend(_process_batch(services, pending[start : start + batch], followed))
    return len(pending), answers


def _process_batch(
    services: Services,
    updates: list[tuple[int, dict]],  # type: ignore[type-arg]
    followed: set[int],
) -> list[CallbackAnswer]:
    """Handle several updates in one session and one commit; one by one if any fails.

    Each update is still all or nothing: if anything goes wrong — a malformed update, a
    handler error, the commit — the whole batch rolls back and every update in it is handled
    again in its own transaction (``process_one``), where only the failing one is marked
    failed. Handlers are deterministic given the database, so the others end up exactly as
    if they had been handled alone. Between updates the session forgets what it loaded, so
    each update reads the database as a fresh session would.
    """
    if len(updates) > 1:
        try:
            return _try_batch(services, updates, followed)
        except Exception as exc:  # noqa: BLE001 - handled again one by one, logged there
            log.info(
                "batch rolled back, handling one by one updates=%s..%s error=%s",
                updates[0][0],
                updates[-1][0],
                type(exc).__name__,
            )
    answers: list[CallbackAnswer] = []
    for update_id, payload in updates:
        answer = process_one(
            services, update_id=update_id, payload=payload, followed=update_id in followed
        )
        if answer is not None:
            answers.append(answer)
    return answers


def _try_batch(
    services: Services,
    updates: list[tuple[int, dict]],  # type: ignore[type-arg]
    followed: set[int],
) -> list[CallbackAnswer]:
    """Handle ``updates`` in one transaction; raise (having changed nothing) on any failure."""
    answers: list[CallbackAnswer] = []
    done: list[tuple[int, dt.datetime]] = []
    with Session(services.engine, expire_on_commit=False) as session:
        # SQLite's claim is a write: the batch holds the only write lock from here to the
        # commit, so what it loaded stays current. On PostgreSQL other instances commit
        # meanwhile, so each update starts from a session that has forgotten what it loaded.
        fresh_each = session.get_bind().dialect.name != "sqlite"
        claimed = set(
            inbox.claim_updates(session=session, update_ids=[update_id for update_id, _ in updates])
        )
        for update_id, payload in updates:
            if update_id not in claimed:
                continue  # another instance is handling it, or already has
            if fresh_each:
                session.expire_all()
            now = services.clock()
            event = Event.from_update(payload, bot_username=services.bot_username)
            ctx = Ctx(services=services, session=session, now=now, followed=update_id in followed)
            handle(event, ctx)
            _queue(session, ctx, update_id=update_id)
            done.append((update_id, now))
            if event.callback_id:
                text, alert = ctx.out.answer if ctx.out.answer is not None else ("", False)
                answers.append(CallbackAnswer(event.callback_id, text, alert))
        inbox.mark_done(session=session, done=done)
        session.commit()
    return answers


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
    """Write the handler's calls to the outbox, keyed by the update so a replay adds nothing.

    One multi-row INSERT for all of them, in the order they were queued (their ids, and so
    the order the delivery worker sends them in, follow that order).
    """
    outbox.enqueue_many(
        session=session,
        messages=[
            {
                "chat_id": call.chat_id,
                "method": call.method,
                "payload": call.payload,
                "purpose": call.purpose,
                "report_id": call.report_id,
                "idempotency_key": call.key or f"u{update_id}:{index}",
                "now": ctx.now,
            }
            for index, call in enumerate(ctx.out.calls)
        ],
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
