"""The ``BotApi`` adapters on real python-telegram-bot and aiogram against the loopback server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.telegram.aiogram_transport import AiogramBotApi
from bot.telegram.bot_api import open_bot_api
from bot.telegram.ptb_transport import PtbBotApi
from bot.telegram.transport import (
    BotApi,
    BotApiError,
    ChatMigrated,
    PermanentError,
    RetryAfter,
    TimedOut,
    TransientError,
    Unauthorized,
)
from sandbox import ControlClient, LoopbackServer

pytestmark = pytest.mark.e2e

RUNTIMES = ["ptb", "aiogram"]


@pytest.fixture(params=RUNTIMES)
async def api(request: pytest.FixtureRequest, loopback: LoopbackServer) -> AsyncIterator[BotApi]:
    """A ``BotApi`` of each runtime pointed at the loopback server, with short timeouts."""
    opened = open_bot_api(request.param, loopback.token, api_base=loopback.base_url, timeout=0.5)
    yield opened
    await opened.close()


async def test_both_adapters_implement_the_protocol(loopback: LoopbackServer) -> None:
    for runtime, cls in (("ptb", PtbBotApi), ("aiogram", AiogramBotApi)):
        opened = open_bot_api(runtime, loopback.token, api_base=loopback.base_url)
        assert isinstance(opened, cls)
        assert isinstance(opened, BotApi)
        await opened.close()
    with pytest.raises(ValueError, match="unknown runtime"):
        open_bot_api("telethon", loopback.token, api_base=loopback.base_url)


async def test_call_returns_telegram_json(api: BotApi, control: ControlClient, alice: dict) -> None:
    markup = {"inline_keyboard": [[{"text": "签收", "callback_data": "v1:sign:1"}]]}
    sent = await api.call(
        "sendMessage",
        {"chat_id": alice["id"], "text": "<b>不是标签</b> & *", "reply_markup": markup},
    )
    assert isinstance(sent, dict)
    assert sent["chat"]["id"] == alice["id"]
    assert sent["from"]["is_bot"] is True  # the wire name "from", not a library attribute
    assert isinstance(sent["date"], int)
    assert sent["text"] == "<b>不是标签</b> & *"
    assert sent["reply_markup"] == markup
    edited = await api.call(
        "editMessageText",
        {"chat_id": alice["id"], "message_id": sent["message_id"], "text": "已签收"},
    )
    assert isinstance(edited, dict) and edited["text"] == "已签收"
    assert await api.call("sendChatAction", {"chat_id": alice["id"], "action": "typing"}) is True
    assert [m["text"] for m in await control.bot_messages(alice["id"])] == ["已签收"]


async def test_get_updates_returns_dicts_and_respects_offset(
    api: BotApi, control: ControlClient, alice: dict
) -> None:
    await control.send_text(alice["id"], "河涌发臭")
    updates = await api.get_updates(None, 0, 100, ["message"])
    assert [u["message"]["text"] for u in updates] == ["河涌发臭"]
    assert updates[0]["message"]["from"]["id"] == alice["id"]
    after = await api.get_updates(updates[-1]["update_id"] + 1, 0, 100, ["message"])
    assert after == []


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("500", TransientError),
        ("502", TransientError),
        ("drop", TransientError),
        ("timeout", TimedOut),
    ],
)
async def test_transient_faults(
    api: BotApi, control: ControlClient, alice: dict, kind: str, expected: type[BotApiError]
) -> None:
    await control.inject(kind, "sendMessage", hang=3.0)
    with pytest.raises(expected) as caught:
        await api.call("sendMessage", {"chat_id": alice["id"], "text": "x"})
    assert not isinstance(caught.value, PermanentError)
    assert caught.value.method == "sendMessage"
    # nothing was lost for good: the next call goes through
    assert isinstance(await api.call("sendMessage", {"chat_id": alice["id"], "text": "y"}), dict)


async def test_flood_control_becomes_retry_after(
    api: BotApi, control: ControlClient, alice: dict
) -> None:
    await control.inject("429", "sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await api.call("sendMessage", {"chat_id": alice["id"], "text": "x"})
    assert caught.value.seconds == 7.0
    assert caught.value.error_code == 429


async def test_real_rate_limit_becomes_retry_after(
    api: BotApi, control: ControlClient, alice: dict
) -> None:
    await control.set_limits(enabled=True, private_rate=0.5, private_burst=1)
    await api.call("sendMessage", {"chat_id": alice["id"], "text": "1"})
    with pytest.raises(RetryAfter) as caught:
        await api.call("sendMessage", {"chat_id": alice["id"], "text": "2"})
    assert caught.value.seconds >= 1


async def test_migration_names_the_new_chat(api: BotApi, control: ControlClient) -> None:
    group = await control.create_group("环保局", type="group")
    moved = await control.migrate(group["id"])
    with pytest.raises(ChatMigrated) as caught:
        await api.call("sendMessage", {"chat_id": group["id"], "text": "x"})
    assert caught.value.new_chat_id == moved["supergroup_id"]
    sent = await api.call("sendMessage", {"chat_id": caught.value.new_chat_id, "text": "x"})
    assert isinstance(sent, dict) and sent["chat"]["id"] == moved["supergroup_id"]


async def test_permanent_errors(api: BotApi, control: ControlClient, alice: dict) -> None:
    await control.block_bot(alice["id"])
    with pytest.raises(PermanentError) as blocked:
        await api.call("sendMessage", {"chat_id": alice["id"], "text": "x"})
    assert blocked.value.error_code == 403
    assert "blocked by the user" in blocked.value.description
    with pytest.raises(PermanentError) as unknown:
        await api.call("sendMessage", {"chat_id": 987654321, "text": "x"})
    assert unknown.value.error_code == 400
    assert "chat not found" in unknown.value.description.lower()
    group = await control.create_group("退出的群", bot_status="kicked")
    with pytest.raises(PermanentError) as kicked:
        await api.call("sendMessage", {"chat_id": group["id"], "text": "x"})
    assert kicked.value.error_code == 403
    with pytest.raises(PermanentError) as empty:
        await api.call("sendMessage", {"chat_id": group["id"], "text": ""})
    assert empty.value.error_code in (400, 403)
    with pytest.raises(PermanentError) as missing:
        await api.call("noSuchMethod", {})
    assert missing.value.error_code == 404


async def test_parse_errors_are_permanent(api: BotApi, alice: dict) -> None:
    with pytest.raises(PermanentError) as caught:
        await api.call(
            "sendMessage", {"chat_id": alice["id"], "text": "<b>x", "parse_mode": "HTML"}
        )
    assert "can't parse entities" in caught.value.description.lower()


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_refused_token_is_unauthorized_and_never_shown(
    runtime: str, loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = "999999:wrong-token-never-to-be-logged"
    opened = open_bot_api(runtime, token, api_base=loopback.base_url, timeout=1.0)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(Unauthorized) as caught:
            await opened.call("sendMessage", {"chat_id": 1, "text": "x"})
    finally:
        await opened.close()
    assert token not in str(caught.value)
    assert token not in caplog.text
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
