"""Several pending updates are handled in one transaction, each still all or nothing.

A database trigger refuses any draft mentioning BOOM, so the handler for that one message
fails inside the batch: it alone is marked failed (its draft never exists, its sender is told
something went wrong), and the updates before and after it keep all their effects, in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core.messages import t
from bot.infra.pipeline import process_pending
from storage import inbox
from storage.models import Draft, InboxStatus, InboxUpdate, Observer, OutboxMessage
from tests.handlers.conftest import NOW, OBSERVER, OTHER_OBSERVER, STRANGER, make_world
from tests.handlers.harness import World

SQLITE_TRIGGERS = (
    "CREATE TRIGGER boom_insert BEFORE INSERT ON draft WHEN NEW.data LIKE '%BOOM%' "
    "BEGIN SELECT RAISE(ABORT, 'boom'); END",
    "CREATE TRIGGER boom_update BEFORE UPDATE ON draft WHEN NEW.data LIKE '%BOOM%' "
    "BEGIN SELECT RAISE(ABORT, 'boom'); END",
)
POSTGRES_TRIGGER = (
    "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
    "IF NEW.data::text LIKE '%BOOM%' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; "
    "END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON draft FOR EACH ROW EXECUTE FUNCTION boom()",
)


@pytest.fixture
def booming(engine: Engine) -> Iterator[Engine]:
    """``engine`` with a trigger that refuses drafts containing BOOM (removed afterwards)."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        for statement in POSTGRES_TRIGGER if postgres else SQLITE_TRIGGERS:
            connection.execute(text(statement))
    try:
        yield engine
    finally:
        with engine.begin() as connection:
            if postgres:
                connection.execute(text("DROP TRIGGER IF EXISTS boom ON draft"))
                connection.execute(text("DROP FUNCTION IF EXISTS boom()"))


def _world(engine: Engine, tmp_path: Path) -> World:
    world = make_world(engine, tmp_path)
    with Session(engine) as session:  # both observers registered, as if by sharing a contact
        for user_id, observer in zip(
            (OBSERVER, OTHER_OBSERVER), session.exec(select(Observer)).all()[:2], strict=True
        ):
            observer.telegram_user_id = user_id
            observer.bound_at = NOW
            session.add(observer)
        session.commit()
    return world


def _message(update_id: int, user_id: int, text_: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 500 + update_id,
            "date": 0,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "x"},
            "text": text_,
        },
    }


def _store(engine: Engine, updates: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        inbox.record_updates(session=session, updates=updates, now=NOW)
        session.commit()


def _statuses(engine: Engine) -> dict[int, str]:
    with Session(engine) as session:
        return {row.update_id: row.status for row in session.exec(select(InboxUpdate)).all()}


def _outbox(engine: Engine) -> list[tuple[int, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        return [(row.chat_id, row.idempotency_key, row.payload.get("text", "")) for row in rows]


def test_a_failing_update_in_a_batch_rolls_back_alone(booming: Engine, tmp_path: Path) -> None:
    engine = booming
    world = _world(engine, tmp_path)
    _store(
        engine,
        [
            _message(1, OBSERVER, "北京路的路灯坏了，晚上很黑"),
            _message(2, OTHER_OBSERVER, "BOOM 水管爆了"),
            _message(3, STRANGER, "你好"),
            _message(4, OBSERVER, "已经三天了"),
        ],
    )
    handled, _ = process_pending(world.services)
    assert handled == 4
    assert _statuses(engine) == {
        1: InboxStatus.DONE,
        2: InboxStatus.FAILED,
        3: InboxStatus.DONE,
        4: InboxStatus.DONE,
    }
    with Session(engine) as session:
        drafts = {draft.chat_id: draft for draft in session.exec(select(Draft)).all()}
        failed = session.get(InboxUpdate, 2)
        assert failed is not None and "boom" in (failed.error or "")
    assert set(drafts) == {OBSERVER}  # the failing message left no draft behind
    assert drafts[OBSERVER].data["texts"] == ["北京路的路灯坏了，晚上很黑", "已经三天了"]
    queued = _outbox(engine)
    assert [(chat, key) for chat, key, _ in queued if chat == OTHER_OBSERVER] == [
        (OTHER_OBSERVER, "u2:error")
    ]
    assert any(chat == STRANGER for chat, _, _ in queued)
    # Queued in update order: nothing of a later update comes before an earlier one's.
    order = [int(key[1:].split(":")[0]) for _, key, _ in queued if key.startswith("u")]
    assert order == sorted(order)
    assert [text_ for chat, _, text_ in queued if chat == OTHER_OBSERVER] == [t("common.error")]


def test_a_replayed_batch_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    world = _world(engine, tmp_path)
    updates = [
        _message(1, OBSERVER, "北京路的路灯坏了"),
        _message(2, OTHER_OBSERVER, "河道有人偷排污水"),
        _message(3, STRANGER, "你好"),
    ]
    _store(engine, updates)
    assert process_pending(world.services)[0] == 3
    before = (_statuses(engine), _outbox(engine))
    assert len(before[1]) == 3
    _store(engine, updates)  # Telegram delivers the same updates again
    assert process_pending(world.services)[0] == 0
    assert (_statuses(engine), _outbox(engine)) == before


def test_a_batch_skips_an_update_another_instance_holds(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row claims are PostgreSQL's; SQLite runs one instance")
    world = _world(engine, tmp_path)
    _store(
        engine,
        [_message(1, OBSERVER, "北京路的路灯坏了"), _message(2, OTHER_OBSERVER, "河道排污")],
    )
    with Session(engine) as other:
        assert inbox.claim_update(session=other, update_id=2) is not None
        assert _in_another_thread(lambda: process_pending(world.services)) == (1, [])
        assert _statuses(engine) == {1: InboxStatus.DONE, 2: InboxStatus.PENDING}
        assert {chat for chat, _, _ in _outbox(engine)} == {OBSERVER}
    assert process_pending(world.services)[0] == 1
    assert _statuses(engine) == {1: InboxStatus.DONE, 2: InboxStatus.DONE}


def _in_another_thread(work: Callable[[], object]) -> object:
    """Run ``work`` in a thread of its own (as another instance would) and return its result."""
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(work()))
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive() and results
    return results[0]


def _press(update_id: int, user_id: int, data: str = "ob1:x:y:z") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": {"id": user_id, "is_bot": False, "first_name": "x"},
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 900 + update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "bot"},
                "text": "预览",
            },
        },
    }


def test_a_press_goes_before_other_chats_messages_but_never_before_its_own(
    engine: Engine, tmp_path: Path
) -> None:
    world = _world(engine, tmp_path)
    _store(
        engine,
        [
            _message(1, OBSERVER, "北京路的路灯坏了"),
            _message(2, STRANGER, "你好"),
            _press(3, OTHER_OBSERVER),  # nothing earlier from its chat: it goes first
            _press(4, OBSERVER),  # its chat's message 1 is pending: it waits for it
        ],
    )
    handled, answers = process_pending(world.services, limit=1)
    assert (handled, [answer.callback_id for answer in answers]) == (1, ["q3"])
    assert _statuses(engine) == {
        1: InboxStatus.PENDING,
        2: InboxStatus.PENDING,
        3: InboxStatus.DONE,
        4: InboxStatus.PENDING,
    }
    handled, answers = process_pending(world.services, limit=2)
    assert handled == 2 and answers == []
    assert _statuses(engine)[4] == InboxStatus.PENDING  # still behind message 1 and 2
    assert process_pending(world.services, limit=1)[1][0].callback_id == "q4"


def test_a_batch_leaves_a_chat_alone_while_another_instance_holds_its_earlier_update(
    engine: Engine, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row claims are PostgreSQL's; SQLite runs one instance")
    world = _world(engine, tmp_path)
    _store(
        engine,
        [
            _message(1, OBSERVER, "北京路的路灯坏了"),
            _message(2, OTHER_OBSERVER, "河道排污"),
            _message(3, OBSERVER, "已经三天了"),
        ],
    )
    with Session(engine) as other:
        assert inbox.claim_update(session=other, update_id=1) is not None
        assert _in_another_thread(lambda: process_pending(world.services)) == (1, [])
        # Update 3 comes from the chat whose update 1 the other instance holds: it waits.
        assert _statuses(engine) == {
            1: InboxStatus.PENDING,
            2: InboxStatus.DONE,
            3: InboxStatus.PENDING,
        }
    assert process_pending(world.services)[0] == 2
    with Session(engine) as session:
        draft = session.exec(select(Draft).where(Draft.chat_id == OBSERVER)).one()
    assert draft.data["texts"] == ["北京路的路灯坏了", "已经三天了"]
