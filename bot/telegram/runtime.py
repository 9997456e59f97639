"""The running bot: our own polling loop, the inbox processor and the delivery worker.

Both libraries confirm fetched updates to Telegram before their handlers finish, so a crash in
between would lose them (docs/ARCHITECTURE.md, decision 2). Here the poller asks the library for
updates (``BotApi.get_updates``), commits them to the inbox, and only then asks for the next
offset — which is what confirms them. The processor handles committed updates one transaction
each and answers button presses; the delivery worker sends what the handlers queued. The same
loop runs on python-telegram-bot and on aiogram: only the ``BotApi`` differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from bot.core.messages import t
from bot.infra.delivery import DeliveryWorker
from bot.infra.handling import Handling, HandlingThread
from bot.infra.membership import bot_api_membership
from bot.infra.pipeline import BATCH, CallbackAnswer, send_answer
from bot.infra.scheduler import SweepScheduler
from bot.services import Services
from bot.telegram.transport import (
    BotApi,
    BotApiError,
    Result,
    RetryAfter,
    TransientError,
    Unauthorized,
)
from bot.telegram.webhook import WebhookServer
from storage import inbox
from storage.db import begin_write
from storage.models import Leader

log = logging.getLogger(__name__)

HANDLING_RETRY = 2.0  # seconds before handling is tried again after a failure (database away)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "chat_member"]


@dataclass(frozen=True)
class Webhook:
    """Webhook mode: the local server and the public URL Telegram is told to POST to."""

    server: WebhookServer
    url: str


class BotRuntime:
    """Polls, processes and delivers until ``stop()``."""

    def __init__(
        self,
        services: Services,
        api: BotApi,
        *,
        delivery: DeliveryWorker,
        poll_timeout: int = 25,
        batch: int = 100,
        sweeps: SweepScheduler | None = None,
        webhook: Webhook | None = None,
        handling: Handling | None = None,
    ) -> None:
        self.services = services
        self.api = api
        self.delivery = delivery
        self.poll_timeout = poll_timeout
        self.batch = batch
        self.sweeps = sweeps  # reminder sweeps (bot/infra/scheduler.py); None runs none
        self.webhook = webhook  # None: long polling
        # Where updates are handled: a thread here, or a process of its own (``obsbot run``).
        self.handling = handling or HandlingThread(services)
        if webhook is not None:
            webhook.server.on_stored = self.wake
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.ready = asyncio.Event()  # set once start-up is done and updates can arrive
        self.received = 0
        self._answering: set[asyncio.Task[None]] = set()

    async def start_up(self) -> None:
        """Learn the bot's username; register the webhook, or make sure there is none.

        A transient failure (5xx, timeout, dropped connection, 429) is retried with backoff
        until it succeeds or the bot is stopped: one bad answer must not end the process.
        """
        if self.services.membership is None:  # presses in groups: is the presser a member?
            self.services.membership = bot_api_membership(self.api, asyncio.get_running_loop())
        me = await self._start_call("getMe", {})
        if isinstance(me, dict):
            self.services.bot_username = str(me.get("username", ""))
        if self._stopping.is_set():
            return
        if self.webhook is None:
            await self._start_call("deleteWebhook", {"drop_pending_updates": False})
        else:
            await self.webhook.server.start()
            await self._start_call(
                "setWebhook",
                {
                    "url": self.webhook.url,
                    "secret_token": self.webhook.server.secret,
                    "allowed_updates": ALLOWED_UPDATES,
                    "drop_pending_updates": False,
                },
            )
        if self._stopping.is_set():
            return
        await self._set_commands()
        self.ready.set()
        log.info(
            "bot ready username=%s runtime=%s",
            self.services.bot_username,
            self.services.settings.bot_runtime,
        )

    async def run(self) -> None:
        """Run the poller, the processor and the delivery worker until stopped."""
        await self.handling.open()
        await self.start_up()
        if self._stopping.is_set():  # stopped while start-up was still retrying
            if self.webhook is not None:
                await self.webhook.server.stop()
            return
        receive = self._poll() if self.webhook is None else self._stopping.wait()
        tasks = [
            asyncio.create_task(receive, name="poller" if self.webhook is None else "webhook"),
            asyncio.create_task(self._process(), name="processor"),
            asyncio.create_task(self.delivery.run(), name="delivery"),
        ]
        self._wake.set()  # handle whatever was stored before a restart
        if self.sweeps is not None:
            self.sweeps.start()
        try:
            await self._stopping.wait()
        finally:
            if self.sweeps is not None:
                self.sweeps.shutdown()
            for task in tasks[:2]:
                task.cancel()
            for task in tasks[:2]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self._answering:  # presses already handled: let their answers go out
                await asyncio.wait(self._answering, timeout=5)
            if self.webhook is not None:
                await self.webhook.server.stop()
            await self.delivery.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await tasks[2]
            await self.handling.close()

    async def _start_call(self, method: str, payload: dict[str, object]) -> Result | None:
        """Make a start-up call, retrying transient failures; None if stopped meanwhile."""
        failures = 0
        while True:
            try:
                return await self.api.call(method, payload)
            except RetryAfter as error:
                delay = error.seconds
            except TransientError as error:
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning(
                    "start-up call failed method=%s error=%s retry_in=%.1fs",
                    method,
                    error.description,
                    delay,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return None

    async def _set_commands(self) -> None:
        """Give each audience its own command menu: observers in private chats, groups,
        administrators' and leaders' own chats (a menu per chat scope)."""
        for scope, names in command_menus(self.services):
            commands = [{"command": n, "description": t(f"commands.{n}")} for n in names]
            try:
                await self.api.call("setMyCommands", {"commands": commands, "scope": scope})
            except BotApiError as error:  # cosmetic: the bot works without a command menu
                log.warning(
                    "setMyCommands failed scope=%s error=%s", scope["type"], error.description
                )

    def stop(self) -> None:
        """Ask every loop to finish."""
        self._stopping.set()

    def wake(self) -> None:
        """Tell the processor that new updates are in the inbox."""
        self._wake.set()

    async def _poll(self) -> None:
        """Fetch updates and commit them to the inbox before asking for the next offset."""
        with Session(self.services.engine) as session:
            last = inbox.last_update_id(session=session)
        offset = None if last is None else last + 1
        failures = 0
        while not self._stopping.is_set():
            try:
                updates = await self.api.get_updates(
                    offset, self.poll_timeout, self.batch, ALLOWED_UPDATES
                )
            except Unauthorized:
                log.error("the bot token was refused: check TELEGRAM_BOT_TOKEN")
                self.stop()
                return
            except BotApiError as error:
                failures += 1
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning("getUpdates failed error=%s retry_in=%.1fs", error.description, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            if not updates:
                continue
            await asyncio.to_thread(self._store, updates)
            offset = max(int(u["update_id"]) for u in updates) + 1
            self.received += len(updates)
            self._wake.set()

    def _store(self, updates: list[dict]) -> None:
        with Session(self.services.engine) as session:
            begin_write(session)
            inbox.record_updates(session=session, updates=updates, now=self.services.clock())
            session.commit()

    async def _process(self) -> None:
        """Handle committed updates, answer presses, and wake the delivery worker."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            self._wake.clear()
            while True:
                # One batch at a time: a press that arrives meanwhile goes first in the next.
                try:
                    handled, answers = await self.handling.process(BATCH)
                except Exception:  # noqa: BLE001 - e.g. the database is away: try again soon
                    log.exception("handling updates failed; retrying in %.0fs", HANDLING_RETRY)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), HANDLING_RETRY)
                    self._wake.set()
                    break
                if handled:
                    self.delivery.notify()
                for answer in answers:  # answered while the next batch is handled
                    task = asyncio.create_task(self._answer(answer))
                    self._answering.add(task)
                    task.add_done_callback(self._answering.discard)
                if handled == 0:
                    break

    async def _answer(self, answer: CallbackAnswer) -> None:
        await send_answer(self.api, answer)


OBSERVER_MENU = ("start", "new", "my", "cancel", "help", "whoami")
GROUP_MENU = ("list", "queue", "help", "cancel", "whoami", "bind")
ADMIN_MENU = (*OBSERVER_MENU, "bindcode", "invite", "leader", "stats", "reload", "unbind", "web")
LEADER_MENU = ("digest", "subscribe", "unsubscribe", "help", "whoami", "web")


def command_menus(services: Services) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """Return (scope, command names) for every command menu the bot shows."""
    with Session(services.engine) as session:
        leaders = session.exec(select(Leader.chat_id)).all()
    menus: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"type": "all_private_chats"}, OBSERVER_MENU),
        ({"type": "all_group_chats"}, GROUP_MENU),
    ]
    menus += [({"type": "chat", "chat_id": chat}, LEADER_MENU) for chat in leaders]
    menus += [({"type": "chat", "chat_id": admin}, ADMIN_MENU) for admin in services.admin_ids]
    return menus
