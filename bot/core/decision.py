"""A routing decision and how it is explained to each reader.

:class:`Decision` is what the router returns: kind, department, target region, tags, SLA class,
priority, candidates, and two explanations: the basis for departments and dispatch
(:func:`explain`: the rule and the words found, departments named in the text, the model's
view named by department, the danger found) and a plain sentence for the observer
(:meth:`Decision.observer_note`). :class:`Scores` is the working state of one decision.
Every Chinese string comes from the message catalogue (section ``routing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.learned import LinearModel
from bot.core.messages import catalogue
from bot.core.rules import Kind, RuleSet
from bot.core.urgency import Urgency

EVIDENCE_WORDS = 4  # the model words shown when the model alone decided


def template(key: str) -> str:
    """Return a routing template from the message catalogue (section ``routing``)."""
    return catalogue()[f"routing.{key}"]


@dataclass(frozen=True)
class Decision:
    """Where a report goes and why."""

    kind: Kind
    department: str
    target_region: str | None
    tags: tuple[str, ...]
    keywords: tuple[tuple[str, float], ...]
    rule: str | None
    sla_class: str
    priority: str
    score: float
    runner_up: tuple[str, float] | None
    candidates: tuple[tuple[str, float], ...]
    explanation: str  # for departments and dispatch: the rule, the words, the model's view
    dispatched: bool = False
    model_label: str | None = None
    urgency: str | None = None  # why it is urgent, in plain Chinese (人员失联, 山体开裂)

    @property
    def kind_label(self) -> str:
        """Return the Chinese name of the kind (问题反映 / 意见建议 / 社情民意)."""
        return catalogue()[f"kind.{self.kind}"]

    def observer_note(
        self, region_name: str, department_name: str, *, dispatched: bool | None = None
    ) -> str:
        """Return the plain sentence an observer reads: where it goes (and why it is urgent)."""
        if self.dispatched if dispatched is None else dispatched:
            note = template("observer.dispatch").format(department=department_name)
        else:
            note = template("observer.route").format(region=region_name, department=department_name)
        if self.urgency:
            note += template("observer.urgent").format(reason=self.urgency)
        return note

    def to_json(self) -> dict[str, Any]:
        """Return the decision as a JSON-ready dict (the `obsbot route` output)."""
        return {
            "kind": self.kind,
            "kind_label": self.kind_label,
            "department": self.department,
            "target_region": self.target_region,
            "tags": list(self.tags),
            "keywords": [[w, s] for w, s in self.keywords],
            "rule": self.rule,
            "sla_class": self.sla_class,
            "priority": self.priority,
            "urgency": self.urgency,
            "score": self.score,
            "runner_up": list(self.runner_up) if self.runner_up else None,
            "candidates": [[d, s] for d, s in self.candidates],
            "dispatched": self.dispatched,
            "model_label": self.model_label,
            "explanation": self.explanation,
        }


@dataclass
class Scores:
    """The working state of one decision: each department's score and where it came from."""

    rules: dict[str, tuple[float, str, list[str]]]  # department -> (score, rule id, words)
    totals: dict[str, float]
    named: dict[str, list[str]] = field(default_factory=dict)  # department -> its names found
    model_label: str | None = None
    model_prob: float = 0.0
    model_department: str | None = None
    model_top: int = -1  # index of the model's most probable label
    support: dict[str, float] = field(default_factory=dict)
    observer: tuple[str, float] | None = None  # the observer model's department and probability
    chosen: str | None = None  # the department the observer chose in the guided form

    def add(self, department: str, score: float) -> None:
        """Add ``score`` to a department's total."""
        self.totals[department] = self.totals.get(department, 0.0) + score


def explain(
    rs: RuleSet,
    learned: LinearModel | None,
    dept: str,
    scores: Scores,
    urgent_reason: str | None,
    urgency: Urgency,
    hits: dict[str, int],
) -> str:
    """Return the department-facing basis: rule and words, named departments, the model."""
    sep = template("separator")
    name = rs.department_name(dept)
    support = scores.support.get(dept, 0.0) > 0
    model = rs.department_name(scores.model_department or "")
    prob = f"{scores.model_prob:.0%}"
    clauses: list[str] = []
    if dept in scores.rules:
        _, rule_id, words = scores.rules[dept]
        clauses.append(
            template("explain.rule").format(
                words=sep.join(dict.fromkeys(words)), rule=rule_name(rs, rule_id)
            )
        )
    if dept in scores.named:
        clauses.append(template("explain.named").format(names=sep.join(scores.named[dept])))
    if support and scores.model_label is not None and clauses:
        clauses.append(template("explain.model_agrees").format(model=model, prob=prob))
    elif support and scores.model_label is not None and learned is not None:
        evidence = learned.evidence(hits, scores.model_top, EVIDENCE_WORDS)
        clauses.append(
            template("explain.model").format(
                model=model, prob=prob, words=sep.join(evidence) or "-"
            )
        )
    observed = scores.observer
    if not clauses and observed is not None and observed[0] == dept:
        clauses.append(
            template("explain.observer").format(department=name, prob=f"{observed[1]:.0%}")
        )
    if not clauses and dept == urgency.department:
        clauses.append(template("explain.hint").format(reason=urgent_reason))
    if not clauses:  # only the observer's choice put it there
        text_ = template("explain.category_only").format(category=name)
    else:
        if dept == scores.chosen:
            clauses.append(template("explain.category").format(category=name))
        text_ = template("clause").join(clauses) + template("explain.to").format(department=name)
    if urgent_reason is not None:
        quoted = f"“{urgency.words}”" if urgency.urgent else ""
        text_ += template("clause") + template("explain.urgent").format(
            reason=urgent_reason, words=quoted
        )
    return text_


def urgency_reason(urgency: Urgency) -> str:
    """Return the plain Chinese reason of an urgent detection (人员失联)."""
    return urgency.label or ""


def rule_name(ruleset: RuleSet, rule_id: str) -> str:
    """Return how a rule is named to departments: the names of its tags, else its id."""
    rule = next((r for r in ruleset.rules if r.id == rule_id), None)
    if rule is None:
        return rule_id
    names = [
        ruleset.tags[t].name
        for t in dict.fromkeys([*rule.all_tags, *rule.tags])
        if t in ruleset.tags
    ]
    return template("separator").join(names) or rule_id
