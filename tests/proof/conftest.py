"""Fixtures of the proofs run on the real bot: a database file, and each of the two libraries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from storage.db import make_engine


@pytest.fixture
def engine_file(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite file for the bot's database."""
    engine = make_engine(f"sqlite:///{tmp_path / 'proof.sqlite'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["ptb", "aiogram"])
def runtime(request: pytest.FixtureRequest) -> str:
    """Each proof runs on python-telegram-bot and again on aiogram."""
    return str(request.param)
