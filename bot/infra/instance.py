"""One bot process per SQLite database.

Several instances may share a PostgreSQL database: the sweeps and the delivery worker claim
their rows with ``FOR UPDATE SKIP LOCKED``. SQLite has no row locks, so a second ``obsbot run``
on the same SQLite file would send every reminder twice. ``hold_instance_lock`` takes an
exclusive advisory lock (``flock``) on a lock file next to the database and keeps it for the
life of the process; the operating system releases it when the process ends, however it ends,
so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from bot.errors import ObserverBotError


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
            f"another obsbot instance (pid {holder}) is already running on the SQLite database "
            f"{path.with_suffix('')}: stop it first; to run several instances use PostgreSQL "
            "(DATABASE_URL=postgresql+psycopg://...)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return InstanceLock(path, handle)
