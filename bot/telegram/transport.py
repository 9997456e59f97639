"""The Bot API as the rest of the bot sees it: one small Protocol and one tree of errors.

The delivery worker and the polling loop talk to Telegram only through ``BotApi``; the
python-telegram-bot and aiogram adapters (``ptb_transport``, ``aiogram_transport``) implement it
and translate their library's exceptions into this tree, so retry decisions are made once, here,
and not per library::

    BotApiError                  any failed Bot API call; ``description`` is Telegram's words
    ├── RetryAfter               429 flood control: wait ``seconds``, then the same call succeeds
    ├── ChatMigrated             the group became a supergroup: resend to ``new_chat_id``
    ├── PermanentError           this call will never succeed as it is: the user blocked the bot,
    │                            chat not found, the bot was kicked, a bad request
    ├── TransientError           it may succeed later: network failure, 5xx, a dropped connection
    │   └── TimedOut             no answer in time; the call may or may not have taken effect
    └── Unauthorized             the token is refused: no call can succeed until it is fixed

Results are plain Bot API JSON (``dict``, ``bool``, or a ``list`` of dicts for
``sendMediaGroup``), never library objects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bot.errors import ObserverBotError
from storage.outbox import UPLOAD

JSON = dict[str, Any]


@runtime_checkable
class BotApi(Protocol):
    """A connection to one bot on a Bot API server (Telegram's or the loopback one)."""

    async def call(self, method: str, payload: JSON) -> JSON | list[JSON] | bool:
        """Make one Bot API call with JSON parameters; return its ``result``."""
        ...

    async def get_updates(
        self,
        offset: int | None,
        timeout: int,  # noqa: ASYNC109 - the Bot API long-poll timeout, in seconds
        limit: int,
        allowed_updates: list[str] | None,
    ) -> list[JSON]:
        """Long-poll for updates from ``offset``; return them as Bot API JSON dicts."""
        ...

    async def close(self) -> None:
        """Release the HTTP connections."""
        ...


class BotApiError(ObserverBotError):
    """A Bot API call failed; ``description`` is the server's (or the network's) explanation."""

    def __init__(self, description: str, *, method: str = "", error_code: int | None = None):
        super().__init__(description)
        self.description = description
        self.method = method
        self.error_code = error_code


class RetryAfter(BotApiError):
    """Flood control (429): the chat must wait ``seconds`` before the same call is retried."""

    def __init__(self, seconds: float, *, method: str = "", description: str = "") -> None:
        super().__init__(
            description or f"Too Many Requests: retry after {seconds:g}",
            method=method,
            error_code=429,
        )
        self.seconds = float(seconds)


class ChatMigrated(BotApiError):
    """The group was upgraded to a supergroup; the call must be repeated for ``new_chat_id``."""

    def __init__(self, new_chat_id: int, *, method: str = "", description: str = "") -> None:
        super().__init__(
            description
            or f"Bad Request: group chat was upgraded to a supergroup chat "
            f"(migrate_to_chat_id={new_chat_id})",
            method=method,
            error_code=400,
        )
        self.new_chat_id = int(new_chat_id)


class PermanentError(BotApiError):
    """The call can never succeed as it is (blocked, chat not found, kicked, bad request)."""


class TransientError(BotApiError):
    """The call failed for a reason that may pass (network, 5xx); retry with backoff."""


class TimedOut(TransientError):
    """No answer in time; the call may have taken effect, so a retry may duplicate it."""


class Unauthorized(BotApiError):
    """The bot token is refused (401/404): fix the configuration; nothing is sent until then."""


PUBLIC_BOT_API = "https://api.telegram.org"
# A call's result: an object (a Message, a Chat…), a list (sendMediaGroup, getUpdates) or True.
Result = JSON | list[JSON] | bool


def api_base_of(api_base: str | None) -> str:
    """Return the Bot API base URL without a trailing slash (Telegram's when unset)."""
    return (api_base or PUBLIC_BOT_API).rstrip("/")


def quiet_http_loggers() -> None:
    """Keep httpx and httpcore at WARNING: at INFO they log request URLs, which hold the token."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (inherit) included
            logger.setLevel(logging.WARNING)


def with_uploads(payload: JSON, make: Callable[[Path], Any], upload_dir: Path | None) -> JSON:
    """Replace every ``{"$upload": "/path"}`` in a payload by ``make(path)`` (a library file).

    The outbox holds JSON, so a file to upload (a digest's chart or workbook) is queued as its
    path; the transport opens it when it sends. Only a file inside ``upload_dir`` (the digest
    directory) is ever uploaded: a marker pointing anywhere else — say, smuggled in through an
    update — a missing file, or any marker when there is no such directory, is a permanent error.
    """

    def convert(value: Any) -> Any:
        if isinstance(value, dict) and UPLOAD in value:
            return make(upload_path(value, upload_dir))
        return value

    return {key: convert(value) for key, value in payload.items()}


def upload_path(marker: dict[str, Any], upload_dir: Path | None) -> Path:
    """Return the file an upload marker names, if it may be uploaded; else PermanentError."""
    named = marker.get(UPLOAD)
    if set(marker) != {UPLOAD} or not isinstance(named, str) or not named:
        raise PermanentError("Bad Request: malformed upload marker")
    if upload_dir is None:
        raise PermanentError("Bad Request: this connection uploads no local files")
    path = Path(named).resolve()  # symbolic links and ".." followed before the check
    if not path.is_relative_to(upload_dir.resolve()):
        raise PermanentError("Bad Request: refusing to upload a file outside the digest directory")
    if not path.is_file():
        raise PermanentError(f"Bad Request: file to upload is missing: {path.name}")
    return path
