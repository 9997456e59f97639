"""The router: from a report's text and station region to an explainable decision.

For each report the router

1. normalises the text (:mod:`bot.core.text`: Traditional, full-width, and Cantonese, Hakka
   and Teochew wording) and finds, in one dictionary scan, every keyword and context word of
   the rules file, every cue word, department name and urgency anchor, and every word of the
   learned model's vocabulary;
2. asks the life-safety detector (:mod:`bot.core.urgency`) whether a life is at risk now,
   when the scan found one of its anchor words;
3. fires the tags whose keywords occur (and whose negative keywords do not); context words
   (places, groups of people) only strengthen a tag that fired;
4. scores each rule (weight x the scores of its fired tags and own keywords) and keeps each
   department's best rule; when no rule scores ``TYPOS_BELOW``, keywords written with a
   homophone typo (拉圾 for 垃圾) are added and the rules scored again;
5. adds the learned model's support: a linear model over the words that fired gives each label
   (a family of departments) a probability; the label's first department, or a family member a
   rule already chose, gets ``model.weight`` x that probability (x ``model.alone`` when no rule
   chose any member of the family); the observer model (:mod:`bot.core.learned`) adds
   ``model.observer_weight`` x its probability of each department; departments named in the
   text and the one that answers the danger found get the ``urgency`` section's scores;
6. picks the best department, or the dispatch department when the best score is below
   ``routing.min_score``, within ``routing.margin`` of another department's, or the dispatch
   department itself (a rule for matters outside every department);
7. sends the report to the most local region where that department exists, at or above the
   observer's station, and explains the decision twice (:mod:`bot.core.decision`): the basis
   for departments (``Decision.explanation``) and a plain sentence for the observer.

Everything is deterministic: ties go to the department listed first in the rules file.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bot.core.decision import Decision, Scores, explain, rule_name, template, urgency_reason
from bot.core.learned import LinearModel, char_features, load_model
from bot.core.messages import catalogue
from bot.core.regions import Level, ancestors, is_well_formed, level_of
from bot.core.rules import KINDS, Kind, RuleSet
from bot.core.tagging import Matcher, TypoMatcher, default_idf, tfidf_keywords
from bot.core.text import has_content, normalise
from bot.core.urgency import NOT_URGENT, Urgency, anchor_words, assess

__all__ = ["Decision", "LinearModel", "Router"]  # Decision and LinearModel: older imports

CATEGORY_BONUS = 2.0  # added to a department the observer chose in the guided form
MAX_CANDIDATES = 5
OBSERVER_ALONE_FEATURES = 16  # characters + pairs the observer model needs to decide alone
TYPOS_BELOW = 3.0  # homophone typos are looked for when no rule scores this much as written


@lru_cache(maxsize=4096)
def _chain(region: str | None) -> tuple[tuple[str, Level], ...]:
    """Return (code, level) of a region and of every region containing it, most local first."""
    if region is None or not is_well_formed(region):
        return ()
    return tuple((code, level_of(code)) for code in ancestors(region))


# --------------------------------------------------------------------------- router


class Router:
    """Routes report texts with one rule set (and its learned model); safe to share."""

    def __init__(
        self,
        ruleset: RuleSet,
        *,
        model: LinearModel | None = None,
        observer: LinearModel | None = None,
        observer_weight: float | None = None,
    ) -> None:
        self.ruleset = ruleset
        if model is None and ruleset.model is not None and ruleset.model_path is not None:
            model = load_model(ruleset.model_path)
        self.model = model
        self.model_weight = ruleset.model.weight if ruleset.model is not None else 0.0
        self._full_weight_words = ruleset.model.full_weight_words if ruleset.model else 1
        self._order = {dept: i for i, dept in enumerate(ruleset.departments)}
        self._index_tags(ruleset)
        self._rules = ruleset.rules
        self._cues: dict[Kind, dict[str, float]] = {
            "problem": ruleset.kind_cues.problem,
            "suggestion": ruleset.kind_cues.suggestion,
            "sentiment": ruleset.kind_cues.sentiment,
        }
        self._incidents = frozenset(ruleset.kind_cues.incidents)
        # cue word -> [(kind, weight)]: a report's words are looked up, not every cue
        self._cue_index: dict[str, list[tuple[Kind, float]]] = {}
        for kind, cues in self._cues.items():
            for word, weight in cues.items():
                self._cue_index.setdefault(word, []).append((kind, weight))
        self._index_model(ruleset, model)
        if observer_weight is None:
            observer_weight = ruleset.model.observer_weight if ruleset.model else 0.0
        self._observer_weight = observer_weight
        if observer is None and ruleset.observer_model_path is not None:
            observer = load_model(ruleset.observer_model_path)
        self._observer = observer if self._observer_weight > 0 else None
        self._margin = ruleset.routing.margin
        self._idf, self._default_idf = default_idf()
        # Department names and their usual short forms, as written in reports.
        self._names: dict[str, str] = {}
        for dept in ruleset.departments.values():
            if dept.id != ruleset.dispatch:
                for word in (normalise(dept.name), *dept.aliases):
                    self._names.setdefault(word, dept.id)
        # The scan looks for rule, cue and name words and the model's vocabulary only (the IDF
        # table weighs what is found; scanning for all its words would halve the speed).
        words = set(self._rule_vocabulary) | set(self._context_words) | set(self._names)
        for negatives in self._tag_negatives.values():
            words.update(negatives)
        for cues in self._cues.values():
            words.update(cues)
        words.update(self._incidents)
        self._anchors = anchor_words()
        words.update(self._anchors)
        if model is not None:
            words.update(model.weights)
        self._matcher = Matcher(words)
        self._scanned = frozenset(words)
        self._context_set = frozenset(self._context_words)
        self._name_set = frozenset(self._names)
        self._rule_by_id = {rule.id: rule for rule in ruleset.rules}
        self._typo_matcher: TypoMatcher | None = None  # built on first use (pinyin tables)
        self._category_names = {d.name: d.id for d in ruleset.departments.values()}
        # A tag chosen in the guided form points at the department of the first rule using it.
        self._tag_departments: dict[str, str] = {}
        for rule in ruleset.rules:
            for tag_id in [*rule.tags, *rule.all_tags]:
                self._tag_departments.setdefault(tag_id, rule.department)

    def _index_tags(self, ruleset: RuleSet) -> None:
        """Index tag keywords, context words and negatives, and the words rules look for."""
        # keyword -> [(tag id, weight)], and tag id -> its negative keywords
        self._tag_words: dict[str, list[tuple[str, float]]] = {}
        self._context_words: dict[str, list[tuple[str, float]]] = {}
        self._tag_negatives: dict[str, set[str]] = {}
        for tag in ruleset.tags.values():
            for word, weight in tag.keywords.items():
                self._tag_words.setdefault(word, []).append((tag.id, weight))
            for word, weight in tag.context_keywords.items():
                self._context_words.setdefault(word, []).append((tag.id, weight))
            self._tag_negatives[tag.id] = set(tag.negative_keywords)
        rule_words: set[str] = set()
        for rule in ruleset.rules:
            rule_words.update(rule.keywords, rule.negative_keywords)
        self._rule_vocabulary = frozenset(self._tag_words) | rule_words

    def _index_model(self, ruleset: RuleSet, model: LinearModel | None) -> None:
        """Index each model label's family: (default department, members, weight when alone)."""
        self._families: list[tuple[str, frozenset[str], float]] = []
        if model is not None and ruleset.model is not None:
            for label in model.labels:
                depts = ruleset.model.labels.get(label, [])
                alone = ruleset.model.alone.get(label, 1.0)
                family = (depts[0], frozenset(depts), alone) if depts else ("", frozenset(), 0.0)
                self._families.append(family)

    # ---- pieces -----------------------------------------------------------------------------

    def _kind(self, hits: dict[str, int], category: str | None, urgency: Urgency) -> Kind:
        """Return the kind: the observer's choice, else the heaviest cues (incidents: problem)."""
        if category is not None:
            for kind, label in ((k, catalogue()[f"kind.{k}"]) for k in KINDS):
                if category in (kind, label):
                    return kind
        totals: dict[Kind, float] = dict.fromkeys(KINDS, 0.0)
        index = self._cue_index
        for word in hits:
            for kind, weight in index.get(word, ()):
                totals[kind] += weight
        best: Kind = "problem"
        best_score = 0.0
        for kind in KINDS:
            if totals[kind] > best_score:
                best, best_score = kind, totals[kind]
        if best != "problem" and urgency.urgent:
            return "problem"  # a life at risk is handled, whatever else the text says
        if best == "sentiment" and not self._incidents.isdisjoint(hits):
            return "problem"  # worry words around a concrete incident: still a problem
        return best

    def _tags(self, hits: dict[str, int]) -> dict[str, tuple[float, list[str]]]:
        """Return the fired tags with their scores and words (context words only add)."""
        fired: dict[str, tuple[float, list[str]]] = {}
        for word in hits:
            for tag_id, weight in self._tag_words.get(word, ()):
                score, words = fired.get(tag_id, (0.0, []))
                fired[tag_id] = (score + weight, [*words, word])
        for tag_id in list(fired):
            if not self._tag_negatives[tag_id].isdisjoint(hits):
                del fired[tag_id]
        # A place or a group of people never fires a tag; it only strengthens one that fired.
        context = self._context_words
        for word in sorted(self._context_set.intersection(hits)):
            for tag_id, weight in context[word]:
                if tag_id in fired:
                    score, words = fired[tag_id]
                    fired[tag_id] = (score + weight, [*words, word])
        return fired

    def _rule_scores(
        self,
        hits: dict[str, int],
        fired: dict[str, tuple[float, list[str]]],
        kind: Kind,
        region: str | None,
    ) -> dict[str, tuple[float, str, list[str]]]:
        """Return each department's best rule: (score, rule id, words found)."""
        region_chain = [code for code, _ in _chain(region)]
        best_rules: dict[str, tuple[float, str, list[str]]] = {}
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
            best = best_rules.get(rule.department)
            if best is None or score > best[0]:
                best_rules[rule.department] = (score, rule.id, words)
        return best_rules

    def _add_model(self, hits: dict[str, int], scores: Scores) -> None:
        """Add the learned model's support to the families' departments."""
        if self.model is None or self.model_weight <= 0:
            return
        probs = self.model.probabilities(hits)
        # The model learned from long messages: on a report with few of its words it
        # speaks with proportionally less weight.
        known = sum(1 for w in hits if w in self.model.weights)
        weight = self.model_weight * min(1.0, known / self._full_weight_words)
        top = max(range(len(probs)), key=lambda i: (probs[i], -i))
        scores.model_label, scores.model_prob = self.model.labels[top], probs[top]
        scores.model_top = top
        support = scores.support
        for index, ((default, family, alone), p) in enumerate(
            zip(self._families, probs, strict=True)
        ):
            ruled = [d for d in family if d in scores.rules]
            for dept in ruled or ([default] if default else []):
                share = p if ruled else p * alone
                if share > support.get(dept, 0.0):
                    support[dept] = share
            if index == top:
                scores.model_department = (
                    max(ruled, key=lambda d: scores.rules[d][0]) if ruled else default
                )
        for dept, p in support.items():
            scores.add(dept, weight * p)

    def _add_observer(self, norm: str, scores: Scores) -> None:
        """Add the observer model's support (skipped when it cannot change the leader)."""
        top = sorted(scores.totals.values(), reverse=True)[:2] + [0.0, 0.0]
        if self._observer is None or top[0] - top[1] > self._observer_weight + self._margin:
            return
        features = char_features(norm)
        if not (scores.rules or scores.named) and len(features) < OBSERVER_ALONE_FEATURES:
            return  # alone, it does not decide small talk (今天天气不错)
        probs = self._observer.probabilities(features)
        weight = self._observer_weight
        best = max(range(len(probs)), key=lambda i: (probs[i], -i))
        for label, p in zip(self._observer.labels, probs, strict=True):
            if label in self._order:
                scores.add(label, weight * p)
        scores.observer = (self._observer.labels[best], probs[best])

    def _add_names_and_hints(self, hits: dict[str, int], urgency: Urgency, scores: Scores) -> None:
        """Add the departments named in the text and the urgency family's department."""
        params = self.ruleset.urgency
        names = self._names
        for word in sorted(self._name_set.intersection(hits)):
            scores.named.setdefault(names[word], []).append(word)
        for dept in scores.named:
            scores.add(dept, params.department_name)
        hint = urgency.department
        if hint is not None and hint in self.ruleset.departments and params.department_hint > 0:
            scores.add(hint, params.department_hint)

    def _add_category(self, category: str | None, scores: Scores) -> None:
        """Add the bonus of the department (or tag) the observer chose in the guided form."""
        if category is None:
            return
        chosen = category if category in self.ruleset.departments else None
        chosen = chosen or self._category_names.get(category)
        chosen = chosen or self._tag_departments.get(category)
        if chosen is not None:
            scores.chosen = chosen
            scores.add(chosen, CATEGORY_BONUS)

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

    def scan(self, text: str) -> tuple[str, dict[str, int]]:
        """Return the normalised text and the dictionary words found in it."""
        norm = normalise(text)
        return norm, (self._matcher.find(norm) if has_content(norm) else {})

    @property
    def _typos(self) -> TypoMatcher:
        """Return the homophone matcher, built when a report first needs it."""
        if self._typo_matcher is None:
            self._typo_matcher = TypoMatcher(self._rule_vocabulary, exact=self._scanned)
        return self._typo_matcher

    def _with_typos(self, norm: str, hits: dict[str, int]) -> dict[str, int]:
        """Return ``hits`` plus the keywords written with a homophone typo (拉圾 -> 垃圾)."""
        typos = self._typos.find(norm, hits)
        return {**hits, **dict.fromkeys(typos, 1)} if typos else hits

    def route(self, text: str, region: str | None = None, category: str | None = None) -> Decision:
        """Decide kind, department, region, tags, SLA class and priority of one report."""
        norm, hits = self.scan(text)
        content = has_content(norm)
        urgency = NOT_URGENT
        if self.ruleset.urgency.detector and not self._anchors.isdisjoint(hits):
            urgency = assess(norm, hits)
        kind = self._kind(hits, category, urgency)
        fired = self._tags(hits)
        rules = self._rule_scores(hits, fired, kind, region)
        # Typos are looked for only when the words as written decide nothing clearly.
        if content and max((s for s, _, _ in rules.values()), default=0.0) < TYPOS_BELOW:
            with_typos = self._with_typos(norm, hits)
            if with_typos is not hits:
                hits = with_typos
                fired = self._tags(hits)
                rules = self._rule_scores(hits, fired, kind, region)
        if not hits and not urgency.urgent and not (content and category in self._tag_departments):
            reason = "explain.none" if content else "explain.empty"
            return self._dispatch(kind, region, (), (), (), urgency, reason)
        scores = Scores(rules=rules, totals={d: s for d, (s, _, _) in rules.items()})
        self._add_model(hits, scores)
        self._add_names_and_hints(hits, urgency, scores)
        self._add_category(category, scores)
        self._add_observer(norm, scores)
        ranked = sorted(scores.totals.items(), key=lambda kv: (-kv[1], self._order.get(kv[0], 999)))
        ranked = [(d, round(s, 3)) for d, s in ranked if s > 0]
        tag_ids = self._tag_ids(fired, category, urgency)
        keywords = tuple(
            (k.word, k.weight)
            for k in tfidf_keywords(
                hits, self._idf, default_idf=self._default_idf, extra=self._rule_vocabulary
            )
        )
        candidates = tuple(ranked[:MAX_CANDIDATES])
        rs = self.ruleset
        if not ranked or ranked[0][1] < rs.routing.min_score:
            return self._dispatch(
                kind, region, tag_ids, keywords, candidates, urgency, "explain.none"
            )
        best_dept, best_score = ranked[0]
        runner_up = ranked[1] if len(ranked) > 1 else None
        if best_dept == rs.dispatch and best_dept in scores.rules:
            # A rule for matters outside every department (power, telecoms, "whose is it?").
            _, outside_rule, words = scores.rules[best_dept]
            return self._dispatch(
                kind,
                region,
                tag_ids,
                keywords,
                candidates,
                urgency,
                "explain.outside",
                words=template("separator").join(dict.fromkeys(words)),
                rule=rule_name(rs, outside_rule),
            )
        if best_dept == rs.dispatch:  # reports like this one had no clear department
            return self._dispatch(
                kind, region, tag_ids, keywords, candidates, urgency, "explain.unclear"
            )
        if runner_up is not None and best_score - runner_up[1] < rs.routing.margin:
            return self._dispatch(
                kind,
                region,
                tag_ids,
                keywords,
                candidates,
                urgency,
                "explain.close",
                first=rs.department_name(best_dept),
                second=rs.department_name(runner_up[0]),
            )
        rule_id = scores.rules[best_dept][1] if best_dept in scores.rules else None
        priority, sla, urgent_reason = self._priority(rule_id, tag_ids, urgency)
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
            explanation=explain(rs, self.model, best_dept, scores, urgent_reason, urgency, hits),
            model_label=scores.model_label,
            urgency=urgent_reason,
        )

    def _tag_ids(
        self, fired: dict[str, Any], category: str | None, urgency: Urgency
    ) -> tuple[str, ...]:
        """Return the report's tags in rules-file order; the urgency tag only when urgent."""
        own = self.ruleset.urgency.tag
        return tuple(
            t
            for t in self.ruleset.tags
            if (t in fired or t == category) and t != own or (t == own and urgency.urgent)
        )

    def _priority(
        self, rule_id: str | None, tag_ids: tuple[str, ...], urgency: Urgency
    ) -> tuple[str, str, str | None]:
        """Return (priority, SLA class, urgency reason) from the detector, tags and rule."""
        rs = self.ruleset
        rule = self._rule_by_id.get(rule_id) if rule_id is not None else None
        sla = rule.sla if rule is not None else "normal"
        urgent_tags = [t for t in tag_ids if rs.tags[t].priority == "urgent"]
        if urgency.urgent:
            reason = urgency_reason(urgency)
            wanted = rs.urgency.sla
        elif urgent_tags:
            reason = template("separator").join(rs.tags[t].name for t in urgent_tags)
            wanted = next((s for t in urgent_tags if (s := rs.tags[t].sla)), "urgent")
        elif rule is not None and rule.priority == "urgent":
            reason = rule.description or rule.id
            wanted = "urgent"
        else:
            return "normal", sla, None
        return "urgent", wanted if wanted in rs.sla_classes else sla, reason

    def _dispatch(
        self,
        kind: Kind,
        region: str | None,
        tags: tuple[str, ...],
        keywords: tuple[tuple[str, float], ...],
        candidates: tuple[tuple[str, float], ...],
        urgency: Urgency,
        reason: str,
        **names: str,
    ) -> Decision:
        """Return a decision that sends the report to the dispatch department, and why."""
        rs = self.ruleset
        urgent = urgency.urgent or any(rs.tags[t].priority == "urgent" for t in tags)
        wanted = rs.urgency.sla if urgency.urgent else "urgent"
        sla = wanted if urgent and wanted in rs.sla_classes else "normal"
        reason_text = urgency_reason(urgency) if urgency.urgent else None
        explanation = template(reason).format(department=rs.department_name(rs.dispatch), **names)
        if reason_text is not None:
            explanation += template("clause") + template("explain.urgent").format(
                reason=reason_text, words=f"“{urgency.words}”"
            )
        return Decision(
            kind=kind,
            department=rs.dispatch,
            target_region=self.target_region(rs.dispatch, region),
            tags=tags,
            keywords=keywords,
            rule=None,
            sla_class=sla,
            priority="urgent" if urgent else "normal",
            score=candidates[0][1] if candidates else 0.0,
            runner_up=candidates[0] if candidates else None,
            candidates=candidates,
            explanation=explanation,
            dispatched=True,
            urgency=reason_text,
        )
