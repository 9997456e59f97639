"""How `obsbot export` writes reports: Chinese headers and values for people, ids for machines.

By default each column has its Chinese header (from the message catalogue) and each value is
what a clerk reads — 问题反映, 待签收, 越秀区水务局's department name, 满意 — with times as
local wall times to the minute. An XLSX file also carries the stable ids of the columns in a
second header row (both rows frozen, repeated on print, filtered), and stores times as real
Excel dates. ``--raw`` writes the ids as the only header and the stored values (``problem``,
``routed``, ``water``), times in ISO 8601 with their offset, to the minute. Personal numbers in
report texts are masked either way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.core.digest_types import ReportRow
from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.core.rules import RuleSet
from bot.infra.digest_format import naive, region_label

EXPORT_COLUMNS = (
    "number",
    "kind",
    "status",
    "priority",
    "department",
    "region_code",
    "target_region",
    "station_code",
    "tags",
    "created_at",
    "sign_due_at",
    "signed_at",
    "resolve_due_at",
    "resolved_at",
    "closed_at",
    "rating",
    "same_issue",
    "text",
)
HEADER_KEYS = {
    "number": "digest.col_number",
    "kind": "digest.col_kind",
    "status": "digest.col_status",
    "priority": "digest.col_priority",
    "department": "digest.col_department",
    "region_code": "digest.col_region",
    "target_region": "export.col_target_region",
    "station_code": "digest.col_station_code",
    "tags": "digest.col_tags",
    "created_at": "digest.col_created",
    "sign_due_at": "digest.col_sign_due",
    "signed_at": "digest.col_signed",
    "resolve_due_at": "digest.col_resolve_due",
    "resolved_at": "digest.col_resolved",
    "closed_at": "digest.col_closed",
    "rating": "digest.col_rating",
    "same_issue": "export.col_same_issue",
    "text": "digest.col_text",
}
WIDTHS = {"number": 20, "department": 16, "station_code": 14, "tags": 16, "text": 60}
TIMES = frozenset(c for c in EXPORT_COLUMNS if c.endswith("_at"))


def headers() -> list[str]:
    """Return the Chinese header of each column."""
    return [t(HEADER_KEYS[column]) for column in EXPORT_COLUMNS]


def raw_record(row: ReportRow, tz: dt.tzinfo) -> dict[str, Any]:
    """Return a report's stored values by column id (times in ISO 8601, to the minute)."""
    record: dict[str, Any] = {}
    for column in EXPORT_COLUMNS:
        value = getattr(row, column)
        if isinstance(value, dt.datetime):
            value = value.astimezone(tz).replace(second=0, microsecond=0).isoformat()
        elif column == "tags":
            value = " ".join(value)
        elif column == "text":
            value = mask_personal_numbers(value)
        record[column] = value
    return record


def reader(rules: RuleSet, tz: dt.tzinfo) -> Callable[[ReportRow], list[Any]]:
    """Return a function giving a report's values as a person reads them, in column order."""

    def tag(tag_id: str) -> str:
        found = rules.tags.get(tag_id)
        return found.name if found else tag_id

    def value(row: ReportRow, column: str) -> Any:
        stored = getattr(row, column)
        if column in TIMES:
            return naive(stored, tz)
        if stored is None or stored == "":
            return None
        if column in ("kind", "status", "rating"):
            return t(f"{column}.{stored}")
        if column == "priority":
            return t("digest.priority_urgent" if stored == "urgent" else "digest.priority_normal")
        if column == "department":
            return rules.department_name(stored)
        if column in ("region_code", "target_region"):
            return region_label(stored)
        if column == "tags":
            return "、".join(tag(item) for item in stored)
        if column == "text":
            return mask_personal_numbers(stored)
        return stored

    return lambda row: [value(row, column) for column in EXPORT_COLUMNS]


def to_csv(rows: Sequence[ReportRow], rules: RuleSet, tz: dt.tzinfo, *, raw: bool) -> str:
    """Return the reports as CSV: Chinese headers and values, or ids and stored values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if raw:
        writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            writer.writerow(raw_record(row, tz).values())
        return buffer.getvalue()
    writer.writerow(headers())
    values = reader(rules, tz)
    for row in rows:
        writer.writerow(
            f"{v:%Y-%m-%d %H:%M}" if isinstance(v, dt.datetime) else ("" if v is None else v)
            for v in values(row)
        )
    return buffer.getvalue()


def to_xlsx(
    rows: Sequence[ReportRow], rules: RuleSet, tz: dt.tzinfo, path: Path, *, raw: bool
) -> None:
    """Write the reports as a filterable, printable workbook (see the module docstring)."""
    from bot.infra.xlsx_book import Book, Column

    kinds = ["date" if c in TIMES and not raw else "text" for c in EXPORT_COLUMNS]
    names = list(EXPORT_COLUMNS) if raw else headers()
    columns = [
        Column(names[i], WIDTHS.get(c, 17 if c in TIMES else 10), kinds[i], _item(i))
        for i, c in enumerate(EXPORT_COLUMNS)
    ]
    book = Book(path)
    try:
        if raw:
            items: Any = ([raw_record(row, tz)[c] for c in EXPORT_COLUMNS] for row in rows)
            book.table(t("export.sheet"), columns, items)
        else:
            values = reader(rules, tz)
            book.table(
                t("export.sheet"), columns, (values(row) for row in rows), raw=EXPORT_COLUMNS
            )
    finally:
        book.close()


def _item(index: int) -> Callable[[Sequence[Any]], Any]:
    return lambda values: values[index]
