"""``BotApi`` on python-telegram-bot 22: ``telegram.Bot`` pointed at ``TELEGRAM_API_BASE``.

Calls go through ``Bot.do_api_request`` with the JSON parameters as they are, so results are
Telegram's own JSON (no round trip through PTB objects). PTB's exceptions are translated to the
neutral tree in ``bot.telegram.transport``. No ``AIORateLimiter`` is installed: it retries 0 times
by default and a 429 would lose the message; the outbox worker owns pacing and retries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

from telegram import Bot, InputFile
from telegram import error as tg
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.telegram.transport import (
    JSON,
    BotApiError,
    ChatMigrated,
    PermanentError,
    Result,
    RetryAfter,
    TimedOut,
    TransientError,
    Unauthorized,
    api_base_of,
    quiet_http_loggers,
    with_uploads,
)

log = logging.getLogger(__name__)


class _Bot(Bot):
    """``telegram.Bot`` that does not suggest typed methods: we call endpoints by name."""

    @classmethod
    def _warn(
        cls,
        message: str | PTBUserWarning,
        category: type[Warning] = PTBUserWarning,
        stacklevel: int = 0,
    ) -> None:
        if isinstance(message, str) and message.startswith("Please use 'Bot."):
            return
        super()._warn(message, category, stacklevel + 1)


def translate(exc: tg.TelegramError, method: str) -> BotApiError:
    """Return the neutral error for a python-telegram-bot exception."""
    description = exc.message
    if isinstance(exc, tg.RetryAfter):
        # PTB 22 stores a timedelta; reading ``retry_after`` itself warns about its future type.
        delay = getattr(exc, "_retry_after", None)
        if not isinstance(delay, dt.timedelta):
            delay = exc.retry_after
        seconds = delay.total_seconds() if isinstance(delay, dt.timedelta) else float(delay)
        return RetryAfter(seconds, method=method, description=description)
    if isinstance(exc, tg.ChatMigrated):
        return ChatMigrated(exc.new_chat_id, method=method, description=description)
    if isinstance(exc, tg.Forbidden):
        return PermanentError(description, method=method, error_code=403)
    if isinstance(exc, tg.BadRequest):
        return PermanentError(description, method=method, error_code=400)
    if isinstance(exc, tg.EndPointNotFound):
        return PermanentError(description, method=method, error_code=404)
    if isinstance(exc, tg.InvalidToken):
        return Unauthorized(description, method=method, error_code=401)
    if isinstance(exc, tg.TimedOut):
        return TimedOut(description, method=method)
    return TransientError(description, method=method)


def _input_file(path: Path) -> InputFile:
    """Return python-telegram-bot's upload object for a local file."""
    return InputFile(path.read_bytes(), filename=path.name)


class PtbBotApi:
    """A ``BotApi`` backed by ``telegram.Bot``; one instance per bot token."""

    def __init__(
        self,
        token: str,
        *,
        api_base: str | None = None,
        timeout: float = 20.0,
        connections: int = 64,
        upload_dir: Path | None = None,
    ) -> None:
        quiet_http_loggers()
        base = api_base_of(api_base)
        self.timeout = timeout
        self._bot = _Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=HTTPXRequest(
                connection_pool_size=connections,
                read_timeout=timeout,
                write_timeout=timeout,
                connect_timeout=timeout,
                pool_timeout=timeout,
            ),
            get_updates_request=HTTPXRequest(
                connection_pool_size=1, connect_timeout=timeout, pool_timeout=timeout
            ),
        )

        self._token = token
        self.upload_dir = upload_dir  # the only folder whose files may be uploaded
        self._initialized = False
        self._ready = asyncio.Lock()

    def _translate(self, exc: tg.TelegramError, method: str) -> BotApiError:
        """Translate ``exc``, with the token scrubbed from its description."""
        error = translate(exc, method)
        error.description = error.description.replace(self._token, "<token>")
        error.args = (error.description,)
        return error

    async def _initialize(self) -> None:
        """Call getMe once, so that an unknown method is told apart from a refused token."""
        if self._initialized:
            return
        async with self._ready:
            if self._initialized:
                return
            try:
                await self._bot.initialize()
            except tg.InvalidToken as exc:
                # PTB's message quotes the token; never let it reach a log or a row.
                raise Unauthorized(
                    "the bot token was rejected by the server", method="getMe", error_code=401
                ) from exc
            except tg.TelegramError as exc:
                raise self._translate(exc, "getMe") from exc
            self._initialized = True

    @property
    def library(self) -> Bot:
        """The underlying ``telegram.Bot`` (for the runtime adapter that shares it)."""
        return self._bot

    async def call(self, method: str, payload: JSON) -> Result:
        """Make one Bot API call with JSON parameters; return its ``result``."""
        await self._initialize()
        try:
            result: Any = await self._bot.do_api_request(
                method, api_kwargs=with_uploads(payload, _input_file, self.upload_dir)
            )
        except tg.TelegramError as exc:
            raise self._translate(exc, method) from exc
        return result

    async def get_updates(
        self,
        offset: int | None,
        timeout: int,  # noqa: ASYNC109 - the Bot API long-poll timeout, in seconds
        limit: int,
        allowed_updates: list[str] | None,
    ) -> list[JSON]:
        """Long-poll for updates from ``offset``; return them as Bot API JSON dicts."""
        params: dict[str, Any] = {"timeout": timeout, "limit": limit}
        if offset is not None:
            params["offset"] = offset
        if allowed_updates is not None:
            params["allowed_updates"] = allowed_updates
        await self._initialize()
        try:
            result: Any = await self._bot.do_api_request(
                "getUpdates", api_kwargs=params, read_timeout=timeout + self.timeout
            )
        except tg.TelegramError as exc:
            raise self._translate(exc, "getUpdates") from exc
        return list(result)

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self._bot.shutdown()
