"""One bot process per SQLite database.

Several instances may share a PostgreSQL database: the sweeps and the delivery worker claim
their rows with ``FOR UPDATE SKIP LOCKED``. SQLite has no row locks, so a second ``obsbot run``
on the same SQLite file would send every reminder twice. ``hold_instance_lock`` takes an
exclusive advisory lock (``flock``) on a lock file next to the database and keeps it for the
life of the process; the operating system releases it when the process ends, however it ends,
so a crash never leaves a stale lock behind.

On PostgreSQL ``join_instances`` marks the process as one of the running instances with a
shared advisory lock, held on its own connection for the life of the process (the server drops
it when the connection dies, however the process ends). Taking the same lock exclusively at
start-up tells a process whether it is alone; if it is, whatever another process left leased is
a dead process's and can be taken back at once. Instances starting meanwhile wait for the
exclusive lock to be dropped before they join, so nothing is taken back from a live instance.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url

from bot.core.messages import t
from bot.errors import ObserverBotError

log = logging.getLogger(__name__)


class AlreadyRunning(ObserverBotError):
    """Another bot process holds the SQLite database's instance lock."""


class InstanceLock:
    """An exclusive lock on ``path``, held until ``release()`` or the end of the process."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    @property
    def held(self) -> bool:
        """Return True while the lock is held."""
        return self._handle is not None

    def release(self) -> None:
        """Release the lock (the lock file stays; it is reused by the next start)."""
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_path(database_url: str) -> Path | None:
    """Return the lock file of a SQLite database file, None for PostgreSQL or in-memory."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    database = Path(url.database).resolve()
    return database.with_name(database.name + ".lock")


def hold_instance_lock(database_url: str) -> InstanceLock | None:
    """Take the single-instance lock of a SQLite database; raise ``AlreadyRunning`` if taken.

    Returns None for PostgreSQL, where several instances may run side by side.
    """
    path = lock_path(database_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(
            t("cli.already_running", pid=holder, database=path.with_suffix(""))
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return InstanceLock(path, handle)


INSTANCES_KEY = 0x0B5B_0700  # the advisory lock every running obsbot instance holds shared


class InstancePresence:
    """A running instance's advisory locks on PostgreSQL, held until ``release()``.

    Besides the lock all instances share, each holds one of its own, ``key``: another
    instance that can take that lock knows this one is gone (``gone``).
    """

    def __init__(self, connection: Connection, alone: bool, key: int) -> None:
        self.alone = alone  # no other instance was running when this one started
        self.key = key
        self._connection: Connection | None = connection
        self._probe = threading.Lock()

    def gone(self, keys: Iterable[int]) -> list[int]:
        """Return the instances among ``keys`` that no longer run (their lock is free)."""
        connection = self._connection
        if connection is None:
            return []
        dead = []
        with self._probe:
            for key in keys:
                if key == self.key:
                    continue
                taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
                if taken.scalar():
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    dead.append(key)
            connection.commit()
        return dead

    def release(self) -> None:
        """Leave the set of running instances (closing the connection drops the lock)."""
        if self._connection is not None:
            self._connection.invalidate()  # really close it: a pooled one would keep the lock
            self._connection.close()
            self._connection = None


def join_instances(engine: Engine, *, when_alone: Callable[[], object]) -> InstancePresence | None:
    """Join the running instances on PostgreSQL; call ``when_alone`` first if there are none.

    Returns None for SQLite, where ``hold_instance_lock`` already guarantees a single process.
    """
    if engine.dialect.name != "postgresql":
        return None
    connection = engine.connect()
    key = {"key": INSTANCES_KEY}
    alone = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar())
    connection.commit()  # session-level advisory locks outlive transactions
    if alone:
        when_alone()
    connection.execute(text("SELECT pg_advisory_lock_shared(:key)"), key)
    if alone:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
    own = secrets.randbits(62) + 1  # this instance's own lock: held while it lives
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": own})
    connection.commit()
    log.info("joined the running instances alone=%s", alone)
    return InstancePresence(connection, alone, own)
