"""The router: from a report's text and station region to an explainable decision.

For each report the router

1. normalises the text (:mod:`bot.core.text`) and finds, in one dictionary scan, every keyword
   of the rules file, every cue word and every word of the learned model's vocabulary;
2. fires the tags whose keywords occur (and whose negative keywords do not);
3. scores each rule (weight x the scores of its fired tags and own keywords) and keeps each
   department's best rule;
4. adds the learned model's support: a linear model over the words that fired gives each label
   (a family of departments) a probability; the label's first department, or a family member a
   rule already chose, gets ``model.weight`` x that probability;
5. picks the best department, or the dispatch department when the best score is below
   ``routing.min_score`` or within ``routing.margin`` of another department's;
6. sends the report to the most local region where that department exists, at or above the
   observer's station.

Everything is deterministic: ties go to the department listed first in the rules file.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.core.messages import catalogue
from bot.core.regions import Level, ancestors, is_well_formed, level_of
from bot.core.rules import KINDS, Kind, RuleSet
from bot.core.tagging import Matcher, default_idf, tfidf_keywords
from bot.core.text import has_content, normalise


# Every user-facing Chinese string of routing, in one place (to move into the message catalogue).
def _text(key: str) -> str:
    """Return a routing template from the message catalogue (section ``routing``)."""
    return catalogue()[f"routing.{key}"]


CATEGORY_BONUS = 2.0  # added to a department the observer chose in the guided form
MAX_CANDIDATES = 5
EVIDENCE_WORDS = 4


# --------------------------------------------------------------------------- learned model


@dataclass(frozen=True)
class LinearModel:
    """Per-label word weights of a linear classifier: score = bias + sum of fired word weights."""

    labels: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearModel:
        """Build a model from its JSON form (``labels``, ``bias``, ``weights``, ``meta``)."""
        labels = tuple(str(x) for x in data["labels"])
        bias = tuple(float(x) for x in data["bias"])
        weights = {str(w): tuple(float(x) for x in v) for w, v in data["weights"].items()}
        if len(bias) != len(labels) or any(len(v) != len(labels) for v in weights.values()):
            raise ValueError("model file: every weight vector needs one number per label")
        return cls(labels=labels, bias=bias, weights=weights, meta=dict(data.get("meta", {})))

    def probabilities(self, words: Iterable[str]) -> list[float]:
        """Return the softmax probability of each label given the words that fired."""
        scores: Iterable[float] = self.bias
        weights = self.weights
        for word in words:
            vector = weights.get(word)
            if vector is not None:
                scores = map(operator.add, scores, vector)
        scores = list(scores)
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]

    def evidence(self, words: Iterable[str], label_index: int, top: int) -> list[str]:
        """Return the fired words that pushed hardest towards one label."""
        ranked = sorted(
            (w for w in words if w in self.weights and self.weights[w][label_index] > 0),
            key=lambda w: (-self.weights[w][label_index], w),
        )
        return ranked[:top]


@lru_cache(maxsize=4)
def _load_model(path: str, mtime_ns: int) -> LinearModel:
    del mtime_ns  # part of the cache key only: a changed file is read again
    return LinearModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def load_model(path: Path) -> LinearModel:
    """Load a model file once per (path, modification time)."""
    return _load_model(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4096)
def _chain(region: str | None) -> tuple[tuple[str, Level], ...]:
    """Return (code, level) of a region and of every region containing it, most local first."""
    if region is None or not is_well_formed(region):
        return ()
    return tuple((code, level_of(code)) for code in ancestors(region))


# --------------------------------------------------------------------------- decision


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
    explanation: str
    dispatched: bool = False
    model_label: str | None = None

    @property
    def kind_label(self) -> str:
        """Return the Chinese name of the kind (问题反映 / 意见建议 / 社情民意)."""
        return catalogue()[f"kind.{self.kind}"]

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
            "score": self.score,
            "runner_up": list(self.runner_up) if self.runner_up else None,
            "candidates": [[d, s] for d, s in self.candidates],
            "dispatched": self.dispatched,
            "model_label": self.model_label,
            "explanation": self.explanation,
        }


# --------------------------------------------------------------------------- router


class Router:
    """Routes report texts with one rule set (and its learned model); safe to share."""

    def __init__(self, ruleset: RuleSet, *, model: LinearModel | None = None) -> None:
        self.ruleset = ruleset
        if model is None and ruleset.model is not None and ruleset.model_path is not None:
            model = load_model(ruleset.model_path)
        self.model = model
        self.model_weight = ruleset.model.weight if ruleset.model is not None else 0.0
        self._full_weight_words = ruleset.model.full_weight_words if ruleset.model else 1
        self._order = {dept: i for i, dept in enumerate(ruleset.departments)}

        # keyword -> [(tag id, weight)], and tag id -> its negative keywords
        self._tag_words: dict[str, list[tuple[str, float]]] = {}
        self._tag_negatives: dict[str, set[str]] = {}
        for tag in ruleset.tags.values():
            for word, weight in tag.keywords.items():
                self._tag_words.setdefault(word, []).append((tag.id, weight))
            self._tag_negatives[tag.id] = set(tag.negative_keywords)
        self._rules = ruleset.rules
        self._cues: dict[Kind, dict[str, float]] = {
            "problem": ruleset.kind_cues.problem,
            "suggestion": ruleset.kind_cues.suggestion,
            "sentiment": ruleset.kind_cues.sentiment,
        }

        # label index -> (default department, family)
        self._families: list[tuple[str, frozenset[str]]] = []
        if model is not None and ruleset.model is not None:
            for label in model.labels:
                depts = ruleset.model.labels.get(label, [])
                self._families.append((depts[0], frozenset(depts)) if depts else ("", frozenset()))

        self._idf, self._default_idf = default_idf()
        rule_words: set[str] = set()
        for rule in ruleset.rules:
            rule_words.update(rule.keywords, rule.negative_keywords)
        self._rule_vocabulary = frozenset(self._tag_words) | rule_words
        # The scan looks for rule and cue words and the model's vocabulary only (the IDF table
        # weighs what is found; scanning for all its words would halve the speed).
        words = set(self._rule_vocabulary)
        for negatives in self._tag_negatives.values():
            words.update(negatives)
        for cues in self._cues.values():
            words.update(cues)
        if model is not None:
            words.update(model.weights)
        self._matcher = Matcher(words)
        self._category_names = {d.name: d.id for d in ruleset.departments.values()}
        # A tag chosen in the guided form points at the department of the first rule using it.
        self._tag_departments: dict[str, str] = {}
        for rule in ruleset.rules:
            for tag_id in [*rule.tags, *rule.all_tags]:
                self._tag_departments.setdefault(tag_id, rule.department)

    # ---- pieces -----------------------------------------------------------------------------

    def _kind(self, hits: dict[str, int], category: str | None) -> Kind:
        if category is not None:
            for kind, label in ((k, catalogue()[f"kind.{k}"]) for k in KINDS):
                if category in (kind, label):
                    return kind
        best: Kind = "problem"
        best_score = 0.0
        for kind in KINDS:
            score = sum(w for word, w in self._cues[kind].items() if word in hits)
            if score > best_score:
                best, best_score = kind, score
        return best

    def _tags(self, hits: dict[str, int]) -> dict[str, tuple[float, list[str]]]:
        fired: dict[str, tuple[float, list[str]]] = {}
        for word in hits:
            for tag_id, weight in self._tag_words.get(word, ()):
                score, words = fired.get(tag_id, (0.0, []))
                fired[tag_id] = (score + weight, [*words, word])
        for tag_id in list(fired):
            if not self._tag_negatives[tag_id].isdisjoint(hits):
                del fired[tag_id]
        return fired

    def target_region(self, department: str, region: str | None) -> str | None:
        """Return the most local region at or above ``region`` where ``department`` exists."""
        dept = self.ruleset.departments.get(department)
        if dept is None:
            return None
        for code, level in _chain(region):
            if level in dept.levels:
                return code
        return None

    # ---- the decision -----------------------------------------------------------------------

    def route(self, text: str, region: str | None = None, category: str | None = None) -> Decision:
        """Decide kind, department, region, tags, SLA class and priority of one report."""
        rs = self.ruleset
        norm = normalise(text)
        hits = self._matcher.find(norm) if has_content(norm) else {}
        kind = self._kind(hits, category)
        if not hits and not (has_content(norm) and category in self._tag_departments):
            reason = "explain.none" if has_content(norm) else "explain.empty"
            return self._dispatch(kind, region, (), (), (), "normal", reason)

        fired = self._tags(hits)
        region_chain = [code for code, _ in _chain(region)]
        # Best rule per department.
        rule_score: dict[str, tuple[float, str, list[str]]] = {}
        for rule in self._rules:
            if rule.regions and not (region_chain and any(c in region_chain for c in rule.regions)):
                continue
            if rule.kinds and kind not in rule.kinds:
                continue
            if rule.all_tags and any(t not in fired for t in rule.all_tags):
                continue
            if rule.negative_keywords and any(w in hits for w in rule.negative_keywords):
                continue
            score = 0.0
            words: list[str] = []
            for tag_id in dict.fromkeys([*rule.tags, *rule.all_tags]):
                if tag_id in fired:
                    score += fired[tag_id][0]
                    words.extend(fired[tag_id][1])
            for word, weight in rule.keywords.items():
                if word in hits:
                    score += weight
                    words.append(word)
            if score <= 0:
                continue
            score *= rule.weight
            best = rule_score.get(rule.department)
            if best is None or score > best[0]:
                rule_score[rule.department] = (score, rule.id, words)

        totals: dict[str, float] = {d: s for d, (s, _, _) in rule_score.items()}
        model_label: str | None = None
        model_prob = 0.0
        model_words: list[str] = []
        support: dict[str, float] = {}
        if self.model is not None and self.model_weight > 0:
            probs = self.model.probabilities(hits)
            # The model learned from long messages: on a report with few of its words it
            # speaks with proportionally less weight.
            known = sum(1 for w in hits if w in self.model.weights)
            weight = self.model_weight * min(1.0, known / self._full_weight_words)
            top = max(range(len(probs)), key=lambda i: (probs[i], -i))
            model_label, model_prob = self.model.labels[top], probs[top]
            model_words = self.model.evidence(hits, top, EVIDENCE_WORDS)
            for (default, family), p in zip(self._families, probs, strict=True):
                for dept in family:
                    if (dept == default or dept in rule_score) and p > support.get(dept, 0.0):
                        support[dept] = p
            for dept, p in support.items():
                totals[dept] = totals.get(dept, 0.0) + weight * p

        chosen_dept = None
        if category is not None:
            chosen_dept = category if category in rs.departments else None
            chosen_dept = chosen_dept or self._category_names.get(category)
            chosen_dept = chosen_dept or self._tag_departments.get(category)
            if chosen_dept is not None:
                totals[chosen_dept] = totals.get(chosen_dept, 0.0) + CATEGORY_BONUS

        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], self._order.get(kv[0], 999)))
        ranked = [(d, round(s, 3)) for d, s in ranked if s > 0]
        candidates = tuple(ranked[:MAX_CANDIDATES])
        tag_ids = tuple(t for t in rs.tags if t in fired or t == category)
        keywords = tuple(
            (k.word, k.weight)
            for k in tfidf_keywords(
                hits, self._idf, default_idf=self._default_idf, extra=self._rule_vocabulary
            )
        )
        urgent_tags = [t for t in tag_ids if rs.tags[t].priority == "urgent"]
        priority = "urgent" if urgent_tags else "normal"

        sep = _text("separator")
        if not ranked or ranked[0][1] < rs.routing.min_score:
            return self._dispatch(
                kind, region, tag_ids, keywords, candidates, priority, "explain.none"
            )
        best_dept, best_score = ranked[0]
        runner_up = ranked[1] if len(ranked) > 1 else None
        if runner_up is not None and best_score - runner_up[1] < rs.routing.margin:
            return self._dispatch(
                kind,
                region,
                tag_ids,
                keywords,
                candidates,
                priority,
                "explain.close",
                first=rs.department_name(best_dept),
                second=rs.department_name(runner_up[0]),
            )

        rule_entry = rule_score.get(best_dept)
        rule_id = rule_entry[1] if rule_entry else None
        chosen_rule = next((r for r in self._rules if r.id == rule_id), None)
        sla = chosen_rule.sla if chosen_rule is not None else "normal"
        if chosen_rule is not None and chosen_rule.priority == "urgent":
            priority = "urgent"
        if priority == "urgent":
            sla = next((rs.tags[t].sla for t in urgent_tags if rs.tags[t].sla), None) or (
                "urgent" if "urgent" in rs.sla_classes else sla
            )

        name = rs.department_name(best_dept)
        prob = f"{model_prob:.0%}"
        if rule_entry is not None:
            matched = sep.join(dict.fromkeys(rule_entry[2]))
            if support.get(best_dept, 0.0) > 0:
                text_ = _text("explain.rule_and_model").format(
                    words=matched, label=model_label, prob=prob, department=name
                )
            else:
                text_ = _text("explain.rule").format(words=matched, department=name)
        elif support.get(best_dept, 0.0) > 0:
            text_ = _text("explain.model").format(
                label=model_label, prob=prob, words=sep.join(model_words) or "-", department=name
            )
        else:  # only the observer's choice put it there
            text_ = _text("explain.category_only").format(category=name, department=name)
        clauses = [text_]
        if best_dept == chosen_dept and (rule_entry is not None or support.get(best_dept, 0.0)):
            clauses.append(_text("explain.category").format(category=name))
        if urgent_tags:
            clauses.append(
                _text("explain.urgent").format(tags=sep.join(rs.tags[t].name for t in urgent_tags))
            )
        return Decision(
            kind=kind,
            department=best_dept,
            target_region=self.target_region(best_dept, region),
            tags=tag_ids,
            keywords=keywords,
            rule=rule_id,
            sla_class=sla,
            priority=priority,
            score=best_score,
            runner_up=runner_up,
            candidates=candidates,
            explanation=_text("clause").join(clauses),
            model_label=model_label,
        )

    def _dispatch(
        self,
        kind: Kind,
        region: str | None,
        tags: tuple[str, ...],
        keywords: tuple[tuple[str, float], ...],
        candidates: tuple[tuple[str, float], ...],
        priority: str,
        reason: str,
        **names: str,
    ) -> Decision:
        rs = self.ruleset
        sla = "urgent" if priority == "urgent" and "urgent" in rs.sla_classes else "normal"
        return Decision(
            kind=kind,
            department=rs.dispatch,
            target_region=self.target_region(rs.dispatch, region),
            tags=tags,
            keywords=keywords,
            rule=None,
            sla_class=sla,
            priority=priority,
            score=candidates[0][1] if candidates else 0.0,
            runner_up=candidates[0] if candidates else None,
            candidates=candidates,
            explanation=_text(reason).format(department=rs.department_name(rs.dispatch), **names),
            dispatched=True,
        )
