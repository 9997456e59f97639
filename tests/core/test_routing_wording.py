"""Routing reports written the way observers write: dialect, typos, named departments, kinds,
topic over place, and explanations for each reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.routing import Router
from bot.core.rules import RuleSet, check_rules
from bot.core.tagging import TypoMatcher, sounds_like

ROOT = Path(__file__).resolve().parents[2]
STATION = "440104001"


# ---- wording -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("工厂人工冇出三个月", "hrss"),
        ("个厂老细走佬，人工冇出", "hrss"),
        ("菜地有虫，成片菜都烂晒", "agriculture"),
        ("条街好污糟，垃圾成日冇人执", "urban_management"),
        ("爆水管，成条街水浸", "water"),
        ("楼下大排档好嘈，搞到凌晨两点", "environment"),
        ("村里祠堂晚上有人聚众赌钱", "public_security"),
        ("条河变到黑色，上游有间染厂日日排污", "environment"),
    ],
)
def test_cantonese_wording_reaches_the_department(
    router: Router, text: str, department: str
) -> None:
    assert router.route(text, region=STATION).department == department


def test_homophone_typos_are_read_as_the_keyword(router: Router) -> None:
    assert sounds_like("拉圾") == sounds_like("垃圾") and sounds_like("底保") == sounds_like("低保")
    assert router.route("地上好多拉圾冇人执", region=STATION).department == "urban_management"
    assert router.route("我家申请底保两年都冇批", region=STATION).department == "civil_affairs"


def test_a_typo_is_one_wrong_character_in_a_stretch_that_is_no_word() -> None:
    typos = TypoMatcher(["垃圾", "低保", "工资", "火化", "公示"], exact=["火花四溅"])
    assert typos.find("好多拉圾", {}) == ["垃圾"]
    assert typos.find("好多垃圾", {"垃圾": 1}) == []  # written right: not a typo
    assert typos.find("作为公共资源", {}) == []  # 共资 joins 公共 and 资源
    assert typos.find("火花四溅", {"火花四溅": 1}) == []  # 火花 is inside a word found
    assert typos.find("数学公式", {}) == []  # 公式 is a word of its own


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("建议市场监管局查一下街市嘅猪肉档", "market_regulation"),
        ("自然资源局应该管管后山乱挖泥", "natural_resources"),
        ("住建局几时先处理我哋小区嘅危房", "housing"),
        ("城管成日喺度赶走鬼", "urban_management"),
    ],
)
def test_department_names_and_abbreviations_are_strong_cues(
    router: Router, text: str, department: str
) -> None:
    d = router.route(text, region=STATION)
    assert d.department == department
    assert "文中点名" in d.explanation or "命中关键词" in d.explanation


# ---- kinds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("可唔可以喺村口加装几盏街灯", "suggestion"),
        ("不如喺学校门口设个斑马线", "suggestion"),
        ("希望政府多开几班公交车去镇上", "suggestion"),
        ("大家都话呢个垃圾站选址唔合理，好多人担心", "sentiment"),
        ("村民对村干部怨气好大，议论纷纷", "sentiment"),
        ("镇卫生院医生服务态度好好，村民都赞", "sentiment"),
        # a concrete incident stays a problem whatever worry words surround it
        ("工厂人工冇出三个月，几十个工人喺门口拉横幅，大家怨气好大", "problem"),
        ("老人独居三天没出门，邻居很担心", "problem"),
        ("路灯坏了一个月，大家都话冇人管", "problem"),
    ],
)
def test_kinds_from_mandarin_and_cantonese_cues(router: Router, text: str, kind: str) -> None:
    assert router.route(text, region=STATION).kind == kind


# ---- topic over place --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "not_to", "to"),
    [
        ("村里祠堂晚上有人聚众赌博", "township", {"public_security"}),
        ("镇上的银行网点撤了，村里的老人取钱要跑到县城", "civil_affairs", None),
        ("公墓收费太贵，一个墓位要几万块", "education", {"civil_affairs"}),
        ("后山裂开一条大缝，下面住住十几户人家", "housing", {"natural_resources", "emergency"}),
        ("学校门口的小卖部卖三无食品给学生", "education", {"market_regulation"}),
        ("村委会今年修路修得好，村民都点赞", "transport", None),
    ],
)
def test_a_place_or_a_group_of_people_never_decides(
    router: Router, text: str, not_to: str, to: set[str] | None
) -> None:
    d = router.route(text, region=STATION)
    assert d.department != not_to, d.explanation
    if to is not None:
        assert d.department in to, d.explanation


def test_place_words_alone_fire_no_tag(router: Router) -> None:
    d = router.route("村里老人很多", region=STATION)
    assert "social_assistance" not in d.tags
    assert router.route("村里的老人冇人照顾", region=STATION).department == "civil_affairs"


def test_praise_is_sentiment_not_a_problem_to_handle(router: Router) -> None:
    assert router.route("村委会今年修路修得好，村民都点赞", region=STATION).kind == "sentiment"


# ---- explanations ------------------------------------------------------------------------------


def test_departments_see_the_rule_and_words_and_the_model_named_by_department(
    router: Router, shipped: RuleSet
) -> None:
    d = router.route("河涌发臭好多天，水面漂满垃圾", region=STATION)
    assert d.explanation.startswith("命中关键词：河涌、发臭、河涌发臭（河涌水利、环境污染）")
    assert "模型倾向：水务局" in d.explanation
    labels = set(shipped.model.labels) if shipped.model else set()
    assert labels and not any(label in d.explanation for label in labels)


def test_the_observer_reads_a_plain_sentence(router: Router) -> None:
    d = router.route("工厂人工冇出三个月", region=STATION)
    note = d.observer_note("越秀区", "人力资源和社会保障局")
    assert note == "将转交越秀区人力资源和社会保障局办理。"
    for internal in ("命中", "模型", "拖欠工资", "%"):
        assert internal not in note
    urgent = router.route("六岁细路下昼出去玩到而家都揾唔到", region=STATION)
    assert urgent.observer_note("越秀区", "公安局").endswith("已按紧急事项（人员失联）处理。")
    nothing = router.route("今天天气不错", region=STATION)
    assert nothing.observer_note("", "社会工作部") == "暂不能确定承办部门，将由社会工作部分拨。"


# ---- the rules file ----------------------------------------------------------------------------


def test_an_unknown_urgency_tag_is_a_problem_with_its_line(tmp_path: Path) -> None:
    text = (ROOT / "routing_rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("  tag: life_danger\n", "  tag: no_such_tag\n"), encoding="utf-8")
    (tmp_path / "routing_model.json").symlink_to(ROOT / "bot/core/data/routing_model.json")
    problems = check_rules(path)
    assert [p.path for p in problems] == ["urgency.tag"]
    assert "no_such_tag" in problems[0].message and problems[0].line is not None


def test_the_sound_table_is_cached_and_a_broken_cache_is_rebuilt() -> None:
    import tempfile
    from importlib.metadata import version

    from bot.core.tagging import sound_table

    cache = Path(tempfile.gettempdir()) / f"obsbot-sounds-{version('pypinyin')}.marshal"
    sound_table.cache_clear()
    cache.write_bytes(b"not a table")
    table = sound_table()
    assert table[ord("垃")] == table[ord("拉")]
    sound_table.cache_clear()
    assert cache.read_bytes() != b"not a table" and sound_table() == table
