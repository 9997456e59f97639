"""Benchmark: import a synthetic 100,000-row roster into SQLite, as `obsbot roster import` does.

Generates the roster in a temporary folder (5 observers per station, real Guangdong county
codes, invented names and phones), then measures in the same run:

- ``import``: parse + validate + bulk upsert + commit into a fresh, migrated SQLite database;
- ``reimport``: the same file again (every row unchanged);
- baseline ``csv_only``: plain ``csv.reader`` over the same file (the floor for reading);
- baseline ``naive_orm``: one ORM object per row with ``session.add`` and one commit, over
  every row (what the bulk statements replace), run in full rather than extrapolated.

Usage: python benchmarks/roster_import.py [--rows N] [--xlsx]. The last line is JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from bot.core import regions
from bot.core.roster import parse_roster
from storage.db import make_engine, upgrade
from storage.models import Observer, Station
from storage.roster import count_rows, import_roster

HEADER = ["站点编码", "站点名称", "地市", "区县", "镇街", "行政区划代码", "观察员姓名", "手机号"]
SURNAMES = "陈李黄张梁刘林何罗郑谢吴杨朱钟冯周叶邓曾许苏蔡彭卢潘"
GIVEN = "伟芳敏静丽强磊洋艳勇军杰娟涛明超秀英华志国晓东少惠锦荣永康嘉欣文辉淑仪"
PER_STATION = 5
CPU_SECONDS: dict[str, float] = {}  # this process's CPU time per file type (the machine is shared)


def generate(path: Path, rows: int, seed: int = 2260) -> None:
    """Write a clean synthetic roster of ``rows`` observers to ``path`` (UTF-8 CSV)."""
    rng = random.Random(seed)
    counties = [r for r in regions.known_regions() if regions.level_of(r.code) == "county"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        station: list[str] = []
        for n in range(rows):
            if n % PER_STATION == 0:
                county = rng.choice(counties)
                city = regions.name_of(regions.region_at(county.code, "city") or "") or ""
                number = n // PER_STATION
                name = f"{county.name}第{number}社会工作观察站"
                station = [f"BM-{number:06d}", name, city, county.name, "", county.code]
            person = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            writer.writerow([*station, person, f"138{n:08d}"])


def fresh_database(folder: Path, name: str) -> str:
    """Create a migrated SQLite database and return its URL."""
    url = f"sqlite:///{folder / name}"
    upgrade(url)
    return url


def timed_import(url: str, path: Path) -> tuple[float, float, int, int]:
    """Parse and import ``path``; return (seconds total, seconds parsing, created, unchanged)."""
    engine = make_engine(url)
    cpu_start = time.process_time()
    start = time.perf_counter()
    parsed = parse_roster(path)
    parsed_at = time.perf_counter()
    if parsed.problems:
        raise SystemExit(f"synthetic roster has problems: {parsed.problems[:3]}")
    with Session(engine) as session:
        result = import_roster(
            session=session,
            stations=parsed.stations,
            observers=parsed.observers,
            now=datetime.now(UTC),
        )
        session.commit()
    elapsed = time.perf_counter() - start
    CPU_SECONDS[path.suffix] = CPU_SECONDS.get(path.suffix, 0.0) + time.process_time() - cpu_start
    engine.dispose()
    created = result.stations.created + result.observers.created
    unchanged = result.stations.unchanged + result.observers.unchanged
    return elapsed, parsed_at - start, created, unchanged


def csv_only(path: Path) -> float:
    """Return the seconds plain csv.reader needs to read every row of ``path``."""
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        for _row in csv.reader(handle):
            pass
    return time.perf_counter() - start


def naive_orm(url: str, path: Path, rows: int) -> float:
    """Return the seconds for one ORM object per row (session.add, one commit) over ``rows``."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    start = time.perf_counter()
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as handle, Session(engine) as session:
        reader = csv.reader(handle)
        next(reader)
        for index, row in enumerate(reader):
            if index >= rows:
                break
            code, name, city, county, town, region, person, phone = row
            if code not in seen:
                seen.add(code)
                session.add(
                    Station(
                        code=code,
                        name=name,
                        city=city,
                        county=county,
                        town=town,
                        region_code=region,
                        created_at=now,
                        updated_at=now,
                    )
                )
                session.flush()  # the station first: its observers refer to it
            session.add(
                Observer(
                    name=person,
                    phone="+86" + phone,
                    station_code=code,
                    created_at=now,
                    updated_at=now,
                )
            )
        session.commit()
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> None:
    """Run the benchmark and print its figures, the last line as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--xlsx", action="store_true", help="also time the same roster as .xlsx")
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="also time it on PostgreSQL (a throw-away database is created through this URL)",
    )
    args = parser.parse_args()
    rows: int = args.rows

    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "roster.csv"
        generate(path, rows)
        stations = (rows + PER_STATION - 1) // PER_STATION
        print(f"roster: {rows} observers at {stations} stations, {path.stat().st_size:,} bytes")

        url = fresh_database(folder, "bench.sqlite")
        seconds, parse_seconds, created, _ = timed_import(url, path)
        cpu = CPU_SECONDS.pop(".csv")
        print(
            f"import:    {seconds:6.2f} s  ({rows / seconds:,.0f} rows/s; "
            f"parse+validate {parse_seconds:.2f} s; CPU {cpu:.2f} s), {created} rows created"
        )
        again, _, _, unchanged = timed_import(url, path)
        print(f"reimport:  {again:6.2f} s  ({rows / again:,.0f} rows/s), {unchanged} unchanged")
        engine = make_engine(url)
        with Session(engine) as session:
            counted = count_rows(session=session)
        engine.dispose()
        assert counted == (stations, rows), counted

        baseline_csv = csv_only(path)
        print(
            f"baseline csv.reader only:  {baseline_csv:6.2f} s  ({rows / baseline_csv:,.0f} rows/s)"
        )
        naive = naive_orm(fresh_database(folder, "naive.sqlite"), path, rows)
        print(
            f"baseline plain ORM (one object per row, one commit), all rows: {naive:.2f} s "
            f"({rows / naive:,.0f} rows/s)"
        )
        figures: dict[str, object] = {
            "benchmark": "roster_import",
            "database": "sqlite",
            "rows": rows,
            "stations": stations,
            "import_seconds": round(seconds, 3),
            "import_rows_per_second": round(rows / seconds),
            "import_cpu_seconds": round(cpu, 3),
            "parse_seconds": round(parse_seconds, 3),
            "reimport_seconds": round(again, 3),
            "baseline_csv_seconds": round(baseline_csv, 3),
            "baseline_naive_orm_seconds": round(naive, 2),
            "speedup_vs_naive_orm": round(naive / seconds, 1),
            "goal_under_30s": seconds < 30,
        }
        if args.xlsx:
            figures.update(time_xlsx(folder, path, rows))
        if args.postgres:
            figures.update(time_postgres(args.postgres, path, rows))
        print(json.dumps(figures, ensure_ascii=False))
        sys.stdout.flush()


def time_xlsx(folder: Path, csv_path: Path, rows: int) -> dict[str, float]:
    """Write the roster as .xlsx; time its import, and reading it with openpyxl and calamine."""
    import xlsxwriter  # type: ignore[import-untyped]
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    from bot.core import xlsx

    path = folder / "roster.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("名册")
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle)):
            sheet.write_row(number, 0, row)
    workbook.close()
    seconds, parse_seconds, _, _ = timed_import(fresh_database(folder, "xlsx.sqlite"), path)
    print(
        f"xlsx import: {seconds:6.2f} s ({rows / seconds:,.0f} rows/s; read {parse_seconds:.2f} s)"
    )

    # CPU time of this process: the machine may be shared, wall time would mostly measure that.
    start = time.process_time()
    with xlsx.Workbook(path) as book:
        for _row in book.rows(book.sheets[0]):
            pass
    ours = time.process_time() - start
    start = time.process_time()
    loaded = load_workbook(path, read_only=True, data_only=True)
    for _values in loaded.worksheets[0].iter_rows(values_only=True):
        pass
    loaded.close()
    baseline = time.process_time() - start
    print(f"xlsx read only (CPU): calamine {ours:.2f} s, openpyxl read-only {baseline:.2f} s")
    return {
        "xlsx_import_seconds": round(seconds, 3),
        "xlsx_read_cpu_seconds": round(ours, 3),
        "baseline_openpyxl_read_cpu_seconds": round(baseline, 3),
    }


def time_postgres(admin_url: str, path: Path, rows: int) -> dict[str, float]:
    """Import (and re-import) the roster into a throw-away PostgreSQL database."""
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"obsbot_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        seconds, _, _, _ = timed_import(url, path)
        again, _, _, _ = timed_import(url, path)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(
        f"postgresql import: {seconds:6.2f} s ({rows / seconds:,.0f} rows/s), "
        f"reimport {again:.2f} s"
    )
    return {
        "postgres_import_seconds": round(seconds, 3),
        "postgres_reimport_seconds": round(again, 3),
    }


if __name__ == "__main__":
    main()
