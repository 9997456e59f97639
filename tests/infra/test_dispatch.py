"""Each library's own router hands every update type to our handlers (``bot.telegram.dispatch``).

python-telegram-bot's ``Application`` and aiogram's ``Dispatcher`` route the stored JSON; what
runs is ``handlers.entry.handle``, the same on both. A handler's failure comes out of the
library (which would otherwise log it and carry on), so the update's transaction rolls back;
an update the library cannot parse is handled from its JSON rather than lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.telegram.bot_api import open_bot_api
from bot.telegram.dispatch import LibraryDispatch
from bot.telegram.loopback import LoopbackServer
from handlers.context import Ctx
from handlers.events import Event
from storage.models import Draft
from tests.handlers.conftest import OBSERVER, bot_added
from tests.infra.test_pipeline_batch import _message, _press, _world


@pytest.fixture(params=["ptb", "aiogram"])
async def dispatch(request: pytest.FixtureRequest) -> AsyncIterator[LibraryDispatch]:
    async with LoopbackServer(enforce_limits=False) as server:
        api = open_bot_api(request.param, server.token, api_base=server.base_url)
        await api.call("getMe", {})  # as at start-up: the bot knows who it is
        yield api.dispatch()  # type: ignore[attr-defined]
        await api.close()


def _run(dispatch: LibraryDispatch, payload: dict[str, Any], ctx: Any) -> None:
    event = Event.from_update(payload, bot_username="gd_observer_bot")
    dispatch(payload, event, ctx)


async def test_the_library_routes_a_message_to_the_handlers(
    dispatch: LibraryDispatch, engine: Engine, tmp_path: Path
) -> None:
    world = _world(engine, tmp_path)
    with Session(engine) as session:
        ctx = Ctx(services=world.services, session=session, now=world.now)
        await _in_thread(_run, dispatch, _message(1, OBSERVER, "北京路的路灯坏了"), ctx)
        session.commit()
        draft = session.exec(select(Draft).where(Draft.chat_id == OBSERVER)).one()
    assert draft.data["texts"] == ["北京路的路灯坏了"]
    assert (dispatch.routed, dispatch.unparsed) == (1, 0)
    assert [call.chat_id for call in ctx.out.calls] == [OBSERVER]  # the preview


@pytest.mark.parametrize(
    "payload",
    [
        _message(1, OBSERVER, "你好"),
        {"update_id": 2, "edited_message": _message(2, OBSERVER, "改")["message"]},
        _press(3, OBSERVER),
        {"update_id": 4, **bot_added(-100123)},
    ],
    ids=["message", "edited", "press", "bot-added"],
)
async def test_a_handler_failure_comes_out_of_the_library(
    dispatch: LibraryDispatch, payload: dict[str, Any]
) -> None:
    # No context at all: the handlers fail at once; the library must not swallow it.
    with pytest.raises(AttributeError):
        await _in_thread(_run, dispatch, payload, None)
    assert (dispatch.routed, dispatch.unparsed) == (1, 0)


async def test_an_update_the_library_cannot_parse_is_handled_from_its_json(
    dispatch: LibraryDispatch,
) -> None:
    payload = _message(1, OBSERVER, "你好")
    payload["message"]["date"] = "yesterday"  # no library takes this as a date
    with pytest.raises(AttributeError):  # our handlers ran (and failed without a context)
        await _in_thread(_run, dispatch, payload, None)
    assert (dispatch.routed, dispatch.unparsed) == (0, 1)


async def _in_thread(*args: Any) -> None:
    """Dispatch from a worker thread, as the pipeline does (no event loop running there)."""
    import asyncio

    function, *rest = args
    await asyncio.to_thread(function, *rest)
