"""Benchmark: the province-scope weekly digest over a year of 200,000 reports.

Builds a migrated database (SQLite, and PostgreSQL with ``--postgres ADMIN_URL``) holding 593
stations, 1,366 observers and ``--reports`` reports spread over the year before 2026-11-26, each
with a plausible life (signed, transferred, returned, resolved, rated, reopened, left overdue)
and its audit trail, inserted in bulk (executemany of 10,000-row batches; no ORM objects). Then
measures, in the same run, the digest of 2026-W47 for the whole province (440000):

- ``load``: the four queries of ``bot.services.digest.load_week``;
- ``compute``: ``bot.services.digest.digest_of`` (``compute_digest``) on those rows;
- ``text``, ``chart``, ``workbook``: the three renderings;
- ``total``: all of the above, as ``obsbot digest`` does it (best of ``--repeat`` warm runs,
  with this process's CPU time too, since the machine may be shared;
  the first, cold run, which imports matplotlib and loads the font, is reported apart);
- baseline ``bare_select``: ``SELECT *`` of the week's rows through the raw driver, the floor
  for reading the week at all.

Usage: python benchmarks/digest.py [--reports N] [--postgres ADMIN_URL [--no-sqlite]]
[--repeat 3]. The first run is cold only for the first database of the process: with both,
PostgreSQL's "cold" run follows SQLite's, so ``benchmarks/all.py`` runs PostgreSQL in a
process of its own (``--no-sqlite``). The last line is JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from bot.core import regions
from bot.core.rules import RuleSet, load_rules
from bot.core.weeks import SHANGHAI, parse_week
from bot.infra.digest_render import render_chart, render_text, render_workbook
from bot.services.digest import digest_of, load_week
from storage.db import make_engine, upgrade
from storage.models import Observer, Report, ReportEvent, Station

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
WEEK = parse_week("2026-W47")
SCOPE = "440000"
STATIONS = 593
OBSERVERS = 1366
BATCH = 10_000
WORDS = [
    f"{a}{b}"
    for a in "河道路灯噪音垃圾停车供水燃气电梯物业学位医保养老食堂治安消防"
    for b in "问题"
][:40] + ["河涌", "发臭", "积水", "占道", "拖欠", "工资", "违建", "油烟", "漏水", "停电"]
TEXTS = [
    "村口河涌发臭好多天了，居民意见很大，希望尽快清理。",
    "小区电梯经常停运，老人上下楼很不方便，联系电话13800138000。",
    "路灯坏了一个多月没人修，晚上出行不安全。",
    "建议在社区增设长者饭堂，方便独居老人就餐。",
    "群众议论菜价上涨明显，担心影响生活。",
    "工地夜间施工噪音扰民，严重影响休息。",
]


def generate(rules: RuleSet, count: int, seed: int = 47) -> tuple[list[dict[str, Any]], ...]:
    """Return (stations, observers, reports, events) rows for ``count`` reports."""
    rng = random.Random(seed)
    counties = [r.code for r in regions.known_regions() if regions.level_of(r.code) == "county"]
    stations = [
        {
            "code": f"BM-{n:04d}",
            "name": f"第{n}社会工作观察站",
            "city": "",
            "county": "",
            "town": "",
            "region_code": rng.choice(counties) + f"{n % 20 + 1:03d}",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(STATIONS)
    ]
    observers = [
        {
            "id": n + 1,
            "name": f"观察员{n}",
            "phone": f"+86138{n:08d}",
            "station_code": stations[n % STATIONS]["code"],
            "telegram_user_id": 10_000 + n,
            "status": "active",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(OBSERVERS)
    ]
    departments = [d for d in rules.departments if d != rules.dispatch]
    tags = list(rules.tags)
    start = NOW - dt.timedelta(days=365)
    reports: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def event(report_id: int, action: str, at: dt.datetime, **details: Any) -> None:
        if at <= NOW:
            events.append(
                {
                    "report_id": report_id,
                    "actor": "user:1",
                    "action": action,
                    "at": at,
                    "details": details,
                }
            )

    for n in range(count):
        report_id = n + 1
        observer = observers[rng.randrange(OBSERVERS)]
        station = stations[(observer["id"] - 1) % STATIONS]
        created = start + dt.timedelta(seconds=rng.uniform(0, 365 * 86400))
        kind = rng.choices(("problem", "suggestion", "sentiment"), (70, 15, 15))[0]
        department = rng.choice(departments)
        row: dict[str, Any] = {
            "id": report_id,
            "number": f"GD-{created.astimezone(SHANGHAI):%Y%m%d}-{n:06d}",
            "kind": kind,
            "observer_id": observer["id"],
            "station_code": station["code"],
            "region_code": station["region_code"],
            "text": rng.choice(TEXTS),
            "category": None,
            "source_chat_id": observer["telegram_user_id"],
            "source_message_id": n,
            "attachments": [],
            "tags": [rng.choice(tags)],
            "keywords": [[w, round(rng.uniform(0.2, 1.5), 3)] for w in rng.sample(WORDS, 3)],
            "routing": {},
            "priority": "urgent" if rng.random() < 0.05 else "normal",
            "department": department,
            "target_region": station["region_code"][:6],
            "status": "recorded",
            "sign_due_at": None,
            "resolve_due_at": None,
            "created_at": created,
            "signed_at": None,
            "resolved_at": None,
            "closed_at": None,
            "rating": None,
            "updated_at": created,
        }
        event(report_id, "created", created)
        if kind != "sentiment":
            row["sign_due_at"] = created + dt.timedelta(hours=24)
            row["resolve_due_at"] = created + dt.timedelta(days=7 if kind == "problem" else 14)
            row["status"] = "routed"
            if rng.random() < 0.05:
                moved = created + dt.timedelta(hours=rng.uniform(1, 20))
                other = rng.choice(departments)
                event(report_id, "transferred", moved, **{"from": department, "to": other})
                row["department"] = other
            if rng.random() < 0.03:
                event(
                    report_id,
                    "returned",
                    created + dt.timedelta(hours=rng.uniform(1, 30)),
                    **{"from": row["department"], "reason": "不属于本部门"},
                )
            signed = created + dt.timedelta(hours=rng.expovariate(1 / 14))
            if rng.random() < 0.99 and signed <= NOW:
                row["signed_at"], row["status"] = signed, "signed"
                event(report_id, "signed", signed)
                resolved = signed + dt.timedelta(hours=rng.expovariate(1 / 90))
                if rng.random() < 0.985 and resolved <= NOW:
                    row["resolved_at"], row["status"] = resolved, "resolved"
                    event(report_id, "resolved", resolved, result="已处理完毕，已回复群众。")
                    if kind == "suggestion":
                        row["status"], row["closed_at"] = "closed", resolved
                    else:
                        rated = resolved + dt.timedelta(hours=rng.uniform(1, 48))
                        if rated <= NOW and rng.random() < 0.8:
                            rating = rng.choices(RATINGS, (70, 22, 8))[0]
                            if rating == "unsatisfied":
                                event(report_id, "reopened", rated, rating=rating, reason="没解决")
                                row.update(status="signed", resolved_at=None, rating=rating)
                                again = rated + dt.timedelta(hours=rng.expovariate(1 / 60))
                                if again <= NOW and rng.random() < 0.9:
                                    event(report_id, "resolved", again, result="已重新处理。")
                                    row.update(status="resolved", resolved_at=again)
                            else:
                                event(report_id, "rated", rated, rating=rating)
                                row.update(status="closed", closed_at=rated, rating=rating)
        reports.append(row)
    return stations, observers, reports, events


RATINGS = ("satisfied", "basic", "unsatisfied")


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def fill(engine: Engine, data: tuple[list[dict[str, Any]], ...]) -> float:
    """Insert the rows in bulk; return the seconds taken."""
    started = time.perf_counter()
    with engine.begin() as connection:
        for model, rows in zip((Station, Observer, Report, ReportEvent), data, strict=True):
            for batch in _batches(rows):
                connection.execute(insert(model.__table__), batch)  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            for table in ("observer", "report"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def bare_select(engine: Engine) -> tuple[float, int]:
    """Time ``SELECT *`` of the week's reports through the raw driver (the baseline)."""
    start_bound: Any = WEEK.start.astimezone(dt.UTC)
    end_bound: Any = WEEK.end.astimezone(dt.UTC)
    if engine.dialect.name == "sqlite":
        start_bound = start_bound.replace(tzinfo=None).isoformat(sep=" ")
        end_bound = end_bound.replace(tzinfo=None).isoformat(sep=" ")
        sql = "SELECT * FROM report WHERE created_at >= ? AND created_at < ?"
    else:
        sql = "SELECT * FROM report WHERE created_at >= %s AND created_at < %s"
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        cursor = raw.cursor()
        cursor.execute(sql, (start_bound, end_bound))
        rows = cursor.fetchall()
        seconds = time.perf_counter() - started
        cursor.close()
    finally:
        raw.close()
    return seconds, len(rows)


def one_digest(engine: Engine, rules: RuleSet, out: Path) -> dict[str, float]:
    """Build and render the province digest once; return the seconds of each step."""
    times: dict[str, float] = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    with Session(engine) as session:
        rows = load_week(session=session, scope=SCOPE, week=WEEK, now=NOW)
    times["load"] = time.perf_counter() - started
    mark = time.perf_counter()

    digest = digest_of(rows, rules=rules, scope=SCOPE, week=WEEK, now=NOW)
    times["compute"] = time.perf_counter() - mark
    mark = time.perf_counter()
    message = render_text(digest, rules)
    times["text"] = time.perf_counter() - mark
    mark = time.perf_counter()
    render_chart(digest, rules, out / "digest.png")
    times["chart"] = time.perf_counter() - mark
    mark = time.perf_counter()
    render_workbook(digest, rules, out / "digest.xlsx")
    times["workbook"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    times["cpu"] = time.process_time() - cpu_started
    times["rows"] = len(rows.reports)
    times["events"] = len(rows.events)
    times["text_chars"] = len(message)
    times["new"] = digest.total.new
    return times


def run(
    label: str, engine: Engine, rules: RuleSet, data: Any, out: Path, repeat: int
) -> dict[str, Any]:
    """Fill one database and time the digest on it; print and return the figures."""
    filled = fill(engine, data)
    print(
        f"[{label}] filled {len(data[2]):,} reports and {len(data[3]):,} events in {filled:.1f} s"
    )
    cold = one_digest(engine, rules, out)
    warm = [one_digest(engine, rules, out) for _ in range(repeat)]
    best = min(warm, key=lambda t: t["total"])
    baseline, week_rows = min(bare_select(engine) for _ in range(repeat))
    print(
        f"[{label}] digest of {SCOPE} {WEEK.label}: {best['rows']:,.0f} report rows "
        f"({best['new']:,.0f} new), {best['events']:,.0f} events, "
        f"text {best['text_chars']:.0f} chars"
    )
    for step in ("load", "compute", "text", "chart", "workbook", "total", "cpu"):
        spread = statistics.median(t[step] for t in warm)
        print(f"[{label}]   {step:<9} {best[step]:6.3f} s (median {spread:.3f} s)")
    print(f"[{label}]   cold total {cold['total']:.3f} s (first run: imports, font loading)")
    print(
        f"[{label}] baseline bare SELECT * of the week's {week_rows:,} rows: {baseline:.3f} s; "
        f"load is {best['load'] / baseline:.1f}x the baseline, "
        f"total {best['total'] / baseline:.1f}x"
    )
    return {
        f"{label}_fill_seconds": round(filled, 2),
        f"{label}_rows_loaded": int(best["rows"]),
        f"{label}_load_seconds": round(best["load"], 3),
        f"{label}_compute_seconds": round(best["compute"], 3),
        f"{label}_text_seconds": round(best["text"], 3),
        f"{label}_chart_seconds": round(best["chart"], 3),
        f"{label}_workbook_seconds": round(best["workbook"], 3),
        f"{label}_total_seconds": round(best["total"], 3),
        f"{label}_total_cpu_seconds": round(best["cpu"], 3),
        f"{label}_cold_total_seconds": round(cold["total"], 3),
        f"{label}_baseline_bare_select_seconds": round(baseline, 3),
        f"{label}_total_vs_baseline": round(best["total"] / baseline, 1),
        f"{label}_goal_under_3s": best["total"] < 3,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    """Run the benchmark and print its figures, the last line as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="also run on PostgreSQL (a throw-away database is created through this URL)",
    )
    parser.add_argument(
        "--no-sqlite",
        action="store_true",
        help="skip SQLite, so PostgreSQL's first run is the cold one in this process",
    )
    args = parser.parse_args()
    rules = load_rules(ROOT / "routing_rules.yaml")
    started = time.perf_counter()
    data = generate(rules, args.reports)
    print(
        f"generated {len(data[2]):,} reports, {len(data[3]):,} events, {STATIONS} stations "
        f"in {time.perf_counter() - started:.1f} s"
    )
    figures: dict[str, Any] = {"benchmark": "digest", "reports": args.reports, "week": WEEK.label}
    with tempfile.TemporaryDirectory(prefix="digest-bench-") as tmp:
        folder = Path(tmp)
        if not args.no_sqlite:
            url = f"sqlite:///{folder / 'bench.sqlite'}"
            upgrade(url)
            engine = make_engine(url)
            figures.update(run("sqlite", engine, rules, data, folder, args.repeat))
            engine.dispose()
        if args.postgres:
            name = f"obsbot_bench_{uuid.uuid4().hex[:10]}"
            admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            pg_url = (
                make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            )
            try:
                upgrade(pg_url)
                engine = make_engine(pg_url)
                figures.update(run("postgres", engine, rules, data, folder, args.repeat))
                engine.dispose()
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print(json.dumps(figures, ensure_ascii=False))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
