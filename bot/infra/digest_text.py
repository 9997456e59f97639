"""The weekly digest as one Chinese message a leader reads in a minute on a phone.

It answers the leader's questions in order: better or worse than last week (each headline
figure with its change), what to chase (red cards 督办 and the longest overdue), who is worst
(departments by on-time rate, worst first: the worst five and one line for the rest), and what
people talk about (hot topics and keywords). Every ratio is defined where it first appears.
The text always fits one Telegram message (under 4,096 characters): lists are shortened until
it does; the full lists are in the workbook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.core.digest_types import Digest, Tally
from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.core.rules import RuleSet
from bot.infra.digest_format import (
    count_change,
    duration_words,
    local_time,
    rate,
    rate_change,
    region_label,
)

TEXT_BUDGET = 3900  # under Telegram's 4,096 with room to spare
SECTION_LIMITS = {
    "red": 5,
    "overdue": 5,
    "regions": 8,
    "departments": 5,
    "sentiment": 3,
    "suggest": 3,
}


def render_text(digest: Digest, rules: RuleSet, *, budget: int = TEXT_BUDGET) -> str:
    """Return the digest as one Chinese message, shortened until it fits ``budget``."""
    limits = dict(SECTION_LIMITS)
    while True:
        # Masked before it is measured: a masked number must not be cut by the budget.
        text = mask_personal_numbers("\n".join(_compose(digest, rules, limits)))
        if len(text) <= budget or all(value == 0 for value in limits.values()):
            return text[:budget]
        longest = max(limits, key=lambda key: limits[key])
        limits[longest] = max(0, limits[longest] // 2)


def _capped(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], t("digest.more", count=len(lines) - limit)]


def _compose(digest: Digest, rules: RuleSet, limits: dict[str, int]) -> list[str]:
    """Return the message's lines, each list cut at its limit."""
    tz = digest.week.start.tzinfo
    assert tz is not None
    days = digest.week.days()
    lines = [
        t("digest.title", scope=region_label(digest.scope)),
        t(
            "digest.period",
            week=digest.week.label,
            first=f"{days[0].month}月{days[0].day}日",
            last=f"{days[-1].month}月{days[-1].day}日",
            as_of=local_time(digest.as_of, tz),
        ),
        *_overview(digest),
        *_red_cards(digest, rules, limits["red"]),
        *_overdue(digest, rules, limits["overdue"]),
        *_regions(digest, limits["regions"]),
        *_departments(digest, rules, limits["departments"]),
        *_topics(digest),
        *_stations(digest),
        *_sentiment(digest, limits["sentiment"]),
        *_suggestions(digest, rules, limits["suggest"]),
        "",
        t("digest.footer"),
    ]
    return lines


def _overview(digest: Digest) -> list[str]:
    """Return the headline figures, each with its change from last week."""
    total, before = digest.total, digest.previous
    lines = [
        "",
        t("digest.section_overview"),
        t(
            "digest.overview",
            new=total.new,
            d_new=count_change(total.new, before.new if before else None),
            problems=total.new_by_kind.get("problem", 0),
            suggestions=total.new_by_kind.get("suggestion", 0),
            sentiments=total.new_by_kind.get("sentiment", 0),
            signed=total.signed,
            d_signed=count_change(total.signed, before.signed if before else None),
            resolved=total.resolved,
            d_resolved=count_change(total.resolved, before.resolved if before else None),
            open=total.open,
            d_open=count_change(total.open, before.open if before else None),
            overdue_now=total.overdue_now,
            d_overdue=count_change(total.overdue_now, before.overdue_now if before else None),
            overdue_week=total.overdue_in_week,
            sign_rate=rate(total.sign_rate),
            d_sign_rate=rate_change(total.sign_rate, before.sign_rate if before else None),
            sign_due=total.sign_due,
            sign_on_time=total.sign_on_time,
            resolve_rate=rate(total.resolve_rate),
            d_resolve_rate=rate_change(total.resolve_rate, before.resolve_rate if before else None),
            resolve_due=total.resolve_due,
            resolve_on_time=total.resolve_on_time,
            sign_median=duration_words(digest.sign_hours[0]),
            sign_p90=duration_words(digest.sign_hours[1]),
            resolve_median=duration_words(digest.resolve_hours[0]),
            resolve_p90=duration_words(digest.resolve_hours[1]),
        ),
    ]
    if total.issues != total.new:  # some reports were joined: the same issue counts once
        lines.append(t("digest.same_issue", issues=total.issues, reports=total.new))
    rated = sum(digest.ratings.values())
    if rated:
        lines.append(
            t(
                "digest.satisfaction",
                rated=rated,
                satisfied=rate(digest.rating_share("satisfied")),
                basic=rate(digest.rating_share("basic")),
                unsatisfied=rate(digest.rating_share("unsatisfied")),
                reopened=digest.reopened,
            )
        )
    else:
        lines.append(t("digest.no_ratings", reopened=digest.reopened))
    return lines


def _red_cards(digest: Digest, rules: RuleSet, limit: int) -> list[str]:
    """Return the red cards of the week and their reports."""
    count = len(digest.red_cards)
    change = count_change(count, digest.red_cards_previous if digest.previous else None)
    lines = ["", t("digest.section_red")]
    if not count:
        return [*lines, t("digest.no_red", change=change)]
    lines.append(t("digest.red_summary", count=count, change=change))
    tz = digest.week.start.tzinfo
    assert tz is not None
    items = [
        t(
            "digest.red_line",
            index=index,
            number=card.number,
            department=rules.department_name(card.department),
            region=region_label(card.region_code),
            stage=t(f"digest.stage_{card.stage}"),
            fired=local_time(card.fired_at, tz),
            status=t(f"status.{card.status}"),
        )
        for index, card in enumerate(digest.red_cards, start=1)
    ]
    return lines + _capped(items, limit)


def _overdue(digest: Digest, rules: RuleSet, limit: int) -> list[str]:
    """Return the longest overdue reports."""
    lines = ["", t("digest.section_overdue")]
    items = [
        t(
            "digest.overdue_line",
            index=index,
            number=item.number,
            department=rules.department_name(item.department),
            region=region_label(item.region_code),
            duration=duration_words(item.days * 24),
            stage=t(f"digest.stage_{item.stage}"),
        )
        for index, item in enumerate(digest.all_overdue[:limit], start=1)
    ]
    if len(digest.all_overdue) > len(items):
        items.append(t("digest.more", count=len(digest.all_overdue) - len(items)))
    return lines + (items or [t("digest.no_overdue")])


def _slice_line(name: str, tally: Tally) -> str:
    return t(
        "digest.slice_line",
        name=name,
        new=tally.new,
        open=tally.open,
        overdue=tally.overdue_now,
        resolve_rate=rate(tally.resolve_rate),
    )


def _regions(digest: Digest, limit: int) -> list[str]:
    """Return the breakdown by region (or, for a county, by station), most reports first."""
    if digest.by_region:
        regions = sorted(digest.by_region.items(), key=lambda kv: (-kv[1].new, kv[0]))
        lines = [_slice_line(region_label(code), tally) for code, tally in regions]
        return ["", t("digest.section_regions"), *_capped(lines, limit)]
    if digest.by_station:
        names = {s.code: s.name for s in digest.stations}
        ranked = sorted(digest.by_station.items(), key=lambda kv: (-kv[1].new, kv[0]))
        lines = [_slice_line(names.get(code, code), tally) for code, tally in ranked]
        return ["", t("digest.section_stations_breakdown"), *_capped(lines, limit)]
    return []


def _departments(digest: Digest, rules: RuleSet, limit: int) -> list[str]:
    """Return departments worst first (on-time rate, then overdue) and one line for the rest."""
    if not digest.by_department:
        return []
    ranked = list(digest.by_department.items())
    lines = ["", t("digest.section_departments"), t("digest.on_time_defined")]
    for index, (department, tally) in enumerate(ranked[:limit], start=1):
        lines.append(
            t(
                "digest.department_line" if tally.due else "digest.department_line_no_data",
                index=index,
                name=rules.department_name(department),
                rate=rate(tally.on_time_rate),
                on_time=tally.sign_on_time + tally.resolve_on_time,
                due=tally.due,
                overdue=tally.overdue_now,
                new=tally.new,
                transfers=digest.transfers.get(department, 0),
                returns=digest.returns.get(department, 0),
            )
        )
    rest = [tally for _, tally in ranked[limit:]]
    if rest:
        rates = [tally.on_time_rate for tally in rest if tally.on_time_rate is not None]
        lines.append(
            t(
                "digest.departments_rest",
                count=len(rest),
                low=rate(min(rates)) if rates else t("digest.none_rate"),
                high=rate(max(rates)) if rates else t("digest.none_rate"),
                overdue=sum(tally.overdue_now for tally in rest),
                no_data=len(rest) - len(rates),
            )
        )
    return lines


def _topic_items(topics: Iterable[Any]) -> str:
    return "、".join(t("digest.topic_item", name=x.key, count=x.count) for x in topics)


def _topics(digest: Digest) -> list[str]:
    """Return the hot topics, keywords and rising ones."""
    if not (digest.top_tags or digest.top_keywords):
        return []
    lines = ["", t("digest.section_topics")]
    if digest.top_tags:
        lines.append(t("digest.top_tags", items=_topic_items(digest.top_tags[:5])))
    if digest.top_keywords:
        lines.append(t("digest.top_keywords", items=_topic_items(digest.top_keywords[:8])))
    if digest.rising:
        rising = "、".join(
            t("digest.rising_item", name=x.key, count=x.count, baseline=f"{x.baseline:.1f}")
            for x in digest.rising[:3]
        )
        lines.append(t("digest.rising", items=rising))
    return lines


def _stations(digest: Digest) -> list[str]:
    """Return how many stations reported, the silent ones and the most active."""
    silent = digest.silent_stations
    examples = (
        t("digest.silent_examples", names="、".join(s.name for s in silent[:3])) if silent else ""
    )
    lines = [
        "",
        t("digest.section_stations"),
        t(
            "digest.stations",
            active=len(digest.stations) - len(silent),
            total=len(digest.stations),
            silent=len(silent),
            examples=examples,
        ),
    ]
    active = [s for s in digest.stations if s.sent][:3]
    if active:
        items = "、".join(
            t("digest.station_item", name=s.name, sent=s.sent, accepted=rate(s.accepted_share))
            for s in active
        )
        lines.append(t("digest.most_active", items=items))
    return lines


def _sentiment(digest: Digest, limit: int) -> list[str]:
    """Return the 社情民意 groups with one representative line each."""
    groups = [
        t(
            "digest.sentiment_group",
            topic=group.topic or t("digest.sentiment_other"),
            count=group.count,
            line=group.lines[0] if group.lines else "",
        )
        for group in digest.sentiment
    ]
    return [
        "",
        t("digest.section_sentiment"),
        *(_capped(groups, limit) or [t("digest.no_sentiment")]),
    ]


def _suggestions(digest: Digest, rules: RuleSet, limit: int) -> list[str]:
    """Return the week's suggestions and their answers."""
    if not digest.suggestions:
        return []
    answered = sum(1 for s in digest.suggestions if s.reply)
    lines = [
        "",
        t("digest.section_suggestions"),
        t("digest.suggestions", count=len(digest.suggestions), answered=answered),
    ]
    items = [
        t(
            "digest.suggestion_line",
            number=s.number,
            department=rules.department_name(s.department),
            text=s.text[:30],
            reply=(s.reply or t("digest.not_answered"))[:30],
        )
        for s in digest.suggestions
    ]
    return lines + _capped(items, limit)
