"""End-to-end fixtures: the real bot (runtime, pipeline, delivery, a real Telegram library)
against the loopback Bot API server, on a real SQLite file or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.app import build_services
from bot.infra.config import load_settings
from bot.infra.delivery import DeliveryWorker, Limits, RetryPolicy
from bot.services import Services
from bot.telegram.bot_api import open_bot_api
from bot.telegram.runtime import BotRuntime, Webhook
from bot.telegram.webhook import WEBHOOK_PATH, WebhookServer
from sandbox import ControlClient, LoopbackServer
from storage.db import create_all, make_engine
from storage.models import GroupBinding, Observer
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
OBSERVER_PHONE = "+8613800138001"
# The loopback server's flood limits are off here (delivery tests cover pacing), so the
# worker need not pace itself to Telegram's 1 message/s per private chat either.
FAST = Limits.unpaced()


@dataclass
class Stage:
    """The loopback Telegram, its people and groups, and the running bot."""

    server: LoopbackServer
    control: ControlClient
    services: Services
    runtime: BotRuntime
    observer: dict[str, Any]
    handler: dict[str, Any]
    colleague: dict[str, Any]
    water_group: dict[str, Any]
    dispatch_group: dict[str, Any]

    async def texts(self, chat_id: int, count: int, since: int = 0) -> list[dict[str, Any]]:
        """Wait for ``count`` new bot messages in ``chat_id`` and return them."""
        return await self.control.wait_sent(chat_id, count, since=since, timeout=10)

    async def message_when(self, chat_id: int, message_id: int, has: str) -> dict[str, Any]:
        """Wait until message ``message_id`` (text or buttons) contains ``has``; return it."""
        for _ in range(200):
            message = await self.control.get_message(chat_id, message_id)
            if has in str(message.get("text")) + str(message.get("reply_markup")):
                return message
            await asyncio.sleep(0.05)
        raise AssertionError(f"message {message_id} never showed {has!r}: {message}")

    async def message_containing(self, chat_id: int, has: str) -> dict[str, Any]:
        """Wait for the newest bot message in ``chat_id`` whose text contains ``has``."""
        for _ in range(200):
            found = [
                m for m in await self.control.bot_messages(chat_id) if has in (m.get("text") or "")
            ]
            if found:
                return found[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no bot message containing {has!r} in chat {chat_id}")

    async def sent_count(self, chat_id: int) -> int:
        return len(await self.control.bot_messages(chat_id))

    async def stop_bot(self) -> None:
        """Stop the bot as a deploy would; updates keep arriving at the server."""
        self.runtime.stop()
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout=15)
        await self.runtime.api.close()
        self._task = None

    def start_bot(self) -> None:
        """Start a fresh bot process (new runtime, same database) on the same server."""
        self.runtime = _new_runtime(
            self.server, self.services, self.dispatch_group["id"], webhook=self.webhook
        )
        self._task = asyncio.create_task(self.runtime.run())

    _task: asyncio.Task[None] | None = None
    webhook: bool = False


def _roster(engine: Engine, water: int, dispatch: int) -> None:
    with Session(engine) as session:
        factories.station(session, code="GZ-YX-001", region="440104001")
        session.add(Observer(name="陈晓明", phone=OBSERVER_PHONE, station_code="GZ-YX-001"))
        session.add(GroupBinding(department="water", region_code="440100", chat_id=water))
        session.add(GroupBinding(department="social_work", region_code="440000", chat_id=dispatch))
        session.commit()


@contextlib.asynccontextmanager
async def running_bot(
    runtime_name: str, engine: Engine, *, webhook: bool = False
) -> AsyncIterator[Stage]:
    """Start the loopback server, populate people and groups, and run the bot on it."""
    async with LoopbackServer(enforce_limits=False) as server:
        control = server.control
        observer = await control.create_user("陈晓明", phone=OBSERVER_PHONE, started=True)
        handler = await control.create_user("水务小张")
        colleague = await control.create_user("水务小李")
        dispatcher = await control.create_user("分拨员")
        water = await control.create_group(
            "越秀水务承办群", type="supergroup", members=[handler["id"], colleague["id"]]
        )
        dispatch = await control.create_group(
            "社会工作部分拨群", type="supergroup", members=[dispatcher["id"]]
        )
        create_all(engine)
        _roster(engine, water["id"], dispatch["id"])
        settings = load_settings(
            routing_rules=ROOT / "routing_rules.yaml",
            database_url="sqlite:///unused.sqlite",
            telegram_api_base=server.base_url,
            bot_runtime=runtime_name,
            digest_dir=Path(engine.url.database or ".").parent / "digests",
        )
        services = build_services(settings, engine=engine)
        stage = Stage(
            server,
            control,
            services,
            None,
            observer,
            handler,  # type: ignore[arg-type]
            colleague,
            water,
            dispatch,
        )
        stage.webhook = webhook
        stage.start_bot()
        try:
            yield stage
        finally:
            if stage._task is not None:
                await stage.stop_bot()


WEBHOOK_SECRET = "e2e-secret_token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _new_runtime(
    server: LoopbackServer, services: Services, dispatch_chat: int, *, webhook: bool = False
) -> BotRuntime:
    """A bot process: its own Bot API client, delivery worker and runtime."""
    settings = services.settings
    api = open_bot_api(
        settings.bot_runtime,
        server.token,
        api_base=server.base_url,
        timeout=5,
        upload_dir=settings.digest_dir,
    )
    delivery = DeliveryWorker(
        services.engine,
        api,
        services=services,
        poll_interval=0.2,
        limits=FAST,
        retry=RetryPolicy(base=0.05, cap=0.5, card_wait=0.1),
    )
    hook = None
    if webhook:
        port = _free_port()
        hook = Webhook(
            WebhookServer(services, secret=WEBHOOK_SECRET, host="127.0.0.1", port=port),
            f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
        )
    return BotRuntime(services, api, delivery=delivery, poll_timeout=1, webhook=hook)


@pytest.fixture
def sqlite_file_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'e2e.sqlite'}")


@pytest.fixture(params=["ptb", "aiogram"])
def runtime_name(request: pytest.FixtureRequest) -> str:
    """Each end-to-end test runs on python-telegram-bot and again on aiogram."""
    return str(request.param)
