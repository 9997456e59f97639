"""`obsbot model train` and `obsbot rules learn` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main
from bot.core.corpus import read_corpus, select
from bot.core.learned import LinearModel

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus" / "observer_reports.jsonl"
RULES = ROOT / "routing_rules.yaml"
SOME = ("water", "education", "hrss", "public_security")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def small_corpus(tmp_path: Path, *, wrong_dev_texts: bool = False) -> Path:
    """Write the shipped corpus's reports of four departments.

    ``wrong_dev_texts``: each dev report gets the text of a dev report of the next department
    (the split depends on ids and labels only, so the test part stays as it was).
    """
    lines = [json.loads(x) for x in CORPUS.read_text(encoding="utf-8").splitlines() if x]
    kept = [x for x in lines if x["department"] in SOME and not x["also"]]
    path = tmp_path / "reports.jsonl"

    def write() -> None:
        path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in kept), "utf-8")

    write()
    if wrong_dev_texts:
        dev = {r.id for r in select(read_corpus(path), "dev")}
        texts = {
            d: [x["text"] for x in kept if x["id"] in dev and x["department"] == d] for d in SOME
        }
        for i, x in enumerate(kept):
            if x["id"] in dev:
                other = texts[SOME[(SOME.index(x["department"]) + 1) % len(SOME)]]
                x["text"] = other[i % len(other)]
        write()
    return path


def test_train_writes_a_model_that_is_not_worse_and_prints_before_and_after(
    tmp_path: Path,
) -> None:
    out = tmp_path / "observer.json"
    result = run("model", "train", str(small_corpus(tmp_path)), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "before" in result.output and "after" in result.output
    assert "routed to an acceptable department" in result.output
    model = LinearModel.from_json(json.loads(out.read_text(encoding="utf-8")))
    assert set(model.labels) == set(SOME)
    assert "欠薪" in model.weights or "工资" in model.weights  # character pairs of wage reports


def test_train_refuses_a_model_that_is_worse_and_keeps_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "observer.json"
    out.write_text("old", encoding="utf-8")
    # the model speaks loudly in these rules, so a model trained on wrong labels shows
    rules = tmp_path / "rules.yaml"
    text = RULES.read_text(encoding="utf-8")
    rules.write_text(text.replace("observer_weight: 1.5", "observer_weight: 10"), "utf-8")
    corpus = small_corpus(tmp_path, wrong_dev_texts=True)
    result = run("model", "train", str(corpus), "--out", str(out), "--rules-file", str(rules))
    assert result.exit_code == 1
    assert "left as it was" in result.output and "Traceback" not in result.output
    assert out.read_text(encoding="utf-8") == "old"


def test_train_explains_a_bad_file_without_a_traceback(tmp_path: Path) -> None:
    missing = run("model", "train", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "no such file" in missing.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("id,text,label\n1,路灯坏了,urban_management\n", encoding="utf-8")
    result = run("model", "train", str(bad))
    assert result.exit_code == 1
    assert "line 1" in result.output and "Traceback" not in result.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = run("model", "train", str(empty))
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_learn_proposes_additions_and_removals_for_a_person_and_changes_nothing(
    tmp_path: Path,
) -> None:
    before = RULES.read_text(encoding="utf-8")
    corpus = small_corpus(tmp_path)
    result = run("rules", "learn", str(corpus), "--split", "all", "--min-count", "1")
    assert result.exit_code == 0, result.output
    assert "Nothing was changed" in result.output
    assert "  + " in result.output or "  - " in result.output  # at least one proposal
    assert "「" in result.output  # with example reports
    assert RULES.read_text(encoding="utf-8") == before


def test_learn_explains_a_bad_file_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "路灯坏了"}\n', encoding="utf-8")
    result = run("rules", "learn", str(bad))
    assert result.exit_code == 1
    assert "missing" in result.output and "Traceback" not in result.output
    missing = run("rules", "learn", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "no such file" in missing.output
