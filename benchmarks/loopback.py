"""Loopback Bot API throughput: updates in and messages out, against a bare aiohttp server.

Three figures, one process, one event loop, limits off, no latency:

- ``updates_per_s``: simulated people send N private messages (in-process control) while one
  long-polling consumer fetches them with getUpdates (limit 100) and confirms them by offset.
- ``send_per_s``: ``concurrency`` clients call sendMessage (HTML parse mode, an inline keyboard)
  over HTTP, N calls in total.
- ``baseline_per_s``: the same clients POST the same requests to a bare aiohttp handler that
  answers a fixed ``{"ok":true,...}`` — the cost of HTTP alone on this machine.

The last line is JSON with the figures and ``ratio`` (send_per_s over baseline_per_s).

    .venv/bin/python benchmarks/loopback.py [--n 5000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp
from aiohttp import web

from sandbox import LoopbackServer

MARKUP = json.dumps({"inline_keyboard": [[{"text": "签收", "callback_data": "v1:sign:1"}]]})


async def _updates(server: LoopbackServer, n: int) -> float:
    users = [await server.control.create_user(f"U{i}", started=True) for i in range(200)]
    url = f"{server.base_url}/bot{server.token}/getUpdates"
    received = 0

    async def consume(session: aiohttp.ClientSession) -> None:
        nonlocal received
        offset = 0
        while received < n:
            async with session.post(url, json={"offset": offset, "timeout": 5}) as response:
                result = (await response.json())["result"]
            if result:
                received += len(result)
                offset = result[-1]["update_id"] + 1
        async with session.post(url, json={"offset": offset, "timeout": 0}) as response:
            await response.read()

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        consumer = asyncio.create_task(consume(session))
        for i in range(n):
            await server.control.send_text(users[i % len(users)]["id"], f"报告 {i} 路灯坏了")
            if i % 100 == 99:
                await asyncio.sleep(0)
        await consumer
        return n / (time.perf_counter() - started)


async def _hammer(url: str, bodies: list[dict], concurrency: int) -> float:
    queue = iter(bodies)

    async def worker(session: aiohttp.ClientSession) -> None:
        for body in queue:
            async with session.post(url, data=body) as response:
                payload = await response.json()
                if not payload.get("ok"):
                    raise RuntimeError(payload)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return len(bodies) / (time.perf_counter() - started)


async def _baseline(bodies: list[dict], concurrency: int) -> float:
    answer = json.dumps({"ok": True, "result": {"message_id": 1}}).encode()

    async def handler(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(body=answer, content_type="application/json")

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        return await _hammer(f"http://127.0.0.1:{port}/botX/sendMessage", bodies, concurrency)
    finally:
        await runner.cleanup()


async def main(n: int, concurrency: int) -> dict[str, float]:
    """Run the three measurements and return the figures."""
    async with LoopbackServer(enforce_limits=False, call_log_size=1000) as server:
        updates_per_s = await _updates(server, n)
        users = [await server.control.create_user(f"R{i}", started=True) for i in range(200)]
        bodies = [
            {
                "chat_id": str(users[i % len(users)]["id"]),
                "text": f"<b>报告 ZT-{i:05d}</b> 已受理 &amp; 分派",
                "parse_mode": "HTML",
                "reply_markup": MARKUP,
            }
            for i in range(n)
        ]
        send_per_s = await _hammer(
            f"{server.base_url}/bot{server.token}/sendMessage", bodies, concurrency
        )
    baseline_per_s = await _baseline(bodies, concurrency)
    return {
        "n": n,
        "concurrency": concurrency,
        "updates_per_s": round(updates_per_s),
        "send_per_s": round(send_per_s),
        "baseline_per_s": round(baseline_per_s),
        "ratio": round(send_per_s / baseline_per_s, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    figures = asyncio.run(main(args.n, args.concurrency))
    print(f"updates in (control -> getUpdates): {figures['updates_per_s']}/s")
    print(f"sendMessage (HTML + keyboard):      {figures['send_per_s']}/s")
    print(f"bare aiohttp baseline:              {figures['baseline_per_s']}/s")
    print(f"ratio send/baseline:                {figures['ratio']}")
    print(json.dumps(figures))
