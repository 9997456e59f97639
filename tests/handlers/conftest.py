"""A small world for handler tests: a roster, bound groups and the shipped rules."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.app import build_services
from bot.infra.config import load_settings
from storage.db import create_all, make_engine
from storage.models import GroupBinding, Observer, Station
from tests import factories
from tests.handlers.harness import World

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)  # Thursday 10:00 in Guangzhou

OBSERVER = 7001  # 陈晓明, 北京街 observation station, 越秀区
OTHER_OBSERVER = 7002
STRANGER = 7999
ADMIN = 9001
HANDLER = 8001  # a member of the water group
COLLEAGUE = 8002
ENV_HANDLER = 8101
DISPATCHER = 8201

WATER_GROUP = -100111  # water, bound at city level (440100): county reports fall back to it
ENV_GROUP = -100222  # environment, 越秀区
DISPATCH_GROUP = -100333  # social_work, province
HOUSING_GROUP = -100444  # housing, 越秀区


def populate(engine: Engine) -> None:
    """Add the stations, observers and group bindings the tests talk about."""
    with Session(engine) as session:
        factories.station(session, code="GZ-YX-001", region="440104001")
        session.add(
            Station(
                code="SZ-FT-001",
                name="福田街道社会工作观察站",
                city="深圳市",
                county="福田区",
                town="福田街道",
                region_code="440304",
            )
        )
        session.flush()
        session.add(Observer(name="陈晓明", phone="+8613800138001", station_code="GZ-YX-001"))
        session.add(Observer(name="李丽", phone="+8613800138002", station_code="GZ-YX-001"))
        session.add(
            Observer(
                name="王停", phone="+8613800138003", station_code="SZ-FT-001", status="suspended"
            )
        )
        for department, region, chat in (
            ("water", "440100", WATER_GROUP),
            ("environment", "440104", ENV_GROUP),
            ("social_work", "440000", DISPATCH_GROUP),
            ("housing", "440104", HOUSING_GROUP),
        ):
            session.add(GroupBinding(department=department, region_code=region, chat_id=chat))
        session.commit()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'handlers.sqlite'}")
    create_all(engine)
    yield engine
    engine.dispose()


def make_world(engine: Engine, folder: Path | None = None) -> World:
    """A world on ``engine``; digests' files go under ``folder`` (a fresh temp dir if None)."""
    folder = folder or Path(tempfile.mkdtemp(prefix="obsbot-test-"))
    populate(engine)
    settings = load_settings(
        routing_rules=ROOT / "routing_rules.yaml",
        admin_user_ids=[ADMIN],
        database_url="sqlite:///unused.sqlite",
        digest_dir=folder / "digests",
    )
    world = World(services=None, now=NOW)  # type: ignore[arg-type]
    world.services = build_services(
        settings, engine=engine, clock=world.clock, bot_username="gd_observer_bot"
    )
    return world


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    """An empty conversation on SQLite with the roster and groups in place."""
    return make_world(sqlite_engine, tmp_path)


def bot_added(chat_id: int, title: str = "某群", by: int = STRANGER) -> dict[str, Any]:
    """The ``my_chat_member`` update Telegram sends when someone adds the bot to a group."""
    bot = {"id": 1, "is_bot": True, "first_name": "bot"}
    return {
        "my_chat_member": {
            "chat": {"id": chat_id, "type": "supergroup", "title": title},
            "from": {"id": by, "is_bot": False, "first_name": "x"},
            "date": 0,
            "old_chat_member": {"status": "left", "user": bot},
            "new_chat_member": {"status": "member", "user": bot},
        }
    }


def register(world: World, user_id: int = OBSERVER, phone: str = "+8613800138001") -> None:
    """Register ``user_id`` by sharing their own contact."""
    world.message(user_id, contact={"phone_number": phone, "user_id": user_id, "first_name": "x"})
