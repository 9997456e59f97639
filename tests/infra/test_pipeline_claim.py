"""Two instances sharing one inbox never handle the same update (PostgreSQL row claims)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import build_services
from bot.infra.config import load_settings
from bot.infra.pipeline import process_one
from storage import inbox
from storage.models import InboxStatus, InboxUpdate, OutboxMessage

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
UPDATE = {
    "update_id": 41,
    "message": {
        "message_id": 7,
        "date": 0,
        "chat": {"id": 5005, "type": "private"},
        "from": {"id": 5005, "is_bot": False, "first_name": "路人"},
        "text": "/start",
    },
}


def _outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage)).all())


def _status(engine: Engine) -> str:
    with Session(engine) as session:
        row = session.get(InboxUpdate, 41)
        assert row is not None
        return row.status


def test_an_update_is_handled_once_even_when_two_processors_see_it(engine: Engine) -> None:
    settings = load_settings(
        routing_rules=ROOT / "routing_rules.yaml", database_url="sqlite:///unused.sqlite"
    )
    services = build_services(settings, engine=engine, clock=lambda: NOW)
    with Session(engine) as session:
        inbox.record_updates(session=session, updates=[UPDATE], now=NOW)
        session.commit()
    if engine.dialect.name == "postgresql":
        # Another instance holds the update (its transaction is open): this one skips it.
        with Session(engine) as other:
            assert inbox.claim_update(session=other, update_id=41) is not None
            skipped: list[object] = []
            worker = threading.Thread(
                target=lambda: skipped.append(process_one(services, update_id=41, payload=UPDATE))
            )
            worker.start()
            worker.join(timeout=10)
            assert not worker.is_alive() and skipped == [None]
            assert _outbox(engine) == [] and _status(engine) == InboxStatus.PENDING
    process_one(services, update_id=41, payload=UPDATE)
    assert len(_outbox(engine)) == 1 and _status(engine) == InboxStatus.DONE
    # A processor that listed it as pending before the commit finds it handled: nothing more.
    assert process_one(services, update_id=41, payload=UPDATE) is None
    assert len(_outbox(engine)) == 1 and _status(engine) == InboxStatus.DONE
