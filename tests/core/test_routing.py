"""The router: departments, kinds, urgency, jurisdiction, dispatch and explanations."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.messages import t
from bot.core.routing import Decision, LinearModel, Router
from bot.core.rules import RuleSet, load_rules

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "observer_reports.yaml"
REPORTS: list[dict[str, Any]] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
STATION = "440104001"  # a town (街道) under a county-level district


def test_fixture_covers_every_department(shipped: RuleSet) -> None:
    counts = Counter(r["department"] for r in REPORTS)
    assert len(REPORTS) >= 60
    assert set(counts) == set(shipped.departments)
    assert sum(1 for r in REPORTS if r.get("priority") == "urgent") >= 6


@pytest.mark.parametrize("report", REPORTS, ids=[r["text"][:12] for r in REPORTS])
def test_observer_reports_reach_the_right_department(
    router: Router, report: dict[str, Any]
) -> None:
    decision = router.route(report["text"], region=STATION)
    assert decision.department == report["department"], decision.explanation
    assert decision.priority == report.get("priority", "normal"), decision.explanation
    if "kind" in report:
        assert decision.kind == report["kind"]


def test_decision_explains_itself(router: Router) -> None:
    d = router.route("河涌发臭好多天，水面漂满垃圾", region=STATION)
    assert d.department == "water"
    assert d.rule == "water_black_odorous_river"
    assert d.explanation.startswith("命中关键词：河涌、发臭")
    assert d.explanation.endswith("→ 水务局")
    assert "rivers" in d.tags and "pollution" in d.tags
    assert d.runner_up is not None and d.runner_up[0] != "water"
    assert d.candidates[0] == ("water", d.score)
    assert d.score > d.runner_up[1]
    assert any(word == "河涌发臭" for word, _ in d.keywords)
    assert all(0 < weight <= 1 for _, weight in d.keywords)


def test_jurisdiction_is_the_most_local_level_where_the_department_exists(
    router: Router,
) -> None:
    assert router.route("河涌发臭", region=STATION).target_region == "440104"
    assert router.route("村务公开没人管，村委会不理", region=STATION).target_region == STATION
    assert router.route("无证经营的餐馆", region=STATION).target_region == STATION
    assert router.route("河涌发臭", region="440100").target_region == "440100"
    assert router.route("河涌发臭").target_region is None
    # a department that exists only at town level has no seat above a city station
    assert router.target_region("township", "440100") is None


def test_urgent_matters_get_the_urgent_class(router: Router) -> None:
    d = router.route("出租屋着火了，有人被困", region=STATION)
    assert d.priority == "urgent"
    assert d.sla_class == "urgent"
    assert "按紧急处理" in d.explanation
    calm = router.route("消防演练的时候发现灭火器过期", region=STATION)
    assert calm.priority == "normal"
    assert calm.sla_class == "normal"


def test_kinds_come_from_cue_words_or_the_observer(router: Router) -> None:
    assert router.route("路灯坏了一个月").kind == "problem"
    assert router.route("建议在村口增设路灯").kind == "suggestion"
    assert router.route("群众议论纷纷，担心垃圾站选址").kind == "sentiment"
    chosen = router.route("路灯坏了一个月", category="意见建议")
    assert chosen.kind == "suggestion"
    assert chosen.kind_label == "意见建议"
    assert router.route("路灯坏了", category="sentiment").kind == "sentiment"


def test_observer_chosen_department_counts(router: Router) -> None:
    plain = router.route("门口这条路晚上很黑")
    chosen = router.route("门口这条路晚上很黑", category="urban_management")
    assert chosen.department == "urban_management"
    assert chosen.explanation == "观察员选择：城市管理和综合执法局"
    ignored = router.route("路灯坏了", category="water")
    assert ignored.department == "urban_management"
    assert "观察员选择" not in ignored.explanation
    by_name = router.route("门口这条路晚上很黑", category="城市管理和综合执法局")
    assert by_name.department == "urban_management"
    assert plain.department != "urban_management" or plain.score < chosen.score


@pytest.mark.parametrize(
    ("variant", "original"),
    [
        ("河涌發臭，無人處理", "河涌发臭，无人处理"),
        ("水浸街冇人理", "水淹街没人管"),
        ("ＸＸ小區物業費太貴", "xx小区物业费太贵"),
    ],
)
def test_traditional_full_width_and_cantonese_route_like_mandarin(
    router: Router, variant: str, original: str
) -> None:
    a, b = router.route(variant, region=STATION), router.route(original, region=STATION)
    assert (a.department, a.tags, a.rule, a.score) == (b.department, b.tags, b.rule, b.score)


@pytest.mark.parametrize("text", ["", "   ", "！！！", "😀😀😀", "……。。"])
def test_empty_text_goes_to_dispatch_without_tags(router: Router, text: str) -> None:
    d = router.route(text, region=STATION)
    assert d.department == "social_work"
    assert d.dispatched
    assert d.tags == ()
    assert d.keywords == ()
    assert d.candidates == ()
    assert d.explanation == "内容为空或无法识别 → 社会工作部（人工分拨）"


def test_routing_is_deterministic(router: Router, shipped: RuleSet) -> None:
    texts = [r["text"] for r in REPORTS]
    first = [router.route(t, region=STATION) for t in texts]
    again = [Router(shipped).route(t, region=STATION) for t in texts]
    assert first == again


def test_to_json_has_the_contract_fields(router: Router) -> None:
    out = router.route("工地老板欠薪三个月", region=STATION).to_json()
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out
    for key in ("kind", "department", "tags", "keywords", "rule", "priority"):
        assert key in out
    assert out["department"] == "hrss"
    assert out["kind_label"] == "问题反映"
    assert out["sla_class"] == "normal"


# ---- small rule sets ----------------------------------------------------------------------------

SMALL = """\
dispatch: social_work
sla_classes:
  normal: {sign_for: 1 workdays, resolve: 5 workdays}
routing: {min_score: 1.0, margin: 0.5}
departments:
  - {id: social_work, name: 社会工作部, levels: [province, city, county]}
  - {id: water, name: 水务局, levels: [city, county]}
  - {id: environment, name: 生态环境局, levels: [city, county]}
tags:
  - {id: rivers, name: 河涌, keywords: {河涌: 2}}
  - {id: smell, name: 异味, keywords: {发臭: 2, 异味: 0.5}, negative_keywords: [臭豆腐]}
rules:
  - {id: water, department: water, tags: [rivers]}
  - {id: smell, department: environment, tags: [smell]}
  - {id: sz_only, department: water, keywords: {水闸: 3}, regions: ['440300']}
"""


@pytest.fixture
def small(tmp_path: Path) -> Router:
    path = tmp_path / "rules.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return Router(load_rules(path))


def test_too_close_to_call_goes_to_dispatch_with_candidates(small: Router) -> None:
    d = small.route("河涌发臭")
    assert d.dispatched and d.department == "social_work"
    assert d.candidates == (("water", 2.0), ("environment", 2.0))
    assert d.runner_up == ("water", 2.0)
    assert d.explanation == "水务局与生态环境局得分接近 → 社会工作部（人工分拨）"


def test_nothing_matched_goes_to_dispatch(small: Router) -> None:
    d = small.route("今天天气不错")
    assert d.dispatched and d.rule is None and d.candidates == ()
    assert d.explanation == "未命中任何规则 → 社会工作部（人工分拨）"


def test_weak_match_below_min_score_goes_to_dispatch(small: Router) -> None:
    d = small.route("有点异味")
    assert d.dispatched
    assert d.candidates == (("environment", 0.5),)


def test_negative_keyword_stops_a_tag(small: Router) -> None:
    assert small.route("河涌边的臭豆腐摊发臭").department == "water"


def test_regions_restrict_a_rule(small: Router) -> None:
    assert small.route("水闸坏了", region="440304").department == "water"
    assert small.route("水闸坏了", region="440104").dispatched
    assert small.route("水闸坏了").dispatched


def test_linear_model_probabilities_and_evidence() -> None:
    model = LinearModel.from_json(
        {"labels": ["a", "b"], "bias": [0.0, 0.0], "weights": {"x": [2.0, 0.0], "y": [0.5, 0.0]}}
    )
    p = model.probabilities({"x": 1, "zzz": 4})
    assert p[0] > p[1] and abs(sum(p) - 1) < 1e-9
    assert model.probabilities([]) == [0.5, 0.5]
    assert model.evidence(["y", "x", "zzz"], 0, 5) == ["x", "y"]
    with pytest.raises(ValueError, match="one number per label"):
        LinearModel.from_json({"labels": ["a"], "bias": [0.0], "weights": {"x": [1.0, 2.0]}})


def test_all_user_facing_templates_are_in_one_place() -> None:
    assert t("kind.problem") == "问题反映"
    assert t("kind.suggestion") == "意见建议"
    assert t("kind.sentiment") == "社情民意"
    assert Decision.__dataclass_params__.frozen  # type: ignore[attr-defined]


MODEL = {
    "labels": ["环境保护", "城乡建设"],
    "bias": [0.0, 0.0],
    "weights": {"死鱼": [3.0, 0.0], "鱼塘": [1.0, 0.0], "楼盘": [0.0, 3.0]},
}


def with_model(tmp_path: Path, weight: float, full_weight_words: int) -> Router:
    (tmp_path / "model.json").write_text(json.dumps(MODEL, ensure_ascii=False), encoding="utf-8")
    text = SMALL + (
        f"model:\n  file: model.json\n  weight: {weight}\n"
        f"  full_weight_words: {full_weight_words}\n"
        "  labels: {环境保护: [environment, water], 城乡建设: [water]}\n"
    )
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return Router(load_rules(path))


def test_model_alone_routes_what_no_rule_covers_and_says_why(tmp_path: Path) -> None:
    d = with_model(tmp_path, weight=2.0, full_weight_words=1).route("鱼塘里好多死鱼")
    assert d.department == "environment"
    assert d.rule is None
    assert d.model_label == "环境保护"
    # the model's view is named by department, never by its own label (环境保护)
    assert d.explanation == "模型倾向：生态环境局（98%），依据：死鱼、鱼塘 → 生态环境局"


def test_model_support_goes_to_a_family_member_a_rule_chose(tmp_path: Path) -> None:
    # water is in the 环境保护 family and a rule chose it: it gets the model's support too
    d = with_model(tmp_path, weight=2.0, full_weight_words=1).route("河涌里好多死鱼")
    assert d.department == "water"
    assert d.explanation.startswith("命中关键词：河涌（河涌）；模型倾向：水务局（95%）")
    assert d.score == pytest.approx(2.0 + 2.0 * 0.9526, abs=1e-3)


def test_model_speaks_softly_on_reports_with_few_of_its_words(tmp_path: Path) -> None:
    d = with_model(tmp_path, weight=2.0, full_weight_words=4).route("鱼塘里好多死鱼")
    assert d.dispatched  # 2 of 4 words: half the weight, below min_score
    assert d.candidates[0][0] == "environment"
    assert d.candidates[0][1] == pytest.approx(0.5 * 2.0 * 0.9820, abs=1e-3)


def test_model_weight_zero_turns_it_off(tmp_path: Path) -> None:
    d = with_model(tmp_path, weight=0.0, full_weight_words=1).route("鱼塘里好多死鱼")
    assert d.dispatched and d.model_label is None


def test_matters_outside_every_department_go_to_dispatch_with_the_words_found(
    router: Router,
) -> None:
    decision = router.route("我哋条村成日停电，手机又冇信号，唔知揾边个", region=STATION)
    assert decision.dispatched and decision.department == "social_work"
    assert "不属所列部门职责" in decision.explanation and "信号" in decision.explanation


def test_the_observer_model_speaks_by_department_and_can_send_to_dispatch() -> None:
    rules = load_rules(Path(__file__).resolve().parents[2] / "routing_rules.yaml")
    loud = Router(rules, observer_weight=4)
    quarrel = loud.route("屋企隔篱成晚有人嗌交", region=STATION)
    assert quarrel.department == "public_security"
    assert quarrel.explanation.startswith("同类反映多由公安局办理")
    idle = loud.route("条村啲后生冇嘢做", region=STATION)
    assert idle.dispatched and idle.explanation.startswith("同类反映多无明确承办部门")
    silent = Router(rules, observer_weight=0).route("屋企隔篱成晚有人嗌交", region=STATION)
    assert silent.department == "environment"  # only 吵 (noise) speaks without the model
