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

from bot.core.regions import is_well_formed
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


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rules file: where (line, YAML path) and what."""

    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        at = f" ({self.path})" if self.path else ""
        return f"{where}{at}: {self.message}"


class RulesError(Exception):
    """The rules file cannot be used; ``problems`` says every reason, with line numbers."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{self.source}: {len(self.problems)} problem(s)"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


# --------------------------------------------------------------------------- schema


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


# --------------------------------------------------------------------------- YAML with lines


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose composed nodes are turned into data while recording their lines."""


def _compose(text: str) -> tuple[Any, dict[tuple[Any, ...], int], list[Problem]]:
    loader = _LineLoader(text)
    lines: dict[tuple[Any, ...], int] = {}
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is None:
        return None, lines, problems

    def build(n: yaml.Node, path: tuple[Any, ...]) -> Any:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in n.value:
                key = loader.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    problems.append(Problem(key_node.start_mark.line + 1, _dotted(path), "bad key"))
                    continue
                if key in out:
                    problems.append(
                        Problem(
                            key_node.start_mark.line + 1,
                            _dotted((*path, key)),
                            f"key {key!r} appears twice in the same mapping",
                        )
                    )
                out[key] = build(value_node, (*path, key))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(n.value)]
        return loader.construct_object(n, deep=True)

    return build(node, ()), lines, problems


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


# --------------------------------------------------------------------------- loading


def _read(path: Path) -> tuple[RulesFile | None, dict[tuple[Any, ...], int], list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, {}, [Problem(None, "", f"cannot read the file: {exc}")]
    try:
        data, lines, problems = _compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return None, {}, [Problem(line, "", f"not valid YAML: {reason}")]
    if not isinstance(data, dict):
        return None, lines, [*problems, Problem(1, "", "the file must be a YAML mapping")]
    try:
        parsed = RulesFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(Problem(_line(lines, loc), _dotted(loc), msg))
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
    problems: list[Problem] = []

    def add(path: tuple[Any, ...], message: str) -> None:
        problems.append(Problem(_line(lines, path), _dotted(path), message))

    dept_ids: dict[str, int] = {}
    for i, dept in enumerate(f.departments):
        if dept.id in dept_ids:
            add(("departments", i, "id"), f"duplicate department id {dept.id!r}")
        dept_ids.setdefault(dept.id, i)
        if len(set(dept.levels)) != len(dept.levels):
            add(("departments", i, "levels"), "a level is listed twice")
    if f.dispatch not in dept_ids:
        add(("dispatch",), f"dispatch department {f.dispatch!r} is not among the departments")
    if f.escalation.to is not None and f.escalation.to not in dept_ids:
        add(("escalation", "to"), f"unknown department {f.escalation.to!r}")
    if "normal" not in f.sla_classes:
        add(("sla_classes",), "an SLA class 'normal' is required (the default of rules)")

    tag_ids: dict[str, int] = {}
    for i, tag in enumerate(f.tags):
        if tag.id in tag_ids:
            add(("tags", i, "id"), f"duplicate tag id {tag.id!r}")
        tag_ids.setdefault(tag.id, i)
        if not tag.keywords:
            add(("tags", i, "keywords"), f"tag {tag.id!r} has an empty keyword list")
        if tag.sla is not None and tag.sla not in f.sla_classes:
            add(("tags", i, "sla"), f"unknown SLA class {tag.sla!r}")
        clash = set(tag.keywords) & set(tag.negative_keywords)
        if clash:
            add(("tags", i), f"words both keyword and negative keyword: {'、'.join(sorted(clash))}")
    tags = {t.id: t for t in f.tags}
    if f.urgency.tag is not None and f.urgency.tag not in tags:
        add(("urgency", "tag"), f"unknown tag {f.urgency.tag!r}")
    if ("urgency", "sla") in lines and f.urgency.sla not in f.sla_classes:
        add(("urgency", "sla"), f"unknown SLA class {f.urgency.sla!r}")

    rule_ids: dict[str, int] = {}
    signatures: dict[tuple[Any, ...], int] = {}
    claims: dict[str, dict[float, dict[str, int]]] = {}
    for i, rule in enumerate(f.rules):
        at = ("rules", i)
        if rule.id in rule_ids:
            add((*at, "id"), f"duplicate rule id {rule.id!r}")
        rule_ids.setdefault(rule.id, i)
        if rule.department not in dept_ids:
            add((*at, "department"), f"unknown department {rule.department!r}")
        if rule.sla not in f.sla_classes:
            add((*at, "sla"), f"unknown SLA class {rule.sla!r}")
        for key in ("tags", "all_tags"):
            for j, tag_id in enumerate(getattr(rule, key)):
                if tag_id not in tags:
                    add((*at, key, j), f"unknown tag {tag_id!r}")
        for j, code in enumerate(rule.regions):
            if not is_well_formed(str(code)):
                add((*at, "regions", j), f"malformed region code {code!r} (6, 9 or 12 digits)")
        if (*at, "keywords") in lines and not rule.keywords:
            add((*at, "keywords"), f"rule {rule.id!r} has an empty keyword list")
        words = dict(_rule_words(rule, tags))
        if not words:
            add(at, f"rule {rule.id!r} can never win: it has no tags and no keywords")
        elif set(words) <= set(rule.negative_keywords):
            add(at, f"rule {rule.id!r} can never win: its negative keywords cancel all keywords")
        signature = (
            tuple(sorted(rule.tags)),
            tuple(sorted(rule.all_tags)),
            tuple(sorted(rule.keywords.items())),
            tuple(sorted(rule.negative_keywords)),
            tuple(sorted(rule.regions)),
            tuple(sorted(rule.kinds)),
        )
        if signature in signatures:
            first = f.rules[signatures[signature]]
            if rule.weight <= first.weight:
                add(
                    at,
                    f"rule {rule.id!r} can never win: rule {first.id!r} has the same conditions "
                    "and at least its weight",
                )
        else:
            signatures[signature] = i
        if not rule.all_tags:
            for word, weight in words.items():
                by_dept = claims.setdefault(word, {}).setdefault(round(weight, 6), {})
                by_dept.setdefault(rule.department, i)

    for word, by_weight in sorted(claims.items()):
        for weight, by_dept in sorted(by_weight.items()):
            if len(by_dept) > 1:
                add(
                    ("rules", max(by_dept.values())),
                    f"keyword {word!r} is claimed at equal weight {weight:g} by rules of "
                    f"different departments ({', '.join(sorted(by_dept))}): give one more weight",
                )

    if f.model is not None:
        path = _model_path(f, source)
        if path is None or not path.is_file():
            add(("model", "file"), f"model file {f.model.file!r} not found")
        observer = _model_path(f, source, observer=True)
        if f.model.observer_file is not None and (observer is None or not observer.is_file()):
            add(("model", "observer_file"), f"model file {f.model.observer_file!r} not found")
        for label, depts in f.model.labels.items():
            if not depts:
                add(("model", "labels", label), "list at least one department")
            for j, dept_id in enumerate(depts):
                if dept_id not in dept_ids:
                    add(("model", "labels", label, j), f"unknown department {dept_id!r}")
    if f.holiday_file is not None and not (source.parent / f.holiday_file).is_file():
        add(("holiday_file",), f"holiday file {f.holiday_file!r} not found")
    return problems


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
        lines={_dotted(k): v for k, v in lines.items() if len(k) <= 2},
        observer_model_path=_model_path(parsed, source, observer=True),
    )
