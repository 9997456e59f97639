"""The labelled observer-report corpus: reading it, checking its labels, splitting it.

The corpus (``corpus/observer_reports.jsonl`` in the repository) is a JSON Lines file of
invented reports written the way Guangdong observers write, each labelled with what the router
should decide: the kind (problem / suggestion / sentiment), the department and the other
departments that would also be acceptable, whether the report is urgent (life-safety), and
whether its department is clear at all (an unclear one belongs to the dispatch department).

One line is one report::

    {"id": "prd-urban-village-001", "text": "...", "kind": "problem",
     "department": "urban_management", "also": [], "urgent": false, "clear": true,
     "dialect": ["cantonese"], "traits": ["typo"], "angle": "prd_urban_village"}

``dialect``, ``traits`` and ``angle`` are optional descriptions used for breakdowns.

The corpus is split into a dev part (tune on it) and a test part (only measure on it). The
split is a pure function of the ids: within each (department, kind) stratum the reports are
ordered by the SHA-1 of their id and every report at which the running test share crosses the
next whole report goes to test, so each stratum of two or more gives about 30 % to test.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.core.rules import KINDS, Kind

Split = Literal["dev", "test"]
SPLITS: tuple[str, ...] = ("all", "dev", "test")
TEST_SHARE = 0.3
DEFAULT_CORPUS = Path("corpus") / "observer_reports.jsonl"
SHOWN_PROBLEMS = 20  # a wrong file (a CSV given as the corpus) lists only its first problems
_REQUIRED = ("id", "text", "kind", "department", "urgent", "clear")


class CorpusError(ValueError):
    """A corpus file that cannot be read; ``problems`` lists every fault with its line."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        """Keep the path and every problem found."""
        self.path = str(path)
        self.problems = problems
        shown = problems[:SHOWN_PROBLEMS]
        more = len(problems) - len(shown)
        lines = [*shown, f"... and {more} more"] if more else shown
        super().__init__(f"{path}: {len(problems)} problem(s)\n  " + "\n  ".join(lines))


@dataclass(frozen=True)
class LabelledReport:
    """One corpus report and what the router should decide for it."""

    id: str
    text: str
    kind: Kind
    department: str
    also: tuple[str, ...] = ()
    urgent: bool = False
    clear: bool = True
    dialect: tuple[str, ...] = ()
    traits: tuple[str, ...] = ()
    angle: str | None = None

    @property
    def acceptable(self) -> frozenset[str]:
        """Return every department this report may correctly be routed to."""
        return frozenset((self.department, *self.also))


def _strings(value: Any, field: str, where: str, problems: list[str]) -> tuple[str, ...]:
    """Return a list-of-strings field as a tuple, noting a problem when it is not one."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        problems.append(f"{where}: '{field}' must be a list of strings")
        return ()
    return tuple(value)


def parse_line(line: str, where: str, problems: list[str]) -> LabelledReport | None:
    """Parse one JSON line into a report, appending what is wrong with it to ``problems``."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        problems.append(f"{where}: not JSON ({exc.msg})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{where}: expected an object")
        return None
    missing = [f for f in _REQUIRED if f not in data]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
        return None
    before = len(problems)
    for key in ("id", "text", "department"):
        if not isinstance(data[key], str) or not data[key].strip():
            problems.append(f"{where}: '{key}' must be a non-empty string")
    for key in ("urgent", "clear"):
        if not isinstance(data[key], bool):
            problems.append(f"{where}: '{key}' must be true or false")
    if data["kind"] not in KINDS:
        problems.append(f"{where}: kind {data['kind']!r} is not one of {', '.join(KINDS)}")
    also = _strings(data.get("also"), "also", where, problems)
    dialect = _strings(data.get("dialect"), "dialect", where, problems)
    traits = _strings(data.get("traits"), "traits", where, problems)
    if len(problems) > before:
        return None
    return LabelledReport(
        id=data["id"],
        text=data["text"],
        kind=data["kind"],
        department=data["department"],
        also=also,
        urgent=data["urgent"],
        clear=data["clear"],
        dialect=dialect,
        traits=traits,
        angle=data.get("angle"),
    )


def read_corpus(path: str | Path) -> list[LabelledReport]:
    """Read a JSON Lines corpus; raise CorpusError listing every bad line."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(path, [f"cannot read the file ({exc})"]) from exc
    problems: list[str] = []
    reports: list[LabelledReport] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        report = parse_line(line, f"line {number}", problems)
        if report is None:
            continue
        if report.id in seen:
            first = seen[report.id]
            problems.append(f"line {number}: duplicate id {report.id!r} (first on line {first})")
            continue
        seen[report.id] = number
        reports.append(report)
    if problems:
        raise CorpusError(path, problems)
    if not reports:
        raise CorpusError(path, ["no reports"])
    return reports


def check_labels(
    reports: Iterable[LabelledReport], departments: Collection[str], dispatch: str
) -> list[str]:
    """Return every label that names an unknown department or puts an unclear report elsewhere."""
    problems: list[str] = []
    for r in reports:
        for dept in (r.department, *r.also):
            if dept not in departments:
                problems.append(f"{r.id}: unknown department {dept!r}")
        if not r.clear and r.department != dispatch:
            problems.append(f"{r.id}: unclear report labelled {r.department!r}, not {dispatch!r}")
    return problems


def _rank_key(report_id: str) -> str:
    """Return the order of a report inside its stratum (SHA-1 of the id)."""
    return hashlib.sha1(report_id.encode("utf-8")).hexdigest()


def assign_splits(
    reports: Iterable[LabelledReport], test_share: float = TEST_SHARE
) -> dict[str, Split]:
    """Return id -> 'dev' or 'test', stratified by (department, kind), from the ids alone."""
    strata: dict[tuple[str, str], list[str]] = {}
    for r in reports:
        strata.setdefault((r.department, r.kind), []).append(r.id)
    splits: dict[str, Split] = {}
    for ids in strata.values():
        for i, report_id in enumerate(sorted(ids, key=_rank_key)):
            crosses = math.floor((i + 1) * test_share + 0.5) > math.floor(i * test_share + 0.5)
            splits[report_id] = "test" if crosses else "dev"
    return splits


def select(reports: list[LabelledReport], split: str) -> list[LabelledReport]:
    """Return the reports of one split ('dev', 'test' or 'all'), in file order."""
    if split == "all":
        return list(reports)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    splits = assign_splits(reports)
    return [r for r in reports if splits[r.id] == split]
