"""python-telegram-bot's routing in front of our handlers (see ``bot.telegram.dispatch``).

An ``Application`` (no updater, no job queue: our own loop fetches and stores updates) with one
handler per update type the bot asks for; each hands the update to ``handlers.entry.handle``.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.telegram.dispatch import LibraryDispatch, to_handlers


class PtbDispatch(LibraryDispatch):
    """Routes updates with ``telegram.ext.Application``."""

    name = "python-telegram-bot"

    def __init__(self, bot: Bot) -> None:
        super().__init__()
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder().bot(bot).updater(None).job_queue(None).build()
        )
        self.application.add_handlers(
            [
                MessageHandler(filters.UpdateType.MESSAGES, to_handlers),  # new and edited
                CallbackQueryHandler(to_handlers),
                ChatMemberHandler(to_handlers, ChatMemberHandler.ANY_CHAT_MEMBER),
            ]
        )

    async def feed(self, payload: dict[str, Any]) -> None:
        # The bot was initialised (getMe) by the transport before updates are handled, so
        # this asks nothing of the network.
        await self.application.initialize()
        await self.application.process_update(Update.de_json(payload, self.application.bot))
