"""Scoring the router's decisions against the labelled observer-report corpus.

Given each corpus report and what the router decided for it (department, whether it went to
dispatch, whether it was flagged urgent, and its kind), :func:`score` computes the measures the
routing work is judged by:

- routed to an acceptable department: the decided department is the label or one of its
  acceptable alternatives (for a report with no clear department, that is dispatch);
- clear reports sent to dispatch anyway: among reports whose department is clear and is not
  dispatch itself, the share the router still sent to dispatch;
- urgent recall and precision: of the reports labelled urgent, the share flagged urgent; of the
  reports flagged urgent, the share labelled urgent;
- kind accuracy, the kind confusion matrix, and each kind's recall (sentiment recall above all);
- a breakdown per labelled department (and its precision as a routed-to department), and per
  dialect (Cantonese, Hakka, Teochew, or plain Mandarin).

Each miss is kept with its report and decision so the command line can list them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.core.corpus import LabelledReport
from bot.core.rules import KINDS

MANDARIN = "mandarin"


@dataclass(frozen=True)
class Outcome:
    """What the router decided for one report (the parts the corpus labels)."""

    department: str
    dispatched: bool
    urgent: bool
    kind: str


@dataclass
class Tally:
    """Counts for one slice of the corpus (a department or a dialect)."""

    total: int = 0
    acceptable: int = 0
    dispatched: int = 0
    urgent: int = 0
    urgent_flagged: int = 0
    kind_right: int = 0

    def share(self, part: int) -> float:
        """Return ``part`` over this slice's total (0 when empty)."""
        return part / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the counts and shares as a JSON-ready dict."""
        return {
            "total": self.total,
            "acceptable": self.acceptable,
            "acceptable_share": self.share(self.acceptable),
            "dispatched": self.dispatched,
            "urgent": self.urgent,
            "urgent_flagged": self.urgent_flagged,
            "kind_right": self.kind_right,
        }


@dataclass(frozen=True)
class Miss:
    """One report the router got wrong on one measure ('department', 'urgent' or 'kind')."""

    measure: str
    report: LabelledReport
    outcome: Outcome

    def to_json(self) -> dict[str, Any]:
        """Return the miss as a JSON-ready dict."""
        r, o = self.report, self.outcome
        return {
            "measure": self.measure,
            "id": r.id,
            "text": r.text,
            "gold": {
                "department": r.department,
                "also": list(r.also),
                "urgent": r.urgent,
                "kind": r.kind,
                "clear": r.clear,
            },
            "routed": {
                "department": o.department,
                "dispatched": o.dispatched,
                "urgent": o.urgent,
                "kind": o.kind,
            },
        }


@dataclass
class CorpusScore:
    """Every measure of the router on a set of corpus reports."""

    overall: Tally = field(default_factory=Tally)
    clear_total: int = 0
    clear_dispatched: int = 0
    urgent_true_positive: int = 0
    flagged_urgent: int = 0
    kind_confusion: dict[str, Counter[str]] = field(
        default_factory=lambda: {k: Counter() for k in KINDS}
    )
    departments: dict[str, Tally] = field(default_factory=dict)
    routed_to: Counter[str] = field(default_factory=Counter)
    routed_to_right: Counter[str] = field(default_factory=Counter)
    dialects: dict[str, Tally] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)

    @property
    def acceptable_share(self) -> float:
        """Share of reports routed to an acceptable department."""
        return self.overall.share(self.overall.acceptable)

    @property
    def clear_dispatch_share(self) -> float:
        """Share of clear-department reports (dispatch not acceptable) sent to dispatch anyway."""
        return self.clear_dispatched / self.clear_total if self.clear_total else 0.0

    @property
    def urgent_recall(self) -> float:
        """Share of urgent reports flagged urgent."""
        n = self.overall.urgent
        return self.urgent_true_positive / n if n else 0.0

    @property
    def urgent_precision(self) -> float:
        """Share of reports flagged urgent that are urgent."""
        return self.urgent_true_positive / self.flagged_urgent if self.flagged_urgent else 0.0

    @property
    def kind_accuracy(self) -> float:
        """Share of reports whose kind is right."""
        return self.overall.share(self.overall.kind_right)

    def kind_recall(self, kind: str) -> float:
        """Share of reports of ``kind`` given that kind."""
        row = self.kind_confusion.get(kind, Counter())
        n = sum(row.values())
        return row[kind] / n if n else 0.0

    def kind_precision(self, kind: str) -> float:
        """Share of reports given ``kind`` that are of that kind."""
        given = sum(row[kind] for row in self.kind_confusion.values())
        return self.kind_confusion.get(kind, Counter())[kind] / given if given else 0.0

    def department_precision(self, department: str) -> float:
        """Share of reports routed to ``department`` for which it is acceptable."""
        n = self.routed_to[department]
        return self.routed_to_right[department] / n if n else 0.0

    def to_json(self) -> dict[str, Any]:
        """Return every measure as a JSON-ready dict (the `--json` output)."""
        return {
            "reports": self.overall.total,
            "acceptable_department": self.acceptable_share,
            "clear_sent_to_dispatch": self.clear_dispatch_share,
            "clear_reports": self.clear_total,
            "urgent": {
                "labelled": self.overall.urgent,
                "flagged": self.flagged_urgent,
                "recall": self.urgent_recall,
                "precision": self.urgent_precision,
            },
            "kind": {
                "accuracy": self.kind_accuracy,
                "recall": {k: self.kind_recall(k) for k in KINDS},
                "precision": {k: self.kind_precision(k) for k in KINDS},
                "confusion": {k: dict(self.kind_confusion[k]) for k in KINDS},
            },
            "departments": {
                d: {
                    **t.to_json(),
                    "precision": self.department_precision(d),
                    "routed_here": self.routed_to[d],
                }
                for d, t in sorted(self.departments.items())
            },
            "dialects": {d: t.to_json() for d, t in sorted(self.dialects.items())},
        }


def _count(tally: Tally, report: LabelledReport, outcome: Outcome, right: bool) -> None:
    """Add one report and its outcome to a slice's counts."""
    tally.total += 1
    tally.acceptable += right
    tally.dispatched += outcome.dispatched
    tally.urgent += report.urgent
    tally.urgent_flagged += report.urgent and outcome.urgent
    tally.kind_right += report.kind == outcome.kind


def dialects_of(report: LabelledReport) -> tuple[str, ...]:
    """Return the report's dialects, or ('mandarin',) when it names none."""
    return report.dialect or (MANDARIN,)


def score(pairs: Iterable[tuple[LabelledReport, Outcome]], dispatch: str) -> CorpusScore:
    """Score (report, outcome) pairs; ``dispatch`` is the rules' dispatch department."""
    s = CorpusScore()
    for report, outcome in pairs:
        right = outcome.department in report.acceptable
        _count(s.overall, report, outcome, right)
        _count(s.departments.setdefault(report.department, Tally()), report, outcome, right)
        for dialect in dialects_of(report):
            _count(s.dialects.setdefault(dialect, Tally()), report, outcome, right)
        s.routed_to[outcome.department] += 1
        s.routed_to_right[outcome.department] += right
        if report.clear and dispatch not in report.acceptable:
            s.clear_total += 1
            s.clear_dispatched += outcome.dispatched
        s.flagged_urgent += outcome.urgent
        s.urgent_true_positive += report.urgent and outcome.urgent
        s.kind_confusion.setdefault(report.kind, Counter())[outcome.kind] += 1
        if not right:
            s.misses.append(Miss("department", report, outcome))
        if report.urgent != outcome.urgent:
            s.misses.append(Miss("urgent", report, outcome))
        if report.kind != outcome.kind:
            s.misses.append(Miss("kind", report, outcome))
    return s
