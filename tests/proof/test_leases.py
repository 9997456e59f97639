"""Leases a killed process left behind are taken back at once by an instance that is alone.

A delivery worker leases a chat's head row while it sends it; a process killed mid-send leaves
the lease behind, and the chat's queue would wait for it to run out (2 minutes). On SQLite the
instance lock makes the restarted worker the only one (``DeliveryWorker(sole=True)``); on
PostgreSQL ``join_instances`` tells an instance whether it started alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.infra.delivery import DeliveryWorker
from bot.infra.instance import join_instances
from storage import outbox
from storage.db import make_engine
from storage.models import OutboxMessage
from storage.types import utcnow


class _Telegram:
    """A stand-in for the Bot API that accepts every call and remembers it."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.called = asyncio.Event()

    async def call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(payload)
        self.called.set()
        return {"message_id": len(self.sent), "chat": {"id": payload["chat_id"]}}

    async def get_updates(self, *args: Any) -> list[dict[str, Any]]:
        return []

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("sole", [True, False])
async def test_a_sole_worker_takes_back_a_dead_process_lease(engine: Engine, sole: bool) -> None:
    now = utcnow()
    with Session(engine) as session:
        outbox.enqueue(
            session=session,
            chat_id=42,
            payload={"chat_id": 42, "text": "回执"},
            idempotency_key="k1",
            now=now,
        )
        # A process claimed the row and died before sending it.
        lease = now + timedelta(minutes=2)
        outbox.claim_heads(session=session, now=now, lease_until=lease, limit=5)
        session.commit()
    telegram = _Telegram()
    worker = DeliveryWorker(engine, telegram, sole=sole, poll_interval=0.05)
    running = asyncio.create_task(worker.run())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(telegram.called.wait(), 1.0)
    await worker.stop()
    await running
    # Alone on the database, the lease can only be a dead process's: sent at once. Otherwise
    # another live worker may hold it, so it waits for the lease to run out.
    assert [p["text"] for p in telegram.sent] == (["回执"] if sole else [])


def test_a_postgresql_instance_alone_at_start_takes_back_leases(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    called: list[str] = []
    first = join_instances(engine, when_alone=lambda: called.append("first"))
    second = join_instances(engine, when_alone=lambda: called.append("second"))
    assert first is not None and second is not None
    assert (first.alone, second.alone, called) == (True, False, ["first"])
    first.release()  # the first instance dies; the second still holds its leases
    third = join_instances(engine, when_alone=lambda: called.append("third"))
    assert third is not None and not third.alone
    second.release()
    third.release()
    last = join_instances(engine, when_alone=lambda: called.append("last"))
    assert last is not None and last.alone and called == ["first", "last"]
    last.release()
    engine.dispose()
    assert join_instances(make_engine("sqlite://"), when_alone=lambda: None) is None


def test_a_running_instance_takes_back_the_leases_of_one_that_died(postgres_url: str) -> None:
    """With several instances, a dead one's leases are taken back by a live one, not waited out.

    Each instance holds an advisory lock of its own and marks its leases with its key; another
    instance that can take that lock knows the owner is gone. A live owner's leases stay put.
    """
    engine = make_engine(postgres_url)
    with Session(engine) as session:  # other tests' rows must not count here
        for row in session.exec(select(OutboxMessage)).all():
            session.delete(row)
        session.commit()
    survivor = join_instances(engine, when_alone=lambda: None)
    victim = join_instances(engine, when_alone=lambda: None)
    assert survivor is not None and victim is not None and survivor.key != victim.key
    ours = DeliveryWorker(engine, _Telegram())  # type: ignore[arg-type]
    ours.presence = survivor
    theirs = DeliveryWorker(engine, _Telegram())  # type: ignore[arg-type]
    theirs.presence = victim
    now = utcnow()
    with Session(engine) as session:
        for chat in (41, 42, 43):
            outbox.enqueue(
                session=session,
                chat_id=chat,
                payload={"chat_id": chat, "text": "回执"},
                idempotency_key=f"dead-{chat}",
                now=now,
            )
        session.commit()
    claimed = theirs._claim(set(), 2)  # the victim leases two chats' rows…
    mine = ours._claim(set(), 5)  # …and the survivor the third
    assert len(claimed) == 2 and len(mine) == 1
    try:
        assert ours.take_back_leases_of_the_dead() == 0  # the victim still runs
        victim.release()  # …and now it is gone (its connection, and its lock, with it)
        assert ours.take_back_leases_of_the_dead() == 2
        with Session(engine) as session:
            rows = {row.chat_id: row for row in session.exec(select(OutboxMessage)).all()}
        for row in claimed:
            assert rows[row.chat_id].next_try_at <= utcnow()  # due again at once
            assert rows[row.chat_id].lease_owner is None
        assert rows[mine[0].chat_id].next_try_at > utcnow()  # the survivor's own lease stays
        assert ours.take_back_leases_of_the_dead() == 0
    finally:
        survivor.release()
        victim.release()
        engine.dispose()
