"""Precision and recall of same-issue detection on the labelled pairs (``--build`` rewrites them).

    python benchmarks/similarity_eval.py [--build] [--json]

The measuring itself is ``bot.core.similarity_eval``; this is its command line.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import yaml

from bot.core.similarity_eval import (
    INCIDENTS,
    PAIRS,
    Point,
    build_pairs,
    load_pairs,
    report,
    write_pairs,
)


def _line(name: str, p: Point) -> str:
    """Return one printed line of precision and recall."""
    return (
        f"{name:<12} threshold {p.threshold:.2f}  precision {p.precision:.3f}  "
        f"recall {p.recall:.3f}  (tp {p.true_positives}, fp {p.false_positives}, "
        f"fn {p.false_negatives})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print precision and recall at thresholds on dev, and test at the chosen threshold."""
    parser = argparse.ArgumentParser(prog="python benchmarks/similarity_eval.py")
    parser.add_argument("--build", action="store_true", help="rewrite the pairs file first")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if args.build:
        incidents = yaml.safe_load(INCIDENTS.read_text(encoding="utf-8"))
        print(f"wrote {write_pairs(build_pairs(incidents))} pairs to {PAIRS.name}")
    result = report(load_pairs())
    if args.json:
        summary = {k: v for k, v in result.items() if k != "dev_sweep"}
        print(
            json.dumps(
                summary,
                default=lambda o: (
                    o.__dict__
                    if hasattr(o, "__dict__")
                    else {s: getattr(o, s) for s in o.__slots__}
                ),
                ensure_ascii=False,
            )
        )
        return 0
    print(f"pairs: dev {result['pairs']['dev']}, test {result['pairs']['test']}")
    for point in result["dev_sweep"]:
        print(_line("dev", point))
    print(_line("dev chosen", result["dev"]))
    print(_line("test", result["test"]))
    print(_line("test (config)", result["test_at_configured"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
