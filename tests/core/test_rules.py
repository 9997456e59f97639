"""The rules file: the shipped default, the schema, and every problem with its line number."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.rules import Problem, RulesError, check_rules, load_rules
from bot.core.windows import Window

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "routing_rules.yaml"

DEPARTMENT_IDS = {
    "social_work", "township", "housing", "urban_management", "environment", "water",
    "transport", "public_security", "education", "health", "medical_insurance", "civil_affairs",
    "hrss", "market_regulation", "agriculture", "natural_resources", "emergency",
    "culture_tourism", "commerce", "justice",
}  # fmt: skip

MINIMAL = """\
version: 1
dispatch: social_work
sla_classes:
  normal: {sign_for: 1 workdays, resolve: 5 workdays}
departments:
  - {id: social_work, name: 社会工作部, levels: [province, city, county]}
  - {id: water, name: 水务局, levels: [city, county]}
tags:
  - id: rivers
    name: 河涌
    keywords: {河涌: 2, 水闸: 1}
rules:
  - id: water
    department: water
    tags: [rivers]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[Problem]:
    return check_rules(write(tmp_path, text))


def test_shipped_rules_pass_their_own_check() -> None:
    assert check_rules(SHIPPED) == []


def test_shipped_rules_have_the_agreed_departments_and_defaults() -> None:
    rs = load_rules(SHIPPED)
    assert set(rs.departments) == DEPARTMENT_IDS
    assert rs.dispatch == "social_work"
    assert rs.departments["environment"].name == "生态环境局"
    assert rs.timezone == "Asia/Shanghai"
    assert rs.close_of_business == "18:00"
    assert rs.reminder_thresholds == (0.5, 0.8)
    assert rs.escalation.escalate_after == Window(1, "workdays")
    assert rs.escalate_to == "social_work"
    assert rs.sla_classes["urgent"].sign_for == Window(2, "hours")
    assert rs.sla_classes["normal"].resolve == Window(5, "workdays")
    assert rs.model_path is not None and rs.model_path.is_file()
    every_rule_department = {r.department for r in rs.rules}
    # social_work's one rule (outside_remit) catches power, telecoms, banks: it dispatches
    assert every_rule_department == DEPARTMENT_IDS


def test_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    rs = load_rules(write(tmp_path, MINIMAL))
    assert rs.timezone == "Asia/Shanghai"
    assert rs.reminder_thresholds == (0.5, 0.8)
    assert rs.sla_classes["normal"].reply == Window(10, "workdays")
    assert rs.holiday_file is None
    assert rs.model is None
    assert rs.tags["rivers"].keywords == {"河涌": 2.0, "水闸": 1.0}


def test_keywords_are_normalised_like_report_text(tmp_path: Path) -> None:
    text = MINIMAL.replace("{河涌: 2, 水闸: 1}", "[水浸街, 河涌, {水閘: 2}]")
    rs = load_rules(write(tmp_path, text))
    assert rs.tags["rivers"].keywords == {"水淹街": 1.0, "河涌": 1.0, "水闸": 2.0}


def test_loading_twice_gives_equal_rule_sets(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    assert load_rules(path) == load_rules(path)


def test_every_problem_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    text = """\
version: 1
dispatch: social_work
sla_classes:
  normal: {sign_for: 1 workdays, resolve: 5 fortnights}
departments:
  - {id: social_work, name: 社会工作部, levels: [province]}
  - {id: water, name: 水务局, levels: [city]}
  - {id: water, name: 水利局, levels: [county]}
tags:
  - id: rivers
    name: 河涌
    keywords: []
rules:
  - id: water
    department: waterworks
    tags: [rivers]
"""
    problems = problems_of(tmp_path, text)
    # a malformed shape does not hide unknown ids: both are reported at once
    assert [(p.line, "fortnights" in p.message) for p in problems] == [(4, True), (15, False)]
    assert "不认识的部门 'waterworks'，是不是想写 water？" in problems[1].message
    fixed = text.replace("5 fortnights", "5 workdays")
    problems = problems_of(tmp_path, fixed)
    lines = {p.line: p.message for p in problems}
    assert "部门编号 'water' 重复" in lines[8]
    assert "没有关键词" in lines[12]
    assert "不认识的部门 'waterworks'" in lines[15]
    assert "永远不会生效" in lines[14]


def test_unknown_tag_sla_and_malformed_region(tmp_path: Path) -> None:
    text = MINIMAL + "    sla: rush\n    regions: ['4401']\n    all_tags: [lakes]\n"
    problems = problems_of(tmp_path, text)
    by_line = {p.line: p.message for p in problems}
    assert "不认识的时限类别 'rush'" in by_line[16]
    assert "行政区划代码 '4401' 格式不对" in by_line[17]
    assert "不认识的标签 'lakes'" in by_line[18]


def test_duplicate_rule_and_tag_ids(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace(
            "rules:\n",
            "  - id: rivers\n    name: 又一个\n    keywords: [水库]\nrules:\n",
        )
        + "  - id: water\n    department: water\n    keywords: [水库]\n"
    )
    messages = [str(p) for p in problems_of(tmp_path, text)]
    assert any("第 12 行" in m and "标签编号 'rivers' 重复" in m for m in messages)
    assert any("第 19 行" in m and "规则编号 'water' 重复" in m for m in messages)


def test_keyword_claimed_by_two_departments_at_equal_weight(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace(
            "  - {id: water,",
            "  - {id: environment, name: 生态环境局, levels: [city]}\n  - {id: water,",
        )
        + "  - id: env\n    department: environment\n    keywords: {河涌: 2}\n"
    )
    problems = problems_of(tmp_path, text)
    assert [(p.line, p.path) for p in problems] == [(17, "rules[1]")]
    assert "关键词 '河涌' 以相同权重 2 分给了不同部门（environment、water）" in str(problems[0])
    # a different weight settles it
    assert problems_of(tmp_path, text.replace("{河涌: 2}\n", "{河涌: 2.5}\n")) == []


def test_rule_shadowed_by_an_identical_earlier_rule_can_never_win(tmp_path: Path) -> None:
    text = MINIMAL + "  - id: water_again\n    department: water\n    tags: [rivers]\n"
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].line == 16
    assert "规则 'water_again' 永远不会生效" in problems[0].message


def test_negative_keywords_that_cancel_every_keyword(tmp_path: Path) -> None:
    text = MINIMAL + "  - id: lock\n    department: water\n    keywords: [水库]\n"
    text += "    negative_keywords: [水库]\n"
    problems = problems_of(tmp_path, text)
    assert any(p.line == 16 and "排除词抵消了全部关键词" in p.message for p in problems)


def test_bad_values_are_explained(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("version: 1", "version: 1\ntimezone: Mars/Olympus\nclose_of_business: 6pm")
        + "reminders:\n  thresholds: [0.8, 0.5]\n"
    )
    by_line = {p.line: p.message for p in problems_of(tmp_path, text)}
    assert "不认识的时区" in by_line[2]
    assert "HH:MM" in by_line[3]
    assert "从小到大" in by_line[19]


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, MINIMAL + "    colour: blue\n")
    assert [p.line for p in problems] == [16]
    assert "colour" in problems[0].path


def test_duplicate_mapping_key_is_reported(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, MINIMAL.replace("version: 1\n", "version: 1\nversion: 2\n"))
    assert any(p.line == 2 and "出现了两次" in p.message for p in problems)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, MINIMAL + "  - id: [unclosed\n")
    assert len(problems) == 1
    # the bracket opened on line 16 is where the fix is, not the end of the file (line 17)
    assert problems[0].line == 16
    assert "YAML 格式错误" in problems[0].message and "第 17 行" in problems[0].message


def test_missing_or_empty_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    assert "无法读取文件" in check_rules(tmp_path / "nope.yaml")[0].message
    assert "YAML 映射" in problems_of(tmp_path, "")[0].message


def test_load_rules_raises_with_every_problem_readable(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("department: water", "department: sea"))
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert len(info.value.problems) == 1
    assert str(info.value).splitlines() == [
        f"{path}：共 1 处问题",
        "  第 14 行（rules[0].department）：不认识的部门 'sea'",
    ]


def test_missing_model_file_is_a_problem(tmp_path: Path) -> None:
    text = MINIMAL + "model:\n  file: missing.json\n  labels: {环境保护: [water]}\n"
    problems = problems_of(tmp_path, text)
    assert [(p.line, "找不到模型文件" in p.message) for p in problems] == [(17, True)]
