"""``begin_write``: a SQLite writer takes the write lock as soon as another writer lets go."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from storage.db import begin_write, create_all, make_engine


def test_a_writer_gets_the_lock_as_soon_as_it_is_released(tmp_path: Path) -> None:
    path = tmp_path / "lock.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    create_all(engine)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process writing a batch
    released: list[float] = []

    def release_later() -> None:
        time.sleep(0.3)
        released.append(time.monotonic())
        other.execute("COMMIT")

    threading.Thread(target=release_later).start()
    with Session(engine) as session:
        begin_write(session)  # waits, polling, instead of failing or sleeping long
        acquired = time.monotonic()
        assert released, "the lock was taken while the other writer held it"
        assert acquired - released[0] < 0.05  # SQLite's own backoff would sleep up to 100 ms
        probe = sqlite3.connect(path, isolation_level=None, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("BEGIN IMMEDIATE")  # this session holds the lock now
        probe.close()
        session.commit()
    other.close()
    engine.dispose()
