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
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.services import Services
from bot.telegram.transport import BotApi, BotApiError
from handlers.context import Ctx, queue_outbox
from handlers.entry import handle
from handlers.events import Event
from storage import inbox, outbox
from storage.db import begin_write
from storage.models import InboxStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """The answer to a button press, sent directly once the update is committed."""

    callback_id: str
    text: str
    alert: bool


async def send_answer(api: BotApi, answer: CallbackAnswer) -> None:
    """Answer a button press; a late or failed answer is only a cosmetic loss."""
    payload: dict[str, object] = {"callback_query_id": answer.callback_id}
    if answer.text:
        payload["text"] = mask_personal_numbers(answer.text)
        payload["show_alert"] = answer.alert
    try:
        await api.call("answerCallbackQuery", payload)
    except BotApiError as error:
        log.info("callback answer failed error=%s", error.description)


BATCH = 20  # updates handled in one transaction (see ``_process_batch``)
WINDOW = 200  # pending updates looked at to choose what to handle next


def process_pending(
    services: Services, *, limit: int = WINDOW, batch: int = BATCH
) -> tuple[int, list[CallbackAnswer]]:
    """Handle up to ``limit`` pending updates; return how many, and the answers to send.

    Button presses go first (``_presses_first``): someone is looking at a spinner, while a
    new message can wait a moment. The running bot asks for one batch at a time, so a press
    that arrives meanwhile waits behind one small batch at most, not behind a backlog.
    """
    with Session(services.engine, expire_on_commit=False) as session:
        pending = [
            (row.update_id, row.payload)
            for row in inbox.pending_updates(session=session, limit=max(limit, WINDOW))
        ]
    schedule = _presses_first(pending)
    followed = _followed_by_a_message(pending)
    _ask_membership(services, schedule)
    handled, looked_at = 0, 0
    answers: list[CallbackAnswer] = []
    while handled < limit and looked_at < len(schedule):
        done, used, batch_answers = _process_batch(
            services, schedule[looked_at:], followed, size=min(batch, limit - handled)
        )
        handled += done
        looked_at += used
        answers.extend(batch_answers)
    return handled, answers


def _ask_membership(services: Services, schedule: list[tuple[int, dict]]) -> None:
    """Ask Telegram, before any transaction opens, whether group pressers are members.

    The answers are cached (``bot.infra.membership``), so the handlers read them without
    calling Telegram while they hold the database's write lock.
    """
    if services.membership is None:
        return
    for _, payload in schedule:
        query = payload.get("callback_query")
        chat = _chat_of(payload)
        user = query.get("from") if isinstance(query, dict) else None
        user_id = user.get("id") if isinstance(user, dict) else None
        if chat is not None and chat < 0 and isinstance(user_id, int):
            services.membership(chat, user_id)


def _presses_first(pending: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """Return ``pending`` with button presses moved ahead, each chat keeping its own order.

    A press moves ahead only if nothing earlier from its chat is pending, so no chat ever
    sees its updates handled out of order.
    """
    first: list[tuple[int, dict]] = []
    rest: list[tuple[int, dict]] = []
    seen: set[int] = set()
    for update_id, payload in pending:
        chat = _chat_of(payload)
        if chat is None:
            rest.append((update_id, payload))
            continue
        if chat not in seen and isinstance(payload.get("callback_query"), dict):
            first.append((update_id, payload))
        else:
            rest.append((update_id, payload))
        seen.add(chat)
    return first + rest


@dataclass
class _Batch:
    """The updates a batch claimed, and how many candidates it looked at to find them."""

    updates: list[tuple[int, dict]] = field(default_factory=list)
    looked: int = 0


def _process_batch(
    services: Services,
    candidates: list[tuple[int, dict]],
    followed: set[int],
    *,
    size: int,
) -> tuple[int, int, list[CallbackAnswer]]:
    """Claim up to ``size`` of ``candidates`` and handle them in one session and one commit.

    Returns how many were handled, how many candidates were looked at, and the answers.
    Each update is still all or nothing: if anything goes wrong — a malformed update, a
    handler error, the commit — the whole batch rolls back and every update in it is handled
    again in its own transaction (``process_one``), where only the failing one is marked
    failed. Handlers are deterministic given the database, so the others end up exactly as
    if they had been handled alone. Between updates the session forgets what it loaded, so
    each update reads the database as a fresh session would.
    """
    batch = _Batch()
    if size > 1:
        try:
            answers = _try_batch(services, candidates, followed, size, batch)
            return len(batch.updates), batch.looked, answers
        except Exception as exc:  # noqa: BLE001 - handled again one by one, logged there
            log.info(
                "batch rolled back, handling one by one updates=%s error=%s",
                [update_id for update_id, _ in batch.updates],
                type(exc).__name__,
            )
    if not batch.updates:  # a batch of one, or the claim failed: go on with the next candidate
        batch = _Batch(candidates[:1], 1)
    answers = []
    for update_id, payload in batch.updates:
        answer = process_one(
            services, update_id=update_id, payload=payload, followed=update_id in followed
        )
        if answer is not None:
            answers.append(answer)
    return len(batch.updates), batch.looked, answers


def _try_batch(
    services: Services,
    candidates: list[tuple[int, dict]],
    followed: set[int],
    size: int,
    batch: _Batch,
) -> list[CallbackAnswer]:
    """Handle the batch in one transaction; raise (having changed nothing) on any failure.

    Fills ``batch`` as it claims, so the caller can handle the claimed updates one by one
    if the batch fails.
    """
    answers: list[CallbackAnswer] = []
    done: list[tuple[int, dt.datetime]] = []
    with Session(services.engine, expire_on_commit=False) as session:
        # SQLite's claim is a write: the batch holds the only write lock from here to the
        # commit, so what it loaded stays current. On PostgreSQL other instances commit
        # meanwhile, so each update starts from a session that has forgotten what it loaded.
        fresh_each = session.get_bind().dialect.name != "sqlite"
        begin_write(session)
        _claim(session, candidates, size, batch)
        for update_id, payload in batch.updates:
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


def _claim(
    session: Session,
    candidates: list[tuple[int, dict]],
    size: int,
    batch: _Batch,
) -> None:
    """Claim candidates in order into ``batch`` until it holds ``size``.

    Another instance (PostgreSQL) may hold some: those are skipped, and so is anything later
    from the same chat, which must wait until the other instance has handled the earlier one.
    """
    held_chats: set[int] = set()
    while len(batch.updates) < size and batch.looked < len(candidates):
        chunk = candidates[batch.looked : batch.looked + size - len(batch.updates)]
        batch.looked += len(chunk)
        got = set(inbox.claim_updates(session=session, update_ids=[u for u, _ in chunk]))
        for update_id, payload in chunk:
            chat = _chat_of(payload)
            if update_id not in got:
                if chat is not None:
                    held_chats.add(chat)
            elif chat is not None and chat in held_chats:
                continue  # claimed, but left pending: an earlier one of its chat is elsewhere
            else:
                batch.updates.append((update_id, payload))


def _followed_by_a_message(pending: list[tuple[int, dict]]) -> set[int]:
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


def _chat_of(payload: dict) -> int | None:
    """Return the chat an update belongs to (a press: the chat of its message), or None."""
    for key in ("message", "edited_message", "my_chat_member", "chat_member"):
        part = payload.get(key)
        if isinstance(part, dict):
            chat = part.get("chat")
            chat_id = chat.get("id") if isinstance(chat, dict) else None
            return chat_id if isinstance(chat_id, int) else None
    query = payload.get("callback_query")
    message = query.get("message") if isinstance(query, dict) else None
    chat = message.get("chat") if isinstance(message, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    return chat_id if isinstance(chat_id, int) else None


def _message_chat(payload: dict) -> int | None:
    """Return the chat of a plain new message, or None (for anything else or malformed)."""
    return _chat_of(payload) if isinstance(payload.get("message"), dict) else None


def process_one(
    services: Services,
    *,
    update_id: int,
    payload: dict,
    followed: bool = False,
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
            begin_write(session)
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
    queue_outbox(ctx, key=f"u{update_id}")


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
