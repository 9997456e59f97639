"""Updates handled in a process of their own (``HandlingProcess``, what ``obsbot run`` uses).

The worker builds its own services from the bot's settings and database URL, so these tests
store updates in a real database (a SQLite file, and PostgreSQL) and look at what the other
process committed. A worker killed mid-life is replaced on the next call; a rules reload made
by ``/reload`` in the worker is followed by the bot's process, and one made by the bot's
process (SIGHUP) is followed by the worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import worker_services
from bot.infra.handling import HandlingProcess
from storage.models import Draft, InboxStatus, InboxUpdate, OutboxMessage
from tests.handlers.conftest import ADMIN, OBSERVER
from tests.infra.test_pipeline_batch import _message, _press, _store, _world


def _worker_pids(handling: HandlingProcess) -> set[int]:
    pool = handling._pool
    return set(pool._processes or {}) if pool is not None else set()  # type: ignore[attr-defined]


@pytest.fixture
async def handling(engine: Engine, tmp_path: Path) -> AsyncIterator[HandlingProcess]:
    world = _world(engine, tmp_path)
    process = HandlingProcess(
        world.services, engine.url.render_as_string(hide_password=False), build=worker_services
    )
    await process.open()
    try:
        yield process
    finally:
        await process.close()


async def test_updates_are_handled_in_the_worker_process(
    engine: Engine, handling: HandlingProcess
) -> None:
    pids = _worker_pids(handling)
    assert len(pids) == 1 and os.getpid() not in pids
    _store(engine, [_message(1, OBSERVER, "北京路的路灯坏了，晚上很黑"), _press(2, OBSERVER)])
    handled, answers = await handling.process(20)
    assert handled == 2
    assert [answer.callback_id for answer in answers] == ["q2"]  # answered by the bot
    with Session(engine) as session:
        statuses = {row.update_id: row.status for row in session.exec(select(InboxUpdate))}
        draft = session.exec(select(Draft).where(Draft.chat_id == OBSERVER)).one()
        queued = session.exec(select(OutboxMessage)).all()
    assert statuses == {1: InboxStatus.DONE, 2: InboxStatus.DONE}
    assert draft.data["texts"] == ["北京路的路灯坏了，晚上很黑"]
    assert any(row.chat_id == OBSERVER for row in queued)  # the preview, queued by the worker
    assert await handling.process(20) == (0, [])


async def test_a_killed_worker_is_replaced_and_nothing_is_lost(
    engine: Engine, handling: HandlingProcess
) -> None:
    (pid,) = _worker_pids(handling)
    os.kill(pid, signal.SIGKILL)
    _store(engine, [_message(1, OBSERVER, "河道有人偷排污水")])
    with pytest.raises(BrokenProcessPool):
        for _ in range(50):  # the pool notices the death within moments
            await handling.process(20)
            await asyncio.sleep(0.1)
    assert await handling.process(20) == (1, [])  # a new worker, the same update
    assert _worker_pids(handling) - {pid}


async def test_a_reload_on_either_side_is_followed_by_the_other(
    engine: Engine, handling: HandlingProcess
) -> None:
    services = handling.services
    assert services.rules_generation == 0
    _store(engine, [_message(1, ADMIN, "/reload")])
    assert (await handling.process(20))[0] == 1
    assert services.rules_generation == 1  # the worker reloaded: the bot's process followed

    services.reload_rules()  # as SIGHUP does
    _store(engine, [_message(2, OBSERVER, "路灯坏了")])
    assert (await handling.process(20))[0] == 1  # the worker reloaded first, and still works


async def test_given_the_token_the_worker_answers_presses_itself(
    engine: Engine, tmp_path: Path
) -> None:
    from sandbox import LoopbackServer

    world = _world(engine, tmp_path)
    async with LoopbackServer(enforce_limits=False) as server:
        process = HandlingProcess(
            world.services,
            engine.url.render_as_string(hide_password=False),
            build=worker_services,
            token=server.token,
            api_base=server.base_url,
        )
        try:
            await process.open()
            _store(engine, [_press(1, OBSERVER)])
            assert await process.process(20) == (1, [])  # nothing left for the bot to send
            for _ in range(100):
                if server.call_counts.get("answerCallbackQuery"):
                    break
                await asyncio.sleep(0.05)
            assert server.call_counts["answerCallbackQuery"] == 1
        finally:
            await process.close()


BOT = """
import asyncio, sys
from bot.app import build_services, worker_services
from bot.infra.config import load_settings
from bot.infra.handling import HandlingProcess


async def main() -> None:
    settings = load_settings(routing_rules=sys.argv[1], database_url=sys.argv[2])
    handling = HandlingProcess(build_services(settings), sys.argv[2], build=worker_services)
    opening = asyncio.ensure_future(handling.open())
    while not (handling._pool and handling._pool._processes):
        await asyncio.sleep(0.005)
    print(*handling._pool._processes, flush=True)  # the worker, still starting
    if sys.argv[3] == "started":
        await opening
        print("ready", flush=True)
    await asyncio.sleep(600)


if __name__ == "__main__":
    asyncio.run(main())
"""


@pytest.mark.parametrize("when", ["starting", "started"])
def test_the_worker_dies_with_a_killed_bot(tmp_path: Path, when: str) -> None:
    import subprocess
    import sys
    import time

    from tests.handlers.conftest import ROOT

    script = tmp_path / "bot_process.py"
    script.write_text(BOT, "utf-8")
    database = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    bot = subprocess.Popen(
        [sys.executable, str(script), str(ROOT / "routing_rules.yaml"), database, when],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert bot.stdout is not None
        worker = int(bot.stdout.readline())
        if when == "started":
            assert bot.stdout.readline().strip() == "ready"
        bot.kill()  # SIGKILL: no clean-up of any kind
        bot.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and Path(f"/proc/{worker}").exists():
            time.sleep(0.05)
        state = Path(f"/proc/{worker}/stat")
        alive = state.exists() and state.read_text().split(") ")[1][0] != "Z"
        assert not alive, "the handling process outlived the bot"
    finally:
        bot.kill()
