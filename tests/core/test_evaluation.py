"""Scoring decisions against corpus labels, on a small hand-made set whose figures are known."""

from __future__ import annotations

import pytest

from bot.core.corpus import LabelledReport
from bot.core.evaluation import Outcome, score

R = LabelledReport
SET = [
    # 1: right department, right kind, urgent and flagged
    (
        R("1", "t", "problem", "water", also=("emergency",), urgent=True),
        Outcome("emergency", False, True, "problem"),
    ),
    # 2: clear report sent to dispatch; urgent missed
    (R("2", "t", "problem", "water", urgent=True), Outcome("social_work", True, False, "problem")),
    # 3: unclear report sent to dispatch: acceptable; flagged urgent though it is not
    (
        R("3", "t", "sentiment", "social_work", clear=False),
        Outcome("social_work", True, True, "problem"),
    ),
    # 4: wrong department; sentiment read as sentiment
    (
        R("4", "t", "sentiment", "health", dialect=("cantonese",)),
        Outcome("housing", False, False, "sentiment"),
    ),
    # 5: clear report whose label is the dispatch department itself
    (R("5", "t", "suggestion", "social_work"), Outcome("social_work", True, False, "suggestion")),
    # 6: suggestion read as a problem
    (
        R("6", "t", "suggestion", "housing", dialect=("cantonese", "hakka")),
        Outcome("housing", False, False, "problem"),
    ),
    # 7: right department, flagged urgent though it is not
    (R("7", "t", "problem", "emergency"), Outcome("emergency", False, True, "problem")),
]


def test_headline_measures() -> None:
    s = score(SET, "social_work")
    assert s.overall.total == 7
    assert s.acceptable_share == pytest.approx(5 / 7)  # 1, 3, 5, 6, 7
    # clear reports whose acceptable departments exclude dispatch: 1, 2, 4, 6, 7; 2 was dispatched
    assert (s.clear_total, s.clear_dispatched) == (5, 1)
    assert s.clear_dispatch_share == pytest.approx(0.2)
    assert s.urgent_recall == pytest.approx(0.5)  # 1 of 1, 2
    assert s.urgent_precision == pytest.approx(1 / 3)  # 1 of 1, 3, 7
    assert s.kind_accuracy == pytest.approx(5 / 7)  # 3 and 6 are wrong


def test_kind_confusion_recall_and_precision() -> None:
    s = score(SET, "social_work")
    assert dict(s.kind_confusion["problem"]) == {"problem": 3}
    assert dict(s.kind_confusion["sentiment"]) == {"problem": 1, "sentiment": 1}
    assert dict(s.kind_confusion["suggestion"]) == {"suggestion": 1, "problem": 1}
    assert s.kind_recall("sentiment") == pytest.approx(0.5)
    assert s.kind_recall("problem") == 1.0
    assert s.kind_precision("problem") == pytest.approx(3 / 5)
    assert s.kind_precision("sentiment") == 1.0


def test_per_department_and_per_dialect_breakdown() -> None:
    s = score(SET, "social_work")
    water = s.departments["water"]
    assert (
        water.total,
        water.acceptable,
        water.dispatched,
        water.urgent,
        water.urgent_flagged,
    ) == (
        2,
        1,
        1,
        2,
        1,
    )
    assert s.department_precision("housing") == pytest.approx(0.5)  # 4 wrongly, 6 rightly
    assert s.department_precision("social_work") == pytest.approx(2 / 3)  # 2 wrongly
    assert s.dialects["cantonese"].total == 2
    assert s.dialects["hakka"].acceptable == 1
    assert s.dialects["mandarin"].total == 5


def test_misses_name_their_measure() -> None:
    s = score(SET, "social_work")
    assert [(m.measure, m.report.id) for m in s.misses] == [
        ("department", "2"),
        ("urgent", "2"),
        ("urgent", "3"),
        ("kind", "3"),
        ("department", "4"),
        ("kind", "6"),
        ("urgent", "7"),
    ]
    data = s.to_json()
    assert data["urgent"] == {"labelled": 2, "flagged": 3, "recall": 0.5, "precision": 1 / 3}
    assert data["departments"]["water"]["acceptable_share"] == 0.5


def test_an_empty_set_scores_zero_without_dividing_by_zero() -> None:
    s = score([], "social_work")
    assert (s.acceptable_share, s.clear_dispatch_share, s.urgent_recall, s.urgent_precision) == (
        0.0,
        0.0,
        0.0,
        0.0,
    )
    assert s.kind_recall("sentiment") == 0.0
