"""`obsbot rules test`: one sample routed, shown as a dispatcher reads it.

Besides the decision it shows what the report would get: the level and region of the group
that receives it, its deadlines (签收时限 / 办结时限, or 答复时限 for a suggestion) counted from
now on China's working days, and a warning for an unknown region or category.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import click

from bot.cli.common import pad, say, text
from bot.core.messages import t
from bot.core.rules import KINDS, RuleSet


def show_decision(
    ruleset: RuleSet, sample: str, *, region: str | None, category: str | None
) -> None:
    """Route ``sample`` and print the decision, the deadlines it gets and any warning."""
    from bot.core.regions import full_name, is_known, is_well_formed, level_of
    from bot.core.routing import Router

    if region is not None and not (is_well_formed(region) and is_known(region)):
        say("test_unknown_region", err=True, region=region)
    if category is not None and category not in (*KINDS, *ruleset.departments):
        choices = "、".join([*KINDS, *ruleset.departments])
        say("test_unknown_category", err=True, category=category, choices=choices)
    d = Router(ruleset).route(sample, region=region, category=category)
    name = ruleset.department_name
    target = d.target_region
    where = "-"
    if target and full_name(target) is None:
        where = text("test_where_unknown", region=target)
    elif target:
        level = t(f"cli.level_{level_of(target)}")
        where = text("test_where", region=full_name(target), level=level)
    rows = [
        ("test_kind", d.kind_label),
        ("test_department", name(d.department) + (text("test_dispatched") if d.dispatched else "")),
        ("test_target", where),
        ("test_priority", text("test_urgent") if d.priority == "urgent" else text("test_normal")),
        ("test_sla", d.sla_class),
        *_deadlines(ruleset, d.kind, d.sla_class),
        ("test_rule", d.rule or "-"),
        ("test_candidates", "、".join(f"{name(c)}（{s:g}）" for c, s in d.candidates) or "-"),
        ("test_tags", "、".join(ruleset.tags[x].name if x in ruleset.tags else x for x in d.tags)),
        ("test_keywords", "、".join(w for w, _ in d.keywords) or "-"),
        ("test_explanation", d.explanation),
    ]
    for key, value in rows:
        click.echo(f"{pad(text(key), 12)}{value or '-'}")


def _deadlines(ruleset: RuleSet, kind: str, sla_class: str) -> list[tuple[str, str]]:
    """Return the deadline rows a report of ``kind`` and ``sla_class`` gets, counted from now."""
    from bot.core.deadlines import due_at
    from bot.core.workdays import WorkCalendar

    sla = ruleset.sla_classes.get(sla_class) or ruleset.sla_classes["normal"]
    if kind == "sentiment":
        return [("test_deadline", text("test_no_deadline"))]
    zone = ZoneInfo(ruleset.timezone)
    calendar = WorkCalendar.from_file(ruleset.holiday_file)
    close = dt.time.fromisoformat(ruleset.close_of_business)
    now = dt.datetime.now(zone)
    second = ("test_reply", sla.reply) if kind == "suggestion" else ("test_resolve", sla.resolve)
    out = []
    for key, window in (("test_sign", sla.sign_for), second):
        due = due_at(now, window, calendar=calendar, tz=zone, close_of_business=close)
        out.append(
            (key, text("test_due", window=window.describe_zh(), at=f"{due.at:%Y-%m-%d %H:%M}"))
        )
    return out
