"""Two paths noticing the same group change at the same moment act once, on SQLite and
PostgreSQL: the bot's removal (the update, and a 403 in the delivery worker) and a migration
(its message in the old chat, and the one in the new chat)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlmodel import Session, select

from handlers import groups
from handlers.context import Ctx
from storage.db import begin_write
from storage.models import GroupBinding, OutboxMessage, ReportEvent
from tests.handlers.conftest import DISPATCH_GROUP, OBSERVER, WATER_GROUP, register
from tests.handlers.harness import World

SUPERGROUP = -1000000100111


def _file_report(world: World) -> None:
    register(world)
    preview = world.message(OBSERVER, "东濠涌河涌发臭，水面漂着垃圾")[0]
    world.press(OBSERVER, preview, preview.button("提交"))


def _at_once(world: World, acts: list[Callable[[Ctx], int]]) -> list[int]:
    """Run each act in a transaction of its own, in threads released together."""
    barrier = threading.Barrier(len(acts))
    results: list[int] = []

    def run(act: Callable[[Ctx], int], name: str) -> None:
        with Session(world.services.engine, expire_on_commit=False) as session:
            barrier.wait()
            begin_write(session)
            results.append(groups.outside_update(world.services, session, name, act))
            session.commit()

    threads = [
        threading.Thread(target=run, args=(act, f"path{index}")) for index, act in enumerate(acts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _rows(world: World, chat_id: int, purpose: str) -> list[OutboxMessage]:
    with Session(world.services.engine) as session:
        return list(
            session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.chat_id == chat_id, OutboxMessage.purpose == purpose
                )
            ).all()
        )


def _events(world: World, action: str) -> list[ReportEvent]:
    with Session(world.services.engine) as session:
        return list(session.exec(select(ReportEvent).where(ReportEvent.action == action)).all())


def test_a_removal_noticed_twice_at_once_is_followed_once(world: World) -> None:
    _file_report(world)
    results = _at_once(
        world,
        [lambda ctx: groups.group_lost(ctx, WATER_GROUP, cause="kicked")] * 2,
    )
    assert sorted(results) == [0, 1]
    assert len(_events(world, "group_lost")) == 1
    assert len(_events(world, "returned")) == 1
    assert len(_rows(world, DISPATCH_GROUP, "card")) == 1
    assert len(_rows(world, DISPATCH_GROUP, "group_notice")) == 1
    with Session(world.services.engine) as session:
        binding = session.exec(
            select(GroupBinding).where(GroupBinding.chat_id == WATER_GROUP)
        ).one()
        assert not binding.active


def test_both_messages_of_a_migration_at_once_post_each_card_once(world: World) -> None:
    _file_report(world)
    results = _at_once(
        world,
        [
            lambda ctx: groups.migrate(ctx, WATER_GROUP, SUPERGROUP),
            lambda ctx: groups.migrate(ctx, WATER_GROUP, SUPERGROUP),
        ],
    )
    assert sorted(results) == [0, 1]
    assert len(_rows(world, SUPERGROUP, "card")) == 1
    assert len(_events(world, "group_migrated")) == 1
    with Session(world.services.engine) as session:
        binding = session.exec(select(GroupBinding).where(GroupBinding.department == "water")).one()
        assert binding.chat_id == SUPERGROUP
