"""Run every benchmark several times and write their figures, with medians and spread, to one file.

Each benchmark in this folder prints its figures (and its baseline, measured in the same run)
with a JSON object as its last line. This script runs each of them ``--runs`` times as a
separate process, one after the other, and writes ``benchmarks/results.json``: the date, the
git commit, the machine's core count and load, and for every benchmark every numeric figure's
median and spread (min and max over the runs) next to the raw runs. The README's "Measured"
table is copied from that file; a figure whose spread is wide is noisy on that machine.

    python benchmarks/all.py                 # the real sizes, 3 runs each (tens of minutes)
    python benchmarks/all.py --quick         # small sizes, 2 runs each: a smoke test
    python benchmarks/all.py --only routing,digest --runs 5

``mutation.py`` (not a speed figure) and ``train_routing_model.py`` (a tool) are not run here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark script with its full and its quick arguments."""

    name: str  # the script, benchmarks/<name>.py
    full: tuple[str, ...]
    quick: tuple[str, ...]
    label: str = ""  # the key in results.json (default: the name)

    @property
    def key(self) -> str:
        """Return the benchmark's key in the results file."""
        return self.label or self.name


BENCHMARKS = (
    Benchmark("routing", (), ("--rounds", "1")),
    Benchmark("roster_import", (), ("--rows", "2000")),
    Benchmark("delivery", (), ("--messages", "30")),
    Benchmark("sweeps", (), ("--reports", "500", "--due", "50", "--repeat", "2")),
    # Each database in a process of its own, so each one's first (cold) run is really cold.
    Benchmark("digest", (), ("--reports", "2000", "--repeat", "2")),
    Benchmark(
        "digest",
        ("--postgres", PG_ADMIN, "--no-sqlite"),
        ("--reports", "2000", "--repeat", "2", "--postgres", PG_ADMIN, "--no-sqlite"),
        label="digest_postgres",
    ),
    Benchmark("throughput", ("--reports", "300"), ("--reports", "15", "--runtimes", "ptb")),
    Benchmark(
        "burst",
        (),
        ("--observers", "40", "--stations", "10", "--only", "single"),
    ),
    Benchmark("similar", (), ("--reports", "3000", "--probes", "20")),
    Benchmark("loopback", (), ("--n", "300", "--concurrency", "10")),
    Benchmark(
        "console",
        ("--postgres", PG_ADMIN),
        ("--reports", "2000", "--repeat", "3", "--postgres", PG_ADMIN),
    ),
)


def last_json(stdout: str) -> dict[str, Any]:
    """Return the JSON object on the last line of ``stdout`` that holds one."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            value = json.loads(line)
            if isinstance(value, dict):
                return value
    raise ValueError("no JSON line in the output")


def run_once(bench: Benchmark, quick: bool, timeout: float) -> tuple[dict[str, Any], float]:
    """Run ``bench`` once in its own process; return its figures and wall seconds."""
    command = [
        sys.executable,
        str(HERE / f"{bench.name}.py"),
        *(bench.quick if quick else bench.full),
    ]
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"{bench.name} exited {done.returncode}:\n" + "\n".join(tail))
    return last_json(done.stdout), seconds


def _numbers(figures: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Flatten the numeric figures of a (nested) JSON object into dotted names."""
    found: dict[str, float] = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            found[name] = float(value)
        elif isinstance(value, dict):
            found.update(_numbers(value, f"{name}."))
    return found


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return each numeric figure's median, min, max and relative spread over ``runs``."""
    flat = [_numbers(run) for run in runs]
    names = [name for name in flat[0] if all(name in f for f in flat)]
    summary: dict[str, Any] = {}
    for name in names:
        values = [f[name] for f in flat]
        median = statistics.median(values)
        spread = (max(values) - min(values)) / abs(median) if median else 0.0
        summary[name] = {
            "median": round(median, 4),
            "min": round(min(values), 4),
            "max": round(max(values), 4),
            "spread": round(spread, 3),  # (max - min) / median
        }
    return summary


def _git_commit() -> str:
    """Return the checked-out commit (with '+dirty' when the tree has changes)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, write the results file, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--runs", type=int, default=0, help="runs each (default 3; quick: 2)")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 3)
    chosen = [b for b in BENCHMARKS if not args.only or b.key in args.only.split(",")]
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "quick": args.quick,
        "runs": runs,
        "benchmarks": {},
    }
    failed = []
    for bench in chosen:
        raw: list[dict[str, Any]] = []
        walls: list[float] = []
        try:
            for _ in range(runs):
                figures, seconds = run_once(bench, args.quick, args.timeout)
                raw.append(figures)
                walls.append(round(seconds, 2))
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
            failed.append(bench.key)
            results["benchmarks"][bench.key] = {"error": str(error)}
            print(f"{bench.key}: FAILED\n{error}", file=sys.stderr, flush=True)
            continue
        results["benchmarks"][bench.key] = {
            "arguments": list(bench.quick if args.quick else bench.full),
            "wall_seconds": walls,
            "figures": summarise(raw),
            "runs": raw,
        }
        print(f"{bench.key}: {runs} run(s), {sum(walls):.1f} s", flush=True)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    print(json.dumps({"benchmark": "all", "out": str(args.out), "failed": failed}))
    return 1 if failed else 0


def print_table(results: dict[str, Any]) -> None:
    """Print every figure as median [min–max] (spread), benchmark by benchmark."""
    print(f"\n{results['date']}  commit {results['commit'][:12]}  {results['cores']} cores")
    for name, entry in results["benchmarks"].items():
        if "figures" not in entry:
            continue
        print(f"\n{name}")
        for figure, v in entry["figures"].items():
            noisy = "  noisy" if v["spread"] > 0.2 else ""
            print(
                f"  {figure:<48} {v['median']:>12g}  [{v['min']:g}–{v['max']:g}]"
                f"  ±{v['spread']:.0%}{noisy}"
            )


if __name__ == "__main__":
    sys.exit(main())
