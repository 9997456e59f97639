"""`obsbot rules check|test|eval` and `obsbot route`."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main
from bot.cli.rules import evaluate, held_out

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "routing_rules.yaml")


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def test_check_accepts_the_shipped_rules() -> None:
    result = run("rules", "check", SHIPPED)
    assert result.exit_code == 0, result.stderr
    assert "检查通过（20 个部门" in result.stdout


def test_check_lists_every_problem_with_its_line_and_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "dispatch: social_work\n"
        "sla_classes:\n"
        "  normal: {sign_for: 1 workdays, resolve: 5 workdays}\n"
        "departments:\n"
        "  - {id: social_work, name: 社会工作部, levels: [province]}\n"
        "  - {id: social_work, name: 又一个, levels: [city]}\n"
        "rules:\n"
        "  - {id: r1, department: nowhere, keywords: [河涌]}\n",
        encoding="utf-8",
    )
    result = run("rules", "check", str(broken))
    assert result.exit_code == 1
    assert "共 2 处问题" in result.stderr
    assert "第 6 行（departments[1].id）：部门编号 'social_work' 重复" in result.stderr
    assert "第 8 行（rules[0].department）：不认识的部门 'nowhere'" in result.stderr
    assert result.stdout == ""


def test_check_defaults_to_the_routing_rules_variable(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ROUTING_RULES", str(tmp_path / "absent.yaml"))
    result = run("rules", "check")
    assert result.exit_code == 1
    assert "找不到 ROUTING_RULES 指定的规则文件" in result.stderr
    assert "Traceback" not in result.stderr


def test_test_prints_the_decision() -> None:
    result = run(
        "rules", "test", "河涌發臭冇人理", "--region", "440104001", "--rules-file", SHIPPED
    )
    assert result.exit_code == 0, result.stderr
    assert "承办部门    水务局" in result.stdout
    assert "承办地区    广东省广州市越秀区（区县级承办群" in result.stdout
    assert "签收时限    1个工作日，现在提交则于 " in result.stdout
    assert "办结时限    5个工作日，现在提交则于 " in result.stdout
    assert "分拨依据    命中关键词：河涌、发臭" in result.stdout


def test_route_turns_json_lines_into_decisions_and_reports_bad_lines() -> None:
    stdin = "\n".join(
        [
            json.dumps({"id": "a", "text": "工地老板欠薪三个月", "region": "440104"}),
            "{not json",
            json.dumps({"id": 3, "text": 42}),
            "",
            json.dumps({"id": "d", "text": "出租屋着火了", "category": "问题反映"}),
        ]
    )
    result = run("route", "--rules-file", SHIPPED, stdin=stdin)
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "d"]
    assert out[0]["department"] == "hrss"
    assert out[0]["target_region"] == "440104"
    assert out[1]["priority"] == "urgent"
    for key in ("id", "kind", "department", "tags", "keywords", "rule", "priority"):
        assert key in out[0]
    assert "第 2 行：不是有效的 JSON" in result.stderr
    assert '第 3 行："text" 应为文字' in result.stderr
    assert "跳过了 2 行有问题的输入" in result.stderr


def test_route_refuses_a_broken_rules_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("dispatch: [\n", encoding="utf-8")
    result = run("route", "--rules-file", str(bad), stdin="")
    assert result.exit_code == 1
    assert "YAML 格式错误" in result.stderr


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_eval_prints_accuracy_f1_per_class_confusion_and_dispatch(tmp_path: Path) -> None:
    data = tmp_path / "msgs.csv"
    write_csv(
        data,
        [
            {"id": "1", "body": "工地老板欠薪三个月", "cat": "劳动"},
            {"id": "2", "body": "退休后养老金迟迟没发放", "cat": "劳动"},
            {"id": "3", "body": "河涌发臭好多天", "cat": "环境"},
            {"id": "4", "body": "你好", "cat": "环境"},
        ],
    )
    label_map = tmp_path / "map.yaml"
    label_map.write_text("hrss: [劳动]\nwater: [环境]\n", encoding="utf-8")
    result = run(
        "rules", "eval", str(data), "--text-col", "body", "--label-col", "cat",
        "--map", str(label_map), "--rules-file", SHIPPED,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "条数：4  数据划分：all" in lines
    assert "准确率：0.750" in lines
    assert "交分拨比例：25.0%" in lines
    assert any(line.startswith("宏平均 F1：") for line in lines)
    assert "标签            精确率    召回率  F1     条数" in lines
    assert any(line.startswith("劳动") and "1.000     1.000   1.000  2" in line for line in lines)
    assert any(line.startswith("混淆矩阵（行：标注；列：分拨结果") for line in lines)


def test_eval_names_missing_columns(tmp_path: Path) -> None:
    data = tmp_path / "msgs.csv"
    write_csv(data, [{"id": "1", "content": "x", "label": "y"}])
    result = run("rules", "eval", str(data), "--rules-file", SHIPPED)
    assert result.exit_code != 0
    assert "没有列 text" in result.stderr
    assert "--text-col" in result.stderr


def test_held_out_fold_is_deterministic_and_about_one_in_five() -> None:
    ids = [str(i) for i in range(2000)]
    chosen = [i for i in ids if held_out(i)]
    assert chosen == [i for i in ids if held_out(i)]
    assert 300 < len(chosen) < 500


def test_evaluate_scores_a_department_by_its_label_family() -> None:
    label_map = {"water": ["城乡建设", "环境保护"], "environment": ["环境保护"]}
    ev = evaluate(
        [
            ("环境保护", "water", False),
            ("城乡建设", "water", False),
            ("城乡建设", "environment", False),
            ("城乡建设", "social_work", True),
        ],
        label_map,
    )
    assert ev.accuracy == 0.5
    assert ev.dispatch_share == 0.25
    assert ev.precision_recall("环境保护") == (0.5, 1.0, 2 / 3)
    assert ev.precision_recall("城乡建设") == (1.0, 1 / 3, 0.5)
    assert abs(ev.macro_f1 - (2 / 3 + 0.5) / 2) < 1e-9


CORPUS = str(ROOT / "corpus" / "observer_reports.jsonl")
HEADLINE = (
    "routed to an acceptable department:",
    "clear reports sent to dispatch anyway:",
    "urgent recall:",
    "urgent precision:",
    "kind right:",
    "sentiment recall:",
)


def test_eval_scores_the_corpus_test_part_with_every_measure() -> None:
    result = run("rules", "eval", CORPUS, "--split", "test", "--show-misses", "2",
                 "--rules-file", SHIPPED)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"corpus: {CORPUS}  split: test  reports: ")
    for label in HEADLINE:
        assert f"\n{label}" in out
    assert "kind confusion (rows: label, columns: decided):" in out
    assert "department (label)" in out and "\nsocial_work " in out and "\njustice " in out
    assert "\ncantonese " in out and "\nhakka " in out and "\nteochew " in out
    for measure in ("department", "urgent", "kind"):
        shown = re.search(rf"misses \({measure}\): (\d) of (\d+)", out)
        assert shown is not None and int(shown[1]) == min(2, int(shown[2]))


def test_eval_corpus_json_agrees_with_the_split_sizes() -> None:
    sizes = {}
    for split in ("dev", "test", "all"):
        result = run("rules", "eval", "--corpus", CORPUS, "--split", split, "--json",
                     "--rules-file", SHIPPED)  # fmt: skip
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        sizes[split] = data["reports"]
        assert 0.0 <= data["acceptable_department"] <= 1.0
        assert set(data["kind"]["recall"]) == {"problem", "suggestion", "sentiment"}
        assert "misses" not in data
    assert sizes["dev"] + sizes["test"] == sizes["all"] >= 650
    assert 0.27 < sizes["test"] / sizes["all"] < 0.33


def test_eval_corpus_refuses_a_csv_split_and_a_bad_file(tmp_path: Path) -> None:
    result = run("rules", "eval", CORPUS, "--split", "held-out", "--rules-file", SHIPPED)
    assert result.exit_code == 2
    assert "--split held-out does not apply to the corpus; use one of all, dev, test" in (
        result.stderr
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "text": "路灯坏了", "kind": "problem", "department": "lighting",'
        ' "urgent": false, "clear": true}\n',
        encoding="utf-8",
    )
    result = run("rules", "eval", str(bad), "--rules-file", SHIPPED)
    assert result.exit_code == 1
    assert "a: unknown department 'lighting'" in result.stderr
    assert "Traceback" not in result.output


def test_eval_without_a_file_asks_for_one() -> None:
    result = run("rules", "eval", "--rules-file", SHIPPED)
    assert result.exit_code == 2
    assert "give FILE.csv to score, or --corpus" in result.stderr


def test_eval_csv_prints_json_on_request(tmp_path: Path) -> None:
    data = tmp_path / "msgs.csv"
    write_csv(data, [{"id": "1", "text": "河涌发臭好多天", "label": "water"}])
    result = run("rules", "eval", str(data), "--json", "--rules-file", SHIPPED)
    assert result.exit_code == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["messages"] == 1 and parsed["accuracy"] == 1.0


def test_eval_corpus_without_a_file_reads_the_shipped_corpus(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    result = run("rules", "eval", "--corpus", "--split", "dev", "--rules-file", SHIPPED)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("corpus: corpus/observer_reports.jsonl  split: dev")


def test_eval_corpus_json_lists_misses_on_request() -> None:
    result = run("rules", "eval", CORPUS, "--split", "dev", "--json", "--show-misses", "1",
                 "--rules-file", SHIPPED)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    misses = json.loads(result.stdout)["misses"]
    assert set(misses) == {"department", "urgent", "kind"}
    for measure, listed in misses.items():
        assert len(listed) <= 1
        for miss in listed:
            assert miss["measure"] == measure
            assert set(miss) == {"measure", "id", "text", "gold", "routed"}
