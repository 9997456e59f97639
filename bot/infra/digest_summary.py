"""The 汇总 sheet of the digest's workbook, laid out as a printed report.

Top to bottom: the title, the period and scope; a table of the week's figures with last week's
beside them, the change and what each figure means; the nine-week trend as a table with a native
Excel line chart beside it (new, resolved, overdue); the regions, when the scope has them; and
the hot topics and keywords. Rows are written in order (the workbook streams its sheets).
"""

from __future__ import annotations

from typing import Any

from bot.core.digest_types import Digest, Tally
from bot.core.messages import t
from bot.core.rules import RuleSet
from bot.infra.digest_format import duration_words, local_time, region_label
from bot.infra.xlsx_book import Book

FIGURE_COLUMNS = 5  # 指标, 本周, 上周, 变化, 说明


def _figures(digest: Digest) -> list[tuple[str, Any, Any, str, str]]:
    """Return (label, this week, last week, kind, note) for each headline figure."""
    now, before = digest.total, digest.previous or Tally()
    has_before = digest.previous is not None

    def pair(name: str) -> tuple[Any, Any]:
        return getattr(now, name), getattr(before, name) if has_before else None

    rows: list[tuple[str, Any, Any, str, str]] = [
        (t("digest.col_new"), *pair("new"), "int", ""),
    ]
    for kind in ("problem", "suggestion", "sentiment"):
        last = before.new_by_kind.get(kind, 0) if has_before else None
        rows.append(("　" + t(f"kind.{kind}"), now.new_by_kind.get(kind, 0), last, "int", ""))
    rows += [
        (t("digest.col_signed_count"), *pair("signed"), "int", ""),
        (t("digest.col_resolved_count"), *pair("resolved"), "int", ""),
        (t("digest.col_open"), *pair("open"), "int", t("digest.note_open")),
        (t("digest.col_overdue_count"), *pair("overdue_now"), "int", t("digest.note_overdue_now")),
        (
            t("digest.col_overdue_week"),
            *pair("overdue_in_week"),
            "int",
            t("digest.note_overdue_week"),
        ),
        (
            t("digest.col_red_card"),
            len(digest.red_cards),
            digest.red_cards_previous if has_before else None,
            "int",
            t("digest.note_red"),
        ),
        (t("digest.col_sign_rate"), *pair("sign_rate"), "pct", t("digest.note_sign_rate")),
        (t("digest.col_resolve_rate"), *pair("resolve_rate"), "pct", t("digest.note_resolve_rate")),
        (t("digest.col_on_time_rate"), *pair("on_time_rate"), "pct", t("digest.on_time_defined")),
    ]
    rows += [
        (t("digest.item_sign_median"), duration_words(digest.sign_hours[0]), None, "words", ""),
        (t("digest.item_sign_p90"), duration_words(digest.sign_hours[1]), None, "words", ""),
        (
            t("digest.item_resolve_median"),
            duration_words(digest.resolve_hours[0]),
            None,
            "words",
            "",
        ),
        (t("digest.item_resolve_p90"), duration_words(digest.resolve_hours[1]), None, "words", ""),
    ]
    for rating in ("satisfied", "basic", "unsatisfied"):
        rows.append((t(f"digest.item_{rating}"), digest.ratings.get(rating, 0), None, "int", ""))
    rows.append((t("digest.item_reopened"), digest.reopened, None, "int", ""))
    return rows


def write_summary(book: Book, digest: Digest, rules: RuleSet) -> None:
    """Write the 汇总 sheet: header block, figures, trend with its chart, regions, topics."""
    tz = digest.week.start.tzinfo
    assert tz is not None
    name = t("digest.sheet_summary")
    sheet = book.sheet(name)
    for column, width in enumerate((26, 12, 12, 12, 44)):
        sheet.set_column(column, column, width)
    days = digest.week.days()
    scope = region_label(digest.scope)
    sheet.merge_range(0, 0, 0, FIGURE_COLUMNS - 1, t("digest.book_title", scope=scope), book.title)
    sheet.write_string(
        1,
        0,
        t(
            "digest.book_period",
            week=digest.week.label,
            first=f"{days[0].month}月{days[0].day}日",
            last=f"{days[-1].month}月{days[-1].day}日",
            as_of=local_time(digest.as_of, tz),
        ),
    )
    sheet.write_string(2, 0, t("digest.book_scope", scope=scope))
    sheet.write_string(3, 0, t("digest.book_masked"))
    row = _write_figures(book, sheet, 5, digest)
    row = _write_trend(book, sheet, name, row + 1, digest)
    if digest.by_region:
        row = _write_regions(book, sheet, row + 1, digest)
    row = _write_topics(book, sheet, row + 1, digest)
    sheet.print_area(0, 0, max(row, 24), FIGURE_COLUMNS + 7)


def _header(book: Book, sheet: Any, row: int, names: list[str]) -> None:
    for column, text in enumerate(names):
        sheet.write_string(row, column, text, book.header)


def _write_figures(book: Book, sheet: Any, row: int, digest: Digest) -> int:
    """Write the figures table from ``row``; return the next free row."""
    _header(
        book,
        sheet,
        row,
        [
            t("digest.col_item"),
            t("digest.col_this_week"),
            t("digest.col_last_week"),
            t("digest.col_change"),
            t("digest.col_note"),
        ],
    )
    value_format = {"int": None, "pct": book.pct, "num": book.num}
    change_format = {"int": book.change_int, "pct": book.change_pct, "num": book.num}
    for label, now, before, kind, note in _figures(digest):
        row += 1
        sheet.write_string(row, 0, label)
        if kind == "words":
            sheet.write_string(row, 1, now)
            continue
        style = value_format[kind]
        for column, value in ((1, now), (2, before)):
            if value is not None:
                sheet.write_number(row, column, value, style)
        if now is not None and before is not None:
            sheet.write_number(row, 3, now - before, change_format[kind])
        if note:
            sheet.write_string(row, 4, note)
    return row + 1


def _write_trend(book: Book, sheet: Any, name: str, row: int, digest: Digest) -> int:
    """Write the nine-week trend table and a native line chart beside it; return the next row."""
    sheet.write_string(row, 0, t("digest.section_trend"), book.bold)
    row += 1
    header = row
    _header(
        book,
        sheet,
        row,
        [
            t("digest.col_week"),
            t("digest.col_week_start"),
            t("digest.chart_new"),
            t("digest.chart_resolved"),
            t("digest.chart_overdue"),
        ],
    )
    for point in digest.trend:
        row += 1
        sheet.write_string(row, 0, point.label)
        sheet.write_datetime(row, 1, point.first_day, book.day)
        sheet.write_number(row, 2, point.new)
        sheet.write_number(row, 3, point.resolved)
        sheet.write_number(row, 4, point.overdue)
    if digest.trend:
        chart = book.book.add_chart({"type": "line"})
        for column in (2, 3, 4):
            chart.add_series(
                {
                    "name": [name, header, column],
                    "categories": [name, header + 1, 0, row, 0],
                    "values": [name, header + 1, column, row, column],
                    "marker": {"type": ("circle", "square", "triangle")[column - 2]},
                    # This week's value only (the last point), as on the PNG chart.
                    "data_labels": {
                        "value": True,
                        "position": "above",
                        "custom": [{"delete": True}] * (len(digest.trend) - 1),
                    },
                }
            )
        chart.set_title({"name": t("digest.chart_trend")})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 620, "height": 320})
        sheet.insert_chart(header - 1, FIGURE_COLUMNS + 1, chart)
    return row + 1


def _write_regions(book: Book, sheet: Any, row: int, digest: Digest) -> int:
    """Write the breakdown by region, most reports first; return the next free row."""
    sheet.write_string(row, 0, t("digest.section_regions_table"), book.bold)
    row += 1
    _header(
        book,
        sheet,
        row,
        [
            t("digest.col_region"),
            t("digest.col_new"),
            t("digest.col_open"),
            t("digest.col_overdue_count"),
            t("digest.col_resolve_rate"),
        ],
    )
    for code, tally in sorted(digest.by_region.items(), key=lambda kv: (-kv[1].new, kv[0])):
        row += 1
        sheet.write_string(row, 0, region_label(code))
        sheet.write_number(row, 1, tally.new)
        sheet.write_number(row, 2, tally.open)
        sheet.write_number(row, 3, tally.overdue_now)
        if tally.resolve_rate is not None:
            sheet.write_number(row, 4, tally.resolve_rate, book.pct)
    return row + 1


def _write_topics(book: Book, sheet: Any, row: int, digest: Digest) -> int:
    """Write the hot topics, keywords and rising ones; return the next free row."""
    sheet.write_string(row, 0, t("digest.section_hot"), book.bold)
    row += 1
    _header(book, sheet, row, [t("digest.col_topic"), t("digest.col_count")])
    for topic in digest.top_tags:
        row += 1
        sheet.write_string(row, 0, topic.key)
        sheet.write_number(row, 1, topic.count)
    for topic in digest.top_keywords:
        row += 1
        sheet.write_string(row, 0, t("digest.top_keywords", items=topic.key))
        sheet.write_number(row, 1, topic.count)
    return row + 1
