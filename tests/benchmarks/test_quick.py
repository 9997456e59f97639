"""Every benchmark runs in ``benchmarks/all.py --quick`` and yields figures with a spread.

One test per benchmark (the whole quick run takes minutes on a loaded machine): its quick mode
runs twice through ``all.py`` — as the lead's full run would, only smaller — and the results file
holds the date, the commit, the core count and each numeric figure's median, min and max.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("benchmarks_all", ROOT / "benchmarks" / "all.py")
assert _SPEC is not None and _SPEC.loader is not None
runner = importlib.util.module_from_spec(_SPEC)
sys.modules["benchmarks_all"] = runner  # dataclasses look their module up by name
_SPEC.loader.exec_module(runner)

pytestmark = pytest.mark.benchmark


@pytest.mark.parametrize("name", [b.key for b in runner.BENCHMARKS])
def test_quick_mode_runs_and_records_median_and_spread(name: str, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "all.py"), "--quick", "--runs", "2"]
        + ["--only", name, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["cores"] and results["commit"] and results["date"] and results["quick"]
    entry = results["benchmarks"][name]
    assert len(entry["runs"]) == 2 and entry["figures"]
    for figure in entry["figures"].values():
        assert figure["min"] <= figure["median"] <= figure["max"]


def test_the_summary_takes_medians_over_runs() -> None:
    runs = [{"a": 1.0, "b": {"c": 10}}, {"a": 3.0, "b": {"c": 30}}, {"a": 2.0, "b": {"c": 20}}]
    summary = runner.summarise(runs)
    assert summary["a"] == {"median": 2.0, "min": 1.0, "max": 3.0, "spread": 1.0}
    assert summary["b.c"]["median"] == 20.0
    assert runner.last_json('x\n{"benchmark": "y", "n": 1}\n') == {"benchmark": "y", "n": 1}
