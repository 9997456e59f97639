"""Fixtures shared by the whole suite.

``engine`` and ``session`` are parametrised over SQLite (a fresh file per test) and
PostgreSQL (one fresh database per test run, emptied between tests). PostgreSQL is reached at
``TEST_POSTGRES_URL`` (default: the local server, database ``test``). When it is unreachable
every PostgreSQL test fails, however the suite is invoked: a run cannot go green by skipping
half of itself. A developer without PostgreSQL opts out knowingly with
``OBSBOT_SKIP_POSTGRES=1``: those tests are then skipped, and the run ends with a warning
banner saying how many were.
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
SKIP_POSTGRES = os.environ.get("OBSBOT_SKIP_POSTGRES", "") == "1"
SKIP_NOTE = "(OBSBOT_SKIP_POSTGRES=1)"
_skipped_for_postgres: list[str] = []  # the node ids of the tests skipped for that reason


def _postgres_unavailable(reason: str) -> None:
    """Fail the test that needs PostgreSQL, or skip it when OBSBOT_SKIP_POSTGRES=1 says so."""
    where = make_url(POSTGRES_ADMIN_URL).render_as_string(hide_password=True)
    if SKIP_POSTGRES:
        pytest.skip(f"PostgreSQL unavailable at {where} {SKIP_NOTE}: {reason}")
    pytest.fail(
        f"PostgreSQL is required and unavailable at {where}: {reason}. Start it (or set "
        "TEST_POSTGRES_URL); to skip its tests knowingly, set OBSBOT_SKIP_POSTGRES=1.",
        pytrace=False,
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the tests skipped because PostgreSQL is absent and the developer said so."""
    if report.skipped and SKIP_NOTE in str(report.longrepr):
        _skipped_for_postgres.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """End a run that skipped PostgreSQL tests with a banner nobody can miss."""
    if not _skipped_for_postgres:
        return
    terminalreporter.write_sep("!", f"PostgreSQL tests SKIPPED {SKIP_NOTE}", red=True)
    terminalreporter.write_line(
        f"{len(_skipped_for_postgres)} test(s) needing PostgreSQL did not run; this run proves "
        "nothing about PostgreSQL. CI never skips them (.ci/run unsets OBSBOT_SKIP_POSTGRES).",
        red=True,
        bold=True,
    )


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
