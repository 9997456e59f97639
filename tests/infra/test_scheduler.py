"""The sweep scheduler inside the running bot, and the SQLite single-instance lock."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import build_services
from bot.cli import main
from bot.infra.config import load_settings
from bot.infra.instance import AlreadyRunning, hold_instance_lock, lock_path
from bot.infra.scheduler import SweepScheduler
from bot.services import Services
from bot.telegram.bot_api import open_bot_api
from bot.telegram.runtime import BotRuntime
from sandbox import LoopbackServer
from storage.db import create_all, make_engine, upgrade
from storage.models import GroupBinding, OutboxMessage
from tests import factories
from tests.infra.test_delivery import make_worker

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
FILED = dt.datetime(2026, 11, 26, 10, tzinfo=SHANGHAI)  # Thursday
DUE = dt.datetime(2026, 11, 27, 18, tzinfo=SHANGHAI)  # 1 working day later
HALF_PAST = dt.datetime(2026, 11, 27, 13, 31, tzinfo=SHANGHAI)  # just past 50 %


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    create_all(engine)
    return engine


def services_at(engine: Engine, now: dt.datetime) -> Services:
    """Services on ``engine`` with the shipped rules and a clock stopped at ``now``."""
    settings = load_settings(
        routing_rules=ROOT / "routing_rules.yaml", database_url="sqlite:///unused.sqlite"
    )
    return build_services(settings, engine=engine, clock=lambda: now.astimezone(dt.UTC))


def add_due_reports(engine: Engine, count: int, *, group: int) -> None:
    """Add ``count`` routed water reports filed Thursday 10:00, due Friday 18:00."""
    with Session(engine) as session:
        factories.station(session, code="GZ-YX-001", region="440104")
        obs = factories.observer(session, station_code="GZ-YX-001")
        session.add(GroupBinding(department="water", region_code="440100", chat_id=group))
        for _ in range(count):
            factories.report(
                session,
                obs=obs,
                department="water",
                target_region="440100",
                created_at=FILED,
                sign_due_at=DUE,
                resolve_due_at=DUE + dt.timedelta(days=6),
            )
        session.commit()


async def test_the_running_bot_sweeps_and_wakes_delivery(sqlite_engine: Engine) -> None:
    async with LoopbackServer(enforce_limits=False) as server:
        group = await server.control.create_group("广州市水务局承办群", type="supergroup")
        add_due_reports(sqlite_engine, 1, group=group["id"])
        services = services_at(sqlite_engine, HALF_PAST)
        api = open_bot_api("ptb", server.token, api_base=server.base_url, timeout=5)
        # Delivery would only poll again after a minute: the sweep's wake-up sends it.
        delivery = make_worker(sqlite_engine, api, poll_interval=60, now=services.clock)
        sweeps = SweepScheduler(services, interval=0.05, on_queued=delivery.notify)
        runtime = BotRuntime(services, api, delivery=delivery, poll_timeout=1, sweeps=sweeps)
        task = asyncio.create_task(runtime.run())
        try:
            async with asyncio.timeout(20):
                while True:  # several sweeps ran, and one reminder was delivered
                    if sweeps.runs >= 4 and await server.control.bot_messages(group["id"]):
                        break
                    await asyncio.sleep(0.02)
            assert sweeps.running
        finally:
            runtime.stop()
            await asyncio.wait_for(task, timeout=15)
            await api.close()
        assert not sweeps.running
        texts = [m["text"] for m in await server.control.bot_messages(group["id"])]
        assert len(texts) == 1 and "签收提醒" in texts[0] and "还剩" in texts[0]


async def test_a_sweep_that_hits_its_limit_is_repeated_at_once(sqlite_engine: Engine) -> None:
    add_due_reports(sqlite_engine, 5, group=-100111)
    woken: list[int] = []
    scheduler = SweepScheduler(
        services_at(sqlite_engine, HALF_PAST), limit=2, on_queued=lambda: woken.append(1)
    )
    total = await scheduler.run_once()
    assert total.fired == 5 and not total.more
    assert scheduler.runs == 3 and len(woken) == 3
    with Session(sqlite_engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 5
    assert (await scheduler.run_once()).fired == 0


def test_the_interval_must_be_positive(sqlite_engine: Engine) -> None:
    with pytest.raises(ValueError, match="positive"):
        SweepScheduler(services_at(sqlite_engine, HALF_PAST), interval=0)


# --- one instance per SQLite database -----------------------------------------------------------


def test_a_second_instance_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    first = hold_instance_lock(url)
    assert first is not None and first.held
    assert lock_path(url) == tmp_path / "bot.sqlite.lock"
    with pytest.raises(AlreadyRunning, match="正在使用") as refused:
        hold_instance_lock(url)
    assert "PostgreSQL" in str(refused.value) and str(tmp_path / "bot.sqlite") in str(refused.value)
    first.release()
    with hold_instance_lock(url) as again:  # free again once the first one stopped
        assert again is not None and again.held
    # Another database file is another instance.
    other = hold_instance_lock(f"sqlite:///{tmp_path / 'other.sqlite'}")
    assert other is not None
    other.release()


def test_postgresql_needs_no_instance_lock() -> None:
    assert hold_instance_lock("postgresql+psycopg://bot@127.0.0.1/observer") is None
    assert hold_instance_lock("sqlite://") is None


def test_obsbot_run_refuses_to_start_next_to_a_running_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:AAEabcdefghijklmnop")
    monkeypatch.setenv("TELEGRAM_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("ROUTING_RULES", str(ROOT / "routing_rules.yaml"))
    upgrade(url)  # a missing database file is refused before the lock is even tried
    running = hold_instance_lock(url)
    try:
        result = CliRunner().invoke(main, ["run"])
    finally:
        assert running is not None
        running.release()
    assert result.exit_code == 1
    assert "正在使用 SQLite 数据库" in result.output and "PostgreSQL" in result.output
