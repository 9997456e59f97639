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
- **Pacing and retries** (``bot.infra.pacing``): about 30 messages/s overall, 1/s per private
  chat, 20/min per group. A 429 (``RetryAfter``) makes the chat wait ``retry_after`` and the
  same row is sent again; the attempt does not count. Transient errors (network, timeouts,
  5xx) are retried with capped exponential backoff and jitter, until
  ``RetryPolicy.give_up_after``; a refused token (``Unauthorized``) is logged as an error and
  retried without giving up. "Message is not modified" is an edit whose purpose is met.
- **Cards** (``bot.infra.delivery_plan``): ``{"$card": report_id}`` placeholders become the
  card's message id (the row waits until the card is sent), sent cards are recorded on their
  reports, and a burst of new cards to one chat goes out as one combined message.
- **Refusals** (``bot.infra.delivery_refusals``): a permanent error fails the row, records a
  ``delivery_failed`` event and tells dispatch; a lost group is followed; a migrated chat is
  followed to its supergroup.

``notify()`` wakes the worker at once (call it after committing new rows); otherwise it polls
every ``poll_interval`` seconds. ``stop()`` ends ``run()`` cleanly: sends in flight finish,
rows waiting for their pacing slot are handed back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.masking import mask_payload
from bot.infra.delivery_plan import (
    Claimed,
    Plan,
    card_references,
    message_id_of,
    plan_plain,
    plan_row,
    record_batch,
    record_card,
    resolve_cards,
)
from bot.infra.delivery_refusals import DELIVERY_FAILED, failure_reason, migrate_row, record_failure
from bot.infra.instance import InstancePresence
from bot.infra.pacing import Limits, Pacer, RetryPolicy
from bot.services import Services
from bot.telegram.transport import (
    BotApi,
    BotApiError,
    ChatMigrated,
    PermanentError,
    Result,
    RetryAfter,
    Unauthorized,
)
from storage import outbox
from storage.db import begin_write, session_scope
from storage.types import utcnow

# The worker's settings and the helpers its tests and callers name, where they are defined.
__all__ = [
    "DELIVERY_FAILED",
    "DeliveryWorker",
    "Limits",
    "Pacer",
    "RetryPolicy",
    "card_references",
    "failure_reason",
    "resolve_cards",
]

log = logging.getLogger(__name__)

NOT_MODIFIED = "message is not modified"


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
                plain = plan_plain(row, self.coalesce_after)
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

    def _plan(self, row: Claimed) -> Plan:
        with self._session() as session:
            return plan_row(session, row, self.coalesce_after)

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
        if not outbox.mark_sent(
            session=session,
            message_id=row.id,
            attempts=row.attempts,
            now=self.now(),
            result_message_id=message_id_of(result),
        ):
            log.warning("outbox lease lost before recording outbox=%s", row.id)
        record_card(session, row, plan, result)

    def _record_batch(self, row: Claimed, plan: Plan, result: Result) -> None:
        with self._writing() as session:
            chat_id, message_id = record_batch(session, row, plan, result, self.now())
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
        with self._session() as session:
            counts = migrate_row(session, row, new_chat_id, now=self.now(), services=self.services)
        if self.dispatch_chat_id == row.chat_id:
            self.dispatch_chat_id = new_chat_id
        log.info("chat migrated old=%s new=%s moved=%s", row.chat_id, new_chat_id, counts)
        self.notify()

    def _fail(self, row: Claimed, error: BotApiError) -> None:
        with self._session() as session:
            notified = record_failure(
                session,
                row,
                error.description,
                now=self.now(),
                services=self.services,
                dispatch_chat_id=self.dispatch_chat_id,
            )
        if notified is None:
            return
        log.warning(
            "delivery failed outbox=%s chat=%s report=%s error=%s",
            row.id,
            row.chat_id,
            row.report_id,
            error.description,
        )
        if notified:
            self.notify()
