"""Benchmark: a burst of reports from every observer at once, under Telegram's limits.

1,366 observers at 593 stations (the programme's figures) each send a report's text within the
same 10 seconds and press 提交 as soon as the preview reaches them. The loopback Bot API runs in
its own process with 100 ms latency on every call and Telegram's flood limits enforced (30
messages/s per bot, 1/s per private chat with a burst of 3, 20/min per group with a burst of 20;
a send over a limit gets 429). Every department is bound at province level, so each
department group receives its share of the burst as cards (coalesced by the delivery worker
when they pile up).

Two runs, each printed, the last line JSON:

- ``single``: one bot process, long polling, SQLite (the default deployment).
- ``dual``: two bot processes on one throw-away PostgreSQL database, in webhook mode behind a
  round-robin proxy on 127.0.0.1 (a tiny aiohttp server alternating between the instances'
  webhook ports). Each instance paces itself to half of Telegram's global rate.

Figures: ``reports`` stored; ``lost`` (observers who pressed 提交 and have no report);
``duplicated`` (extra reports, extra cards, extra private messages beyond preview + ack);
``http_429`` served by the loopback server; ``p50_ingest_ms``/``p99_ingest_ms`` from the press
(the update is available at the Bot API) to the report's commit (its ``created_at``, stamped
in the committing transaction); ``delivery_s`` from the first text to the last
acknowledgement or department message delivered; ``floor_s`` the least time Telegram's
limits allow for the messages the run had to send (see ``floor``). Targets: lost 0,
duplicated 0, http_429 0, p99 ingest <= 200 ms, delivery_s <= 1.2 x floor_s.

    .venv/bin/python benchmarks/burst.py [--observers 1366] [--stations 593] [--only single]

PostgreSQL for the dual run: ``TEST_POSTGRES_URL`` (default the local server, as in the tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LATENCY = 0.1
GLOBAL_RATE, GLOBAL_BURST = 30.0, 30.0
GROUP_RATE, GROUP_BURST = 20.0 / 60.0, 20.0
PRIVATE_RATE, PRIVATE_BURST = 1.0, 3.0
WINDOW_S = 10.0
SECRET = "burst-benchmark-secret"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _texts() -> list[str]:
    """Problems (not sentiment records) from the invented fixture, so every report gets a card."""
    items = yaml.safe_load((ROOT / "tests/fixtures/observer_reports.yaml").read_text("utf-8"))
    return [i["text"] for i in items if i.get("kind", "problem") == "problem"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the world: the loopback Bot API and the observers, in their own process -----------------


async def world_main(observers: int, seed: int) -> None:
    """Serve the Bot API; on "go", play every observer; on "stop", print what happened."""
    from sandbox import LoopbackServer, RateLimits

    limits = RateLimits(
        global_rate=GLOBAL_RATE,
        global_burst=GLOBAL_BURST,
        private_rate=PRIVATE_RATE,
        private_burst=PRIVATE_BURST,
        group_rate=GROUP_RATE,
        group_burst=GROUP_BURST,
    )
    async with LoopbackServer(latency=LATENCY, rate_limits=limits) as server:
        world = server.world
        people = [world.add_person(f"观察员{n}", started=True) for n in range(observers)]
        groups = {}
        for department in _departments():
            groups[department] = world.add_group(f"{department}承办群", chat_type="supergroup").id
        print(
            json.dumps(
                {
                    "base_url": server.base_url,
                    "token": server.token,
                    "users": [p.id for p in people],
                    "groups": groups,
                }
            ),
            flush=True,
        )
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        line = (await reader.readline()).decode().split()
        assert line[0] == "go", line
        start = float(line[1])
        texts = _texts()
        rng = random.Random(seed)
        offsets = sorted(rng.uniform(0, WINDOW_S) for _ in people)
        text_at: dict[int, float] = {}
        press_at: dict[int, float] = {}

        async def speak() -> None:
            for n, (person, offset) in enumerate(zip(people, offsets, strict=True)):
                delay = start + offset - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                text_at[person.id] = time.time()
                world.user_message(person.id, text=f"{texts[n % len(texts)]}（第{n}号）")

        async def press() -> None:
            waiting = {p.id for p in people}
            while waiting:
                for uid in list(waiting):
                    if world.sent_count.get(uid, 0) < 1:
                        continue
                    preview = server.controller._bot_messages(uid, 0)[0]
                    label = next(
                        b["text"]
                        for row in preview["reply_markup"]["inline_keyboard"]
                        for b in row
                        if "提交" in b["text"]
                    )
                    press_at[uid] = time.time()
                    world.press_button(uid, uid, preview["message_id"], button_text=label)
                    waiting.discard(uid)
                await asyncio.sleep(0.01)

        await asyncio.gather(speak(), press())
        await reader.readline()  # "stop"
        sent = {str(chat): count for chat, count in world.sent_count.items()}
        print(
            json.dumps(
                {
                    "text_at": text_at,
                    "press_at": press_at,
                    "sent": sent,
                    "http_429": server.http_429,
                    "offsets_max": offsets[-1],
                }
            ),
            flush=True,
        )


def _departments() -> list[str]:
    rules = yaml.safe_load((ROOT / "routing_rules.yaml").read_text("utf-8"))
    return [d["id"] for d in rules["departments"] if "province" in d["levels"]]


# --- one bot instance, in its own process ------------------------------------------------------


async def instance_main(args: argparse.Namespace) -> None:
    """Run one bot (polling, or webhook on --webhook-port) until SIGTERM."""
    from bot.app import build_services, worker_services
    from bot.infra.config import load_settings
    from bot.infra.delivery import DeliveryWorker, Limits
    from bot.infra.handling import HandlingProcess
    from bot.telegram.bot_api import open_bot_api
    from bot.telegram.runtime import BotRuntime, Webhook
    from bot.telegram.webhook import WebhookServer

    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(
        routing_rules=ROOT / "routing_rules.yaml",
        database_url=args.db,
        telegram_api_base=args.api,
        bot_runtime=args.runtime,
    )
    services = build_services(settings)
    api = open_bot_api(args.runtime, args.token, api_base=args.api)
    share = 1.0 / args.instances
    limits = Limits(global_rate=28.0 * share, global_burst=max(2.0, 20.0 * share))
    delivery = DeliveryWorker(
        services.engine,
        api,
        dispatch_chat_id=args.dispatch,
        limits=limits,
        sole=args.db.startswith("sqlite"),
    )
    webhook = None
    if args.webhook_port:
        webhook = Webhook(
            WebhookServer(services, secret=SECRET, host="127.0.0.1", port=args.webhook_port),
            args.webhook_url,
        )
    handling = HandlingProcess(
        services, args.db, build=worker_services, token=args.token, api_base=args.api
    )
    runtime = BotRuntime(services, api, delivery=delivery, webhook=webhook, handling=handling)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, runtime.stop)
    task = asyncio.create_task(runtime.run())
    await asyncio.wait_for(runtime.ready.wait(), timeout=60)
    print("ready", flush=True)
    await task
    await api.close()


# --- the round-robin proxy ---------------------------------------------------------------------


async def start_proxy(targets: list[int]) -> tuple[Any, int]:
    """A tiny aiohttp server forwarding each POST to the next target port in turn."""
    import aiohttp
    from aiohttp import web

    from bot.telegram.webhook import WEBHOOK_PATH

    turn = 0
    client = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        nonlocal turn
        port = targets[turn % len(targets)]
        turn += 1
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-telegram")}
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        async with client.post(
            f"http://127.0.0.1:{port}{WEBHOOK_PATH}", data=body, headers=headers
        ) as response:
            return web.Response(
                status=response.status,
                body=await response.read(),
                content_type=response.content_type,
            )

    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    async def close() -> None:
        await runner.cleanup()
        await client.close()

    return close, port


# --- the orchestrator ----------------------------------------------------------------------------


def _populate(url: str, users: list[int], groups: dict[str, int], stations: int) -> None:
    """593 stations over Guangdong's counties, one observer per user, province-level groups."""
    from sqlmodel import Session

    from bot.core.regions import known_regions, level_of
    from storage.db import make_engine
    from storage.models import GroupBinding, Observer, Station

    counties = [r for r in known_regions() if level_of(r.code) == "county"]
    engine = make_engine(url)
    with Session(engine) as session:
        for n in range(stations):
            county = counties[n % len(counties)]
            session.add(
                Station(
                    code=f"ST{n:04d}",
                    name=f"{county.name}第{n}社会工作观察站",
                    city="",
                    county=county.name,
                    region_code=county.code,
                )
            )
        session.flush()
        for n, uid in enumerate(users):
            session.add(
                Observer(
                    name=f"观察员{n}",
                    phone=f"+86139{n:08d}",
                    station_code=f"ST{n % stations:04d}",
                    telegram_user_id=uid,
                    bound_at=_now(),
                )
            )
        for department, chat in groups.items():
            session.add(GroupBinding(department=department, region_code="440000", chat_id=chat))
        session.commit()
    engine.dispose()


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def _progress(url: str) -> tuple[int, int, int]:
    """Return (reports, reports still without their card, outbox rows still pending)."""
    from sqlmodel import Session, col, func, select

    from storage.db import make_engine
    from storage.models import OutboxMessage, OutboxStatus, Report, ReportStatus

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            reports = session.exec(select(func.count()).select_from(Report)).one()
            uncarded = session.exec(
                select(func.count())
                .select_from(Report)
                .where(
                    col(Report.card_message_id).is_(None),
                    Report.status != ReportStatus.RECORDED,  # sentiment records get no card
                )
            ).one()
            pending = session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
            ).one()
    finally:
        engine.dispose()
    return reports, uncarded, pending


def _outcome(url: str) -> dict[str, Any]:
    """Read what the bot stored: reports per observer's user, card rows, last delivery."""
    from sqlmodel import Session, col, func, select

    from storage.db import make_engine
    from storage.models import InboxStatus, InboxUpdate, Observer, OutboxMessage, Report

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(Observer.telegram_user_id, Report.created_at, Report.number).join(
                    Report, col(Report.observer_id) == col(Observer.id)
                )
            ).all()
            cards = session.exec(
                select(OutboxMessage.report_id, func.count())
                .where(OutboxMessage.purpose == "card")
                .group_by(col(OutboxMessage.report_id))
            ).all()
            last = session.exec(
                select(func.max(OutboxMessage.sent_at)).where(
                    col(OutboxMessage.purpose).in_(("ack", "card", "card_batch"))
                )
            ).one()
            inbox_rows = session.exec(
                select(InboxUpdate.payload, InboxUpdate.received_at, InboxUpdate.processed_at)
            ).all()
            failed = session.exec(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.status == InboxStatus.FAILED)
            ).one()
    finally:
        engine.dispose()
    presses = {
        int(payload["callback_query"]["from"]["id"]): (received.timestamp(), done.timestamp())
        for payload, received, done in inbox_rows
        if "callback_query" in payload and received is not None and done is not None
    }
    handled = sorted(done.timestamp() for _, _, done in inbox_rows if done is not None)
    return {
        "presses": presses,
        "updates": len(inbox_rows),
        "handled_span_s": handled[-1] - handled[0] if handled else 0.0,
        "reports": [(uid, created.timestamp()) for uid, created, _ in rows],
        "extra_cards": sum(max(0, count - 1) for _, count in cards),
        "last_delivery": last.timestamp() if last else None,
        "failed_updates": failed,
    }


def floor_of(sent: dict[str, int], users: set[int], last_offset: float) -> dict[str, float]:
    """The least time Telegram's limits allow for the messages the run sent, and why.

    - global: all sends share 30/s after a burst of 30: (M - 30) / 30;
    - per group: (m - 20) / (20/60) for the busiest group (cards as actually coalesced);
    - per private chat: preview + ack = 2 messages, within the burst of 3: no constraint;
    - arrival: the last text comes at ``last_offset`` and needs four calls of 100 ms before its
      acknowledgement is out (getUpdates, preview, getUpdates of the press, ack).
    Each bound adds the 100 ms of the last send.
    """
    total = sum(sent.values())
    groups = [count for chat, count in sent.items() if int(chat) < 0]
    global_s = max(0.0, total - GLOBAL_BURST) / GLOBAL_RATE + LATENCY
    group_s = max((max(0.0, m - GROUP_BURST) / GROUP_RATE for m in groups), default=0.0) + LATENCY
    arrival_s = last_offset + 4 * LATENCY
    private = [count for chat, count in sent.items() if int(chat) in users]
    return {
        "messages": total,
        "private_messages": sum(private),
        "group_messages": sum(groups),
        "global_s": round(global_s, 2),
        "busiest_group_s": round(group_s, 2),
        "arrival_s": round(arrival_s, 2),
        "floor_s": round(max(global_s, group_s, arrival_s), 2),
    }


SCRIPT = str(Path(__file__).resolve())


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=str(ROOT),
        limit=64 * 1024 * 1024,
    )


async def _line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 120)
    if not line:
        raise RuntimeError(f"child {process.pid} ended (exit {await process.wait()})")
    return line.decode()


def _create_postgres() -> tuple[str, Any]:
    """A throw-away PostgreSQL database at the newest schema, and how to drop it."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage.db import make_engine, upgrade

    name = f"obsbot_burst_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


async def run_scenario(
    mode: str, observers: int, stations: int, runtime: str, folder: Path, seed: int
) -> dict[str, Any]:
    """Play the burst against one polling bot on SQLite, or two webhook bots on PostgreSQL."""
    drop = None
    if mode == "single":
        from storage.db import create_all, make_engine

        url = f"sqlite:///{folder / 'burst.sqlite'}"
        create_all(make_engine(url))
    else:
        url, drop = await asyncio.to_thread(_create_postgres)
    world = await _spawn("--world", "--observers", str(observers), "--seed", str(seed))
    instances: list[asyncio.subprocess.Process] = []
    close_proxy = None
    try:
        setup = json.loads(await _line(world))
        users, groups = setup["users"], setup["groups"]
        await asyncio.to_thread(_populate, url, users, groups, stations)
        common = ["--instance", "--db", url, "--api", setup["base_url"], "--token", setup["token"]]
        common += ["--runtime", runtime, "--dispatch", str(groups["social_work"])]
        if mode == "single":
            instances.append(await _spawn(*common, "--instances", "1"))
        else:
            ports = [_free_port(), _free_port()]
            close_proxy, proxy_port = await start_proxy(ports)
            hook = f"http://127.0.0.1:{proxy_port}/telegram/webhook"
            for port in ports:
                instances.append(
                    await _spawn(
                        *common,
                        "--instances",
                        "2",
                        "--webhook-port",
                        str(port),
                        "--webhook-url",
                        hook,
                    )
                )
        for process in instances:
            assert (await _line(process)).strip() == "ready"
        start = time.time() + 0.5
        assert world.stdin is not None
        world.stdin.write(f"go {start}\n".encode())
        await world.stdin.drain()
        deadline = start + 900
        while time.time() < deadline:
            reports, uncarded, pending = await asyncio.to_thread(_progress, url)
            if reports >= observers and uncarded == 0 and pending == 0:
                break
            if int(time.time() - start) % 10 == 0:
                print(f"  {mode}: {reports} reports, {pending} to send", file=sys.stderr)
            await asyncio.sleep(0.5)
        outcome = await asyncio.to_thread(_outcome, url)
        world.stdin.write(b"stop\n")
        await world.stdin.drain()
        seen = json.loads(await _line(world))
    finally:
        for process in instances:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in instances:
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
        if world.returncode is None:
            world.kill()
            await world.wait()
        if close_proxy is not None:
            await close_proxy()
        if drop is not None:
            await asyncio.to_thread(drop)
    press_at = {int(k): v for k, v in seen["press_at"].items()}
    per_user = Counter(uid for uid, _ in outcome["reports"])
    ingest = sorted(
        (created - press_at[uid]) * 1000 for uid, created in outcome["reports"] if uid in press_at
    )
    # Where the ingest time goes: press -> stored in the inbox -> taken up by the processor.
    to_inbox = sorted(
        (stored - press_at[uid]) * 1000
        for uid, (stored, _) in outcome["presses"].items()
        if uid in press_at
    )
    in_inbox = sorted((taken - stored) * 1000 for stored, taken in outcome["presses"].values())
    user_set = set(users)
    extra_private = sum(max(0, seen["sent"].get(str(uid), 0) - 2) for uid in users)
    duplicated = sum(c - 1 for c in per_user.values() if c > 1) + outcome["extra_cards"]
    floor = floor_of(seen["sent"], user_set, seen["offsets_max"])
    delivery = (outcome["last_delivery"] or time.time()) - start
    return {
        "mode": mode,
        "runtime": runtime,
        "observers": observers,
        "stations": stations,
        "reports": len(outcome["reports"]),
        "lost": sum(1 for uid in press_at if uid not in per_user) + (observers - len(press_at)),
        "duplicated": duplicated + extra_private,
        "extra_private_messages": extra_private,
        "failed_updates": outcome["failed_updates"],
        "http_429": seen["http_429"],
        "p50_ingest_ms": round(statistics.median(ingest), 1) if ingest else None,
        "p99_ingest_ms": round(ingest[min(len(ingest) - 1, int(len(ingest) * 0.99))], 1)
        if ingest
        else None,
        "max_ingest_ms": round(ingest[-1], 1) if ingest else None,
        "p50_press_to_inbox_ms": _pct(to_inbox, 0.5),
        "p99_press_to_inbox_ms": _pct(to_inbox, 0.99),
        "p50_wait_in_inbox_ms": _pct(in_inbox, 0.5),
        "p99_wait_in_inbox_ms": _pct(in_inbox, 0.99),
        "updates": outcome["updates"],
        "handled_per_s": round(outcome["updates"] / max(outcome["handled_span_s"], 1e-9), 1),
        "delivery_s": round(delivery, 2),
        "floor_s": floor["floor_s"],
        "delivery_over_floor": round(delivery / floor["floor_s"], 3),
        "floor": floor,
    }


def _pct(values: list[float], q: float) -> float | None:
    """Return the ``q`` quantile of sorted ``values`` (nearest rank), rounded."""
    if not values:
        return None
    return round(values[min(len(values) - 1, int(len(values) * q))], 1)


def _print(figures: dict[str, Any]) -> None:
    f = figures
    print(
        f"{f['mode']} ({f['runtime']}): {f['reports']} reports from {f['observers']} observers "
        f"at {f['stations']} stations; lost {f['lost']}, duplicated {f['duplicated']}, "
        f"429s {f['http_429']}, failed updates {f['failed_updates']}; ingest p50 "
        f"{f['p50_ingest_ms']} ms, p99 {f['p99_ingest_ms']} ms (max {f['max_ingest_ms']}); "
        f"delivered in {f['delivery_s']} s vs floor {f['floor_s']} s "
        f"(x{f['delivery_over_floor']}; {f['floor']['messages']} messages: global "
        f"{f['floor']['global_s']} s, busiest group {f['floor']['busiest_group_s']} s, "
        f"arrival {f['floor']['arrival_s']} s); a press reaches the inbox in "
        f"{f['p50_press_to_inbox_ms']}/{f['p99_press_to_inbox_ms']} ms (p50/p99) and waits there "
        f"{f['p50_wait_in_inbox_ms']}/{f['p99_wait_in_inbox_ms']} ms; {f['updates']} updates "
        f"handled at {f['handled_per_s']}/s",
        flush=True,
    )


async def main() -> None:
    """Run the scenarios and print the figures; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observers", type=int, default=1366)
    parser.add_argument("--stations", type=int, default=593)
    parser.add_argument("--runtime", default="ptb")
    parser.add_argument("--only", choices=("single", "dual"), default=None)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    modes = [args.only] if args.only else ["single", "dual"]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            figures = await run_scenario(
                mode, args.observers, args.stations, args.runtime, Path(tmp), args.seed
            )
            _print(figures)
            results[mode] = figures
    headline = results[modes[0]]
    keys = ("reports", "lost", "duplicated", "http_429", "p50_ingest_ms", "p99_ingest_ms")
    summary = {k: headline[k] for k in keys}
    summary |= {"delivery_s": headline["delivery_s"], "floor_s": headline["floor_s"]}
    summary["runs"] = results
    print(json.dumps(summary, ensure_ascii=False))


def _child_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--world", action="store_true")
    parser.add_argument("--instance", action="store_true")
    parser.add_argument("--observers", type=int, default=1366)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", default="")
    parser.add_argument("--api", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--runtime", default="ptb")
    parser.add_argument("--dispatch", type=int, default=0)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--webhook-port", type=int, default=0)
    parser.add_argument("--webhook-url", default="")
    return parser.parse_args()


if __name__ == "__main__":
    if "--world" in sys.argv:
        child = _child_args()
        asyncio.run(world_main(child.observers, child.seed))
    elif "--instance" in sys.argv:
        asyncio.run(instance_main(_child_args()))
    else:
        asyncio.run(main())
