"""The bot as a separate operating-system process, and a database prepared for it.

``prepare_database`` creates the schema with the real ``obsbot db upgrade`` and fills the
roster and group bindings through the storage functions an administrator's import uses.
``BotProcess`` starts ``python -m bot run`` against a loopback Bot API server and can
``kill()`` it with SIGKILL at any moment, as a crash or an out-of-memory killer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.roster import ObserverRecord, StationRecord
from storage.db import make_engine
from storage.models import GroupBinding
from storage.roster import import_roster
from storage.types import utcnow

ROOT = Path(__file__).resolve().parents[2]
STATION = StationRecord(
    code="GZ-YX-001",
    name="北京街社会工作观察站",
    city="广州市",
    county="越秀区",
    town="北京街道",
    region_code="440104001",
)


def obsbot(args: Sequence[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    """Run one ``python -m bot`` command to completion; fail the test if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"obsbot {' '.join(args)} failed: {done.stderr[-2000:]}"
    return done


def base_env(
    database_url: str, *, api_base: str, token: str, runtime: str = "ptb"
) -> dict[str, str]:
    """The environment of a bot process: the loopback server, the database, the shipped rules."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE_", "WEBHOOK_", "BOT_", "ADMIN_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE=api_base,
        DATABASE_URL=database_url,
        ROUTING_RULES=str(ROOT / "routing_rules.yaml"),
        BOT_RUNTIME=runtime,
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare_database(
    database_url: str,
    *,
    phones: Sequence[str],
    bindings: dict[str, int],
    cwd: Path,
) -> None:
    """Create the schema with ``obsbot db upgrade``; import observers and bind groups.

    ``bindings`` maps a department id to its group's chat id, bound at province level so
    every report of the station finds it.
    """
    env = base_env(database_url, api_base="http://127.0.0.1:9", token="1:unused-token-xxxx")
    obsbot(["db", "upgrade"], env, cwd)
    engine = make_engine(database_url)
    try:
        fill_roster(engine, phones=phones, bindings=bindings)
    finally:
        engine.dispose()


def fill_roster(engine: Engine, *, phones: Sequence[str], bindings: dict[str, int]) -> None:
    """Import one station's observers (by phone) and bind each department's group."""
    with Session(engine) as session:
        import_roster(
            session=session,
            stations=[STATION],
            observers=[
                ObserverRecord(
                    name=f"观察员{index}", phone=phone, station_code=STATION.code, row=index
                )
                for index, phone in enumerate(phones, 2)
            ],
            now=utcnow(),
        )
        for department, chat_id in bindings.items():
            session.add(GroupBinding(department=department, region_code="440000", chat_id=chat_id))
        session.commit()


@dataclass
class BotProcess:
    """``python -m bot run`` in its own process; started, killed and restarted at will."""

    env: dict[str, str]
    cwd: Path
    logs: Path
    runtimes: Sequence[str] = ("ptb",)
    starts: int = 0
    kills: int = 0
    _process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Start a fresh process (runtimes alternate between starts when several are given)."""
        assert self._process is None or self._process.returncode is not None
        runtime = self.runtimes[self.starts % len(self.runtimes)]
        log = (self.logs / f"bot-{self.starts:02d}-{runtime}.log").open("w", encoding="utf-8")
        self.starts += 1
        with log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env={**self.env, "BOT_RUNTIME": runtime},
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def running(self) -> bool:
        """Return True while the process is alive."""
        return self._process is not None and self._process.returncode is None

    async def kill(self) -> None:
        """SIGKILL the process: no clean-up, no flushing, nothing but what was committed."""
        assert self._process is not None
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGKILL)
        await self._process.wait()
        self.kills += 1

    async def stop(self) -> int:
        """Stop the process as an operator would (SIGTERM); return its exit status."""
        if self._process is None:
            return 0
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), 20)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        return int(self._process.returncode or 0)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of every process's log, for a failing assertion's message."""
        parts = []
        for path in sorted(self.logs.glob("bot-*.log")):
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(f"--- {path.name}\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)
