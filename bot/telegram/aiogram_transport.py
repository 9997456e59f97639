"""``BotApi`` on aiogram 3: ``aiogram.Bot`` with its aiohttp session at ``TELEGRAM_API_BASE``.

Each call builds the typed method object of ``aiogram.methods`` named by the Bot API method
(``sendMessage`` -> ``SendMessage``), so aiogram validates the parameters as it always does;
results are dumped back to Telegram's JSON. aiogram's exceptions are translated to the neutral
tree in ``bot.telegram.transport``.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import aiogram.methods
from aiogram import Bot
from aiogram import exceptions as ag
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods.base import TelegramMethod
from aiogram.types import FSInputFile
from pydantic import BaseModel, ValidationError

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


def translate(exc: ag.AiogramError, method: str) -> BotApiError:
    """Return the neutral error for an aiogram exception."""
    description = exc.message if isinstance(exc, ag.DetailedAiogramError) else str(exc)
    if isinstance(exc, ag.TelegramRetryAfter):
        return RetryAfter(float(exc.retry_after), method=method, description=description)
    if isinstance(exc, ag.TelegramMigrateToChat):
        return ChatMigrated(exc.migrate_to_chat_id, method=method, description=description)
    if isinstance(exc, ag.TelegramForbiddenError):
        return PermanentError(description, method=method, error_code=403)
    if isinstance(exc, ag.TelegramBadRequest):
        return PermanentError(description, method=method, error_code=400)
    if isinstance(exc, ag.TelegramEntityTooLarge):
        return PermanentError(description, method=method, error_code=413)
    if isinstance(exc, ag.TelegramNotFound | ag.TelegramUnauthorizedError):
        return Unauthorized(description, method=method, error_code=401)
    if isinstance(exc, ag.TelegramNetworkError) and "timeout" in description.lower():
        return TimedOut(description, method=method)
    return TransientError(description, method=method)


@cache
def method_classes() -> dict[str, type[TelegramMethod[Any]]]:
    """Return aiogram's method classes by Bot API name (``sendMessage`` -> ``SendMessage``)."""
    classes: dict[str, type[TelegramMethod[Any]]] = {}
    for name in aiogram.methods.__all__:
        cls = getattr(aiogram.methods, name)
        if isinstance(cls, type) and issubclass(cls, TelegramMethod) and cls is not TelegramMethod:
            api_name = getattr(cls, "__api_method__", None)
            if isinstance(api_name, str):
                classes[api_name.lower()] = cls
    return classes


def build_method(method: str, payload: JSON) -> TelegramMethod[Any]:
    """Return the typed aiogram method object for a Bot API call, or raise PermanentError."""
    cls = method_classes().get(method.lower())
    if cls is None:
        raise PermanentError(
            f"Not Found: method {method} is unknown", method=method, error_code=404
        )
    try:
        return cls.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PermanentError(
            f"Bad Request: {where}: {first['msg']}", method=method, error_code=400
        ) from exc


def to_json(value: Any) -> Any:
    """Return aiogram result objects as Telegram's JSON (aliases like ``from``, unix times)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


class AiogramBotApi:
    """A ``BotApi`` backed by ``aiogram.Bot``; one instance per bot token."""

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
        session = AiohttpSession(
            api=TelegramAPIServer.from_base(base), limit=connections, timeout=timeout
        )
        self._bot = Bot(token, session=session)
        self._token = token
        self.upload_dir = upload_dir  # the only folder whose files may be uploaded

    def _translate(self, exc: ag.AiogramError, method: str) -> BotApiError:
        """Translate ``exc``, with the token scrubbed from its description."""
        error = translate(exc, method)
        error.description = error.description.replace(self._token, "<token>")
        error.args = (error.description,)
        return error

    @property
    def library(self) -> Bot:
        """The underlying ``aiogram.Bot`` (for the runtime adapter that shares it)."""
        return self._bot

    async def call(self, method: str, payload: JSON) -> Result:
        """Make one Bot API call with JSON parameters; return its ``result``."""
        request = build_method(
            method, with_uploads(payload, lambda path: FSInputFile(path), self.upload_dir)
        )
        try:
            result = await self._bot(request)
        except ag.AiogramError as exc:
            raise self._translate(exc, method) from exc
        return to_json(result)

    async def get_updates(
        self,
        offset: int | None,
        timeout: int,  # noqa: ASYNC109 - the Bot API long-poll timeout, in seconds
        limit: int,
        allowed_updates: list[str] | None,
    ) -> list[JSON]:
        """Long-poll for updates from ``offset``; return them as Bot API JSON dicts."""
        request = aiogram.methods.GetUpdates(
            offset=offset, timeout=timeout, limit=limit, allowed_updates=allowed_updates
        )
        try:
            updates = await self._bot(request, request_timeout=int(timeout + self.timeout))
        except ag.AiogramError as exc:
            raise self._translate(exc, "getUpdates") from exc
        return [to_json(update) for update in updates]

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self._bot.session.close()
