"""The Telegram library's own routing in front of our handlers.

Each stored update is parsed by the runtime's library and fed through its router —
python-telegram-bot's ``Application`` with a handler per update type (``ptb_dispatch``), or
aiogram's ``Dispatcher`` with a ``Router`` (``aiogram_dispatch``) — whose callbacks all hand the
update to ``handlers.entry.handle``. The library decides which of its callbacks fires, as in any
bot written on it; what happens then is the same code on both, and no business rule lives here.

Updates are handled inside a database transaction in a worker thread or process
(``bot.infra.pipeline``), where no event loop runs: each thread runs the library's coroutines on
a private loop of its own. A handler's exception is carried out of the library (which would
otherwise log it and carry on), so the update's transaction rolls back as it should. An update
the library cannot parse is handed to the handlers as it is, from its JSON: Telegram may send
fields a library release does not know yet, and a report must not be lost for that.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from handlers.context import Ctx
from handlers.entry import handle
from handlers.events import Event

log = logging.getLogger(__name__)


@dataclass
class _Delivery:
    """What the library's callback hands over, and what became of it."""

    event: Event
    ctx: Ctx
    called: bool = False
    error: BaseException | None = field(default=None)


_current: contextvars.ContextVar[_Delivery] = contextvars.ContextVar("observer_bot_update")


async def to_handlers(*_: Any, **__: Any) -> None:
    """The library's callback for every update type: run our handlers on the update."""
    delivery = _current.get()
    delivery.called = True
    try:
        handle(delivery.event, delivery.ctx)
    except BaseException as error:  # noqa: BLE001 - re-raised outside the library
        delivery.error = error


class LibraryDispatch(ABC):
    """Feeds an update through a library's router (``feed``) from synchronous code."""

    name = "library"

    def __init__(self) -> None:
        self._local = threading.local()
        self.routed = 0  # updates the library routed to the handlers
        self.unparsed = 0  # updates it could not take, handled from their JSON

    @abstractmethod
    async def feed(self, payload: dict[str, Any]) -> None:
        """Parse ``payload`` with the library and route it through its router."""

    def __call__(self, payload: dict[str, Any], event: Event, ctx: Ctx) -> None:
        loop = getattr(self._local, "loop", None)
        if loop is None:
            loop = self._local.loop = asyncio.new_event_loop()
        delivery = _Delivery(event, ctx)
        reset = _current.set(delivery)
        try:
            loop.run_until_complete(self.feed(payload))
        except Exception as exc:  # noqa: BLE001 - the library could not take it: see the docstring
            if delivery.called:
                raise
            log.info(
                "%s could not route update=%s error=%s; handling it from its JSON",
                self.name,
                event.update_id,
                type(exc).__name__,
            )
            self.unparsed += 1
            handle(event, ctx)
        finally:
            _current.reset(reset)
        if delivery.called:
            self.routed += 1
        if delivery.error is not None:
            raise delivery.error


def open_dispatch(api: object) -> LibraryDispatch | None:
    """Return the router of ``api``'s library, or None for a ``BotApi`` without one (a fake)."""
    make = getattr(api, "dispatch", None)
    return make() if callable(make) else None
