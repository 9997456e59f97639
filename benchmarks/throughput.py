"""Benchmark: reports per second through the whole bot, against a bare bot on the same server.

One run, the loopback Bot API in-process with its flood limits off and no latency,
a fresh SQLite file per measurement, on each runtime (python-telegram-bot and aiogram):

- ``pipeline``: the real bot (our polling loop, inbox, handlers, routing, outbox, delivery
  worker paced far above Telegram's limits). A **report** is what an observer does to file one:
  a pre-registered observer sends a free-text message (update 1), the bot answers with the
  preview, the observer presses 提交 (update 2); the report is committed and the bot answers the
  press, acknowledges to the observer and posts the department card (cards coalesce in bursts,
  as in production). A report counts once its acknowledgement and its card are delivered
  (nothing left in the outbox, every report has a card message).
- ``echo``: a bare bot on the same library and server — the library's getUpdates and
  send_message in a loop, no database — holding the same conversation: it answers the text
  with a message carrying a 提交 button, and the press with answerCallbackQuery, a message to
  the observer and a message to the group (one card per report, no coalescing). Same users,
  same driver, same updates; the difference is everything our bot does on top of the library.
- ``plain_echo``: for context, the classic echo bot (one text in, the same text out), messages/s.

The bot runs twice: as deployed (updates handled in a second process, cards coalesced in
bursts) and in the bare bot's layout (one process, one card message per report), so the
comparison with the bare bot is made like for like as well. ``ratio`` is pipeline_rps over
echo_rps on the default runtime (ptb), ``ratio_same_layout`` the same for the one-process run.
Target: >= 0.5.

    .venv/bin/python benchmarks/throughput.py [--reports 300] [--runtimes ptb,aiogram]

The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot.app import build_services, worker_services
from bot.infra.config import load_settings
from bot.infra.delivery import DeliveryWorker, Limits, RetryPolicy
from bot.infra.handling import HandlingProcess
from bot.telegram.bot_api import open_bot_api
from bot.telegram.runtime import BotRuntime
from bot.telegram.transport import BotApi
from sandbox import LoopbackServer
from sandbox.world import Person
from storage.db import create_all, make_engine
from storage.models import GroupBinding, Observer, OutboxMessage, OutboxStatus, Report, Station

ROOT = Path(__file__).resolve().parents[1]
TEXTS = (
    "小区自来水发黄，停水也不通知，已经三天了",
    "河道有人偷排污水，气味很大",
    "路灯坏了一个月没人修，晚上很黑",
    "建议在村口增设公交站点，方便老人出行",
    "楼下餐馆油烟扰民，晚上十点后还很吵",
)


def _fresh_engine(folder: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{folder / name}.sqlite")
    create_all(engine)
    return engine


def _populate(engine: Engine, people: list[Person], water: int, dispatch: int) -> None:
    """One station, every simulated person a registered observer, two bound groups."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(
            Station(
                code="GZ-YX-001",
                name="北京街社会工作观察站",
                city="广州市",
                county="越秀区",
                town="北京街道",
                region_code="440104001",
            )
        )
        session.flush()
        for n, person in enumerate(people):
            session.add(
                Observer(
                    name=f"观察员{n}",
                    phone=f"+86139{n:08d}",
                    station_code="GZ-YX-001",
                    telegram_user_id=person.id,
                    bound_at=now,
                )
            )
        session.add(GroupBinding(department="water", region_code="440100", chat_id=water))
        session.add(GroupBinding(department="social_work", region_code="440000", chat_id=dispatch))
        session.commit()


def _submit_label(preview: dict[str, Any]) -> str:
    for row in (preview.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if "提交" in button["text"]:
                return str(button["text"])
    raise RuntimeError(f"no 提交 button on the preview: {preview.get('reply_markup')}")


async def _drive(
    server: LoopbackServer, people: list[Person], done: Callable[[], Awaitable[bool]]
) -> float:
    """Every person files one report at once; return seconds until ``done()``."""
    started = time.perf_counter()

    async def one(n: int, person: Person) -> None:
        server.world.user_message(person.id, text=f"{TEXTS[n % len(TEXTS)]}（{n}号）")
        preview = (await server.control.wait_sent(person.id, 1, timeout=300))[0]
        server.world.press_button(
            person.id, person.id, preview["message_id"], button_text=_submit_label(preview)
        )

    await asyncio.gather(*(one(n, p) for n, p in enumerate(people)))
    while not await done():  # noqa: ASYNC110 - the condition is in the database
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


def _delivered(engine: Engine, reports: int) -> bool:
    with Session(engine) as session:
        carded = session.exec(
            select(func.count()).select_from(Report).where(col(Report.card_message_id).is_not(None))
        ).one()
        waiting = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        ).one()
    return carded == reports and waiting == 0


async def pipeline(
    runtime: str, reports: int, folder: Path, *, like_the_bare_bot: bool = False
) -> dict[str, Any]:
    """The real bot: reports filed by ``reports`` observers at once; reports/s.

    As deployed, updates are handled in a process of their own and cards coalesce in bursts.
    ``like_the_bare_bot`` runs it in the bare bot's layout instead: one process (updates
    handled on a thread) and one card message per report.
    """
    layout = "one_process" if like_the_bare_bot else "two_processes"
    engine = _fresh_engine(folder, f"pipeline_{runtime}_{layout}")
    async with LoopbackServer(enforce_limits=False) as server:
        world = server.world
        people = [world.add_person(f"观察员{n}", started=True) for n in range(reports)]
        water = world.add_group("越秀水务承办群", chat_type="supergroup")
        dispatch = world.add_group("社会工作部分拨群", chat_type="supergroup")
        _populate(engine, people, water.id, dispatch.id)
        settings = load_settings(
            routing_rules=ROOT / "routing_rules.yaml",
            database_url="sqlite:///unused.sqlite",
            telegram_api_base=server.base_url,
            bot_runtime=runtime,
        )
        services = build_services(settings, engine=engine)
        api = open_bot_api(runtime, server.token, api_base=server.base_url, timeout=30)
        delivery = DeliveryWorker(
            engine,
            api,
            dispatch_chat_id=dispatch.id,
            poll_interval=0.2,
            limits=Limits.unpaced(),  # the loopback server's limits are off
            retry=RetryPolicy(base=0.05, cap=0.5, card_wait=0.05),
            sole=True,
            coalesce_after=0 if like_the_bare_bot else 5,
        )
        # As ``obsbot run`` does: updates are handled in a process of their own (or, like the
        # bare bot, in this one: the runtime's default handling thread).
        handling = None
        if not like_the_bare_bot:
            handling = HandlingProcess(
                services,
                engine.url.render_as_string(hide_password=False),
                build=worker_services,
                token=server.token,
                api_base=server.base_url,
            )
        bot = BotRuntime(services, api, delivery=delivery, poll_timeout=1, handling=handling)
        task = asyncio.create_task(bot.run())
        try:
            await asyncio.wait_for(bot.ready.wait(), timeout=30)

            async def done() -> bool:
                # Ask the database only once every observer has their preview and ack: the
                # check is the benchmark's cost, not the bot's.
                if any(world.sent_count.get(person.id, 0) < 2 for person in people):
                    return False
                return await asyncio.to_thread(_delivered, engine, reports)

            seconds = await _drive(server, people, done)
        finally:
            bot.stop()
            await task
            await api.close()
        with Session(engine) as session:
            stored = session.exec(select(func.count()).select_from(Report)).one()
        calls = sum(server.call_counts.values())
    engine.dispose()
    return {
        "reports": stored,
        "seconds": round(seconds, 3),
        "rps": round(reports / seconds, 1),
        "updates": 2 * reports,
        "bot_api_calls": calls,
    }


class EchoBot:
    """A bare bot: getUpdates, then answer each update with the same Bot API calls as ours."""

    def __init__(self, api: BotApi, group: int, *, shaped: bool) -> None:
        self.api = api
        self.group = group
        self.shaped = shaped
        self.presses = 0
        self.echoed = 0
        self._stopping = False

    async def run(self) -> None:
        """Poll and answer until ``stop()``."""
        offset: int | None = None
        while not self._stopping:
            updates = await self.api.get_updates(offset, 1, 100, ["message", "callback_query"])
            if updates:
                offset = max(int(u["update_id"]) for u in updates) + 1
                await asyncio.gather(*(self._answer(u) for u in updates))

    def stop(self) -> None:
        self._stopping = True

    async def _answer(self, update: dict[str, Any]) -> None:
        if "message" in update:
            message = update["message"]
            chat = message["chat"]["id"]
            payload: dict[str, Any] = {"chat_id": chat, "text": message.get("text", "")}
            if self.shaped:
                payload["text"] = f"请确认：{payload['text']}"
                payload["reply_markup"] = {
                    "inline_keyboard": [[{"text": "✅ 提交", "callback_data": "echo:submit"}]]
                }
            await self.api.call("sendMessage", payload)
            self.echoed += 1
        elif "callback_query" in update:
            query = update["callback_query"]
            chat = query["message"]["chat"]["id"]
            await self.api.call("answerCallbackQuery", {"callback_query_id": query["id"]})
            await self.api.call("sendMessage", {"chat_id": chat, "text": "已收到您的反映"})
            await self.api.call("sendMessage", {"chat_id": self.group, "text": "新反映"})
            self.presses += 1


async def echo(runtime: str, reports: int, *, shaped: bool) -> dict[str, Any]:
    """The bare bot on the same library and server; reports/s (shaped) or messages/s."""
    async with LoopbackServer(enforce_limits=False) as server:
        world = server.world
        people = [world.add_person(f"观察员{n}", started=True) for n in range(reports)]
        group = world.add_group("越秀水务承办群", chat_type="supergroup")
        api = open_bot_api(runtime, server.token, api_base=server.base_url, timeout=30)
        bot = EchoBot(api, group.id, shaped=shaped)
        await api.call("deleteWebhook", {"drop_pending_updates": False})
        task = asyncio.create_task(bot.run())
        try:
            if shaped:

                async def done() -> bool:
                    return bot.presses >= reports

                seconds = await _drive(server, people, done)
            else:
                started = time.perf_counter()
                for n, person in enumerate(people):
                    world.user_message(person.id, text=f"回声 {n}")
                while bot.echoed < reports:  # noqa: ASYNC110 - counted by the bot's task
                    await asyncio.sleep(0.01)
                seconds = time.perf_counter() - started
        finally:
            bot.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
            await api.close()
    return {"seconds": round(seconds, 3), "rps": round(reports / seconds, 1)}


async def main() -> None:
    """Measure every runtime and print the figures; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--runtimes", default="ptb,aiogram")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    print(
        "report = a registered observer's free-text message + the 提交 press (2 updates), "
        "counted once its acknowledgement and department card are delivered"
    )
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for runtime in runtimes:
            full = await pipeline(runtime, args.reports, Path(tmp))
            alike = await pipeline(runtime, args.reports, Path(tmp), like_the_bare_bot=True)
            bare = await echo(runtime, args.reports, shaped=True)
            plain = await echo(runtime, args.reports, shaped=False)
            ratio = full["rps"] / bare["rps"]
            ratio_alike = alike["rps"] / bare["rps"]
            figures[runtime] = {
                "pipeline_rps": full["rps"],
                "pipeline_one_process_rps": alike["rps"],
                "echo_rps": bare["rps"],
                "plain_echo_mps": plain["rps"],
                "ratio": round(ratio, 3),
                "ratio_same_layout": round(ratio_alike, 3),
                "pipeline": full,
            }
            print(
                f"{runtime}: pipeline {full['rps']} reports/s ({full['reports']} reports, "
                f"{full['updates']} updates, {full['bot_api_calls']} Bot API calls in "
                f"{full['seconds']} s, two processes, cards coalesced); in the bare bot's "
                f"layout (one process, one card per report) {alike['rps']} reports/s; bare "
                f"bot, same conversation {bare['rps']} reports/s; ratio {ratio:.2f} "
                f"(same layout {ratio_alike:.2f}); plain echo {plain['rps']} messages/s"
            )
    default = figures.get("ptb") or figures[runtimes[0]]
    summary = {
        "definition": "report = text + 提交 press (2 updates), delivered = ack + card sent",
        "reports": args.reports,
        "pipeline_rps": default["pipeline_rps"],
        "echo_rps": default["echo_rps"],
        "ratio": default["ratio"],
        "pipeline_one_process_rps": default["pipeline_one_process_rps"],
        "ratio_same_layout": default["ratio_same_layout"],
        "target_ratio": 0.5,
        "runtimes": {
            name: {k: v for k, v in f.items() if k != "pipeline"} for name, f in figures.items()
        },
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
