"""aiogram's routing in front of our handlers (see ``bot.telegram.dispatch``).

A ``Dispatcher`` (no FSM: conversation state lives in the database) with one ``Router`` whose
observers for each update type the bot asks for hand the update to ``handlers.entry.handle``.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Update

from bot.telegram.dispatch import LibraryDispatch, to_handlers


class AiogramDispatch(LibraryDispatch):
    """Routes updates with ``aiogram.Dispatcher`` and a ``Router``."""

    name = "aiogram"

    def __init__(self, bot: Bot) -> None:
        super().__init__()
        self.bot = bot
        router = Router(name="observer-bot")
        for observer in (
            router.message,
            router.edited_message,
            router.callback_query,
            router.my_chat_member,
            router.chat_member,
        ):
            observer.register(to_handlers)
        self.dispatcher = Dispatcher(disable_fsm=True)
        self.dispatcher.include_router(router)

    async def feed(self, payload: dict[str, Any]) -> None:
        update = Update.model_validate(payload, context={"bot": self.bot})
        await self.dispatcher.feed_update(self.bot, update)
