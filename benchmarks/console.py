"""Benchmark: the web console's pages over 200,000 reports.

Builds a migrated SQLite database (and PostgreSQL with ``--postgres ADMIN_URL``) holding the
digest benchmark's year of reports (``benchmarks/digest.py``: 593 stations, their observers,
``--reports`` reports with their audit trails, inserted in bulk), sets every report's search
terms as migration 0008 does, signs an administrator in (who sees every report: the largest
lists), and renders each page through the real application (FastAPI, the queries, the
templates) ``--repeat`` times:

- ``dashboard``: this week against last and the eight before, departments worst first;
- ``list``: the first page of every report, newest first;
- ``filtered``: status and kind, sorted by number;
- ``search``: full-text search for a two-character word (河涌);
- ``filtered_search``: a search with a status filter, overdue, sorted by the sign-for deadline.

It prints each page's median and p95 in milliseconds, and a baseline measured in the same run:
the raw driver's ``SELECT`` of the 25 newest reports, the floor for any list page. The aim
(issue 17) is a p95 under 300 ms for the dashboard and a filtered, searched list.

Usage: python benchmarks/console.py [--reports N] [--repeat 20] [--postgres ADMIN_URL].
The last line is JSON.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bot.app import build_services
from bot.core.signing import sign_in_link
from bot.infra.config import load_settings
from bot.web.app import create_app
from storage import search
from storage.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location("digest_bench", ROOT / "benchmarks" / "digest.py")
assert _SPEC is not None and _SPEC.loader is not None
digest_bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(digest_bench)

ADMIN = 9001
SECRET = "b" * 40
PAGES = {
    "dashboard": "/",
    "list": "/reports",
    "filtered": "/reports?status=resolved&kind=problem&sort=number",
    "search": "/reports?words=河涌",
    "filtered_search": "/reports?words=发臭&status=signed&overdue=1&sort=sign_due",
}


def _timed(client: TestClient, path: str, repeat: int) -> list[float]:
    """Return the milliseconds of ``repeat`` renders of ``path`` (after one warm-up)."""
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, path
    return times


def _p95(times: list[float]) -> float:
    """Return the 95th percentile of ``times``."""
    return statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]


def _baseline(engine: Engine, repeat: int) -> float:
    """Return the median milliseconds of the 25 newest reports through the raw driver."""
    times = []
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        for _ in range(repeat):
            started = time.perf_counter()
            cursor = raw.cursor()
            cursor.execute("SELECT * FROM report ORDER BY created_at DESC, id DESC LIMIT 25")
            cursor.fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(label: str, url: str, data: Any, repeat: int) -> dict[str, Any]:
    """Fill one database, render each page; print and return the figures."""
    upgrade(url)
    engine = make_engine(url)
    filled = digest_bench.fill(engine, data)
    started = time.perf_counter()
    with engine.begin() as connection:
        search.reindex(connection)
        connection.execute(text("ANALYZE"))
    indexed = time.perf_counter() - started
    print(
        f"[{label}] filled {len(data[2]):,} reports in {filled:.1f} s, indexed in {indexed:.1f} s"
    )
    settings = load_settings(
        routing_rules=ROOT / "routing_rules.yaml",
        admin_user_ids=[ADMIN],
        database_url=url,
        console_secret=SecretStr(SECRET),
    )
    now = digest_bench.NOW.astimezone(dt.UTC)
    services = build_services(settings, engine=engine, clock=lambda: now)
    figures: dict[str, Any] = {f"{label}_fill_seconds": round(filled, 1)}
    with TestClient(create_app(services)) as client:
        link = sign_in_link("http://testserver", SECRET, user_id=ADMIN, name="管理员", now=now)
        assert client.get(link.removeprefix("http://testserver")).status_code == 200
        for name, path in PAGES.items():
            times = _timed(client, path, repeat)
            median, p95 = statistics.median(times), _p95(times)
            print(f"[{label}]   {name:<16} median {median:7.1f} ms   p95 {p95:7.1f} ms")
            figures[f"{label}_{name}_median_ms"] = round(median, 1)
            figures[f"{label}_{name}_p95_ms"] = round(p95, 1)
    baseline = _baseline(engine, repeat)
    print(f"[{label}] baseline: the 25 newest reports through the raw driver {baseline:.1f} ms")
    figures[f"{label}_baseline_newest_25_ms"] = round(baseline, 2)
    worst = max(figures[f"{label}_{n}_p95_ms"] for n in ("dashboard", "filtered_search"))
    figures[f"{label}_goal_p95_under_300ms"] = worst < 300
    engine.dispose()
    return figures


def main() -> None:
    """Run the benchmark and print its figures, the last line as JSON."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also run on PostgreSQL")
    args = parser.parse_args()
    rules = digest_bench.load_rules(ROOT / "routing_rules.yaml")
    data = digest_bench.generate(rules, args.reports)
    figures: dict[str, Any] = {"benchmark": "console", "reports": args.reports}
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        figures.update(run("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", data, args.repeat))
    if args.postgres:
        name = f"obsbot_bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        try:
            figures.update(run("postgres", url, data, args.repeat))
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
