"""The weekly digest as a leader receives it: a short Chinese text, a PNG chart, an XLSX workbook.

The text is read in a minute on a phone and always fits one Telegram message (under 4,096
characters): it shows the headline figures and the top of each list; the full lists go in the
workbook. The chart is drawn with matplotlib's object API (no pyplot global state) in Noto Sans
CJK SC, which the ``noto-cjk-sans-otc`` dependency installs; with no CJK font at all the chart
is refused with ``FontMissing`` rather than drawn as boxes.

Errors::

    ObserverBotError
    └── ConfigError
        └── FontMissing       no font with Chinese glyphs: install the project's dependencies
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.digest import Digest, Tally, TimelineRow
from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.core.regions import is_well_formed, name_of
from bot.core.rules import RuleSet
from bot.errors import ConfigError
from bot.infra.xlsx_writer import XlsxWriter

log = logging.getLogger(__name__)

TEXT_BUDGET = 3900  # under Telegram's 4,096 with room to spare
CHART_SIZE_PX = (1600, 900)
CHART_DPI = 100
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)
STATUS_ORDER = ("routed", "dispatch", "signed", "resolved", "closed", "recorded")
STATUS_COLOURS = {
    "routed": "#f4a261",
    "dispatch": "#e76f51",
    "signed": "#2a9d8f",
    "resolved": "#8ab17d",
    "closed": "#264653",
    "recorded": "#a8a8a8",
}
SECTION_LIMITS = {"overdue": 10, "regions": 8, "departments": 8, "sentiment": 5, "suggest": 5}


class FontMissing(ConfigError):
    """No font with Chinese glyphs is installed, so the chart cannot be drawn legibly."""


@dataclass(frozen=True, slots=True)
class DigestFiles:
    """Where one digest was written."""

    text: Path
    chart: Path
    workbook: Path


# --- names and numbers -----------------------------------------------------------------------


def region_label(code: str) -> str:
    """Return a short Chinese name for a region or town code (the code if unknown)."""
    if not code or not is_well_formed(code):
        return code
    return name_of(code) or name_of(code[:6]) or code


def _rate(value: float | None) -> str:
    return t("digest.none_rate") if value is None else f"{value:.0%}"


def _duration(hours: float | None) -> str:
    if hours is None:
        return t("digest.none_rate")
    if hours >= 48:
        return t("digest.days", value=f"{hours / 24:.1f}")
    return t("digest.hours", value=f"{hours:.1f}")


def _local(moment: dt.datetime | None, tz: dt.tzinfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _capped(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], t("digest.more", count=len(lines) - limit)]


# --- text ------------------------------------------------------------------------------------


def render_text(digest: Digest, rules: RuleSet, *, budget: int = TEXT_BUDGET) -> str:
    """Return the digest as one Chinese message, shortened until it fits ``budget``."""
    limits = dict(SECTION_LIMITS)
    while True:
        text = mask_personal_numbers(_compose_text(digest, rules, limits))
        if len(text) <= budget or all(value == 0 for value in limits.values()):
            return text[:budget]
        longest = max(limits, key=lambda key: limits[key])
        limits[longest] = max(0, limits[longest] // 2)


def _compose_text(digest: Digest, rules: RuleSet, limits: dict[str, int]) -> str:
    tz = digest.week.start.tzinfo
    assert tz is not None
    total = digest.total
    days = digest.week.days()
    lines = [
        t("digest.title", scope=region_label(digest.scope)),
        t(
            "digest.period",
            week=digest.week.label,
            first=f"{days[0].month}月{days[0].day}日",
            last=f"{days[-1].month}月{days[-1].day}日",
            as_of=_local(digest.as_of, tz),
        ),
        "",
        t("digest.section_overview"),
        t(
            "digest.overview",
            new=total.new,
            problems=total.new_by_kind.get("problem", 0),
            suggestions=total.new_by_kind.get("suggestion", 0),
            sentiments=total.new_by_kind.get("sentiment", 0),
            signed=total.signed,
            resolved=total.resolved,
            open=total.open,
            overdue_now=total.overdue_now,
            overdue_week=total.overdue_in_week,
            sign_rate=_rate(total.sign_rate),
            resolve_rate=_rate(total.resolve_rate),
            sign_median=_duration(digest.sign_hours[0]),
            sign_p90=_duration(digest.sign_hours[1]),
            resolve_median=_duration(digest.resolve_hours[0]),
            resolve_p90=_duration(digest.resolve_hours[1]),
        ),
    ]
    rated = sum(digest.ratings.values())
    if rated:
        lines.append(
            t(
                "digest.satisfaction",
                rated=rated,
                satisfied=_rate(digest.rating_share("satisfied")),
                basic=_rate(digest.rating_share("basic")),
                unsatisfied=_rate(digest.rating_share("unsatisfied")),
                reopened=digest.reopened,
            )
        )
    else:
        lines.append(t("digest.no_ratings", reopened=digest.reopened))

    lines += ["", t("digest.section_overdue")]
    overdue = [
        t(
            "digest.overdue_line",
            index=index,
            number=item.number,
            department=rules.department_name(item.department),
            region=region_label(item.region_code),
            days=f"{item.days:.1f}",
            stage=t(f"digest.stage_{item.stage}"),
        )
        for index, item in enumerate(digest.longest_overdue[: limits["overdue"]], start=1)
    ]
    if digest.all_overdue and len(overdue) < len(digest.all_overdue):
        overdue.append(t("digest.more", count=len(digest.all_overdue) - len(overdue)))
    lines += overdue or [t("digest.no_overdue")]

    if digest.by_region:
        lines += ["", t("digest.section_regions")]
        regions = sorted(digest.by_region.items(), key=lambda kv: (-kv[1].new, kv[0]))
        lines += _capped(
            [_slice_line(region_label(code), tally) for code, tally in regions],
            limits["regions"],
        )
    elif digest.by_station:
        # A county has no regions below it that we name: break it down by station instead.
        names = {s.code: s.name for s in digest.stations}
        lines += ["", t("digest.section_stations_breakdown")]
        ranked = sorted(digest.by_station.items(), key=lambda kv: (-kv[1].new, kv[0]))
        lines += _capped(
            [_slice_line(names.get(code, code), tally) for code, tally in ranked],
            limits["regions"],
        )

    if digest.by_department:
        lines += ["", t("digest.section_departments")]
        lines += _capped(
            [
                t(
                    "digest.department_line",
                    name=rules.department_name(department),
                    new=tally.new,
                    overdue=tally.overdue_now,
                    sign_rate=_rate(tally.sign_rate),
                    resolve_rate=_rate(tally.resolve_rate),
                    transfers=digest.transfers.get(department, 0),
                    returns=digest.returns.get(department, 0),
                )
                for department, tally in digest.by_department.items()
            ],
            limits["departments"],
        )

    if digest.top_tags or digest.top_keywords:
        lines += ["", t("digest.section_topics")]
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

    lines += ["", t("digest.section_stations")]
    silent = digest.silent_stations
    examples = (
        t("digest.silent_examples", names="、".join(s.name for s in silent[:3])) if silent else ""
    )
    lines.append(
        t(
            "digest.stations",
            active=len(digest.stations) - len(silent),
            total=len(digest.stations),
            silent=len(silent),
            examples=examples,
        )
    )
    active = [s for s in digest.stations if s.sent][:3]
    if active:
        items = "、".join(
            t("digest.station_item", name=s.name, sent=s.sent, accepted=_rate(s.accepted_share))
            for s in active
        )
        lines.append(t("digest.most_active", items=items))

    lines += ["", t("digest.section_sentiment")]
    groups = [
        t(
            "digest.sentiment_group",
            topic=group.topic or t("digest.sentiment_other"),
            count=group.count,
            line=group.lines[0] if group.lines else "",
        )
        for group in digest.sentiment
    ]
    lines += _capped(groups, limits["sentiment"]) or [t("digest.no_sentiment")]

    if digest.suggestions:
        answered = sum(1 for s in digest.suggestions if s.reply)
        lines += [
            "",
            t("digest.section_suggestions"),
            t("digest.suggestions", count=len(digest.suggestions), answered=answered),
        ]
        lines += _capped(
            [
                t(
                    "digest.suggestion_line",
                    number=s.number,
                    department=rules.department_name(s.department),
                    text=s.text[:30],
                    reply=(s.reply or t("digest.not_answered"))[:30],
                )
                for s in digest.suggestions
            ],
            limits["suggest"],
        )
    lines += ["", t("digest.footer")]
    return "\n".join(lines)


def _slice_line(name: str, tally: Tally) -> str:
    return t(
        "digest.slice_line",
        name=name,
        new=tally.new,
        open=tally.open,
        overdue=tally.overdue_now,
        resolve_rate=_rate(tally.resolve_rate),
    )


def _topic_items(topics: Iterable[Any]) -> str:
    return "、".join(t("digest.topic_item", name=x.key, count=x.count) for x in topics)


# --- chart -----------------------------------------------------------------------------------


@functools.cache
def cjk_font() -> str:
    """Return the family name of an installed font with Chinese glyphs, or raise FontMissing."""
    from matplotlib import font_manager

    try:
        import noto_cjk_sans_otc  # type: ignore[import-untyped]

        path = Path(str(noto_cjk_sans_otc.FONT_PATH))
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
    except ImportError:
        log.warning("font package noto-cjk-sans-otc is not installed; looking for system fonts")
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    raise FontMissing(
        "no Chinese (CJK) font found for the digest chart: reinstall the project "
        "(pip install -e . installs noto-cjk-sans-otc) or install fonts-noto-cjk"
    )


def render_chart(digest: Digest, rules: RuleSet, path: Path) -> Path:
    """Draw reports per day by status and on-time rates by department; write a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = cjk_font()
    width, height = CHART_SIZE_PX
    rc: Any = {"font.family": family, "axes.unicode_minus": False, "font.size": 13}
    import matplotlib

    with matplotlib.rc_context(rc):
        figure = Figure(figsize=(width / CHART_DPI, height / CHART_DPI), dpi=CHART_DPI)
        FigureCanvasAgg(figure)
        daily_axes, rate_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        figure.suptitle(
            t("digest.chart_title", scope=region_label(digest.scope), week=digest.week.label),
            fontsize=18,
        )
        _draw_daily(daily_axes, digest)
        _draw_rates(rate_axes, digest, rules)
        # Fixed margins: tight_layout would measure every label (half the chart's time).
        figure.subplots_adjust(left=0.05, right=0.98, top=0.86, bottom=0.1, wspace=0.32)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png", dpi=CHART_DPI)
    return path


def _draw_daily(axes: Any, digest: Digest) -> None:
    days = list(digest.daily)
    labels = [f"{day.month}/{day.day}\n{'一二三四五六日'[day.weekday()]}" for day in days]
    bottoms = [0] * len(days)
    for status in STATUS_ORDER:
        heights = [digest.daily[day].get(status, 0) for day in days]
        if not any(heights):
            continue
        axes.bar(
            labels,
            heights,
            bottom=bottoms,
            label=t(f"status.{status}"),
            color=STATUS_COLOURS[status],
        )
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    from matplotlib.ticker import MaxNLocator

    axes.set_title(t("digest.chart_daily"))
    axes.set_ylabel(t("digest.chart_count"))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if any(bottoms):
        axes.set_ylim(0, max(bottoms) * 1.25)
        axes.legend(loc="upper center", fontsize=11, ncol=3, frameon=False)
    else:
        axes.text(0.5, 0.5, t("digest.chart_empty"), ha="center", transform=axes.transAxes)


def _draw_rates(axes: Any, digest: Digest, rules: RuleSet) -> None:
    rows = [
        (rules.department_name(dept), tally)
        for dept, tally in digest.by_department.items()
        if tally.sign_due or tally.resolve_due
    ][:12]
    axes.set_title(t("digest.chart_rates"))
    if not rows:
        axes.text(0.5, 0.5, t("digest.chart_empty"), ha="center", transform=axes.transAxes)
        axes.set_yticks([])
        return
    rows.reverse()
    positions = list(range(len(rows)))
    sign = [100 * (tally.sign_rate or 0) for _, tally in rows]
    resolve = [100 * (tally.resolve_rate or 0) for _, tally in rows]
    axes.barh([p + 0.2 for p in positions], sign, height=0.4, label=t("digest.chart_sign"))
    axes.barh([p - 0.2 for p in positions], resolve, height=0.4, label=t("digest.chart_resolve"))
    axes.set_yticks(positions, [name for name, _ in rows])
    axes.set_xlim(0, 105)
    axes.set_xlabel(t("digest.chart_rate"))
    axes.legend(loc="lower right", fontsize=11)


# --- workbook --------------------------------------------------------------------------------

Column = tuple[str, float, Callable[[Any], Any]]


def _naive(moment: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    """Return local wall time without a zone (Excel has no time zones)."""
    return moment.astimezone(tz).replace(tzinfo=None) if moment is not None else None


def _hours(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _write_sheet(
    writer: XlsxWriter, title: str, columns: Sequence[Column], items: Iterable[Any]
) -> None:
    getters = [getter for _, _, getter in columns]
    wrap = [i for i, (name, _, _) in enumerate(columns) if name == t("digest.col_lines")]
    writer.add_sheet(
        title,
        [name for name, _, _ in columns],
        [width for _, width, _ in columns],
        ([getter(item) for getter in getters] for item in items),
        wrap=wrap,
    )


def render_workbook(digest: Digest, rules: RuleSet, path: Path) -> Path:
    """Write the workbook: summary, every report with its timeline, lists, one sheet per dept."""
    tz = digest.week.start.tzinfo
    assert tz is not None
    with XlsxWriter(path) as workbook:
        _write_sheets(workbook, digest, rules, tz)
    return path


def _write_rendered(
    writer: XlsxWriter, title: str, columns: Sequence[Column], rows: Iterable[str]
) -> None:
    writer.add_sheet(title, [n for n, _, _ in columns], [w for _, w, _ in columns], rows)


def _write_sheets(workbook: XlsxWriter, digest: Digest, rules: RuleSet, tz: dt.tzinfo) -> None:
    _write_sheet(
        workbook,
        t("digest.sheet_summary"),
        [(t("digest.col_item"), 28, lambda r: r[0]), (t("digest.col_value"), 40, lambda r: r[1])],
        _summary_rows(digest, rules),
    )
    _write_sheet(
        workbook,
        t("digest.sheet_summary") + "-" + t("digest.col_department"),
        _tally_columns(t("digest.col_department")),
        [(rules.department_name(d), tally) for d, tally in digest.by_department.items()],
    )
    if digest.by_region:
        _write_sheet(
            workbook,
            t("digest.sheet_summary") + "-" + t("digest.col_region"),
            _tally_columns(t("digest.col_region")),
            [(region_label(code), tally) for code, tally in digest.by_region.items()],
        )
    stations = {s.code: s.name for s in digest.stations}
    _write_sheet(
        workbook,
        t("digest.sheet_summary") + "-" + t("digest.col_station"),
        _tally_columns(t("digest.col_station")),
        [(stations.get(code, code), tally) for code, tally in digest.by_station.items()],
    )
    timeline = _timeline_columns(rules, tz, stations)
    getters = [getter for _, _, getter in timeline]
    # Each report's row is rendered once and reused on its department's sheet.
    rendered = {
        item.report.id: XlsxWriter.render_row([getter(item) for getter in getters])
        for item in digest.timeline
    }
    _write_rendered(workbook, t("digest.sheet_reports"), timeline, rendered.values())
    _write_sheet(
        workbook,
        t("digest.sheet_overdue"),
        [
            (t("digest.col_number"), 20, lambda o: o.number),
            (t("digest.col_department"), 16, lambda o: rules.department_name(o.department)),
            (t("digest.col_region"), 12, lambda o: region_label(o.region_code)),
            (t("digest.col_stage"), 10, lambda o: t(f"digest.stage_{o.stage}")),
            (t("digest.col_due"), 18, lambda o: _naive(o.due_at, tz)),
            (t("digest.col_days_overdue"), 10, lambda o: round(o.days, 1)),
            (t("digest.col_text"), 60, lambda o: o.text),
        ],
        digest.all_overdue,
    )
    _write_sheet(
        workbook,
        t("digest.sheet_stations"),
        [
            (t("digest.col_station"), 30, lambda s: s.name),
            (t("digest.col_region"), 12, lambda s: region_label(s.region_code)),
            (t("digest.col_sent"), 10, lambda s: s.sent),
            (t("digest.col_routed"), 12, lambda s: s.routed),
            (t("digest.col_returned"), 12, lambda s: s.returned),
            (t("digest.col_accepted"), 10, lambda s: _percent(s.accepted_share)),
        ],
        digest.stations,
    )
    _write_sheet(
        workbook,
        t("digest.sheet_sentiment"),
        [
            (t("digest.col_topic"), 16, lambda g: g.topic or t("digest.sentiment_other")),
            (t("digest.col_count"), 8, lambda g: g.count),
            (t("digest.col_lines"), 90, lambda g: "\n".join(g.lines)),
        ],
        digest.sentiment,
    )
    _write_sheet(
        workbook,
        t("digest.sheet_suggestions"),
        [
            (t("digest.col_number"), 20, lambda s: s.number),
            (t("digest.col_department"), 16, lambda s: rules.department_name(s.department)),
            (t("digest.col_status"), 12, lambda s: t(f"status.{s.status}")),
            (t("digest.col_text"), 50, lambda s: s.text),
            (t("digest.col_reply"), 50, lambda s: s.reply or ""),
            (t("digest.col_replied_at"), 18, lambda s: _naive(s.replied_at, tz)),
        ],
        digest.suggestions,
    )
    by_department: dict[str, list[TimelineRow]] = {}
    for item in digest.timeline:
        by_department.setdefault(item.report.department, []).append(item)
    for department in sorted(by_department, key=lambda d: -len(by_department[d])):
        _write_rendered(
            workbook,
            rules.department_name(department),
            timeline,
            (rendered[item.report.id] for item in by_department[department]),
        )


def _percent(value: float | None) -> float | None:
    return round(100 * value, 1) if value is not None else None


def _tally_columns(first: str) -> list[Column]:
    return [
        (first, 20, lambda r: r[0]),
        (t("digest.col_new"), 8, lambda r: r[1].new),
        (t("digest.col_signed_count"), 8, lambda r: r[1].signed),
        (t("digest.col_resolved_count"), 8, lambda r: r[1].resolved),
        (t("digest.col_open"), 8, lambda r: r[1].open),
        (t("digest.col_overdue_count"), 10, lambda r: r[1].overdue_now),
        (t("digest.col_overdue_week"), 12, lambda r: r[1].overdue_in_week),
        (t("digest.col_sign_rate"), 12, lambda r: _percent(r[1].sign_rate)),
        (t("digest.col_resolve_rate"), 12, lambda r: _percent(r[1].resolve_rate)),
    ]


def _timeline_columns(rules: RuleSet, tz: dt.tzinfo, stations: dict[str, str]) -> list[Column]:
    names: dict[str, str] = {}  # catalogue and rules look-ups, once per distinct value

    def name(kind: str, value: str | None) -> str:
        key = f"{kind}.{value}"
        found = names.get(key)
        if found is None:
            if kind == "department":
                found = rules.department_name(value or "")
            elif kind == "region":
                found = region_label(value or "")
            elif kind == "tag":
                found = rules.tags[value].name if value in rules.tags else value or ""
            elif kind == "priority":
                found = _priority(value or "")
            else:
                found = t(key) if value else ""
            names[key] = found
        return found

    def flag(value: bool | None) -> str:
        return name("flag", "yes" if value else "no") if value is not None else ""

    names["flag.yes"], names["flag.no"] = t("digest.flag_yes"), t("digest.flag_no")
    return [
        (t("digest.col_number"), 20, lambda i: i.report.number),
        (t("digest.col_kind"), 10, lambda i: name("kind", i.report.kind)),
        (t("digest.col_status"), 14, lambda i: name("status", i.report.status)),
        (t("digest.col_priority"), 8, lambda i: name("priority", i.report.priority)),
        (t("digest.col_department"), 16, lambda i: name("department", i.report.department)),
        (t("digest.col_region"), 12, lambda i: name("region", i.report.region_code)),
        (
            t("digest.col_station"),
            26,
            lambda i: stations.get(i.report.station_code, i.report.station_code),
        ),
        (t("digest.col_tags"), 16, lambda i: "、".join(name("tag", tag) for tag in i.report.tags)),
        (t("digest.col_text"), 50, lambda i: _summary(i.report.text)),
        (t("digest.col_created"), 18, lambda i: _naive(i.report.created_at, tz)),
        (t("digest.col_sign_due"), 18, lambda i: _naive(i.report.sign_due_at, tz)),
        (t("digest.col_signed"), 18, lambda i: _naive(i.report.signed_at, tz)),
        (t("digest.col_sign_on_time"), 10, lambda i: flag(i.sign_on_time)),
        (t("digest.col_resolve_due"), 18, lambda i: _naive(i.report.resolve_due_at, tz)),
        (t("digest.col_resolved"), 18, lambda i: _naive(i.report.resolved_at, tz)),
        (t("digest.col_resolve_on_time"), 10, lambda i: flag(i.resolve_on_time)),
        (t("digest.col_closed"), 18, lambda i: _naive(i.report.closed_at, tz)),
        (t("digest.col_rating"), 10, lambda i: name("rating", i.report.rating)),
        (t("digest.col_transfers"), 10, lambda i: i.transfers),
        (t("digest.col_returns"), 10, lambda i: i.returns),
        (t("digest.col_overdue_now"), 10, lambda i: flag(i.overdue_now)),
    ]


def _priority(priority: str) -> str:
    return t("digest.priority_urgent") if priority == "urgent" else t("digest.priority_normal")


def _summary(text: str) -> str:
    flat = " ".join(mask_personal_numbers(text).split())
    return flat if len(flat) <= 200 else flat[:199] + "…"


def _summary_rows(digest: Digest, rules: RuleSet) -> list[tuple[str, Any]]:
    tz = digest.week.start.tzinfo
    assert tz is not None
    total = digest.total
    rows: list[tuple[str, Any]] = [
        (t("digest.item_week"), digest.week.label),
        (t("digest.item_scope"), region_label(digest.scope)),
        (t("digest.item_as_of"), _local(digest.as_of, tz)),
        (t("digest.col_new"), total.new),
        *((t(f"kind.{kind}"), count) for kind, count in sorted(total.new_by_kind.items())),
        (t("digest.col_signed_count"), total.signed),
        (t("digest.col_resolved_count"), total.resolved),
        (t("digest.col_open"), total.open),
        (t("digest.col_overdue_count"), total.overdue_now),
        (t("digest.col_overdue_week"), total.overdue_in_week),
        (t("digest.col_sign_rate"), _percent(total.sign_rate)),
        (t("digest.col_resolve_rate"), _percent(total.resolve_rate)),
        (t("digest.item_sign_median"), _hours(digest.sign_hours[0])),
        (t("digest.item_sign_p90"), _hours(digest.sign_hours[1])),
        (t("digest.item_resolve_median"), _hours(digest.resolve_hours[0])),
        (t("digest.item_resolve_p90"), _hours(digest.resolve_hours[1])),
        (t("digest.item_satisfied"), digest.ratings.get("satisfied", 0)),
        (t("digest.item_basic"), digest.ratings.get("basic", 0)),
        (t("digest.item_unsatisfied"), digest.ratings.get("unsatisfied", 0)),
        (t("digest.item_reopened"), digest.reopened),
    ]
    for department, count in digest.transfers.most_common():
        rows.append((f"{t('digest.item_transfers')}·{rules.department_name(department)}", count))
    for department, count in digest.returns.most_common():
        rows.append((f"{t('digest.item_returns')}·{rules.department_name(department)}", count))
    for topic in digest.top_tags:
        rows.append((f"{t('digest.col_topic')}·{topic.key}", topic.count))
    for topic in digest.top_keywords:
        rows.append((f"{t('digest.top_keywords', items=topic.key)}", topic.count))
    for topic in digest.rising:
        rows.append((t("digest.rising", items=topic.key), f"{topic.count} / {topic.baseline:.1f}"))
    # A keyword is a word of some report ("11010519491231002X" is one word to the tokenizer).
    return [(mask_personal_numbers(label), value) for label, value in rows]


# --- all three -------------------------------------------------------------------------------


def write_digest(digest: Digest, rules: RuleSet, out_dir: Path) -> DigestFiles:
    """Write the text, chart and workbook of ``digest`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"digest-{digest.scope}-{digest.week.label}"
    text_path = out_dir / f"{stem}.txt"
    text_path.write_text(render_text(digest, rules) + "\n", encoding="utf-8")
    chart = render_chart(digest, rules, out_dir / f"{stem}.png")
    workbook = render_workbook(digest, rules, out_dir / f"{stem}.xlsx")
    return DigestFiles(text_path, chart, workbook)
