"""Bot API faults: with about 10% of calls failing, everything is still delivered, in order.

The real runtime (poller, processor, delivery worker) runs on python-telegram-bot and on
aiogram against the loopback Bot API, which fails calls at random before they take effect:
HTTP 500, a hang longer than the client's timeout, a dropped connection, and 429 with
``retry_after`` = 1 — each kind on about 2.6% of calls, so about 10% of all calls fail,
getMe, getUpdates and answerCallbackQuery included (and start-up's first getMe and
deleteWebhook fail for certain). 15 observers register and submit 3 reports
each, and the department signs every card. Afterwards every report exists once, every message
the outbox queued reached its chat exactly once and in the order it was queued (sends and
edits alike), and no row failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_services
from bot.infra.config import load_settings
from bot.infra.delivery import DeliveryWorker, RetryPolicy
from bot.telegram.bot_api import open_bot_api
from bot.telegram.runtime import BotRuntime
from sandbox import LoopbackServer
from storage.db import create_all, make_engine
from storage.models import OutboxMessage, OutboxStatus, Report
from tests.e2e.conftest import FAST
from tests.proof.process import ROOT, fill_roster
from tests.proof.test_crash import ACK, Watch, acks, preview_with, submit_data

pytestmark = pytest.mark.e2e

OBSERVERS = 15
REPORTS_EACH = 3
KINDS = ("500", "timeout", "drop", "429")
EACH = 1 - 0.9 ** (1 / len(KINDS))  # four independent chances add up to 10%
CLIENT_TIMEOUT = 1.0


@dataclass
class Scene:
    server: LoopbackServer
    engine: Engine
    watch: Watch
    people: list[dict[str, Any]]
    handler: dict[str, Any]
    water: int


@contextlib.asynccontextmanager
async def faulty_bot(runtime_name: str, tmp_path: Path) -> AsyncIterator[Scene]:
    """The bot on ``runtime_name`` against a loopback server failing 10% of calls."""
    async with LoopbackServer(enforce_limits=False, seed=10) as server:
        control = server.control
        people = [
            await control.create_user(f"观察员{i}", phone=f"+86137{i:08d}", started=True)
            for i in range(OBSERVERS)
        ]
        handler = await control.create_user("水务小张")
        water = await control.create_group("水务承办群", type="supergroup", members=[handler["id"]])
        dispatch = await control.create_group("分拨群", type="supergroup")
        engine = make_engine(f"sqlite:///{tmp_path / 'faults.sqlite'}")
        create_all(engine)
        fill_roster(
            engine,
            phones=[p["phone"] for p in people],
            bindings={"water": water["id"], "social_work": dispatch["id"]},
        )
        settings = load_settings(
            routing_rules=ROOT / "routing_rules.yaml",
            database_url="sqlite:///unused.sqlite",
            telegram_api_base=server.base_url,
            bot_runtime=runtime_name,
        )
        services = build_services(settings, engine=engine)
        api = open_bot_api(
            runtime_name, server.token, api_base=server.base_url, timeout=CLIENT_TIMEOUT
        )
        delivery = DeliveryWorker(
            engine,
            api,
            dispatch_chat_id=dispatch["id"],
            poll_interval=0.1,
            limits=FAST,
            retry=RetryPolicy(base=0.05, cap=0.5, card_wait=0.1),
            coalesce_after=0,  # one card per report, so each queued row is one message
        )
        runtime = BotRuntime(services, api, delivery=delivery, poll_timeout=1)
        # Start-up itself meets a failure: it retries instead of ending the process.
        await control.inject("500", method="getMe", count=1)
        await control.inject("429", method="deleteWebhook", count=1, retry_after=1)
        for kind in KINDS:
            await control.inject(
                kind,
                probability=EACH,
                count=0,
                retry_after=1,
                hang=CLIENT_TIMEOUT * 1.5,  # the client gives up first
            )
        running = asyncio.create_task(runtime.run())
        try:
            yield Scene(server, engine, Watch(server), people, handler, water["id"])
        finally:
            runtime.stop()
            await asyncio.wait_for(running, 30)
            await api.close()
            engine.dispose()


async def _observer(scene: Scene, index: int, user: int) -> None:
    """Register, then report ``REPORTS_EACH`` times; the department signs each card."""
    control, watch = scene.server.control, scene.watch
    await control.share_contact(user)
    await watch.until(user, lambda m: any("核验成功" in (x.get("text") or "") for x in m), "ok")
    for k in range(REPORTS_EACH):
        tag = f"#{index}-{k}"
        await control.send_text(user, f"{tag} 小区自来水发黄有异味")
        preview = await watch.until(user, preview_with(tag), f"preview of {tag}")
        await control.press(user, user, preview["message_id"], data=submit_data(preview), wait=0)
        numbers = await watch.until(
            user, lambda m, n=k + 1: len(acks(m)) >= n and acks(m), f"ack {tag}"
        )
        number = numbers[k]
        card = await watch.until(scene.water, lambda m, n=number: _card(m, n), f"card {number}")
        await control.press(
            scene.handler["id"], scene.water, card["message_id"], data=_sign(card), wait=0
        )
        await watch.until(
            user,
            lambda m, n=number: any(n in (x.get("text") or "") and "已由" in x["text"] for x in m),
            f"signed notice {number}",
        )


def _card(messages: list[dict[str, Any]], number: str) -> dict[str, Any] | None:
    for message in messages:
        if number in (message.get("text") or "") and _sign(message):
            return message
    return None


def _sign(message: dict[str, Any]) -> str | None:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if "签收" in button.get("text", ""):
                return str(button["callback_data"])
    return None


async def _drained(engine: Engine) -> None:
    for _ in range(300):
        with Session(engine) as session:
            pending = session.exec(
                select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING)
            ).first()
        if pending is None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox never drained")


@pytest.mark.parametrize("runtime_name", ["ptb", "aiogram"])
async def test_ten_percent_failing_calls_lose_and_reorder_nothing(
    runtime_name: str, tmp_path: Path
) -> None:
    async with faulty_bot(runtime_name, tmp_path) as scene:
        await asyncio.gather(*(_observer(scene, i, p["id"]) for i, p in enumerate(scene.people)))
        await _drained(scene.engine)
        stats = await scene.server.control.stats()
        with Session(scene.engine) as session:
            rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
            reports = session.exec(select(Report)).all()
    world = scene.server.world

    served = stats["faults_served"]
    assert all(served.get(kind, 0) > 0 for kind in KINDS), served
    failed = sum(served.values())
    assert 0.05 < failed / sum(stats["calls"].values()) < 0.2, (failed, stats["calls"])

    assert len(reports) == OBSERVERS * REPORTS_EACH
    assert all(r.status == "signed" for r in reports)
    assert {row.status for row in rows} == {OutboxStatus.SENT}, "a row failed or is stuck"

    # Per chat, what Telegram shows is exactly what the outbox queued, in queue order.
    chats = {row.chat_id for row in rows}
    for chat_id in chats:
        queued = [
            ("edited" if row.method.startswith("edit") else "sent", row.result_message_id)
            for row in rows
            if row.chat_id == chat_id
        ]
        shown = [(entry.event, entry.message_id) for entry in world.transcript.get(chat_id, [])]
        assert shown == queued, f"chat {chat_id}: delivered {shown} but queued {queued}"
    for person in scene.people:
        texts = [e.text or "" for e in world.transcript[person["id"]]]
        assert sum(ACK in text for text in texts) == REPORTS_EACH
