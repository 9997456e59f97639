"""Fixtures for Telegram tests: a loopback Bot API server and both real client libraries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot as AiogramBot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from telegram import Bot as PtbBot
from telegram.request import HTTPXRequest

from sandbox import ControlClient, LoopbackServer


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackServer]:
    """A loopback server on a free port, flood limits off (tests that need them turn them on)."""
    async with LoopbackServer(enforce_limits=False) as server:
        yield server


@pytest.fixture
def control(loopback: LoopbackServer) -> ControlClient:
    """The in-process control client of ``loopback``."""
    return loopback.control


@pytest.fixture
async def ptb_bot(loopback: LoopbackServer) -> AsyncIterator[PtbBot]:
    """python-telegram-bot's Bot pointed at the loopback server, as the runtime configures it."""
    bot = PtbBot(
        loopback.token,
        base_url=f"{loopback.base_url}/bot",
        base_file_url=f"{loopback.base_url}/file/bot",
        request=HTTPXRequest(read_timeout=2.0, connect_timeout=2.0),
        get_updates_request=HTTPXRequest(read_timeout=5.0),
    )
    async with bot:
        yield bot


@pytest.fixture
async def aiogram_bot(loopback: LoopbackServer) -> AsyncIterator[AiogramBot]:
    """aiogram's Bot with its own session pointed at the loopback server."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(loopback.base_url), timeout=5)
    bot = AiogramBot(loopback.token, session=session)
    yield bot
    await bot.session.close()


@pytest.fixture
async def alice(control: ControlClient) -> dict:
    """A registered-looking user who has pressed Start."""
    user = await control.create_user("Alice", phone="+8613800000001", started=True)
    return user
