"""Migration 0005: bindings made before it stay active; inactive ones are skipped by routing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bot.services.reports import binding_of_chat, find_binding
from storage.db import alembic_config, make_engine, upgrade
from storage.models import GroupBinding
from tests.conftest import POSTGRES_ADMIN_URL

BOUND_AT = "2026-11-01 00:00:00+00:00"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of its own (not the run's migrated one): SQLite or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite'}"
        return
    request.getfixturevalue("postgres_url")  # skips (or fails on CI) when PostgreSQL is down
    name = f"obsbot_mig_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_existing_bindings_are_active_after_the_upgrade_and_it_reverses(fresh_url: str) -> None:
    upgrade(fresh_url, "0004")
    engine = make_engine(fresh_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO groupbinding (department, region_code, chat_id, chat_title, bound_at)"
                " VALUES ('water', '440100', -100111, '水务群', :at)"
            ),
            {"at": BOUND_AT},
        )
    upgrade(fresh_url)
    with Session(engine) as session:
        binding = find_binding(session, department="water", region="440104")
        assert binding is not None and binding.active and binding.left_at is None
        binding_id = binding.id
        binding.active = False
        binding.left_at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        session.add(binding)
        session.commit()
    with Session(engine) as session:
        assert find_binding(session, department="water", region="440104") is None
        assert list(binding_of_chat(session, chat_id=-100111)) == []
        stored = session.get(GroupBinding, binding_id)
        assert stored is not None and stored.left_at == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    engine.dispose()
    command.downgrade(alembic_config(fresh_url), "0004")
    engine = make_engine(fresh_url)
    with engine.connect() as connection:
        columns = connection.execute(text("SELECT * FROM groupbinding")).keys()
        assert "active" not in columns and "left_at" not in columns
    engine.dispose()


def test_routing_falls_back_upward_past_an_inactive_binding(fresh_url: str) -> None:
    upgrade(fresh_url)
    engine = make_engine(fresh_url)
    with Session(engine) as session:
        session.add(GroupBinding(department="water", region_code="440104", chat_id=-1))
        session.add(GroupBinding(department="water", region_code="440100", chat_id=-2))
        session.commit()
        assert find_binding(session, department="water", region="440104").chat_id == -1  # type: ignore[union-attr]
        county = find_binding(session, department="water", region="440104")
        assert county is not None
        county.active = False
        session.add(county)
        session.commit()
        assert find_binding(session, department="water", region="440104").chat_id == -2  # type: ignore[union-attr]
    engine.dispose()
