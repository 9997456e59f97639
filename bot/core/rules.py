"""The routing rules file (``routing_rules.yaml``): loader and checker (schema: rules_schema).

The file is read with a YAML composer that keeps the line of every node, validated with
pydantic, then cross-checked (unknown ids, duplicates, keyword conflicts, rules that can never
win). Every problem is collected with its line number, so an administrator sees all of them at
once. Loading has no side effects and touches nothing but the file itself (and the existence of
the model file it names), so reloading at run time is cheap.

Errors::

    RulesError            the file cannot be used; ``.problems`` lists every Problem found
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.core.messages import t
from bot.core.regions import is_well_formed
from bot.core.rules_problems import (
    Problem,
    RulesError,
    compose,
    dotted,
    line_of,
    reference_problems,
    schema_problems,
    suggest,
    yaml_problem,
)
from bot.core.rules_schema import (
    KINDS,
    Department,
    Escalation,
    Kind,
    KindCues,
    LearnedModel,
    Priority,
    Reminders,
    RoutingParams,
    Rule,
    RulesFile,
    SlaClass,
    Tag,
    UrgencyParams,
)

# The schema's names are also read from here (bot.core.rules is the rules file's one door).
__all__ = [
    "KINDS",
    "Department",
    "Escalation",
    "Kind",
    "KindCues",
    "LearnedModel",
    "Priority",
    "Problem",
    "Reminders",
    "RoutingParams",
    "Rule",
    "RuleSet",
    "RulesError",
    "RulesFile",
    "SlaClass",
    "Tag",
    "UrgencyParams",
    "check_rules",
    "load_rules",
]

DATA_DIR = Path(__file__).parent / "data"


# --------------------------------------------------------------------------- the rule set


@dataclass(frozen=True)
class RuleSet:
    """Validated rules, indexed by id; what the router and the deadline code work from."""

    source: str
    version: int
    timezone: str
    close_of_business: str
    holiday_file: Path | None
    dispatch: str
    departments: dict[str, Department]
    sla_classes: dict[str, SlaClass]
    reminder_thresholds: tuple[float, ...]
    escalation: Escalation
    routing: RoutingParams
    kind_cues: KindCues
    urgency: UrgencyParams
    model: LearnedModel | None
    model_path: Path | None
    tags: dict[str, Tag]
    rules: tuple[Rule, ...]
    lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    observer_model_path: Path | None = None

    @property
    def escalate_to(self) -> str:
        """Return the department that supervises overdue reports (dispatch by default)."""
        return self.escalation.to or self.dispatch

    def department_name(self, department_id: str) -> str:
        """Return the Chinese name of a department (its id if unknown)."""
        dept = self.departments.get(department_id)
        return dept.name if dept else department_id


# --------------------------------------------------------------------------- loading


def _read(path: Path) -> tuple[RulesFile | None, dict[tuple[Any, ...], int], list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return None, {}, [Problem(None, "", t("rules_check.unreadable", reason=reason))]
    try:
        data, lines, problems = compose(text)
    except yaml.YAMLError as exc:
        return None, {}, [yaml_problem(exc)]
    if not isinstance(data, dict):
        return None, lines, [*problems, Problem(1, "", t("rules_check.not_mapping"))]
    try:
        parsed = RulesFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(schema_problems(exc, lines, RulesFile))
        problems.extend(reference_problems(data, lines))
        return None, lines, problems
    return parsed, lines, problems


def _model_path(parsed: RulesFile, source: Path, *, observer: bool = False) -> Path | None:
    if parsed.model is None:
        return None
    name = parsed.model.observer_file if observer else parsed.model.file
    if name is None:
        return None
    candidate = Path(name)
    if candidate.is_absolute():
        return candidate
    beside = source.parent / candidate
    return beside if beside.exists() else DATA_DIR / candidate


def _rule_words(rule: Rule, tags: dict[str, Tag]) -> Iterator[tuple[str, float]]:
    """Yield the positive keywords of a rule with their effective weight."""
    for tag_id in dict.fromkeys([*rule.tags, *rule.all_tags]):
        tag = tags.get(tag_id)
        if tag is not None:
            for word, weight in tag.keywords.items():
                yield word, weight * rule.weight
    for word, weight in rule.keywords.items():
        yield word, weight * rule.weight


def _cross_check(f: RulesFile, lines: dict[tuple[Any, ...], int], source: Path) -> list[Problem]:
    """Return what the schema cannot see: duplicate ids, unknown references, dead rules."""
    check = _CrossCheck(f, lines, source)
    check.departments()
    check.tags()
    check.rules()
    check.model_and_holidays()
    return check.problems


@dataclass
class _CrossCheck:
    """The cross-checks of a parsed rules file, collecting problems with their lines."""

    f: RulesFile
    lines: dict[tuple[Any, ...], int]
    source: Path
    problems: list[Problem] = field(default_factory=list)
    dept_ids: dict[str, int] = field(default_factory=dict)
    tag_of: dict[str, Tag] = field(default_factory=dict)

    def add(self, path: tuple[Any, ...], message: str) -> None:
        self.problems.append(Problem(line_of(self.lines, path), dotted(path), message))

    def unknown_department(self, path: tuple[Any, ...], wanted: str) -> None:
        message = t("rules_check.unknown_department", id=wanted)
        self.add(path, message + suggest(wanted, self.dept_ids))

    def departments(self) -> None:
        f = self.f
        for i, dept in enumerate(f.departments):
            if dept.id in self.dept_ids:
                self.add(
                    ("departments", i, "id"), t("rules_check.duplicate_department", id=dept.id)
                )
            self.dept_ids.setdefault(dept.id, i)
            if len(set(dept.levels)) != len(dept.levels):
                self.add(("departments", i, "levels"), t("rules_check.level_twice"))
        if f.dispatch not in self.dept_ids:
            message = t("rules_check.unknown_dispatch", id=f.dispatch)
            self.add(("dispatch",), message + suggest(f.dispatch, self.dept_ids))
        if f.escalation.to is not None and f.escalation.to not in self.dept_ids:
            self.unknown_department(("escalation", "to"), f.escalation.to)
        if "normal" not in f.sla_classes:
            self.add(("sla_classes",), t("rules_check.normal_required"))

    def tags(self) -> None:
        f = self.f
        tag_ids: dict[str, int] = {}
        for i, tag in enumerate(f.tags):
            if tag.id in tag_ids:
                self.add(("tags", i, "id"), t("rules_check.duplicate_tag", id=tag.id))
            tag_ids.setdefault(tag.id, i)
            if not tag.keywords:
                self.add(("tags", i, "keywords"), t("rules_check.tag_no_keywords", id=tag.id))
            if tag.sla is not None and tag.sla not in f.sla_classes:
                self.add(("tags", i, "sla"), _unknown_sla(tag.sla, f))
            clash = set(tag.keywords) & set(tag.negative_keywords)
            if clash:
                self.add(("tags", i), t("rules_check.both_ways", words="、".join(sorted(clash))))
        self.tag_of = {tag.id: tag for tag in f.tags}
        if f.urgency.tag is not None and f.urgency.tag not in self.tag_of:
            message = t("rules_check.unknown_tag", id=f.urgency.tag)
            self.add(("urgency", "tag"), message + suggest(f.urgency.tag, self.tag_of))
        if ("urgency", "sla") in self.lines and f.urgency.sla not in f.sla_classes:
            self.add(("urgency", "sla"), _unknown_sla(f.urgency.sla, f))

    def rules(self) -> None:
        rule_ids: dict[str, int] = {}
        signatures: dict[tuple[Any, ...], int] = {}
        claims: dict[str, dict[float, dict[str, int]]] = {}
        for i, rule in enumerate(self.f.rules):
            at = ("rules", i)
            if rule.id in rule_ids:
                self.add((*at, "id"), t("rules_check.duplicate_rule", id=rule.id))
            rule_ids.setdefault(rule.id, i)
            words = self.rule(i, rule)
            signature = (
                tuple(sorted(rule.tags)),
                tuple(sorted(rule.all_tags)),
                tuple(sorted(rule.keywords.items())),
                tuple(sorted(rule.negative_keywords)),
                tuple(sorted(rule.regions)),
                tuple(sorted(rule.kinds)),
            )
            if signature in signatures:
                first = self.f.rules[signatures[signature]]
                if rule.weight <= first.weight:
                    self.add(at, t("rules_check.never_wins_shadowed", id=rule.id, first=first.id))
            else:
                signatures[signature] = i
            if not rule.all_tags:
                for word, weight in words.items():
                    by_dept = claims.setdefault(word, {}).setdefault(round(weight, 6), {})
                    by_dept.setdefault(rule.department, i)
        for word, by_weight in sorted(claims.items()):
            for weight, by_dept in sorted(by_weight.items()):
                if len(by_dept) > 1:
                    departments = "、".join(sorted(by_dept))
                    self.add(
                        ("rules", max(by_dept.values())),
                        t(
                            "rules_check.keyword_claimed",
                            word=word,
                            weight=f"{weight:g}",
                            departments=departments,
                        ),
                    )

    def rule(self, i: int, rule: Rule) -> dict[str, float]:
        """Check one rule's references; return the words it matches on."""
        at = ("rules", i)
        if rule.department not in self.dept_ids:
            self.unknown_department((*at, "department"), rule.department)
        if rule.sla not in self.f.sla_classes:
            self.add((*at, "sla"), _unknown_sla(rule.sla, self.f))
        for key in ("tags", "all_tags"):
            for j, tag_id in enumerate(getattr(rule, key)):
                if tag_id not in self.tag_of:
                    message = t("rules_check.unknown_tag", id=tag_id)
                    self.add((*at, key, j), message + suggest(tag_id, self.tag_of))
        for j, code in enumerate(rule.regions):
            if not is_well_formed(str(code)):
                self.add((*at, "regions", j), t("rules_check.bad_region", code=code))
        if (*at, "keywords") in self.lines and not rule.keywords:
            self.add((*at, "keywords"), t("rules_check.rule_no_keywords", id=rule.id))
        words = dict(_rule_words(rule, self.tag_of))
        if not words:
            self.add(at, t("rules_check.never_wins_empty", id=rule.id))
        elif set(words) <= set(rule.negative_keywords):
            self.add(at, t("rules_check.never_wins_negative", id=rule.id))
        return words

    def model_and_holidays(self) -> None:
        f, source = self.f, self.source
        if f.model is not None:
            path = _model_path(f, source)
            if path is None or not path.is_file():
                self.add(("model", "file"), t("rules_check.no_model", file=f.model.file))
            observer = _model_path(f, source, observer=True)
            if f.model.observer_file is not None and (observer is None or not observer.is_file()):
                missing = t("rules_check.no_model", file=f.model.observer_file)
                self.add(("model", "observer_file"), missing)
            for label, depts in f.model.labels.items():
                if not depts:
                    self.add(("model", "labels", label), t("rules_check.label_empty"))
                for j, dept_id in enumerate(depts):
                    if dept_id not in self.dept_ids:
                        self.unknown_department(("model", "labels", label, j), dept_id)
        if f.holiday_file is not None and not (source.parent / f.holiday_file).is_file():
            self.add(("holiday_file",), t("rules_check.no_holidays", file=f.holiday_file))


def _unknown_sla(name: str, f: RulesFile) -> str:
    """Say an SLA class is unknown, with the nearest known one."""
    return t("rules_check.unknown_sla", id=name) + suggest(name, f.sla_classes)


def _problems(source: Path) -> tuple[RulesFile | None, dict[tuple[Any, ...], int], list[Problem]]:
    parsed, lines, problems = _read(source)
    if parsed is not None:
        problems.extend(_cross_check(parsed, lines, source))
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return parsed, lines, problems


def check_rules(path: str | Path) -> list[Problem]:
    """Return every problem of a rules file in line order (empty when it is fine); never raises."""
    return _problems(Path(path))[2]


def load_rules(path: str | Path) -> RuleSet:
    """Read, validate and index a rules file; raise RulesError listing every problem."""
    source = Path(path)
    parsed, lines, problems = _problems(source)
    if problems or parsed is None:
        raise RulesError(str(source), problems)
    return RuleSet(
        source=str(source),
        version=parsed.version,
        timezone=parsed.timezone,
        close_of_business=parsed.close_of_business,
        holiday_file=(source.parent / parsed.holiday_file) if parsed.holiday_file else None,
        dispatch=parsed.dispatch,
        departments={d.id: d for d in parsed.departments},
        sla_classes=dict(parsed.sla_classes),
        reminder_thresholds=tuple(parsed.reminders.thresholds),
        escalation=parsed.escalation,
        routing=parsed.routing,
        kind_cues=parsed.kinds,
        urgency=parsed.urgency,
        model=parsed.model,
        model_path=_model_path(parsed, source),
        tags={t.id: t for t in parsed.tags},
        rules=tuple(parsed.rules),
        lines={dotted(k): v for k, v in lines.items() if len(k) <= 2},
        observer_model_path=_model_path(parsed, source, observer=True),
    )
