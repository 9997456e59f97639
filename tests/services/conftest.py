"""Fixtures of the service tests: the handler tests' world on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.handlers.conftest import make_world
from tests.handlers.harness import World


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    """The handler tests' world (roster, bound groups, shipped rules) on SQLite or PostgreSQL."""
    return make_world(engine, tmp_path)
