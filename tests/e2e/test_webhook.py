"""Webhook mode on both libraries: the secret is required, updates are stored before the 200.

The 200 is Telegram's signal to forget an update, so it must follow the commit: when the
database refuses the update (a failing insert, a failing commit) the answer is not 200 and
Telegram sends it again; when the answer is 200 the row is already readable by anyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.telegram.webhook import WebhookServer
from storage.db import create_all, make_engine
from storage.models import InboxUpdate, Report
from tests.e2e.conftest import WEBHOOK_SECRET, running_bot
from tests.handlers.conftest import make_world

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
        submit = next(
            button["callback_data"]
            for row in preview["reply_markup"]["inline_keyboard"]
            for button in row
            if "提交" in button["text"]
        )
        answer = await stage.control.press(me, me, preview["message_id"], data=submit)
        assert answer["answered"] and answer["answer"]["text"].startswith("GD-")
        card = (await stage.texts(stage.water_group["id"], 1))[0]
        with Session(stage.services.engine) as session:
            report = session.exec(select(Report)).one()
        assert report.number in card["text"] and report.department == "water"
        assert "签收" in str(card["reply_markup"])
        # Every update (contact, text, press) came in through the webhook, none by polling.
        assert stage.server.webhook_deliveries >= 3
        assert await stage.control.calls("getUpdates") == []


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


UPDATE: dict[str, Any] = {
    "update_id": 4242,
    "message": {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "x"},
        "text": "/start",
    },
}


@pytest.fixture
async def bare_hook(tmp_path: Path) -> AsyncIterator[tuple[WebhookServer, Engine]]:
    """The webhook server alone (no processor) on a fresh SQLite file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hook.sqlite'}")
    create_all(engine)
    hook = WebhookServer(
        make_world(engine, tmp_path).services, secret=WEBHOOK_SECRET, host="127.0.0.1", port=0
    )
    await hook.start()
    try:
        yield hook, engine
    finally:
        await hook.stop()
        engine.dispose()


async def _post(hook: WebhookServer) -> int:
    url = f"http://127.0.0.1:{hook.port}/telegram/webhook"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url, json=UPDATE, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        ) as response,
    ):
        return response.status


def _stored(engine: Engine) -> list[int]:
    """The update ids committed, read through another engine (what another process sees)."""
    reader = make_engine(str(engine.url))
    try:
        with reader.connect() as connection:
            rows = connection.execute(text("SELECT update_id FROM inboxupdate"))
            return [row[0] for row in rows]
    finally:
        reader.dispose()


async def test_a_200_means_the_update_is_already_committed(
    bare_hook: tuple[WebhookServer, Engine],
) -> None:
    hook, engine = bare_hook
    assert await _post(hook) == 200
    assert _stored(engine) == [4242]  # readable at once, not after a background write


async def test_no_200_when_the_database_refuses_the_update(
    bare_hook: tuple[WebhookServer, Engine],
) -> None:
    hook, engine = bare_hook
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON inboxupdate "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    assert await _post(hook) >= 500  # Telegram keeps the update and sends it again
    assert _stored(engine) == [] and hook.received == 0
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER refuse"))
    assert await _post(hook) == 200
    assert _stored(engine) == [4242]


async def test_no_200_when_the_commit_fails(bare_hook: tuple[WebhookServer, Engine]) -> None:
    hook, engine = bare_hook

    def refuse(connection: Any) -> None:
        raise OSError("the disk went away during COMMIT")

    event.listen(engine, "commit", refuse)
    try:
        assert await _post(hook) >= 500
    finally:
        event.remove(engine, "commit", refuse)
    assert _stored(engine) == [] and hook.received == 0
    assert await _post(hook) == 200
    assert _stored(engine) == [4242]
