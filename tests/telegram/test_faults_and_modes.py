"""Faults, flood limits, webhook delivery, request encodings, the threaded server and the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest
from aiohttp import web
from telegram import Bot as PtbBot
from telegram.error import ChatMigrated, NetworkError, RetryAfter, TimedOut

from bot.core.messages import t
from sandbox import ControlClient, LoopbackServer, RateLimits

pytestmark = pytest.mark.e2e


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_faults_500_timeout_drop_and_migrate(
    ptb_bot: PtbBot, control: ControlClient, alice: dict, loopback: LoopbackServer
) -> None:
    uid = alice["id"]
    await control.inject("500", "sendMessage")
    with pytest.raises(NetworkError):
        await ptb_bot.send_message(uid, "a")
    await control.inject("timeout", "sendMessage", hang=3.0)
    with pytest.raises(TimedOut):
        await ptb_bot.send_message(uid, "b", read_timeout=0.2)
    await control.inject("drop", "sendMessage")
    with pytest.raises(NetworkError):
        await ptb_bot.send_message(uid, "c")
    await control.inject("migrate", "sendMessage", migrate_to_chat_id=-1009)
    with pytest.raises(ChatMigrated) as caught:
        await ptb_bot.send_message(uid, "d")
    assert caught.value.new_chat_id == -1009
    assert loopback.world.sent_count.get(uid, 0) == 0  # "before" faults change nothing
    await control.inject("500", "sendMessage", when="after")
    with pytest.raises(NetworkError):
        await ptb_bot.send_message(uid, "delivered, but the bot never hears so")
    assert [m["text"] for m in await control.bot_messages(uid)] == [
        "delivered, but the bot never hears so"
    ]
    assert (await ptb_bot.send_message(uid, "ok")).text == "ok"
    served = (await control.stats())["faults_served"]
    assert served == {"500": 2, "timeout": 1, "drop": 1, "migrate": 1}


async def _fault_pattern(seed: int, sends: int = 40) -> str:
    """Inject 500s on half the calls of a fresh server seeded ``seed``; return which failed."""
    async with LoopbackServer(enforce_limits=False, seed=seed) as server:
        user = await server.control.create_user("Alice", started=True)
        pattern = ""
        async with PtbBot(server.token, base_url=f"{server.base_url}/bot") as bot:
            await server.control.inject("500", "*", count=0, probability=0.5)
            for _ in range(sends):
                try:
                    await bot.send_message(user["id"], "x")
                    pattern += "."
                except NetworkError:
                    pattern += "F"
            await server.control.clear_faults()
            assert (await bot.send_message(user["id"], "y")).text == "y"
    return pattern


async def test_random_fraction_of_faults_is_seeded() -> None:
    first = await _fault_pattern(seed=7)
    assert 5 < first.count("F") < 35  # about half fail
    assert await _fault_pattern(seed=7) == first  # the same seed fails the same calls
    assert await _fault_pattern(seed=8) != first  # another seed, other calls


async def test_flood_limits_private_group_and_global(
    ptb_bot: PtbBot, control: ControlClient, alice: dict, loopback: LoopbackServer
) -> None:
    clock = FakeClock()
    loopback.limiter.clock = clock
    loopback.limiter.limits = RateLimits(global_rate=30, global_burst=30)
    loopback.limiter.enabled = True
    uid = alice["id"]
    for _ in range(3):  # the private-chat burst
        await ptb_bot.send_message(uid, "x")
    with pytest.raises(RetryAfter) as caught:
        await ptb_bot.send_message(uid, "x")
    assert caught.value.retry_after in (1, __import__("datetime").timedelta(seconds=1))
    clock.now += 1.0
    await ptb_bot.send_message(uid, "after a second")
    group = await control.create_group("群", members=[uid])
    for _ in range(20):
        await ptb_bot.send_message(group["id"], "g")
    with pytest.raises(RetryAfter) as group_limit:
        await ptb_bot.send_message(group["id"], "g")
    assert group_limit.value.retry_after in (3, __import__("datetime").timedelta(seconds=3))
    clock.now += 3.0
    await ptb_bot.send_message(group["id"], "g")
    # 30/s overall: fresh private chats still hit the global bucket
    clock.now += 10.0
    users = [await control.create_user(f"U{i}", started=True) for i in range(31)]
    for user in users[:30]:
        await ptb_bot.send_message(user["id"], "hi")
    with pytest.raises(RetryAfter):
        await ptb_bot.send_message(users[30]["id"], "hi")
    stats = await control.stats()
    assert stats["rate_limited"] == 3 and stats["http_429"] == 3


async def test_the_server_delivers_to_a_webhook_with_secret_and_retries(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    received: list[tuple[str | None, dict]] = []
    answers = [500, 200, 200]

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=answers.pop(0) if answers else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        assert await ptb_bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Exception, match="(?i)webhook is active"):
            await ptb_bot.get_updates()
        await control.send_text(alice["id"], "一")
        await control.send_text(alice["id"], "二")
        await control.wait_idle(timeout=5)
        texts = [body["message"]["text"] for _, body in received]
        assert texts[0] == "一" and sorted(texts[1:]) == ["一", "二"]  # first answer 500: retried
        assert {secret for secret, _ in received} == {"s3cret"}
        info = await ptb_bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert "500" in (info.last_error_message or "")
        assert await ptb_bot.delete_webhook()
        await control.send_text(alice["id"], "三")
        assert (await ptb_bot.get_updates(timeout=1))[0].message.text == "三"
    finally:
        await runner.cleanup()


async def test_request_encodings_tokens_and_unknown_methods(
    loopback: LoopbackServer, alice: dict
) -> None:
    base = f"{loopback.base_url}/bot{loopback.token}"
    async with httpx.AsyncClient() as http:
        as_json = await http.post(f"{base}/sendMessage", json={"chat_id": alice["id"], "text": "j"})
        as_form = await http.post(
            f"{base}/sendMessage", data={"chat_id": str(alice["id"]), "text": "f"}
        )
        as_query = await http.get(
            f"{base}/sendMessage", params={"chat_id": alice["id"], "text": "q"}
        )
        as_multipart = await http.post(
            f"{base}/sendDocument",
            data={"chat_id": str(alice["id"]), "caption": "m"},
            files={"document": ("r.txt", b"hello", "text/plain")},
        )
        assert [r.json()["result"].get("text") for r in (as_json, as_form, as_query)] == [
            "j",
            "f",
            "q",
        ]
        assert as_multipart.json()["result"]["document"]["file_name"] == "r.txt"
        lower = await http.post(f"{base}/sendmessage", json={"chat_id": alice["id"], "text": "l"})
        assert lower.json()["ok"] is True
        unknown = await http.post(f"{base}/sendTelepathy", json={})
        assert unknown.status_code == 404
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        wrong = await http.post(f"{loopback.base_url}/bot1:wrong/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        empty = await http.post(f"{base}/sendMessage", json={"text": "x"})
        assert empty.json()["description"] == "Bad Request: chat_id is empty"
        markup = await http.post(
            f"{base}/sendMessage",
            json={"chat_id": alice["id"], "text": "x", "reply_markup": "{not json"},
        )
        assert (
            markup.json()["description"]
            == "Bad Request: can't parse reply keyboard markup JSON object"
        )
        text_button = await http.post(
            f"{base}/sendMessage",
            json={"chat_id": alice["id"], "text": "x",
                  "reply_markup": {"inline_keyboard": [[{"text": "no action"}]]}},
        )  # fmt: skip
        assert text_button.json()["description"] == (
            "Bad Request: text buttons are unallowed in the inline keyboard"
        )
        answer = await http.post(
            f"{base}/answerCallbackQuery", json={"callback_query_id": "1", "text": "x"}
        )
        assert answer.json()["description"] == (
            "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )


async def test_latency_delays_every_call(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    await control.set_latency(1.0)
    with pytest.raises(TimedOut):
        await ptb_bot.send_message(alice["id"], "slow", read_timeout=0.1)
    await control.set_latency(0.0)
    assert (await ptb_bot.send_message(alice["id"], "fast", read_timeout=1.0)).text == "fast"


def test_threaded_server_with_sync_control() -> None:
    with LoopbackServer.in_thread(enforce_limits=False) as running:
        control = running.control
        assert control is not None
        user = control.create_user("Eve", started=True)
        base = f"{running.base_url}/bot{running.token}"
        sent = httpx.post(f"{base}/sendMessage", json={"chat_id": user["id"], "text": "同步"})
        assert sent.json()["result"]["text"] == "同步"
        assert [m["text"] for m in control.wait_sent(user["id"], 1)] == ["同步"]
        assert running.call(lambda: len(running.server.world.people)) == 1  # type: ignore[union-attr]


def test_sandbox_command_prints_where_to_connect() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        base = next(line.split("=", 1)[1].strip() for line in lines if "TELEGRAM_API_BASE=" in line)
        token = next(
            line.split("=", 1)[1].strip() for line in lines if "TELEGRAM_BOT_TOKEN=" in line
        )
        control = t("cli.sandbox_control", control=base + "/control")
        assert any(control in line for line in lines)
        me = httpx.get(f"{base}/bot{token}/getMe", timeout=5).json()
        assert me["ok"] and me["result"]["is_bot"]
    finally:
        process.terminate()
        process.wait(10)


async def test_long_poll_conflict_between_two_pollers(loopback: LoopbackServer) -> None:
    base = f"{loopback.base_url}/bot{loopback.token}"
    async with httpx.AsyncClient(timeout=10) as http:
        first = asyncio.create_task(http.post(f"{base}/getUpdates", json={"timeout": 5}))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(http.post(f"{base}/getUpdates", json={"timeout": 0}))
        assert (await second).json() == {"ok": True, "result": []}
        conflict = (await first).json()
        assert conflict["error_code"] == 409
        assert conflict["description"].startswith("Conflict: terminated by other getUpdates")
