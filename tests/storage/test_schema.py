"""The migrations create exactly the tables the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from bot.errors import SchemaError
from storage import search
from storage.db import current_revision, ensure_current, head_revision, make_engine, upgrade


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as connection:
        # The search index (storage.search) is the database's own, beside the models.
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, kind, parent: (
                    not str(name).startswith(search.INDEX_OBJECTS)
                )
            },
        )
        return list(compare_metadata(context, SQLModel.metadata))


def test_sqlite_migrations_match_models(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    upgrade(url)
    assert _differences(url) == []
    ensure_current(make_engine(url))


def test_postgres_migrations_match_models(postgres_url: str) -> None:
    assert _differences(postgres_url) == []
    assert current_revision(make_engine(postgres_url)) == head_revision()


def test_empty_database_is_refused_with_the_command_to_run(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with pytest.raises(SchemaError, match="obsbot db upgrade"):
        ensure_current(engine)


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.sqlite'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_indexes_for_the_known_queries_exist(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'indexes.sqlite'}"
    upgrade(url)
    names = {index["name"] for index in inspect(make_engine(url)).get_indexes("report")}
    assert {"ix_report_dept_status_sign_due", "ix_report_region_created"} <= names
