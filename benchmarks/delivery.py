"""Benchmark: the outbox worker against the loopback Bot API with Telegram's flood limits on.

Measures in one run, on a fresh SQLite database and python-telegram-bot:

- ``spread``: N messages to N/3 private chats with 200 ms per Bot API call (Telegram is ~50–200 ms
  away); messages/s achieved against the 30 messages/s ceiling (the ratio), and 429s received.
- ``burst``: 200 new-report cards to ONE department group, group limit scaled up ``--scale``
  times so the baseline finishes in seconds: with burst coalescing, and the baseline with
  coalescing off (one message per card). Both are also projected back to Telegram's real
  20 messages/min per group.

Usage: python benchmarks/delivery.py [--messages N] [--scale S]. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.infra.delivery import DeliveryWorker, Limits
from bot.telegram.bot_api import open_bot_api
from sandbox import LoopbackServer, RateLimits
from storage import outbox
from storage.db import create_all, make_engine, session_scope
from storage.models import Observer, OutboxMessage, OutboxStatus, Report, Station

GROUP_PER_MINUTE = 20
BURST_REPORTS = 200


def fresh_engine(folder: Path, name: str) -> Engine:
    """Return an engine on a new SQLite file with the full schema."""
    engine = make_engine(f"sqlite:///{folder / name}.sqlite")
    create_all(engine)
    return engine


def pending(engine: Engine) -> int:
    """Return how many rows still wait."""
    with Session(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        ).one()


async def drain(engine: Engine, worker: DeliveryWorker) -> float:
    """Run ``worker`` until the outbox is empty; return the seconds it took."""
    started = time.perf_counter()
    task = asyncio.create_task(worker.run())
    while pending(engine):  # noqa: ASYNC110 - the condition is in the database
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await worker.stop()
    await task
    return elapsed


async def spread(folder: Path, messages: int) -> dict[str, Any]:
    """N messages to N/3 private chats at 200 ms per call, Telegram's limits on."""
    engine = fresh_engine(folder, "spread")
    async with LoopbackServer(latency=0.2, rate_limits=RateLimits()) as server:
        users = [server.world.add_person(f"U{n}", started=True) for n in range(messages // 3)]
        now = datetime.now(UTC)
        with session_scope(engine) as session:
            for n in range(messages):
                user = users[n % len(users)]
                outbox.enqueue(
                    session=session,
                    chat_id=user.id,
                    payload={"chat_id": user.id, "text": f"消息 {n}"},
                    idempotency_key=f"m{n}",
                    now=now,
                )
        api = open_bot_api("ptb", server.token, api_base=server.base_url)
        try:
            seconds = await drain(engine, DeliveryWorker(engine, api, poll_interval=0.05))
        finally:
            await api.close()
        http_429 = server.http_429
    rate = messages / seconds
    return {
        "messages": messages,
        "seconds": round(seconds, 2),
        "per_second": round(rate, 1),
        "ceiling_per_second": 30,
        "ratio": round(rate / 30, 3),
        "http_429": http_429,
    }


async def burst(folder: Path, scale: float, coalesce: bool) -> dict[str, Any]:
    """200 cards to one group with the group limit scaled ``scale`` times."""
    name = "burst" if coalesce else "burst_baseline"
    engine = fresh_engine(folder, name)
    group_rate = GROUP_PER_MINUTE / 60 * scale
    limits = RateLimits(group_rate=group_rate, group_burst=20)
    async with LoopbackServer(latency=0.05, rate_limits=limits) as server:
        group = server.world.add_group("环保局承办群")
        now = datetime.now(UTC)
        with session_scope(engine) as session:
            session.add(
                Station(code="ST1", name="站", city="广州市", county="越秀区", region_code="440104")
            )
            session.flush()
            person = Observer(name="观察员", station_code="ST1")
            session.add(person)
            session.flush()
            for n in range(BURST_REPORTS):
                report = Report(
                    number=f"GD-20261126-{n + 1:04d}", kind="problem", observer_id=person.id,
                    station_code="ST1", region_code="440104", text=f"第{n + 1}件：路灯不亮",
                    source_chat_id=1, source_message_id=n + 1, department="environment",
                    target_region="440104", status="routed", created_at=now,
                )  # fmt: skip
                session.add(report)
                session.flush()
                keyboard = [[{"text": "签收", "callback_data": f"v1:sign:{report.id}"}]]
                outbox.enqueue(
                    session=session,
                    chat_id=group.id,
                    payload={
                        "chat_id": group.id,
                        "text": f"【新报告】{report.number}\n{report.text}",
                        "reply_markup": {"inline_keyboard": keyboard},
                    },
                    idempotency_key=f"card{n}",
                    now=now,
                    purpose="card",
                    report_id=report.id,
                )
        api = open_bot_api("ptb", server.token, api_base=server.base_url)
        pacing = Limits(group_rate=group_rate, group_burst=5)
        worker = DeliveryWorker(
            engine, api, limits=pacing, coalesce_after=5 if coalesce else 0, poll_interval=0.05
        )
        try:
            seconds = await drain(engine, worker)
        finally:
            await api.close()
        sent = server.world.sent_count.get(group.id, 0)
    # At Telegram's real rate every message after the first few takes 60/20 = 3 s.
    real = max(0, sent - 5) * 60 / GROUP_PER_MINUTE
    return {"reports": BURST_REPORTS, "messages": sent, "seconds": round(seconds, 2),
            "projected_seconds_at_20_per_min": round(real, 1)}  # fmt: skip


async def main() -> None:
    """Run the scenarios and print the figures; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--scale", type=float, default=60.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fanout = await spread(folder, args.messages)
        print(
            f"spread: {fanout['messages']} messages to {args.messages // 3} chats at 200 ms/call "
            f"in {fanout['seconds']} s = {fanout['per_second']}/s "
            f"({fanout['ratio']:.0%} of the 30/s ceiling), 429s: {fanout['http_429']}"
        )
        combined = await burst(folder, args.scale, coalesce=True)
        single = await burst(folder, args.scale, coalesce=False)
    for label, figures in (("coalesced", combined), ("baseline (one per card)", single)):
        print(
            f"burst {label}: {figures['reports']} reports -> {figures['messages']} messages "
            f"in {figures['seconds']} s (group limit x{args.scale:g}); at 20/min: "
            f"~{figures['projected_seconds_at_20_per_min'] / 60:.1f} min"
        )
    ratio = single["projected_seconds_at_20_per_min"] / max(
        combined["projected_seconds_at_20_per_min"], 3.0
    )
    summary = {
        "spread": fanout,
        "burst": combined,
        "burst_baseline": single,
        "burst_speedup_at_20_per_min": round(ratio, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
