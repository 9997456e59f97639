"""The shipped observer corpus: it parses, its labels are valid, it covers what it must, and
its dev/test split is deterministic and stratified."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from bot.core.corpus import (
    CorpusError,
    LabelledReport,
    assign_splits,
    check_labels,
    read_corpus,
    select,
)
from bot.core.rules import KINDS, load_rules

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus" / "observer_reports.jsonl"
RULES = load_rules(ROOT / "routing_rules.yaml")

# Words that mark a report as written in Cantonese, Hakka or Teochew (any one is enough).
MARKERS = {
    "cantonese": """
        嘅 咗 冇 唔 嘢 佢哋 啲 咁 喺 嚟 睇 揾 搵 畀 俾 嗰 呢度 边个 乜 点解 系咪 琴日 街坊 细路 老细
        人工 塞车 水浸 执笠 走鬼 返工 屋企 瞓 冲凉 倾 拗颈 打交 跌亲 晕低 揸 郁 啱 搞掂 定系
        咩 噉 喇 嘞 晒 仲 淨系 唔该 话 靓 后生仔 打风 蚊 成日 聚埋 下昼 电单车 都系
        饮 喼 入面 隔离 嘈""",
    "hakka": """
        𠊎 佢兜 毋 屋家 今晡日 昨晡 天光 暗晡 细人子 转屋家 睡目 恁 落水 么个 孻子 咯 下背 头那
        后生人""",
    "teochew": "伊 阮 无 厝 呾 孥 乞 今旦 昨暝 逐 查某 乡里 营老爷 阿嬷 阿姆 浴 底人 内底 个",
}


@pytest.fixture(scope="module")
def reports() -> list[LabelledReport]:
    return read_corpus(CORPUS)


def test_the_corpus_parses_and_is_big_enough(reports: list[LabelledReport]) -> None:
    assert len(reports) >= 650
    assert len({r.id for r in reports}) == len(reports)
    assert len({r.text for r in reports}) == len(reports)


def test_labels_are_department_ids_and_kinds(reports: list[LabelledReport]) -> None:
    assert check_labels(reports, set(RULES.departments), RULES.dispatch) == []
    assert {r.kind for r in reports} == set(KINDS)


def test_every_department_and_kind_is_in_both_parts(reports: list[LabelledReport]) -> None:
    splits = assign_splits(reports)
    for part in ("dev", "test"):
        cells = {(r.department, r.kind) for r in reports if splits[r.id] == part}
        missing = [(d, k) for d in RULES.departments for k in KINDS if (d, k) not in cells]
        assert missing == [], part


def test_the_split_is_deterministic_stratified_and_about_30_percent(
    reports: list[LabelledReport],
) -> None:
    splits = assign_splits(reports)
    shuffled = list(reports)
    random.Random(7).shuffle(shuffled)
    assert assign_splits(shuffled) == splits
    assert 0.27 <= Counter(splits.values())["test"] / len(reports) <= 0.33
    strata: dict[tuple[str, str], Counter[str]] = {}
    for r in reports:
        strata.setdefault((r.department, r.kind), Counter())[splits[r.id]] += 1
    for cell, counts in strata.items():
        n = sum(counts.values())
        assert abs(counts["test"] - 0.3 * n) <= 1, cell
    assert [r.id for r in select(reports, "test")] == [
        r.id for r in reports if splits[r.id] == "test"
    ]
    assert len(select(reports, "dev")) + len(select(reports, "test")) == len(reports)


def test_dialect_shares_and_markers(reports: list[LabelledReport]) -> None:
    by_dialect = Counter(d for r in reports for d in r.dialect)
    assert by_dialect["cantonese"] / len(reports) >= 0.40
    assert by_dialect["hakka"] >= 40
    assert by_dialect["teochew"] >= 40
    for r in reports:
        for dialect in r.dialect:
            words = MARKERS[dialect].split()
            assert any(w in r.text for w in words), (r.id, dialect, r.text)


def test_urgent_unclear_and_styles_are_represented(reports: list[LabelledReport]) -> None:
    n = len(reports)
    assert 0.10 <= sum(r.urgent for r in reports) / n <= 0.15
    assert 0.12 <= sum(not r.clear for r in reports) / n <= 0.18
    traits = Counter(t for r in reports for t in r.traits)
    assert traits["typo"] >= 40
    assert traits["voice"] >= 20
    assert traits["long"] >= 25
    assert traits["short"] >= 40
    assert traits["rumour"] >= 10
    assert len({r.angle for r in reports}) >= 8


def test_read_corpus_lists_every_bad_line(tmp_path: Path) -> None:
    good = {
        "id": "a",
        "text": "路灯坏了",
        "kind": "problem",
        "department": "urban_management",
        "urgent": False,
        "clear": True,
    }
    lines = [
        json.dumps(good, ensure_ascii=False),
        "{not json",
        json.dumps({**good, "id": "b", "kind": "complaint"}),
        json.dumps({**good, "id": "c", "urgent": "yes", "also": "water"}),
        json.dumps({"id": "d", "text": "x"}),
        json.dumps(good),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        read_corpus(path)
    problems = caught.value.problems
    assert problems[0].startswith("line 2: not JSON")
    assert "line 3: kind 'complaint' is not one of problem, suggestion, sentiment" in problems
    assert "line 4: 'urgent' must be true or false" in problems
    assert "line 4: 'also' must be a list of strings" in problems
    assert "line 5: missing kind, department, urgent, clear" in problems
    assert "line 6: duplicate id 'a' (first on line 1)" in problems


def test_check_labels_names_unknown_departments_and_misfiled_unclear_reports() -> None:
    reports = [
        LabelledReport("a", "t", "problem", "water", also=("plumbing",)),
        LabelledReport("b", "t", "problem", "water", clear=False),
        LabelledReport("c", "t", "problem", "social_work", clear=False),
    ]
    assert check_labels(reports, set(RULES.departments), "social_work") == [
        "a: unknown department 'plumbing'",
        "b: unclear report labelled 'water', not 'social_work'",
    ]


def test_a_wrong_file_lists_only_its_first_twenty_problems(tmp_path: Path) -> None:
    path = tmp_path / "messages.csv"
    path.write_text("id,text,label\n" + "".join(f"{i},河涌发臭,water\n" for i in range(50)))
    with pytest.raises(CorpusError) as caught:
        read_corpus(path)
    assert len(caught.value.problems) == 51
    message = str(caught.value)
    assert message.startswith(f"{path}: 51 problem(s)\n  line 1: not JSON")
    assert message.endswith("... and 31 more")
