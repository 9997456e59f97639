"""The routing explanation a department reads on its card, clause by clause (bot.core.decision).

Each clause is built from a hand-made ``Scores``, so every branch of ``explain`` is reached: the
rule and its words, departments named in the text, the model agreeing (only when it has a
label), the urgency hint when nothing else put the report there, the observer's own choice,
and the urgent line with the words that raised it.
"""

from __future__ import annotations

from pathlib import Path

from bot.core.decision import Scores, explain, rule_name, template, urgency_reason
from bot.core.rules import load_rules
from bot.core.urgency import Urgency

RULES = load_rules(Path(__file__).resolve().parents[2] / "routing_rules.yaml")
WATER = "water"
CALM = Urgency()


def _explain(scores: Scores, urgency: Urgency = CALM, reason: str | None = None) -> str:
    return explain(RULES, None, WATER, scores, reason, urgency, {})


def test_departments_named_in_the_text_are_a_clause() -> None:
    text = _explain(Scores(rules={}, totals={WATER: 1.0}, named={WATER: ["水务局", "自来水公司"]}))
    names = template("separator").join(["水务局", "自来水公司"])
    assert text.startswith(template("explain.named").format(names=names))
    assert text.endswith(template("explain.to").format(department=RULES.department_name(WATER)))


def test_the_model_agrees_only_when_it_has_a_label() -> None:
    scores = Scores(
        rules={},
        totals={WATER: 1.0},
        named={WATER: ["水务局"]},
        model_label="water",
        model_prob=0.8,
        model_department=WATER,
        support={WATER: 1.0},
    )
    agrees = template("explain.model_agrees").format(model=RULES.department_name(WATER), prob="80%")
    assert agrees in _explain(scores)
    scores.model_label = None
    assert agrees not in _explain(scores)


def test_the_urgency_hint_explains_a_report_nothing_else_placed() -> None:
    urgency = Urgency(reason="trapped", department=WATER, words="困在电梯")
    text = _explain(Scores(rules={}, totals={}), urgency, reason=urgency_reason(urgency))
    assert text.startswith(template("explain.hint").format(reason="人员被困"))
    assert template("explain.urgent").format(reason="人员被困", words="“困在电梯”") in text


def test_the_observers_choice_is_named_beside_other_clauses() -> None:
    scores = Scores(rules={}, totals={WATER: 1.0}, named={WATER: ["水务局"]})
    scores.chosen = WATER
    category = template("explain.category").format(category=RULES.department_name(WATER))
    assert category in _explain(scores)
    scores.chosen = None
    assert category not in _explain(scores)


def test_a_calm_report_sent_as_urgent_quotes_no_words() -> None:
    scores = Scores(rules={}, totals={WATER: 1.0}, named={WATER: ["水务局"]})
    text = _explain(scores, CALM, reason="人工标记")
    assert text.endswith(template("explain.urgent").format(reason="人工标记", words=""))


def test_urgency_reason_and_rule_name() -> None:
    assert urgency_reason(Urgency(reason="missing")) == "人员失联"
    assert urgency_reason(CALM) == ""
    assert rule_name(RULES, "no-such-rule") == "no-such-rule"
    named = next(rule for rule in RULES.rules if rule.tags)
    assert rule_name(RULES, named.id) != named.id
