"""The reports list as a download: CSV (UTF-8 with BOM, as Excel in China opens it) or XLSX.

The rows are the current filter's, in its order; the headers are Chinese, from the message
catalogue; the text has personal numbers masked, as on the pages.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.infra.xlsx_book import Book, Column
from bot.services import Services
from handlers.cards import is_overdue
from storage.models import Report

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _columns(services: Services, now: Any, primaries: dict[int, str]) -> list[Column]:
    """Return the download's columns: header, width, kind and how each is read.

    ``primaries`` numbers the reports others were joined to (同一问题): a joined report's row
    names the report it went into, so the rows can be counted as issues as well as reports.
    """
    yes = t("web.flag_yes")
    name = services.rules.department_name
    return [
        Column(t("web.number"), 18, "text", lambda r: r.number),
        Column(t("web.kind"), 8, "text", lambda r: t(f"kind.{r.kind}")),
        Column(t("web.status"), 8, "text", lambda r: t(f"status.{r.status}")),
        Column(t("web.department"), 16, "text", lambda r: name(r.department)),
        Column(t("web.region"), 12, "text", lambda r: r.region_code),
        Column(t("web.station"), 12, "text", lambda r: r.station_code),
        Column(t("web.created"), 17, "date", lambda r: r.created_at),
        Column(t("web.sign_due"), 17, "date", lambda r: r.sign_due_at),
        Column(t("web.resolve_due"), 17, "date", lambda r: r.resolve_due_at),
        Column(t("web.overdue"), 8, "text", lambda r: yes if is_overdue(r, now) else ""),
        Column(t("web.urgent"), 6, "text", lambda r: yes if r.priority == "urgent" else ""),
        Column(
            t("export.col_same_issue"),
            18,
            "text",
            lambda r: primaries.get(r.duplicate_of, "") if r.duplicate_of else "",
        ),
        Column(t("web.text"), 60, "wrap", lambda r: mask_personal_numbers(r.text)),
    ]


def table(services: Services, reports: Sequence[Report], now: Any, kind: str) -> bytes:
    """Return the reports as a ``kind`` ("csv" or "xlsx") file."""
    columns = _columns(services, now, _primary_numbers(services, reports))
    if kind == "xlsx":
        with tempfile.TemporaryDirectory(prefix="obsbot-console-") as folder:
            path = Path(folder) / "reports.xlsx"
            book = Book(path, tz=services.tz)
            book.table(t("web.nav_reports"), columns, reports)
            book.close()
            return path.read_bytes()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.header for column in columns])
    for report in reports:
        writer.writerow([_cell(services, column, report) for column in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _primary_numbers(services: Services, reports: Sequence[Report]) -> dict[int, str]:
    """Return the numbers of the reports that any of ``reports`` was joined to, by id."""
    wanted = {r.duplicate_of for r in reports if r.duplicate_of is not None}
    if not wanted:
        return {}
    with Session(services.engine) as session:
        rows = session.exec(select(Report.id, Report.number).where(col(Report.id).in_(wanted)))
        return {int(rid): number for rid, number in rows if rid is not None}


def _cell(services: Services, column: Column, report: Report) -> str:
    """Return one CSV cell: times as local wall times to the minute."""
    value = column.get(report)
    if column.kind == "date":
        return value.astimezone(services.tz).strftime("%Y-%m-%d %H:%M") if value else ""
    return "" if value is None else str(value)
