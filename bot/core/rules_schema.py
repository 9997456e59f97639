"""The schema of the routing rules file: pydantic models of every section, with their defaults.

:mod:`bot.core.rules` reads the file with line numbers, validates it against :class:`RulesFile`
and cross-checks what one section says about another.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, field_validator

from bot.core.messages import t
from bot.core.regions import Level
from bot.core.text import normalise
from bot.core.windows import Window, parse_window

Kind = Literal["problem", "suggestion", "sentiment"]
KINDS: tuple[Kind, ...] = ("problem", "suggestion", "sentiment")
Priority = Literal["urgent", "normal"]


def _window(value: Any) -> Window:
    if isinstance(value, Window):
        return value
    if isinstance(value, int | str):
        try:
            return parse_window(str(value))
        except ValueError:
            pass
    raise ValueError(t("rules_check.bad_window", value=value))


WindowField = Annotated[Window, PlainValidator(_window)]


def _weighted(value: Any) -> dict[str, float]:
    """Accept ``[w1, w2]``, ``{w1: 2, w2: 1}`` or ``[w1, {w2: 2}]``; normalise the words."""
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                items.extend(item.items())
            else:
                items.append((item, 1.0))
    else:
        raise ValueError(t("rules_check.bad_keywords"))
    out: dict[str, float] = {}
    for word, weight in items:
        if not isinstance(word, str | int) or not normalise(str(word)):
            raise ValueError(t("rules_check.empty_keyword", word=word))
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise ValueError(t("rules_check.bad_weight", word=word))
        out[normalise(str(word))] = float(weight)
    return out


def _words(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(w, str | int) for w in value):
        raise ValueError(t("rules_check.want_words"))
    return [normalise(str(w)) for w in value if normalise(str(w))]


Keywords = Annotated[dict[str, float], PlainValidator(_weighted)]
Words = Annotated[list[str], PlainValidator(_words)]
Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlaClass(_Model):
    """How fast a class of reports must be signed for, resolved (and suggestions answered)."""

    name: str = ""
    sign_for: WindowField
    resolve: WindowField
    reply: WindowField = Window(10, "workdays")


class Reminders(_Model):
    """Fractions of a window at which the handler is reminded."""

    thresholds: list[float] = [0.5, 0.8]

    @field_validator("thresholds")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 < x < 1 for x in v) or v != sorted(set(v)):
            raise ValueError(t("rules_check.bad_thresholds"))
        return v


class Escalation(_Model):
    """What happens to an overdue report: who supervises it (督办) and when."""

    escalate_after: WindowField = Window(1, "workdays")
    to: Ident | None = None
    leaders: bool = True


class Department(_Model):
    """A department type and the levels of government at which it exists."""

    id: Ident
    name: str = Field(min_length=1)
    levels: list[Level] = Field(min_length=1)
    aliases: Words = []  # how reports name it (住建, 城管, 派出所): strong cues, like its name


class Tag(_Model):
    """A topic a report can carry, fired by its keywords unless a negative keyword is present."""

    id: Ident
    name: str = Field(min_length=1)
    keywords: Keywords
    context_keywords: Keywords = {}  # places and people: count only when a keyword fired
    negative_keywords: Words = []
    priority: Priority | None = None
    sla: Ident | None = None


class Rule(_Model):
    """Send reports whose tags/keywords match to a department, with an SLA class."""

    id: Ident
    description: str = ""
    department: Ident
    tags: list[Ident] = []
    all_tags: list[Ident] = []
    keywords: Keywords = {}
    negative_keywords: Words = []
    regions: list[str] = []
    kinds: list[Kind] = []
    weight: float = Field(default=1.0, gt=0)
    sla: Ident = "normal"
    priority: Priority = "normal"


class LearnedModel(_Model):
    """The learned word weights consulted next to the rules, and what their labels mean."""

    file: str
    weight: float = Field(default=1.0, ge=0)
    full_weight_words: int = Field(default=1, ge=1)
    labels: dict[str, list[Ident]]
    # Per label: how much of its support its first department gets when no rule chose any
    # department of its family (the model deciding alone); 1 by default.
    alone: dict[str, float] = {}
    # The department-level model over characters trained on observer reports (obsbot model
    # train), added with this weight; absent: not used.
    observer_file: str | None = None
    observer_weight: float = Field(default=0.0, ge=0)


class RoutingParams(_Model):
    """Thresholds of the router: below ``min_score`` or within ``margin`` -> dispatch."""

    min_score: float = Field(default=1.0, ge=0)
    margin: float = Field(default=0.0, ge=0)


class UrgencyParams(_Model):
    """The life-safety detector (bot/core/urgency.py): on or off, its tag, SLA class and hint."""

    detector: bool = True
    tag: Ident | None = None  # shown on urgent reports (and only on them)
    sla: Ident = "urgent"
    department_hint: float = Field(default=2.0, ge=0)  # score for the family's department
    department_name: float = Field(default=3.0, ge=0)  # score of a department named in the text


class KindCues(_Model):
    """Weighted cue words of each kind of report; the heaviest kind wins, ties go to problem."""

    problem: Keywords = {}
    suggestion: Keywords = {}
    sentiment: Keywords = {}
    incidents: Words = []  # a concrete incident: the report stays a problem whatever worry words


class RulesFile(_Model):
    """The whole of ``routing_rules.yaml`` as written."""

    version: int = 1
    timezone: str = "Asia/Shanghai"
    close_of_business: str = "18:00"
    holiday_file: str | None = None
    dispatch: Ident
    sla_classes: dict[Ident, SlaClass]
    reminders: Reminders = Reminders()
    escalation: Escalation = Escalation()
    routing: RoutingParams = RoutingParams()
    kinds: KindCues = KindCues()
    urgency: UrgencyParams = UrgencyParams()
    model: LearnedModel | None = None
    departments: list[Department] = Field(min_length=1)
    tags: list[Tag] = []
    rules: list[Rule] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(t("rules_check.bad_zone", zone=v)) from None
        return v

    @field_validator("close_of_business")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(v)):
            raise ValueError(t("rules_check.bad_close", value=v))
        return v
