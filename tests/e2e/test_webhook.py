"""Webhook mode on both libraries: the secret is required, updates are stored before the 200."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.models import InboxUpdate
from tests.e2e.conftest import WEBHOOK_SECRET, running_bot

pytestmark = pytest.mark.e2e


async def test_webhook_mode_handles_a_report(sqlite_file_engine: Engine, runtime_name: str) -> None:
    async with running_bot(runtime_name, sqlite_file_engine, webhook=True) as stage:
        me = stage.observer["id"]
        await stage.control.share_contact(me)
        registered = (await stage.texts(me, 1))[0]
        assert "核验成功" in registered["text"]
        await stage.control.send_text(me, "小区自来水发黄，停水也不通知")
        preview = (await stage.texts(me, 1, since=1))[0]
        assert "水务" in preview["text"]
        assert stage.server.webhook_deliveries >= 2


async def test_requests_without_the_secret_are_refused(sqlite_file_engine: Engine) -> None:
    async with running_bot("ptb", sqlite_file_engine, webhook=True) as stage:
        await asyncio.wait_for(stage.runtime.ready.wait(), timeout=10)
        hook = stage.runtime.webhook
        assert hook is not None
        base = f"http://127.0.0.1:{hook.server.port}"
        update = {
            "update_id": 999_999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "x"},
                "text": "/start",
            },
        }
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(hook.url, json=update, headers=headers) as response:
                    assert response.status == 401
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200 and (await response.json())["ok"] is True
            async with http.post(
                hook.url,
                data=b"not json",
                headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
            ) as response:
                assert response.status == 400
        with Session(stage.services.engine) as session:
            assert session.get(InboxUpdate, 999_999) is None
            assert session.exec(select(InboxUpdate)).all() == []
        assert hook.server.refused == 2
