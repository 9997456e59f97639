"""Benchmark: same-issue lookup among 100,000 open and recent reports, SQLite and PostgreSQL.

Builds a migrated database holding ``--reports`` reports (default 100,000) filed over the last
30 days across Guangdong's shipped counties (ten stations in five towns each), skewed the way
population is: county ``i`` (in code order, shuffled once) gets a share proportional to
``1 / (i + 8)``, so the busiest county holds about 4.5 % of all reports. 85 % are open (routed,
signed or at dispatch); 15 % were resolved or closed within the last three days. Texts are the
labelled observer corpus and the same-issue incidents, each with a street number in front, and
carry the similarity key a report gets when it is created.

Then, in the same run, for ``--probes`` new reports (default 200) at stations of the busiest
county (the worst case) it times:

- ``lookup``: ``bot.services.similar.similar_reports`` — the candidate query (county window,
  open or recently closed) and the scoring of every candidate, explained matches out;
- ``baseline``: a bare indexed ``SELECT`` of the same county window (``storage.similar.
  county_window``: county, filed in the last 72 hours), rows fetched and nothing else.

Aim: lookup under 20 ms (median and p95); the lookup's CPU time in this process is printed
next to the wall-clock figures, since the machine may be shared. PostgreSQL runs in a
throw-away database created on ``--postgres ADMIN_URL`` (default: the local server) and dropped
afterwards; skipped with a note when unreachable. Usage:
``python benchmarks/similar.py [--reports N] [--probes N] [--postgres URL|none]``. The last line
is JSON.
"""

from __future__ import annotations

import argparse
import contextlib
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

from bot.core.regions import known_regions, level_of
from bot.core.similarity import DEFAULT, similarity_key
from bot.services.similar import similar_reports
from storage import similar
from storage.db import make_engine, session_scope, upgrade
from storage.models import Observer, Report, Station

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
DEFAULT_PG = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
AIM_MS = 20.0
DEPARTMENTS = ("environment", "water", "urban_management", "housing", "transport", "social_work")
OPEN = ("routed", "signed", "dispatch")


def texts() -> list[str]:
    """Return the report texts the benchmark draws from (corpus and incidents)."""
    lines = (ROOT / "corpus" / "observer_reports.jsonl").read_text(encoding="utf-8")
    found = [json.loads(line)["text"] for line in lines.splitlines() if line]
    pairs = (ROOT / "corpus" / "same_issue_pairs.jsonl").read_text(encoding="utf-8")
    for line in pairs.splitlines():
        pair = json.loads(line)
        found += [pair["a"]["text"], pair["b"]["text"]]
    return sorted(set(found))


def counties(rng: random.Random) -> list[str]:
    """Return the shipped county codes, shuffled once, busiest first."""
    codes = [r.code for r in known_regions() if level_of(r.code) == "county"]
    rng.shuffle(codes)
    return codes


def populate(engine: Engine, *, reports: int, rng: random.Random) -> tuple[str, list[str]]:
    """Fill ``engine``; return the busiest county and its station codes."""
    codes = counties(rng)
    weights = [1 / (i + 8) for i in range(len(codes))]
    stations: dict[str, list[tuple[str, str]]] = {}
    with session_scope(engine) as session:
        for county in codes:
            stations[county] = []
            for n in range(10):
                region, code = f"{county}{n // 2 + 1:03d}", f"BM-{county}-{n:02d}"
                session.add(Station(code=code, name=code, city="", county="", region_code=region))
                stations[county].append((code, region))
        session.flush()
        observers = {}
        for county in codes:
            for code, _ in stations[county]:
                observer = Observer(name="观察员", station_code=code)
                session.add(observer)
                session.flush()
                observers[code] = observer.id
    pool = texts()
    keys = {t: similarity_key(t) for t in pool}
    rows: list[dict[str, Any]] = []
    for n, county in enumerate(rng.choices(codes, weights=weights, k=reports)):
        code, region = rng.choice(stations[county])
        body = rng.choice(pool)
        filed = NOW - dt.timedelta(seconds=rng.uniform(0, 30 * 86400))
        done = rng.random() < 0.15
        closed = NOW - dt.timedelta(seconds=rng.uniform(0, 3 * 86400)) if done else None
        if closed is not None and closed < filed:
            closed = filed
        rows.append(
            {
                "id": n + 1,
                "number": f"BM-{n:07d}",
                "kind": "problem",
                "observer_id": observers[code],
                "station_code": code,
                "region_code": region,
                "text": f"{n % 97 + 1}号{body}",
                "similarity_key": f"{n % 97 + 1}号{keys[body]}",
                "source_chat_id": 1,
                "source_message_id": n + 1,
                "attachments": [],
                "tags": [],
                "keywords": [],
                "routing": {},
                "department": rng.choice(DEPARTMENTS),
                "target_region": county,
                "status": ("closed" if done else rng.choice(OPEN)),
                "created_at": filed,
                "updated_at": filed,
                "closed_at": closed,
                "resolved_at": closed,
            }
        )
    with session_scope(engine) as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(Report), rows[start : start + 2000])
    with engine.begin() as connection:  # statistics, as a running database would have
        connection.exec_driver_sql("ANALYZE")
    return codes[0], [code for code, _ in stations[codes[0]]]


def percentile(values: list[float], share: float) -> float:
    """Return the ``share`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run(engine: Engine, *, reports: int, probes: int, seed: int) -> dict[str, Any]:
    """Populate ``engine`` and time the lookups and the baseline; return the figures."""
    rng = random.Random(seed)
    started = time.perf_counter()
    busiest, station_codes = populate(engine, reports=reports, rng=rng)
    build_s = time.perf_counter() - started
    region = {code: f"{busiest}{int(code[-2:]) // 2 + 1:03d}" for code in station_codes}
    pool = texts()
    since = NOW - dt.timedelta(hours=DEFAULT.window_hours)
    lookup, lookup_cpu, baseline, candidates, matched = [], [], [], [], 0
    with Session(engine) as session:
        for n in range(probes + 5):  # the first five warm the connection and caches up
            code = rng.choice(station_codes)
            probe = f"刚才{rng.choice(pool)}"
            start = time.perf_counter()
            rows = session.execute(similar.county_window(region_code=busiest, since=since)).all()
            bare = (time.perf_counter() - start) * 1000
            start, cpu = time.perf_counter(), time.process_time()
            found = similar_reports(
                session,
                text=probe,
                station_code=code,
                region_code=region[code],
                department=rng.choice(DEPARTMENTS),
                now=NOW,
            )
            took = (time.perf_counter() - start) * 1000
            took_cpu = (time.process_time() - cpu) * 1000
            if n >= 5:
                lookup.append(took)
                lookup_cpu.append(took_cpu)
                baseline.append(bare)
                candidates.append(len(rows))
                matched += bool(found)
    figures = {
        "reports": reports,
        "probes": probes,
        "busiest_county": busiest,
        "candidates_median": statistics.median(candidates),
        "probes_with_a_match": matched,
        "build_s": round(build_s, 1),
        "lookup_median_ms": round(statistics.median(lookup), 2),
        "lookup_p95_ms": round(percentile(lookup, 0.95), 2),
        "lookup_cpu_median_ms": round(statistics.median(lookup_cpu), 2),
        "lookup_cpu_p95_ms": round(percentile(lookup_cpu, 0.95), 2),
        "baseline_median_ms": round(statistics.median(baseline), 2),
        "baseline_p95_ms": round(percentile(baseline, 0.95), 2),
    }
    figures["within_aim"] = figures["lookup_p95_ms"] < AIM_MS
    return figures


def show(name: str, f: dict[str, Any]) -> None:
    """Print one database's figures."""
    print(
        f"{name}: {f['reports']:,} open and recent reports; busiest county {f['busiest_county']},"
        f" {f['candidates_median']:.0f} reports in its 72-hour window (median)"
    )
    print(
        f"  lookup   median {f['lookup_median_ms']:6.2f} ms   p95 {f['lookup_p95_ms']:6.2f} ms"
        f"   aim < {AIM_MS:.0f} ms   ({f['probes_with_a_match']} of {f['probes']} probes matched)"
    )
    print(
        f"  lookup, this process's CPU: median {f['lookup_cpu_median_ms']:.2f} ms"
        f"   p95 {f['lookup_cpu_p95_ms']:.2f} ms   (the machine may be shared)"
    )
    print(
        f"  baseline median {f['baseline_median_ms']:6.2f} ms   p95 {f['baseline_p95_ms']:6.2f} ms"
        "   (bare indexed SELECT of the same window)"
    )


@contextlib.contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str | None]:
    """Yield the URL of a fresh PostgreSQL database (None when unreachable); drop it after."""
    name = f"obsbot_bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "unavailable"
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}", file=sys.stderr)
        yield None
        return
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Migrate ``url``, run the benchmark on it and return the figures."""
    upgrade(url)
    engine = make_engine(url)
    try:
        return run(engine, reports=args.reports, probes=args.probes, seed=args.seed)
    finally:
        engine.dispose()


def main() -> None:
    """Run on SQLite and (if reachable) PostgreSQL; print figures, then JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--postgres", default=DEFAULT_PG, help="admin URL, or 'none'")
    args = parser.parse_args()
    results: dict[str, Any] = {"benchmark": "similar", "aim_ms": AIM_MS}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = measure(f"sqlite:///{Path(folder) / 'similar.sqlite'}", args)
        show("SQLite", results["sqlite"])
    if args.postgres.lower() != "none":
        with throwaway_postgres(args.postgres) as url:
            results["postgresql"] = measure(url, args) if url else None
            if url:
                show("PostgreSQL", results["postgresql"])
    print(json.dumps(results))


if __name__ == "__main__":
    main()
