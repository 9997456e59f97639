"""The outbox worker: sends queued Bot API calls in order, within Telegram's limits.

Handlers write what to send as ``OutboxMessage`` rows (docs/ARCHITECTURE.md, decision 3);
this worker sends them through a ``BotApi`` and never loses one:

- **Order per chat.** Only the oldest pending row of a chat (its head) is ever claimed, so a
  chat's next row waits for the previous one — through 429s, backoffs and restarts. A head
  stays pending until its send's result is committed, so each chat has at most one send
  whose result is not yet recorded: after a crash (``kill -9``) at most one message per chat
  is sent again, however many chats were being sent to at once (tests/proof/test_crash.py).
- **Claims are leases.** Claiming a head pushes its ``next_try_at`` forward by ``lease`` and
  bumps ``attempts`` (the fencing token of every later update). On PostgreSQL heads are claimed
  ``FOR UPDATE SKIP LOCKED``, so several workers share the queue and never send a row twice;
  on SQLite run one worker. A crashed worker's rows are retried when their lease runs out —
  or at once when the new worker is the ``sole`` one (SQLite, whose instance lock guarantees
  that the lease's holder is gone), or ``take_back_leases()`` is called by a PostgreSQL
  instance that started alone (``bot.infra.instance.join_instances``): a chat's queue is not
  held up for a lease after a crash.
- **Pacing.** A ``Pacer`` keeps to about 30 messages/s overall, 1/s per private chat and 20/min
  per group (GCRA token buckets), so 429s are rare.
- **429** (``RetryAfter``): the chat waits ``retry_after`` and the same row is sent again; the
  attempt does not count.
- **Transient errors** (network, timeouts, 5xx): retried with capped exponential backoff and
  jitter; after ``RetryPolicy.give_up_after`` the row is failed like a permanent error. A
  refused token (``Unauthorized``) is logged as an error and retried without giving up.
- **Permanent errors** (blocked, chat not found, kicked, bad request): the row is failed with
  ``last_error``, a ``delivery_failed`` report event is recorded, and — for a report's message,
  once per chat and report — a notice is queued to the dispatch chat, looked up when the notice
  is queued (never remembered from start-up). A 403 from a bound group the bot is no longer in
  is the group lost (``handlers.groups.group_lost``): its bindings stop, its open reports go
  to dispatch with their cards, and dispatch, the administrators and the observers are told.
- **Migration** (``ChatMigrated``): bindings, leaders, prompts and the chat's pending rows move to
  the supergroup's id (``handlers.groups.migrate``), open cards are posted there again (a
  message id means nothing in another chat), and the row is sent there.
- **Card placeholders.** ``{"$card": report_id}`` anywhere in a payload becomes the report's
  ``card_message_id``; until the card is sent the row waits. A card that has moved to another
  chat since (or is queued after the row) is not addressed: an edit of it is skipped, a reply to
  it goes out as a plain message. A sent row with purpose ``card``
  records the report's ``card_chat_id``/``card_message_id``.
- **Bursts.** When a chat has more than ``coalesce_after`` pending ``card`` messages, they go out
  as one combined message (purpose ``card_batch``) listing the reports, with each card's buttons
  on its own row; the combined rows are marked sent with ``result_message_id`` pointing at it and
  each report's card is that message. A later ``editMessageText`` of such a card is sent as a
  new message replying to the list (and becomes the report's card); other edits of it are
  skipped.

``notify()`` wakes the worker at once (call it after committing new rows); otherwise it polls
every ``poll_interval`` seconds. ``stop()`` ends ``run()`` cleanly: sends in flight finish,
rows waiting for their pacing slot are handed back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.masking import mask_payload, mask_personal_numbers
from bot.core.messages import catalogue, t
from bot.infra.instance import InstancePresence
from bot.services import Services
from bot.services.reports import find_dispatch_chat
from bot.telegram.transport import (
    BotApi,
    BotApiError,
    ChatMigrated,
    PermanentError,
    Result,
    RetryAfter,
    Unauthorized,
)
from handlers import groups
from storage import groups as group_queries
from storage import outbox
from storage.db import begin_write, session_scope
from storage.models import GroupBinding, Observer, OutboxMessage, Report
from storage.outbox import CARD, CARD_BATCH
from storage.reports import add_event
from storage.types import utcnow

log = logging.getLogger(__name__)

DELIVERY_FAILED = "delivery_failed"
NOT_MODIFIED = "message is not modified"
EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup", "editMessageCaption"})
TEXT_BUDGET = 3900  # Telegram allows 4,096 UTF-16 units; leave room for the header
BUTTON_BUDGET = 100  # Telegram's maximum of inline buttons in one message


# --- limits, retries, pacing -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """Sending rates (messages per second) and bursts (messages at once) the pacer keeps to.

    The rates are Telegram's (a little under its 30/s overall); the bursts are smaller than the
    ones it tolerates, so the slack absorbs jitter (requests arriving closer together than they
    were sent, e.g. after a pause of the event loop).
    """

    global_rate: float = 28.0
    global_burst: float = 20.0
    private_rate: float = 1.0
    private_burst: float = 2.0
    group_rate: float = 20.0 / 60.0
    group_burst: float = 5.0

    @classmethod
    def unpaced(cls) -> Limits:
        """Limits no run reaches: for the loopback server with its flood limits off (tests, the
        demo, throughput), where pacing would only slow the bot down."""
        return cls(*(1e6,) * 6)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait between attempts, and when a transient failure becomes final."""

    base: float = 1.0  # seconds before the first retry (before jitter)
    cap: float = 300.0  # the longest wait between two attempts
    give_up_after: timedelta = timedelta(hours=24)  # since the row was queued
    card_wait: float = 1.0  # how often a row waiting for a card looks again

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Return the wait after the ``attempts``-th failure: exponential, capped, jittered."""
        ceiling = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def is_private(chat_id: int) -> bool:
    """Return True for a private chat (users have positive ids, groups negative ones)."""
    return chat_id > 0


class Pacer:
    """Reserves send slots within the global and per-chat limits (GCRA token buckets)."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic):
        self.limits = limits or Limits()
        self.clock = clock
        self._global = -math.inf
        self._chats: dict[int, float] = {}

    def _chat_rate(self, chat_id: int) -> tuple[float, float]:
        limits = self.limits
        if is_private(chat_id):
            return limits.private_rate, limits.private_burst
        return limits.group_rate, limits.group_burst

    def reserve_chat(self, chat_id: int) -> float:
        """Book the chat's next slot; return the seconds to wait for it.

        Then call ``reserve_global`` when that time has come: booking the global slot only when
        the chat is ready keeps a chat that must wait from holding up every other chat.
        """
        now = self.clock()
        rate, burst = self._chat_rate(chat_id)
        tat = max(self._chats.get(chat_id, now), now)
        at = max(now, tat - (burst - 1) / rate)
        self._chats[chat_id] = max(tat, at) + 1 / rate
        if len(self._chats) > 10_000:
            self._chats = {chat: due for chat, due in self._chats.items() if due > now}
        return at - now

    def reserve_global(self) -> float:
        """Book the bot's next slot overall; return the seconds to wait for it."""
        now = self.clock()
        rate, burst = self.limits.global_rate, self.limits.global_burst
        tat = max(self._global, now)
        at = max(now, tat - (burst - 1) / rate)
        self._global = max(tat, at) + 1 / rate
        return at - now

    def hold(self, chat_id: int, seconds: float) -> None:
        """Keep ``chat_id`` quiet for ``seconds`` (Telegram answered 429)."""
        now = self.clock()
        c_rate, c_burst = self._chat_rate(chat_id)
        tat = now + seconds + (c_burst - 1) / c_rate
        self._chats[chat_id] = max(self._chats.get(chat_id, now), tat)


# --- placeholders ----------------------------------------------------------------------------


def card_references(value: Any) -> set[int]:
    """Return the report ids of every ``{"$card": id}`` placeholder inside ``value``."""
    found: set[int] = set()
    if isinstance(value, dict):
        if set(value) == {"$card"}:
            found.add(int(value["$card"]))
        else:
            for item in value.values():
                found |= card_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= card_references(item)
    return found


def resolve_cards(value: Any, cards: dict[int, int]) -> Any:
    """Return ``value`` with each ``{"$card": id}`` replaced by ``cards[id]``."""
    if isinstance(value, dict):
        if set(value) == {"$card"}:
            return cards[int(value["$card"])]
        return {key: resolve_cards(item, cards) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_cards(item, cards) for item in value]
    return value


def placeholder_chats(payload: dict[str, Any], chat_id: int) -> dict[int, int]:
    """Return, for the card an edit targets or a reply quotes, the chat it is addressed in."""
    own = int(payload.get("chat_id", chat_id))
    found: dict[int, int] = {}
    target = payload.get("message_id")
    if isinstance(target, dict) and set(target) == {"$card"}:
        found[int(target["$card"])] = own
    reply = payload.get("reply_parameters")
    quoted = reply.get("message_id") if isinstance(reply, dict) else None
    if isinstance(reply, dict) and isinstance(quoted, dict) and set(quoted) == {"$card"}:
        found[int(quoted["$card"])] = int(reply.get("chat_id", own))
    return found


def without_moved_cards(payload: dict[str, Any], moved: set[int]) -> dict[str, Any]:
    """Return ``payload`` without a reply to one of the ``moved`` cards."""
    reply = payload.get("reply_parameters")
    quoted = reply.get("message_id") if isinstance(reply, dict) else None
    if isinstance(quoted, dict) and card_references(quoted) & moved:
        return {key: value for key, value in payload.items() if key != "reply_parameters"}
    return payload


def message_id_of(result: Result) -> int | None:
    """Return the id of the message a call produced (the first one of an album)."""
    if isinstance(result, dict):
        message_id = result.get("message_id")
        return int(message_id) if isinstance(message_id, int) else None
    if isinstance(result, list) and result and isinstance(result[0], dict):
        return message_id_of(result[0])
    return None


def chat_id_of(result: Result, default: int) -> int:
    """Return the chat a call's message landed in."""
    if isinstance(result, dict) and isinstance(result.get("chat"), dict):
        return int(result["chat"].get("id", default))
    return default


# --- the work of one row ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A leased row, detached from its session."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    purpose: str
    report_id: int | None
    attempts: int
    created_at: datetime

    @classmethod
    def of(cls, row: OutboxMessage) -> Claimed:
        """Copy the fields the worker needs from a row."""
        assert row.id is not None
        return cls(
            id=row.id,
            chat_id=row.chat_id,
            method=row.method,
            payload=dict(row.payload),
            purpose=row.purpose,
            report_id=row.report_id,
            attempts=row.attempts,
            created_at=row.created_at,
        )


@dataclass(slots=True)
class Plan:
    """What to do with a claimed row, decided in one database read."""

    action: Literal["send", "wait", "fail", "skip", "coalesce"]
    method: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    card_report_id: int | None = None  # record the sent message as this report's card
    reason: str = ""
    absorbed: list[int] = field(default_factory=list)  # rows the combined message carries
    reports: list[int] = field(default_factory=list)  # reports listed in it


@dataclass(slots=True)
class _BatchEntry:
    report_id: int | None
    row_ids: list[int]
    line: str
    buttons: list[dict[str, Any]]


def _snippet(text: str, width: int = 40) -> str:
    """Return the first ``width`` characters of ``text`` on one line, numbers masked."""
    flat = " ".join(mask_personal_numbers(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _buttons_of(payload: dict[str, Any], number: str) -> list[dict[str, Any]]:
    """Return a card's inline buttons in one row, the first labelled with the report's number."""
    markup = payload.get("reply_markup")
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        return []
    buttons = [dict(button) for row in markup["inline_keyboard"] for button in row]
    if buttons and number:
        buttons[0]["text"] = f"{number[-4:]} {buttons[0]['text']}"
    return buttons


def batch_message(chat_id: int, entries: list[_BatchEntry]) -> dict[str, Any]:
    """Return the sendMessage payload listing several new reports at once."""
    lines = [f"{index}. {entry.line}" for index, entry in enumerate(entries, 1)]
    text = t("delivery.batch_header", count=len(entries)) + "\n\n" + "\n".join(lines)
    rows = [entry.buttons for entry in entries if entry.buttons]
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if rows:
        payload["text"] += "\n\n" + t("delivery.batch_footer")
        payload["reply_markup"] = {"inline_keyboard": rows}
    return payload


class DeliveryWorker:
    """Sends the outbox through a ``BotApi``; see the module docstring for the guarantees."""

    def __init__(
        self,
        engine: Engine,
        api: BotApi,
        *,
        dispatch_chat_id: int | None = None,
        services: Services | None = None,
        now: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        coalesce_after: int = 5,
        poll_interval: float = 1.0,
        concurrency: int = 32,
        lease: timedelta = timedelta(minutes=2),
        shutdown_grace: float = 10.0,
        rng: random.Random | None = None,
        sole: bool = False,
    ) -> None:
        self.engine = engine
        self.api = api
        # With ``services`` (the running bot), dispatch is looked up when a notice is sent, and a
        # group that refuses the bot or migrates is followed (handlers.groups); without
        # them (tests of delivery alone), notices go to the fixed ``dispatch_chat_id``.
        self.dispatch_chat_id = dispatch_chat_id
        self.services = services
        self.now = now
        self.pacer = Pacer(limits, monotonic)
        self.monotonic = monotonic
        self.retry = retry or RetryPolicy()
        self.coalesce_after = coalesce_after
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.lease = lease
        self.shutdown_grace = shutdown_grace
        self.rng = rng or random.Random()
        self.sole = sole  # no other worker can be running: leases found at start are stale
        # PostgreSQL: this instance's presence (bot.infra.instance), set once it has joined;
        # its key marks this worker's leases, and it tells which other instances are gone.
        self.presence: InstancePresence | None = None
        self.reclaim_every = 30.0  # seconds between looks for a dead instance's leases
        self._next_reclaim = 0.0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}  # chat id -> its sender
        self._calling: set[int] = set()  # chats whose Bot API call is in flight
        # Sent rows waiting to be recorded together (see ``_record``), and who records them.
        self._unrecorded: list[tuple[Claimed, Plan, Result, asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ running

    def notify(self) -> None:
        """Wake the worker now (new rows were committed); safe from any thread."""
        loop = self._loop
        if loop is None:
            self._wake.set()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Deliver until ``stop()`` is called, then finish cleanly."""
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        released = await asyncio.to_thread(self.take_back_leases) if self.sole else 0
        log.info("delivery worker started released=%s", released)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    await self._reclaim_when_due()
                    await self._fill()
                except Exception:  # noqa: BLE001 - a database hiccup must not stop delivery
                    log.exception("outbox claim failed; retrying")
                if self._stopping.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        finally:
            await self._drain()
            log.info("delivery worker stopped")

    async def _reclaim_when_due(self) -> None:
        if self.presence is None or self.monotonic() < self._next_reclaim:
            return
        self._next_reclaim = self.monotonic() + self.reclaim_every
        released = await asyncio.to_thread(self.take_back_leases_of_the_dead)
        if released:
            log.warning("took back %s outbox rows leased by instances that are gone", released)

    def take_back_leases_of_the_dead(self) -> int:
        """Make the rows leased by instances that no longer run due now; return how many."""
        if self.presence is None:
            return 0
        with self._session() as session:
            owners = outbox.lease_owners(session=session, now=self.now())
        dead = self.presence.gone(owners)
        if not dead:
            return 0
        with self._session() as session:
            return outbox.release_leases_of(session=session, owners=dead, now=self.now())

    async def stop(self) -> None:
        """Ask ``run()`` to stop: no new claims; sends in flight finish."""
        self._stopping.set()
        self._wake.set()

    async def run_once(self) -> int:
        """Claim every due head once and wait until they are handled; return how many."""
        self._loop = asyncio.get_running_loop()
        started = await self._fill()
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        return started

    async def _fill(self) -> int:
        """Claim due heads of chats not already in flight and start sending them."""
        free = self.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        rows = await asyncio.to_thread(self._claim, set(self._tasks), free)
        for row in rows:
            task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
            self._tasks[row.chat_id] = task
            task.add_done_callback(functools.partial(self._finished, row.chat_id))
        return len(rows)

    def _finished(self, chat_id: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(chat_id) is task:
            del self._tasks[chat_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox task failed chat=%s", chat_id, exc_info=task.exception())
        self._wake.set()

    async def _drain(self) -> None:
        """Hand back rows not yet sent; let calls in flight finish (up to ``shutdown_grace``)."""
        tasks = list(self._tasks.values())
        if tasks:
            for chat_id, task in self._tasks.items():
                if chat_id not in self._calling:
                    task.cancel()  # still waiting for its slot: hand the row back now
            _, pending = await asyncio.wait(tasks, timeout=self.shutdown_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._recorder is not None:  # what was sent is recorded before the worker stops
            await asyncio.gather(self._recorder, return_exceptions=True)

    # ------------------------------------------------------------------ one row

    async def _deliver(self, row: Claimed) -> None:
        """Send one claimed row (or a combined message) and record the outcome."""
        calling = False
        try:
            try:
                plain = self._plan_plain(row)
                plan = plain if plain is not None else await asyncio.to_thread(self._plan, row)
            except Exception as exc:  # noqa: BLE001 - e.g. the database went away for a moment
                log.exception("could not prepare outbox=%s", row.id)
                await asyncio.to_thread(self._retry_later, row, BotApiError(repr(exc)))
                return
            if plan.action == "wait":
                await asyncio.to_thread(
                    self._reschedule, row, self.retry.card_wait, plan.reason, False
                )
                return
            if plan.action == "fail":
                await asyncio.to_thread(self._fail, row, PermanentError(plan.reason))
                return
            if plan.action == "skip":
                await asyncio.to_thread(self._skip, row, plan.reason)
                return
            chat_id = int(plan.payload.get("chat_id", row.chat_id))
            delay = self.pacer.reserve_chat(chat_id)
            if delay > 0:
                await asyncio.sleep(delay)
            delay = self.pacer.reserve_global()  # booked only once the chat is ready
            if delay > 0:
                await asyncio.sleep(delay)
            calling = True
            self._calling.add(row.chat_id)
            try:
                # The last point before Telegram: whatever queued it, no personal number leaves.
                result = await self.api.call(plan.method, mask_payload(plan.payload))
            except RetryAfter as exc:
                self.pacer.hold(chat_id, exc.seconds)
                log.info(
                    "flood wait chat=%s outbox=%s retry_after=%s", chat_id, row.id, exc.seconds
                )
                await asyncio.to_thread(self._reschedule, row, exc.seconds, str(exc), False)
            except ChatMigrated as exc:
                await asyncio.to_thread(self._migrate, row, exc.new_chat_id)
            except PermanentError as exc:
                if NOT_MODIFIED in exc.description.lower():
                    # The message already shows exactly this: the edit's purpose is met.
                    await self._record(row, plan, True)
                else:
                    await asyncio.to_thread(self._fail, row, exc)
            except BotApiError as exc:
                await asyncio.to_thread(self._retry_later, row, exc)
            except Exception as exc:  # noqa: BLE001 - a library bug must not lose the row
                log.exception("unexpected error sending outbox=%s", row.id)
                await asyncio.to_thread(self._retry_later, row, BotApiError(repr(exc)))
            else:
                if plan.action == "coalesce":
                    await asyncio.to_thread(self._record_batch, row, plan, result)
                else:
                    await self._record(row, plan, result)
        except asyncio.CancelledError:
            if not calling:
                await asyncio.shield(asyncio.to_thread(self._release, row))
            raise
        finally:
            self._calling.discard(row.chat_id)

    # ------------------------------------------------------------------ database (threads)

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Session]:
        """A session that holds the write lock from the start (``begin_write``)."""
        with session_scope(self.engine) as session:
            begin_write(session)
            yield session

    def take_back_leases(self) -> int:
        """Make every pending row due now (when no other worker runs); return how many waited.

        A future ``next_try_at`` is then either the lease of a process that died mid-send (its
        chat's queue would wait for the lease to run out) or a backoff, which a restart may cut
        short: a 429 answers ``retry_after`` again, a failing chat fails again.
        """
        with self._session() as session:
            return outbox.release_all(session=session, now=self.now())

    def _claim(self, busy: set[int], limit: int) -> list[Claimed]:
        now = self.now()
        with self._writing() as session:
            rows = outbox.claim_heads(
                session=session,
                now=now,
                lease_until=now + self.lease,
                limit=limit,
                exclude_chats=busy,
                owner=self.presence.key if self.presence is not None else None,
            )
            return [Claimed.of(row) for row in rows]

    def _plan_plain(self, row: Claimed) -> Plan | None:
        """Plan a row that needs nothing from the database (most of them); else None."""
        if card_references(row.payload):
            return None  # a reply or an edit of a card: its message id is in the database
        if row.purpose == CARD and row.method == "sendMessage" and self.coalesce_after > 0:
            return None  # a new card: it may join others in one combined message
        return Plan("send", row.method, row.payload, row.report_id if row.purpose == CARD else None)

    def _plan(self, row: Claimed) -> Plan:
        with self._session() as session:
            placed = self._place_cards(session, row)
            if isinstance(placed, Plan):
                return placed
            payload = placed
            method = row.method
            card_report_id = row.report_id if row.purpose == CARD else None
            target = row.payload.get("message_id")
            if method in EDIT_METHODS and isinstance(target, dict) and "$card" in target:
                report_id = int(target["$card"])
                batch = outbox.sent_with_purpose(
                    session=session,
                    chat_id=int(payload.get("chat_id", row.chat_id)),
                    result_message_id=int(payload["message_id"]),
                    purpose=CARD_BATCH,
                )
                if batch is not None:
                    if method != "editMessageText":
                        return Plan("skip", reason="the card is part of a combined message")
                    method, payload = "sendMessage", self._card_from_edit(payload)
                    card_report_id = report_id
            if (
                row.purpose == CARD
                and row.method == "sendMessage"
                and 0
                < self.coalesce_after
                < outbox.count_pending(session=session, chat_id=row.chat_id, purpose=CARD)
            ):
                return self._plan_batch(session, row)
            return Plan("send", method, payload, card_report_id)

    def _place_cards(self, session: Session, row: Claimed) -> dict[str, Any] | Plan:
        """Resolve the row's card placeholders, or say why it waits, fails or is skipped.

        A card may have moved since the row was queued (its group was rebound, migrated or
        lost): an edit of a card that is no longer in the chat it addresses is skipped, a reply
        to it is sent without the reply. So is one queued before the card it refers to.
        """
        pointed = placeholder_chats(row.payload, row.chat_id)
        cards: dict[int, int] = {}
        moved: set[int] = set()
        for report_id in sorted(card_references(row.payload)):
            chat = pointed.get(report_id, row.chat_id)
            report = session.get(Report, report_id)
            if report is not None and report.card_message_id is None:
                card = outbox.first_pending(session=session, report_id=report_id, purpose=CARD)
                if card is None:
                    # On PostgreSQL each statement reads a fresh snapshot: the card may have
                    # been sent (and recorded) between reading the report and the outbox.
                    session.refresh(report)
                elif card.chat_id != chat or (card.id or 0) > row.id:
                    moved.add(report_id)  # it will land elsewhere, or after this row
                    continue
                else:
                    return Plan("wait", reason=f"waiting for the card of report {report_id}")
            if report is None or report.card_message_id is None:
                return Plan("fail", reason=f"the card of report {report_id} was never delivered")
            if report.card_chat_id not in (None, chat):
                moved.add(report_id)
                continue
            cards[report_id] = report.card_message_id
        payload = row.payload
        if moved:
            payload = without_moved_cards(payload, moved)
            if card_references(payload) - set(cards):
                return Plan("skip", reason="the card it refers to is in another chat now")
        return resolve_cards(payload, cards)  # type: ignore[no-any-return]

    @staticmethod
    def _card_from_edit(payload: dict[str, Any]) -> dict[str, Any]:
        """Turn an edit of a combined card into a new card replying to the combined message."""
        message: dict[str, Any] = {
            "chat_id": payload["chat_id"],
            "text": payload.get("text", ""),
            "reply_parameters": {
                "message_id": payload["message_id"],
                "allow_sending_without_reply": True,
            },
        }
        for key in ("reply_markup", "parse_mode", "entities", "link_preview_options"):
            if key in payload:
                message[key] = payload[key]
        return message

    def _plan_batch(self, session: Session, head: Claimed) -> Plan:
        """Plan one message listing the chat's pending new-report cards (oldest first)."""
        rows = [
            queued
            for queued in outbox.pending_of_chat(session=session, chat_id=head.chat_id, limit=500)
            if queued.purpose == CARD
            and queued.method == "sendMessage"
            and not card_references(queued.payload)
        ]
        entries: dict[int | None, _BatchEntry] = {}
        order: list[_BatchEntry] = []
        length = buttons = 0
        for queued in rows:
            assert queued.id is not None
            key = queued.report_id if queued.report_id is not None else -queued.id
            entry = entries.get(key)
            if entry is not None:
                entry.row_ids.append(queued.id)
                if not entry.buttons:
                    entry.buttons = _buttons_of(queued.payload, "")
                continue
            report = session.get(Report, queued.report_id) if queued.report_id else None
            if report is not None:
                kind = catalogue().get(f"kind.{report.kind}", report.kind)
                line = f"{report.number}｜{kind}｜{_snippet(report.text)}"
                row_buttons = _buttons_of(queued.payload, report.number)
            else:
                line = _snippet(str(queued.payload.get("text", "")))
                row_buttons = []
            if order and (
                length + len(line) + 6 > TEXT_BUDGET or buttons + len(row_buttons) > BUTTON_BUDGET
            ):
                break
            entry = _BatchEntry(queued.report_id, [queued.id], line, row_buttons)
            entries[key] = entry
            order.append(entry)
            length += len(line) + 6
            buttons += len(row_buttons)
        if head.id not in {row_id for entry in order for row_id in entry.row_ids}:
            return Plan("send", head.method, head.payload, head.report_id)
        return Plan(
            "coalesce",
            "sendMessage",
            batch_message(head.chat_id, order),
            absorbed=[row_id for entry in order for row_id in entry.row_ids],
            reports=[entry.report_id for entry in order if entry.report_id is not None],
        )

    async def _record(self, row: Claimed, plan: Plan, result: Result) -> None:
        """Record a sent row; rows sent meanwhile are recorded in the same transaction.

        Under load many sends finish while one commit is being written: committing them
        together takes the database's write lock once instead of once each.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unrecorded.append((row, plan, result, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_waiting(), name="outbox-recorder")
        await asyncio.shield(future)  # a cancelled sender does not cancel the recording

    async def _record_waiting(self) -> None:
        while self._unrecorded:
            batch, self._unrecorded = self._unrecorded, []
            try:
                await asyncio.to_thread(self._record_sent, [item[:3] for item in batch])
            except Exception:  # noqa: BLE001 - record them one by one: a failure stays its own
                for row, plan, result, future in batch:
                    try:
                        await asyncio.to_thread(self._record_sent, [(row, plan, result)])
                    except Exception as exc:  # noqa: BLE001 - the sender reports it
                        future.set_exception(exc)
                    else:
                        future.set_result(None)
            else:
                for *_, future in batch:
                    future.set_result(None)

    def _record_sent(self, sent: list[tuple[Claimed, Plan, Result]]) -> None:
        with self._writing() as session:
            for row, plan, result in sent:
                self._mark_sent(session, row, plan, result)
        if any(plan.card_report_id is not None for _, plan, _ in sent):
            self.notify()

    def _mark_sent(self, session: Session, row: Claimed, plan: Plan, result: Result) -> None:
        message_id = message_id_of(result)
        if not outbox.mark_sent(
            session=session,
            message_id=row.id,
            attempts=row.attempts,
            now=self.now(),
            result_message_id=message_id,
        ):
            log.warning("outbox lease lost before recording outbox=%s", row.id)
        if plan.card_report_id is not None and message_id is not None:
            report = session.get(Report, plan.card_report_id)
            if report is not None:
                report.card_chat_id = chat_id_of(result, row.chat_id)
                report.card_message_id = message_id
                session.add(report)

    def _record_batch(self, row: Claimed, plan: Plan, result: Result) -> None:
        now = self.now()
        message_id = message_id_of(result)
        chat_id = chat_id_of(result, row.chat_id)
        with self._writing() as session:
            batch = outbox.record_sent(
                session=session,
                chat_id=chat_id,
                method="sendMessage",
                payload=plan.payload,
                purpose=CARD_BATCH,
                idempotency_key=f"{CARD_BATCH}:{chat_id}:{message_id}:{row.id}",
                now=now,
                result_message_id=message_id,
            )
            outbox.mark_coalesced(
                session=session,
                message_ids=plan.absorbed,
                now=now,
                result_message_id=message_id or 0,
            )
            for report_id in plan.reports:
                report = session.get(Report, report_id)
                if report is None:
                    continue
                report.card_chat_id = chat_id
                report.card_message_id = message_id
                session.add(report)
                add_event(
                    session=session,
                    report_id=report_id,
                    actor="system",
                    action="card_coalesced",
                    at=now,
                    details={"chat_id": chat_id, "message_id": message_id, "outbox_id": batch.id},
                )
        log.info(
            "coalesced cards chat=%s rows=%s reports=%s message=%s",
            chat_id,
            len(plan.absorbed),
            len(plan.reports),
            message_id,
        )
        self.notify()

    def _skip(self, row: Claimed, reason: str) -> None:
        with self._session() as session:
            outbox.mark_sent(
                session=session,
                message_id=row.id,
                attempts=row.attempts,
                now=self.now(),
                result_message_id=None,
            )
        log.info("skipped outbox=%s reason=%s", row.id, reason)

    def _reschedule(self, row: Claimed, seconds: float, error: str | None, count: bool) -> None:
        with self._session() as session:
            outbox.reschedule(
                session=session,
                message_id=row.id,
                attempts=row.attempts,
                next_try_at=self.now() + timedelta(seconds=seconds),
                last_error=error,
                count_attempt=count,
            )

    def _release(self, row: Claimed) -> None:
        """Hand a claimed row back untouched (shutdown before it was sent)."""
        self._reschedule(row, 0.0, None, False)

    def _retry_later(self, row: Claimed, error: BotApiError) -> None:
        now = self.now()
        # A refused token is the operator's to fix; the messages wait for it, however long.
        if not isinstance(error, Unauthorized) and now - row.created_at > self.retry.give_up_after:
            self._fail(row, error)
            return
        delay = self.retry.backoff(row.attempts, self.rng)
        level = logging.ERROR if isinstance(error, Unauthorized) else logging.WARNING
        log.log(
            level,
            "send failed, will retry outbox=%s chat=%s attempt=%s in=%.1fs error=%s",
            row.id,
            row.chat_id,
            row.attempts,
            delay,
            error.description,
        )
        self._reschedule(row, delay, f"{type(error).__name__}: {error.description}", True)

    def _migrate(self, row: Claimed, new_chat_id: int) -> None:
        services = self.services
        with self._session() as session:
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
                next_try_at=self.now(),
                last_error=f"migrated to {new_chat_id}",
                count_attempt=False,
            )
        if self.dispatch_chat_id == row.chat_id:
            self.dispatch_chat_id = new_chat_id
        log.info("chat migrated old=%s new=%s moved=%s", row.chat_id, new_chat_id, counts)
        self.notify()

    def _fail(self, row: Claimed, error: BotApiError) -> None:
        now = self.now()
        description = error.description
        with self._session() as session:
            # A lost group is followed first: it takes the group's bindings and then its queued
            # rows (this one among them), in the order the update's handler takes them too.
            gone = self._group_gone(session, row, description)
            failed = outbox.mark_failed(
                session=session, message_id=row.id, attempts=row.attempts, last_error=description
            )
            if not (failed or gone):
                return
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
            notified = gone or self._tell_dispatch(session, row, description, now)
        log.warning(
            "delivery failed outbox=%s chat=%s report=%s error=%s",
            row.id,
            row.chat_id,
            row.report_id,
            description,
        )
        if notified:
            self.notify()

    def _group_gone(self, session: Session, row: Claimed, description: str) -> bool:
        """If Telegram says the bot is out of a bound group, follow it (``groups.group_lost``);
        return True if the chat is a department or dispatch group the bot has lost."""
        services = self.services
        if services is None or not groups.is_group_gone(row.chat_id, description):
            return False
        groups.outside_update(
            services,
            session,
            f"lost:{row.chat_id}",
            lambda ctx: groups.group_lost(ctx, row.chat_id, cause=description),
        )
        return bool(group_queries.inactive_bindings(session=session, chat_id=row.chat_id))

    def _dispatch_chat(self, session: Session, report: Report | None) -> int | None:
        """Return the dispatch chat for ``report``'s region, looked up now (or the fixed one)."""
        if self.services is None:
            return self.dispatch_chat_id
        region = report.region_code if report is not None else None
        return find_dispatch_chat(session, self.services, region=region)

    def _tell_dispatch(
        self, session: Session, row: Claimed, description: str, now: datetime
    ) -> bool:
        """Queue a notice to the dispatch chat about a report's undeliverable message."""
        report = session.get(Report, row.report_id) if row.report_id is not None else None
        dispatch = self._dispatch_chat(session, report)
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
            recipient=self._recipient(session, row.chat_id),
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

    def _recipient(self, session: Session, chat_id: int) -> str:
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
            if self.services is not None:
                department = self.services.rules.department_name(department)
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
