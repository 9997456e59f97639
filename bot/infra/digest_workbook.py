"""The weekly digest as a workbook a clerk can filter and print, written with XlsxWriter.

Five sheets, no more:

- 汇总: laid out as a report — title, period, scope; each figure with last week beside it, the
  change and what it means; the nine-week trend as a table with a native Excel line chart; the
  regions (when the scope has them) and the hot topics;
- 明细: one row per report of the week (new, or open across it), Chinese headers, texts masked;
- 部门: departments worst first (on-time rate, then overdue), with their rates as percentages;
- 站点: every station of the scope, with its reports and tallies;
- 超期: every report overdue at the cut-off, longest first, red cards (督办) marked.

Every table has a frozen, repeated header row and an autofilter; rates are stored as fractions
with a percentage format, times as real dates to the minute; sheets print landscape on A4, one
page wide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.core.digest_types import Digest, Tally, TimelineRow
from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.core.rules import RuleSet
from bot.infra.digest_format import region_label
from bot.infra.digest_summary import write_summary
from bot.infra.xlsx_book import Book, Column, no_gc_pauses

TEXT_CHARS = 200


def masked_text(text: str, limit: int = TEXT_CHARS) -> str:
    """Return a report's text on one line, personal numbers masked, shortened to ``limit``."""
    flat = " ".join(mask_personal_numbers(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render_workbook(digest: Digest, rules: RuleSet, path: Path) -> Path:
    """Write the digest's workbook: 汇总, 明细, 部门, 站点, 超期."""
    tz = digest.week.start.tzinfo
    assert tz is not None
    with no_gc_pauses():
        _write_book(Book(path, tz), digest, rules, tz)
    return path


def _write_book(book: Book, digest: Digest, rules: RuleSet, tz: dt.tzinfo) -> None:
    """Write the five sheets into ``book`` and close it."""
    try:
        write_summary(book, digest, rules)
        red = {card.number for card in digest.red_cards}
        stations = {s.code: s.name for s in digest.stations}
        book.table(
            t("digest.sheet_reports"),
            timeline_columns(rules, tz, stations, red),
            digest.timeline,
        )
        book.table(
            t("digest.sheet_departments"),
            tally_columns(t("digest.col_department"), digest),
            [(d, rules.department_name(d), tally) for d, tally in digest.by_department.items()],
        )
        by_station = digest.by_station
        book.table(
            t("digest.sheet_stations"),
            station_columns(),
            [(s, by_station.get(s.code, Tally())) for s in digest.stations],
        )
        book.table(t("digest.sheet_overdue"), overdue_columns(rules, tz, red), digest.all_overdue)
    finally:
        book.close()


def tally_columns(first: str, digest: Digest) -> list[Column]:
    """Return the columns of a department's (or region's) figures."""
    return [
        Column(first, 20, "text", lambda r: r[1]),
        Column(t("digest.col_on_time_rate"), 10, "pct", lambda r: r[2].on_time_rate),
        Column(t("digest.col_due_count"), 10, "int", lambda r: r[2].due),
        Column(t("digest.col_overdue_count"), 10, "int", lambda r: r[2].overdue_now),
        Column(t("digest.col_new"), 8, "int", lambda r: r[2].new),
        Column(t("digest.col_signed_count"), 8, "int", lambda r: r[2].signed),
        Column(t("digest.col_resolved_count"), 8, "int", lambda r: r[2].resolved),
        Column(t("digest.col_open"), 8, "int", lambda r: r[2].open),
        Column(t("digest.col_overdue_week"), 12, "int", lambda r: r[2].overdue_in_week),
        Column(t("digest.col_sign_rate"), 12, "pct", lambda r: r[2].sign_rate),
        Column(t("digest.col_resolve_rate"), 12, "pct", lambda r: r[2].resolve_rate),
        Column(t("digest.col_transfers"), 10, "int", lambda r: digest.transfers.get(r[0], 0)),
        Column(t("digest.col_returns"), 10, "int", lambda r: digest.returns.get(r[0], 0)),
    ]


def station_columns() -> list[Column]:
    """Return the columns of the 站点 sheet (rows are (StationActivity, Tally))."""
    return [
        Column(t("digest.col_station"), 30, "text", lambda r: r[0].name),
        Column(t("digest.col_station_code"), 14, "text", lambda r: r[0].code),
        Column(t("digest.col_region"), 12, "text", lambda r: region_label(r[0].region_code)),
        Column(t("digest.col_sent"), 10, "int", lambda r: r[0].sent),
        Column(t("digest.col_routed"), 12, "int", lambda r: r[0].routed),
        Column(t("digest.col_returned"), 12, "int", lambda r: r[0].returned),
        Column(t("digest.col_accepted"), 12, "pct", lambda r: r[0].accepted_share),
        Column(t("digest.col_open"), 8, "int", lambda r: r[1].open),
        Column(t("digest.col_overdue_count"), 10, "int", lambda r: r[1].overdue_now),
        Column(t("digest.col_resolve_rate"), 12, "pct", lambda r: r[1].resolve_rate),
    ]


def overdue_columns(rules: RuleSet, tz: dt.tzinfo, red: set[str]) -> list[Column]:
    """Return the columns of the 超期 sheet."""
    yes = t("digest.flag_yes")
    return [
        Column(t("digest.col_number"), 20, "text", lambda o: o.number),
        Column(
            t("digest.col_department"), 16, "text", lambda o: rules.department_name(o.department)
        ),
        Column(t("digest.col_region"), 12, "text", lambda o: region_label(o.region_code)),
        Column(t("digest.col_stage"), 10, "text", lambda o: t(f"digest.stage_{o.stage}")),
        Column(t("digest.col_due"), 18, "date", lambda o: o.due_at),
        Column(t("digest.col_days_overdue"), 10, "num", lambda o: round(o.days, 1)),
        Column(t("digest.col_red_card"), 10, "text", lambda o: yes if o.number in red else ""),
        Column(t("digest.col_text"), 60, "text", lambda o: o.text),
    ]


def timeline_columns(
    rules: RuleSet, tz: dt.tzinfo, stations: dict[str, str], red: set[str]
) -> list[Column]:
    """Return the columns of the 明细 sheet (one row per report)."""
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
                urgent = value == "urgent"
                found = t("digest.priority_urgent" if urgent else "digest.priority_normal")
            else:
                found = t(key) if value else ""
            names[key] = found
        return found

    yes, no = t("digest.flag_yes"), t("digest.flag_no")

    def flag(value: bool | None) -> str:
        return "" if value is None else (yes if value else no)

    def at(getter: Callable[[TimelineRow], dt.datetime | None]) -> Callable[[Any], Any]:
        return getter  # aware: the workbook writes it as a wall time in tz

    return [
        Column(t("digest.col_number"), 20, "text", lambda i: i.report.number),
        Column(t("digest.col_kind"), 10, "text", lambda i: name("kind", i.report.kind)),
        Column(t("digest.col_status"), 10, "text", lambda i: name("status", i.report.status)),
        Column(t("digest.col_priority"), 8, "text", lambda i: name("priority", i.report.priority)),
        Column(
            t("digest.col_department"),
            16,
            "text",
            lambda i: name("department", i.report.department),
        ),
        Column(t("digest.col_region"), 12, "text", lambda i: name("region", i.report.region_code)),
        Column(
            t("digest.col_station"),
            26,
            "text",
            lambda i: stations.get(i.report.station_code, i.report.station_code),
        ),
        Column(
            t("digest.col_tags"),
            16,
            "text",
            lambda i: "、".join(name("tag", g) for g in i.report.tags),
        ),
        Column(t("digest.col_text"), 50, "text", lambda i: masked_text(i.report.text)),
        Column(t("digest.col_created"), 17, "date", at(lambda i: i.report.created_at)),
        Column(t("digest.col_sign_due"), 17, "date", at(lambda i: i.report.sign_due_at)),
        Column(t("digest.col_signed"), 17, "date", at(lambda i: i.report.signed_at)),
        Column(t("digest.col_sign_on_time"), 10, "text", lambda i: flag(i.sign_on_time)),
        Column(t("digest.col_resolve_due"), 17, "date", at(lambda i: i.report.resolve_due_at)),
        Column(t("digest.col_resolved"), 17, "date", at(lambda i: i.report.resolved_at)),
        Column(t("digest.col_resolve_on_time"), 10, "text", lambda i: flag(i.resolve_on_time)),
        Column(t("digest.col_closed"), 17, "date", at(lambda i: i.report.closed_at)),
        Column(t("digest.col_rating"), 10, "text", lambda i: name("rating", i.report.rating)),
        Column(t("digest.col_transfers"), 10, "int", lambda i: i.transfers),
        Column(t("digest.col_returns"), 10, "int", lambda i: i.returns),
        Column(t("digest.col_overdue_now"), 10, "text", lambda i: flag(i.overdue_now)),
        Column(
            t("digest.col_red_card"), 10, "text", lambda i: yes if i.report.number in red else ""
        ),
    ]
