"""Fixtures shared by the whole suite.

``engine`` and ``session`` are parametrised over SQLite (a fresh file per test) and
PostgreSQL (one fresh database per test run, emptied between tests). PostgreSQL is reached at
``TEST_POSTGRES_URL`` (default: the local server, database ``test``); when it is unreachable
its tests are skipped — except on CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from storage.db import create_all, make_engine, upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_unavailable(reason: str) -> None:
    if ON_CI:
        pytest.fail(f"PostgreSQL is required on CI: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Create a throw-away PostgreSQL database for this run, migrated to the newest schema."""
    name = f"obsbot_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "unavailable"
        _postgres_unavailable(str(exc).splitlines()[0])
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """An empty database with the full schema: a fresh SQLite file, or the run's PostgreSQL."""
    if request.param == "sqlite":
        created = make_engine(f"sqlite:///{tmp_path / 'test.sqlite'}")
        create_all(created)
        yield created
        created.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    created = make_engine(url)
    yield created
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with created.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    created.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on ``engine``; the test commits what it wants to persist."""
    with Session(engine, expire_on_commit=False) as opened:
        yield opened
