"""Same-issue detection: the pairwise score, its reason, and the evaluation on labelled pairs."""

from __future__ import annotations

import datetime as dt

import yaml

from bot.core.similarity import (
    DEFAULT,
    Candidate,
    Probe,
    find_similar,
    score_pair,
    shared_words,
    text_similarity,
)
from bot.core.similarity_eval import (
    INCIDENTS,
    REQUIRED_PRECISION,
    build_pairs,
    choose_threshold,
    load_pairs,
    measure,
    report,
    split_of,
    sweep,
)

NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)


def _candidate(text: str, **values: object) -> Candidate:
    fields: dict[str, object] = {
        "id": 1,
        "number": "GD-20261126-0001",
        "status": "routed",
        "text": text,
        "station_code": "ST-1",
        "region_code": "440104001",
        "department": "environment",
        "created_at": NOW - dt.timedelta(hours=1.5),
    }
    fields.update(values)
    return Candidate(**fields)  # type: ignore[arg-type]


PROBE = Probe("村口条河涌好臭，啲水黑晒，冇人理", "ST-1", "440104001", "environment", NOW)


def test_cantonese_and_mandarin_reports_of_one_river_match_with_a_reason() -> None:
    matches = find_similar(PROBE, [_candidate("村口的河涌发臭，水都变黑了，没人管")])
    assert len(matches) == 1
    assert matches[0].reason.startswith("同站点、2小时内、相似度 0.")
    assert "河涌" in matches[0].shared


def test_another_problem_on_the_same_street_does_not_match() -> None:
    other = _candidate("村口路灯坏了一个星期", department="urban_management")
    assert find_similar(PROBE, [other]) == []


def test_place_and_time_gates() -> None:
    same_text = "村口的河涌发臭，水都变黑了，没人管"
    assert (
        score_pair(PROBE, _candidate(same_text, station_code="X", region_code="440105001")) is None
    )
    late = NOW - dt.timedelta(hours=DEFAULT.window_hours + 1)
    assert score_pair(PROBE, _candidate(same_text, created_at=late)) is None
    town = score_pair(PROBE, _candidate(same_text, station_code="ST-2"))
    county = score_pair(PROBE, _candidate(same_text, station_code="ST-3", region_code="440104002"))
    here = score_pair(PROBE, _candidate(same_text))
    assert here and town and county
    assert here.score > town.score > county.score
    assert (town.place, county.place) == ("town", "county")


def test_another_department_lowers_the_score_but_dispatch_does_not() -> None:
    text = "村口的河涌发臭，水都变黑了，没人管"
    same = score_pair(PROBE, _candidate(text))
    other = score_pair(PROBE, _candidate(text, department="water"))
    waiting = score_pair(PROBE, _candidate(text, department="social_work"))
    assert same and other and waiting
    assert other.score < same.score == waiting.score
    assert not other.same_department


def test_traditional_and_full_width_text_meets_simplified() -> None:
    assert text_similarity("河涌發臭，水浸街", "河涌发臭，水淹街") == 1.0
    assert shared_words("文明路口水浸到膝头", "文明路口积水到膝盖") == ("文明路口",)


def test_measure_counts_and_choose_threshold_keeps_precision_from_there_on() -> None:
    scored = [(0.9, True), (0.7, True), (0.6, False), (0.5, True), (0.3, False), (0.1, True)]
    point = measure(scored, 0.5)
    assert (point.true_positives, point.false_positives, point.false_negatives) == (3, 1, 1)
    assert (point.precision, point.recall) == (0.75, 0.75)
    points = sweep(scored, [0.2, 0.4, 0.65, 0.8, 0.95])
    chosen = choose_threshold(points, target=0.9)
    assert chosen is not None and chosen.threshold == 0.65  # 0.95 predicts nothing: skipped
    assert choose_threshold(sweep([(0.5, False)], [0.4]), target=0.9) is None


def test_the_pairs_file_is_built_from_the_incidents_and_has_every_near_miss() -> None:
    pairs = load_pairs()
    built = build_pairs(yaml.safe_load(INCIDENTS.read_text(encoding="utf-8")))
    assert pairs == built, "run: python benchmarks/similarity_eval.py --build"
    assert len(pairs) >= 300
    kinds = {p["why"] for p in pairs}
    assert {
        "same_station",
        "neighbour_station",
        "same_place_other_problem",
        "same_problem_other_place",
        "weeks_apart",
    } <= kinds
    assert {split_of(p["id"]) for p in pairs} == {"dev", "test"}


def test_precision_on_the_test_part_at_the_configured_threshold() -> None:
    result = report(load_pairs())
    assert result["chosen_threshold"] == DEFAULT.threshold, "dev chooses another threshold"
    test = result["test"]
    assert test.precision >= REQUIRED_PRECISION
    assert test.recall >= 0.7
