"""Problems of a rules file: where each is (line, YAML path), what it is, and a likely fix.

The YAML is composed node by node so every value keeps its line; a syntax error is placed at
the line where the broken construct begins (an unclosed bracket or quote is reported where it
was opened, not at the end of the file where the parser gave up). Schema errors from pydantic
are worded in Chinese, and a misspelt key or id comes with "是不是想写 …？" (difflib).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from bot.core.messages import t


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rules file: where (line, YAML path) and what."""

    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = t("rules_check.at_line", line=self.line) if self.line else t("rules_check.at_file")
        at = f"（{self.path}）" if self.path else ""
        return f"{where}{at}：{self.message}"


class RulesError(Exception):
    """The rules file cannot be used; ``problems`` says every reason, with line numbers."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        head = t("rules_check.head", source=self.source, count=len(self.problems))
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


def suggest(word: object, choices: Iterable[str]) -> str:
    """Return "，是不是想写 X？" for the choice nearest ``word`` (empty when none is near)."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=1, cutoff=0.6)
    return t("rules_check.did_you_mean", guess=close[0]) if close else ""


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose composed nodes are turned into data while recording their lines."""


def compose(text: str) -> tuple[Any, dict[tuple[Any, ...], int], list[Problem]]:
    """Return the data of ``text``, the line of every path in it, and duplicate-key problems."""
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
                line = key_node.start_mark.line + 1
                if not isinstance(key, str | int | float | bool) and key is not None:
                    problems.append(Problem(line, dotted(path), t("rules_check.bad_key")))
                    continue
                if key in out:
                    where = dotted((*path, key))
                    problems.append(Problem(line, where, t("rules_check.key_twice", name=key)))
                out[key] = build(value_node, (*path, key))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(n.value)]
        return loader.construct_object(n, deep=True)

    return build(node, ()), lines, problems


def yaml_problem(exc: yaml.YAMLError) -> Problem:
    """Place a syntax error at the line its broken construct begins, naming where it was seen."""
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    seen = problem_mark.line + 1 if problem_mark is not None else None
    begun = context_mark.line + 1 if context_mark is not None else None
    reason = str(getattr(exc, "problem", None) or exc)
    if begun is not None and seen is not None and begun < seen:
        return Problem(begun, "", t("rules_check.yaml_from", seen=seen, reason=reason))
    return Problem(seen or begun, "", t("rules_check.yaml", reason=reason))


def dotted(path: tuple[Any, ...]) -> str:
    """Return a YAML path as text: ``rules[3].department``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    """Return the line of ``path``, or of its nearest ancestor written in the file."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


_SCHEMA_WORDS = {
    "missing": "rules_check.missing",
    "string_pattern_mismatch": "rules_check.bad_id",
    "literal_error": "rules_check.not_one_of",
    "too_short": "rules_check.too_short",
    "greater_than": "rules_check.too_small",
    "greater_than_equal": "rules_check.too_small",
    "int_parsing": "rules_check.want_number",
    "float_parsing": "rules_check.want_number",
    "int_type": "rules_check.want_number",
    "float_type": "rules_check.want_number",
    "string_type": "rules_check.want_text",
    "list_type": "rules_check.want_list",
    "dict_type": "rules_check.want_mapping",
    "model_type": "rules_check.want_mapping",
    "bool_parsing": "rules_check.want_bool",
}


def schema_problems(
    exc: ValidationError, lines: dict[tuple[Any, ...], int], model: type[BaseModel]
) -> list[Problem]:
    """Word pydantic's errors in Chinese; an unknown key is matched against the keys it may be."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            known = keys_at(model, loc[:-1])
            message = t("rules_check.unknown_key", name=loc[-1]) + suggest(loc[-1], known)
        elif kind in _SCHEMA_WORDS:
            expected = err.get("ctx", {}).get("expected", "")
            message = t(_SCHEMA_WORDS[kind], name=loc[-1] if loc else "", expected=expected)
        else:  # our own validators' words (windows, time zone, thresholds)
            message = str(err["msg"]).removeprefix("Value error, ")
        out.append(Problem(line_of(lines, loc), dotted(loc), message))
    return out


def keys_at(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """Return the keys the mapping at ``path`` of a ``model`` document may have."""
    kind: Any = model
    for part in path:
        kind = _unwrap(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(part) if isinstance(part, str) else None
            kind = field.annotation if field is not None else None
        elif get_origin(kind) in (list, dict):
            kind = get_args(kind)[-1]
        else:
            return []
    kind = _unwrap(kind)
    return list(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else []


def _unwrap(kind: Any) -> Any:
    """Return X of ``Annotated[X, ...]`` and of ``X | None``."""
    while get_origin(kind) is Annotated or get_origin(kind) in (Union, UnionType):
        args = [a for a in get_args(kind) if a is not type(None)]
        kind = args[0]
    return kind


def reference_problems(data: dict[Any, Any], lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    """Unknown department and tag ids, found even when other parts of the file are malformed."""
    problems: list[Problem] = []

    def ids(section: str) -> set[str]:
        items = data.get(section)
        items = items if isinstance(items, list) else []
        return {str(i["id"]) for i in items if isinstance(i, dict) and "id" in i}

    departments, tags = ids("departments"), ids("tags")
    escalation = data.get("escalation")
    named: list[tuple[tuple[Any, ...], object, set[str], str]] = [
        (("dispatch",), data.get("dispatch"), departments, "unknown_department"),
        (
            ("escalation", "to"),
            escalation.get("to") if isinstance(escalation, dict) else None,
            departments,
            "unknown_department",
        ),
    ]
    for i, rule in enumerate(data["rules"] if isinstance(data.get("rules"), list) else []):
        if not isinstance(rule, dict):
            continue
        at: tuple[Any, ...] = ("rules", i, "department")
        named.append((at, rule.get("department"), departments, "unknown_department"))
        for key in ("tags", "all_tags"):
            listed = rule.get(key)
            for j, tag in enumerate(listed if isinstance(listed, list) else []):
                named.append((("rules", i, key, j), tag, tags, "unknown_tag"))
    for at, wanted, known, what in named:
        if isinstance(wanted, str) and wanted not in known:
            message = t(f"rules_check.{what}", id=wanted) + suggest(wanted, known)
            problems.append(Problem(line_of(lines, at), dotted(at), message))
    return problems
