"""Opening a connection to the Bot API with the library the deployment chose.

It lives apart from ``bot.telegram.transport`` (the protocol every library's transport
implements): the transports import the protocol, and this factory imports the transports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.infra.redaction import protect
from bot.telegram.transport import BotApi


def open_bot_api(
    runtime: str,
    token: str,
    *,
    api_base: str | None,
    timeout: float = 20.0,
    connections: int = 64,
    upload_dir: Path | None = None,
) -> BotApi:
    """Return the ``BotApi`` of ``runtime`` ("ptb" or "aiogram"), imported on demand.

    ``connections`` caps the HTTP connections it keeps open at once; ``upload_dir`` is the one
    folder whose files it may upload (the digest directory; None: it uploads nothing).
    """
    protect(token)  # request URLs hold the token: no log record may carry it
    options: dict[str, Any] = {
        "api_base": api_base,
        "timeout": timeout,
        "connections": connections,
        "upload_dir": upload_dir,
    }
    if runtime == "aiogram":
        from bot.telegram.aiogram_transport import AiogramBotApi

        return AiogramBotApi(token, **options)
    if runtime == "ptb":
        from bot.telegram.ptb_transport import PtbBotApi

        return PtbBotApi(token, **options)
    raise ValueError(f"unknown runtime {runtime!r}; use 'ptb' or 'aiogram'")
