"""Where stored updates are handled: in a thread of the bot's process, or in a process of its own.

Handling an update (the handlers, routing, the ORM) is Python work; so are delivery and the
HTTP client. In one interpreter they take turns on one core, however many the machine has.
``HandlingProcess`` runs ``process_pending`` in a worker process of its own — its own engine and
services, built from the same settings — so handling and delivery run on two cores
(``obsbot run`` uses it). Given the bot's token, the worker opens a Bot API connection of its
own: it answers button presses as soon as their batch is committed, and asks Telegram who is a
member of a group. ``HandlingThread`` runs ``process_pending`` in a thread of
the bot's process: for tests and the demo, whose services carry an injected clock or engine.

Either way each batch is one transaction in the database, so where it runs changes nothing of
what it does. If the bot's process dies (even by SIGKILL), the kernel kills the worker too
(``PR_SET_PDEATHSIG``), and a batch it had not committed is rolled back like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from bot.infra.config import Settings
from bot.infra.pipeline import CallbackAnswer, process_pending, send_answer
from bot.services import Services
from bot.telegram.transport import BotApi

log = logging.getLogger(__name__)

# Builds the worker's services from the settings, the database URL and the log level's name
# (and sets up its logging): run in the new process, so a module-level function.
WorkerBuild = Callable[[Settings, str, str], Services]


class Handling(Protocol):
    """Handles up to ``limit`` pending updates; returns how many, and the presses' answers."""

    async def open(self) -> None: ...

    async def process(self, limit: int) -> tuple[int, list[CallbackAnswer]]: ...

    async def close(self) -> None: ...


class HandlingThread:
    """Handle updates in a worker thread of this process."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def open(self) -> None:
        return None

    async def process(self, limit: int) -> tuple[int, list[CallbackAnswer]]:
        return await asyncio.to_thread(process_pending, self.services, limit=limit)

    async def close(self) -> None:
        return None


class HandlingProcess:
    """Handle updates in a worker process (started on first use, restarted if it dies).

    The worker builds its own services with ``build`` (a module-level function, so that it
    can be sent to the new process; ``bot.app.worker_services``) from ``services.settings`` and
    ``database_url``: the runtime's own assembly, passed down rather than imported up. The
    bot's username (learned at start-up) goes with every call; a rules reload on either side
    (SIGHUP here, ``/reload`` there) is repeated on the other. Given the bot's ``token``, the
    worker answers button presses itself, with a Bot API connection of its own, as soon as
    their batch is committed; without it, the answers come back to the caller.
    """

    def __init__(
        self,
        services: Services,
        database_url: str,
        *,
        build: WorkerBuild,
        token: str | None = None,
        api_base: str | None = None,
    ) -> None:
        self.services = services
        self.database_url = database_url
        self.build = build
        self.token = token
        self.api_base = api_base
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(
                os.getpid(),
                self.build,
                self.services.settings,
                self.database_url,
                logging.getLogger().level,
                self.token,
                self.api_base,
            ),
        )
        self._pool = pool
        return pool

    async def open(self) -> None:
        """Start the worker now, so that the first updates do not wait for it to start."""
        pool = self._pool or self._start()
        try:
            await asyncio.get_running_loop().run_in_executor(pool, _worker_ready)
        except BrokenProcessPool:  # e.g. the Bot API is unreachable: handling will try again
            log.exception("the handling process could not start; trying again when needed")
            self._pool = None

    async def process(self, limit: int) -> tuple[int, list[CallbackAnswer]]:
        pool = self._pool or self._start()
        loop = asyncio.get_running_loop()
        try:
            handled, answers, reloaded = await loop.run_in_executor(
                pool,
                _worker_process,
                limit,
                self.services.bot_username,
                self.services.rules_generation,
            )
        except BrokenProcessPool:
            # The worker died (killed, out of memory): what it had not committed rolled back.
            log.error("the handling process died; starting a new one")
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        if reloaded:
            self._reload_here()
        return handled, answers

    def _reload_here(self) -> None:
        """The worker reloaded the rules (``/reload``): put the same file in force here."""
        from bot.core.rules import RulesError

        try:
            self.services.reload_rules()
        except RulesError as error:  # changed again since: the next reload will tell
            log.error("rules reload after /reload failed here: %s", error)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        with contextlib.suppress(BrokenProcessPool):
            await asyncio.get_running_loop().run_in_executor(pool, _worker_close)
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


# --- in the worker process ---------------------------------------------------------------------

_services: Services | None = None
_seen_generation = 0
_answers: _Answers | None = None


class _Answers:
    """The worker's own Bot API connection, on an event loop in a thread, for answers."""

    def __init__(self, runtime: str, token: str, api_base: str | None) -> None:
        from bot.telegram.bot_api import open_bot_api

        self.loop = asyncio.new_event_loop()
        self.sent: set[Future[None]] = set()
        thread = threading.Thread(target=self.loop.run_forever, name="answers", daemon=True)
        thread.start()

        async def connect() -> BotApi:
            return open_bot_api(runtime, token, api_base=api_base, timeout=10, connections=8)

        self.api = asyncio.run_coroutine_threadsafe(connect(), self.loop).result()
        # Initialise the library's bot (getMe) now, on this loop: the first answer must not wait.
        asyncio.run_coroutine_threadsafe(self.api.call("getMe", {}), self.loop).result(60)

    def send(self, answer: CallbackAnswer) -> None:
        future = asyncio.run_coroutine_threadsafe(send_answer(self.api, answer), self.loop)
        self.sent.add(future)
        future.add_done_callback(self.sent.discard)

    def close(self, timeout: float = 5.0) -> None:
        """Let the answers in flight go out (up to ``timeout``), then close the connection."""
        wait(list(self.sent), timeout=timeout)
        asyncio.run_coroutine_threadsafe(self.api.close(), self.loop).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _worker_init(
    parent: int,
    build: WorkerBuild,
    settings: object,
    database_url: str,
    log_level: int,
    token: str | None,
    api_base: str | None,
) -> None:
    """Build the worker's services; die with the bot's process; leave signals to the bot."""
    global _services, _answers
    _die_with(parent)
    # Ctrl-C reaches the whole process group: the bot stops the worker itself, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from bot.infra.redaction import protect

    assert isinstance(settings, Settings)
    for secret in (settings.telegram_bot_token, token):
        if secret is not None:  # no log record of this process may carry the token either
            protect(secret if isinstance(secret, str) else secret.get_secret_value())
    _services = build(settings, database_url, logging.getLevelName(log_level))
    if token is not None:
        from bot.infra.membership import bot_api_membership

        _answers = _Answers(settings.bot_runtime, token, api_base)
        _services.membership = bot_api_membership(_answers.api, _answers.loop)


def _die_with(parent: int) -> None:
    """Ask Linux to SIGKILL this process when the bot's process (``parent``) ends.

    Without it the worker would outlive a killed bot: it waits for work on a queue whose
    other end it holds itself, so it never sees the bot go.
    """
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - not glibc
            pass
    if os.getppid() != parent:  # the bot died while this process was starting
        os._exit(1)


def _worker_ready() -> bool:
    return _services is not None


def _worker_close() -> None:
    global _answers
    answers, _answers = _answers, None
    if answers is not None:
        answers.close()


def _worker_process(
    limit: int, bot_username: str, rules_generation: int
) -> tuple[int, list[CallbackAnswer], bool]:
    """Handle one batch in the worker; also say whether a handler reloaded the rules."""
    global _seen_generation
    services = _services
    assert services is not None, "worker not initialised"
    services.bot_username = bot_username
    if rules_generation != _seen_generation:  # the bot reloaded them (SIGHUP): follow
        from bot.core.rules import RulesError

        _seen_generation = rules_generation
        try:
            services.reload_rules()
        except RulesError as error:  # broken since the bot read it: keep the rules in force
            log.error("rules reload refused in the handling process: %s", error)
    before = services.rules_generation
    handled, answers = process_pending(services, limit=limit)
    if _answers is not None:  # answered from here, now: the batch is committed
        for answer in answers:
            _answers.send(answer)
        answers = []
    return handled, answers, services.rules_generation != before
