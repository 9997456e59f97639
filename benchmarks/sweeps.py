"""Benchmark: reminder sweeps over 10,000 open reports, on SQLite and PostgreSQL.

Builds a migrated database holding 10,000 open reports (routed, normal SLA, cards delivered):
9,000 filed on Thursday 26 November 2026 at 10:00 and 1,000 filed the day before, so that at
14:00 on the Thursday exactly the 1,000 older ones have passed 50 % of their sign-for window.
Then it measures, in the same run:

- ``plan``: the first sweeps that see the 10,000 deadlines and store their thresholds (done once
  per deadline instance, normally a few at a time as reports arrive), in rounds of 1,000;
- ``quiet``: a sweep at 10:31 that finds nothing due (aim: under 50 ms), against the baseline
  ``quiet_baseline`` — a bare ``SELECT count(*)`` of the same candidate set (open reports with
  a running deadline);
- ``fire``: a sweep at 14:00 that fires 1,000 reminders (aim: under 2 s), against the baseline
  ``fire_baseline`` — queueing the same 1,000 outbox rows with ``outbox.enqueue`` and nothing
  else (the floor of writing them). Between repetitions the marks are reset and the rows
  deleted.

PostgreSQL runs in a throw-away database created on ``--postgres ADMIN_URL`` (default: the
local server, as the test suite uses) and dropped afterwards; it is skipped with a note when
unreachable. Figures are medians of ``--repeat`` runs, wall-clock, with this process's CPU time
next to them (the machine may be shared; PostgreSQL's own work is not in that CPU time). Usage:
``python benchmarks/sweeps.py [--reports N] [--due N] [--repeat 5] [--postgres URL|none]``.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, text, update
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from bot.app import build_services
from bot.infra.config import load_settings
from bot.services import Services
from bot.services.clocks import plan_deadlines
from handlers.sweeps import sweep
from storage import outbox, reminders
from storage.db import make_engine, session_scope, upgrade
from storage.models import (
    GroupBinding,
    Observer,
    OutboxMessage,
    ReminderMark,
    ReminderState,
    Report,
    ReportEvent,
    Station,
)

ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW = dt.datetime(2026, 11, 26, 10, tzinfo=SHANGHAI)  # Thursday
OLD = dt.datetime(2026, 11, 25, 10, tzinfo=SHANGHAI)  # Wednesday: 50 % passed at 13:30 Thursday
QUIET_AT = dt.datetime(2026, 11, 26, 10, 31, tzinfo=SHANGHAI)
FIRE_AT = dt.datetime(2026, 11, 26, 14, 0, tzinfo=SHANGHAI)
WATER_GROUP = -100111
DISPATCH_GROUP = -100333
DEFAULT_PG = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
AIM_QUIET_MS = 50.0
AIM_FIRE_MS = 2000.0


def populate(engine: Engine, services: Services, *, reports: int, due: int) -> None:
    """Insert a station, an observer, the groups and ``reports`` routed reports (``due`` old)."""
    with Session(engine) as session:
        session.add(
            Station(
                code="GZ-YX-001",
                name="北京街社会工作观察站",
                city="广州市",
                county="越秀区",
                region_code="440104",
            )
        )
        session.flush()
        observer = Observer(name="陈晓明", station_code="GZ-YX-001", telegram_user_id=7001)
        session.add(observer)
        session.add(GroupBinding(department="water", region_code="440100", chat_id=WATER_GROUP))
        session.add(
            GroupBinding(department="social_work", region_code="440000", chat_id=DISPATCH_GROUP)
        )
        session.commit()
        observer_id = observer.id
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for n in range(reports):
        filed = (OLD if n < due else NEW).astimezone(dt.UTC)
        deadlines = plan_deadlines(services, kind="problem", sla_class="normal", start=filed)
        rows.append(
            {
                "id": n + 1,
                "number": f"GD-{filed:%Y%m%d}-{n:05d}",
                "kind": "problem",
                "observer_id": observer_id,
                "station_code": "GZ-YX-001",
                "region_code": "440104",
                "text": "东濠涌河涌发臭，水面漂着垃圾，已经一个星期了",
                "source_chat_id": 7001,
                "source_message_id": n + 1,
                "attachments": [],
                "tags": ["river"],
                "keywords": [],
                "routing": {},
                "sla_class": "normal",
                "priority": "normal",
                "department": "water",
                "target_region": "440100",
                "status": "routed",
                "sign_due_at": deadlines.sign_due,
                "resolve_due_at": deadlines.resolve_due,
                "created_at": filed,
                "updated_at": filed,
                "card_chat_id": WATER_GROUP,
                "card_message_id": 10_000 + n,
            }
        )
        events.append(
            {
                "report_id": n + 1,
                "actor": "observer:1",
                "action": "created",
                "at": filed,
                "details": {},
            }
        )
    with session_scope(engine) as session:
        for start in range(0, len(rows), 1000):
            session.execute(insert(Report), rows[start : start + 1000])
            session.execute(insert(ReportEvent), events[start : start + 1000])
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT setval('report_id_seq', (SELECT max(id) FROM report))"))
    with engine.begin() as connection:  # statistics, as a running database would have
        connection.exec_driver_sql("ANALYZE")


CPU_MS: list[float] = []  # this process's CPU time of the last timed() call (shared machine)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``action`` and return (wall milliseconds, result); its CPU time goes to CPU_MS."""
    cpu = time.process_time()
    start = time.perf_counter()
    result = action()
    elapsed = (time.perf_counter() - start) * 1000
    CPU_MS.append((time.process_time() - cpu) * 1000)
    return elapsed, result


def reset_fired(engine: Engine) -> None:
    """Put fired marks back to planned and delete the queued rows (for another repetition)."""
    with session_scope(engine) as session:
        session.execute(
            update(ReminderMark)
            .where(ReminderMark.state != ReminderState.PLANNED)
            .values(state=ReminderState.PLANNED, fired_at=None)
        )
        session.execute(delete(OutboxMessage))


def enqueue_only(engine: Engine, count: int) -> int:
    """Baseline: queue ``count`` reminder rows and nothing else; return how many were new."""
    now = FIRE_AT.astimezone(dt.UTC)
    queued = 0
    with session_scope(engine) as session:
        for n in range(count):
            queued += outbox.enqueue(
                session=session,
                chat_id=WATER_GROUP,
                payload={"chat_id": WATER_GROUP, "text": f"⏰ 签收提醒 {n}"},
                idempotency_key=f"baseline:{n}",
                now=now,
                purpose="reminder",
                report_id=n + 1,
            )
    with session_scope(engine) as session:
        session.execute(delete(OutboxMessage))
    return queued


def count_candidates(engine: Engine) -> int:
    """Baseline: count the open reports with a running deadline."""
    with Session(engine) as session:
        return reminders.count_running(session=session)


def run(name: str, engine: Engine, *, reports: int, due: int, repeat: int) -> dict[str, Any]:
    """Populate ``engine`` and measure the sweeps; return the figures."""
    settings = load_settings(
        routing_rules=ROOT / "routing_rules.yaml", database_url="sqlite:///unused.sqlite"
    )
    services = build_services(settings, engine=engine)
    populate(engine, services, reports=reports, due=due)

    planned = 0
    plan_ms = 0.0
    while True:
        ms, result = timed(lambda: sweep(services, now=QUIET_AT.astimezone(dt.UTC), limit=1000))
        plan_ms += ms
        planned += result.planned
        if not result.more:
            break
    if planned != reports:
        raise SystemExit(f"{name}: planned {planned} deadlines, expected {reports}")

    quiet: list[float] = []
    quiet_cpu: list[float] = []
    quiet_baseline: list[float] = []
    for _ in range(repeat):
        ms, result = timed(lambda: sweep(services, now=QUIET_AT.astimezone(dt.UTC)))
        if result.fired or result.planned:
            raise SystemExit(f"{name}: the quiet sweep did something: {result}")
        quiet.append(ms)
        quiet_cpu.append(CPU_MS[-1])
        ms, count = timed(lambda: count_candidates(engine))
        if count != reports:
            raise SystemExit(f"{name}: {count} candidates, expected {reports}")
        quiet_baseline.append(ms)

    fire: list[float] = []
    fire_cpu: list[float] = []
    fire_baseline: list[float] = []
    for _ in range(repeat):
        reset_fired(engine)
        ms, result = timed(lambda: sweep(services, now=FIRE_AT.astimezone(dt.UTC), limit=due))
        if result.fired != due or result.queued != due:
            raise SystemExit(f"{name}: the firing sweep fired {result}, expected {due}")
        fire.append(ms)
        fire_cpu.append(CPU_MS[-1])
        ms, queued = timed(lambda: enqueue_only(engine, due))
        if queued != due:
            raise SystemExit(f"{name}: the baseline queued {queued}")
        fire_baseline.append(ms)

    figures = {
        "reports": reports,
        "due": due,
        "plan_ms": round(plan_ms, 1),
        "quiet_ms": round(statistics.median(quiet), 2),
        "quiet_cpu_ms": round(statistics.median(quiet_cpu), 2),
        "quiet_baseline_ms": round(statistics.median(quiet_baseline), 2),
        "fire_ms": round(statistics.median(fire), 1),
        "fire_cpu_ms": round(statistics.median(fire_cpu), 1),
        "fire_baseline_ms": round(statistics.median(fire_baseline), 1),
    }
    figures["quiet_ratio"] = round(figures["quiet_ms"] / figures["quiet_baseline_ms"], 2)
    figures["fire_ratio"] = round(figures["fire_ms"] / figures["fire_baseline_ms"], 2)
    figures["quiet_within_aim"] = figures["quiet_ms"] < AIM_QUIET_MS
    figures["fire_within_aim"] = figures["fire_ms"] < AIM_FIRE_MS
    return figures


def report(name: str, figures: dict[str, Any]) -> None:
    """Print one database's figures as a few readable lines."""
    print(f"{name}: {figures['reports']:,} open reports, {figures['due']:,} due")
    print(f"  plan (first sight of every deadline)  {figures['plan_ms']:10.1f} ms")
    print(
        f"  quiet sweep (nothing due)             {figures['quiet_ms']:10.2f} ms"
        f"   baseline count(*) {figures['quiet_baseline_ms']:.2f} ms"
        f"   ratio {figures['quiet_ratio']}   aim < {AIM_QUIET_MS:.0f} ms"
        f"   (bot process CPU {figures['quiet_cpu_ms']:.2f} ms)"
    )
    print(
        f"  firing sweep ({figures['due']:,} reminders)       {figures['fire_ms']:10.1f} ms"
        f"   baseline enqueue {figures['fire_baseline_ms']:.1f} ms"
        f"   ratio {figures['fire_ratio']}   aim < {AIM_FIRE_MS:.0f} ms"
        f"   (bot process CPU {figures['fire_cpu_ms']:.1f} ms)"
    )


def main() -> None:
    """Run the benchmark on SQLite and (if reachable) PostgreSQL; print figures, then JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_PG, help="admin URL, or 'none'")
    args = parser.parse_args()
    if not 0 < args.due <= args.reports:
        parser.error("--due must be between 1 and --reports")

    results: dict[str, Any] = {"benchmark": "sweeps", "aims_ms": [AIM_QUIET_MS, AIM_FIRE_MS]}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'sweeps.sqlite'}"
        upgrade(url)
        engine = make_engine(url)
        results["sqlite"] = run(
            "sqlite", engine, reports=args.reports, due=args.due, repeat=args.repeat
        )
        engine.dispose()
        report("SQLite", results["sqlite"])

    if args.postgres.lower() != "none":
        name = f"obsbot_bench_{uuid.uuid4().hex[:10]}"
        try:
            admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001 - any connection problem means "unavailable"
            print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}", file=sys.stderr)
            results["postgresql"] = None
        else:
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            try:
                upgrade(url)
                engine = make_engine(url)
                results["postgresql"] = run(
                    "postgresql", engine, reports=args.reports, due=args.due, repeat=args.repeat
                )
                engine.dispose()
                report("PostgreSQL", results["postgresql"])
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
