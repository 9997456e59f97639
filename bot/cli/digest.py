"""`obsbot digest` and `obsbot export`: the weekly digest's files, and reports as CSV/XLSX/JSONL."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from bot.cli.common import engine_for, fail, friendly_errors, rules_file, say, settings, text

STATUSES = ("routed", "dispatch", "signed", "resolved", "closed", "recorded")


def _scope(value: str | None) -> str | None:
    from bot.core.regions import is_known

    if value is not None and not is_known(value):
        fail(text("digest_bad_scope", value=value))
    return value


@click.command()
@click.option("--week", "week_label", help="ISO week, e.g. 2026-W47 (default: last full week).")
@click.option("--scope", default="440000", show_default=True, help="Region code of the scope.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the text, PNG chart and XLSX workbook.",
)
@friendly_errors
def digest(week_label: str | None, scope: str, out_dir: Path) -> None:
    """Write the weekly digest of SCOPE (text, chart, workbook) into a folder."""
    from zoneinfo import ZoneInfo

    from bot.core.rules import load_rules
    from bot.core.weeks import OutOfRange, parse_week, previous_week, week_of
    from bot.infra.digest_render import write_digest
    from bot.services.digest import build_digest
    from storage.db import ensure_current, session_scope

    current = settings()
    _scope(scope)
    rules = load_rules(rules_file(None, current))
    tz = ZoneInfo(rules.timezone)
    now = dt.datetime.now(dt.UTC)
    try:
        week = parse_week(week_label, tz) if week_label else previous_week(now, tz)
    except OutOfRange as exc:
        fail(str(exc))
    except ValueError:
        fail(text("digest_bad_week", week=week_label))
    this_week = week_of(now, tz)
    if week.start > this_week.start:
        fail(text("digest_future_week", week=week.label, latest=this_week.label))
    engine = engine_for(current)
    ensure_current(engine)
    with session_scope(engine) as session:
        result = build_digest(session=session, rules=rules, scope=scope, week=week, now=now)
    files = write_digest(result, rules, out_dir)
    total = result.total
    say(
        "digest_done",
        err=True,
        scope=scope,
        week=week.label,
        new=total.new,
        open=total.open,
        overdue=total.overdue_now,
    )
    for path in (files.text, files.chart, files.workbook):
        click.echo(str(path))


def _date(value: str, option: str) -> dt.date:
    """Return ``value`` as a date within the years reports can have; else exit with one line."""
    from bot.core.weeks import OutOfRange, check_year

    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        fail(text("export_bad_date", option=option, value=value))
    try:
        check_year(day.year, f"{option} {value}")
    except OutOfRange as exc:
        fail(str(exc))
    return day


@click.command()
@click.option("--from", "date_from", required=True, help="First day (YYYY-MM-DD, local time).")
@click.option("--to", "date_to", required=True, help="Last day, included (YYYY-MM-DD).")
@click.option("--scope", help="Region code: only reports from stations inside it.")
@click.option("--department", help="Department id from routing_rules.yaml.")
@click.option("--status", type=click.Choice(STATUSES), help="Only reports in this status.")
@click.option(
    "--format", "fmt", type=click.Choice(("csv", "xlsx", "jsonl")), default="csv", show_default=True
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File (default: stdout).",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Column ids as the header and stored values (problem, routed, water) instead of Chinese.",
)
@friendly_errors
def export(
    date_from: str,
    date_to: str,
    scope: str | None,
    department: str | None,
    status: str | None,
    fmt: str,
    out_file: Path | None,
    raw: bool,
) -> None:
    """Export the reports created between two dates, Chinese headers (ids with --raw); masked."""
    from zoneinfo import ZoneInfo

    from bot.core.rules import load_rules
    from bot.services.digest import export_rows
    from storage.db import ensure_current, session_scope

    first, last = _date(date_from, "--from"), _date(date_to, "--to")
    if last < first:
        fail(text("export_backwards", date_to=date_to, date_from=date_from))
    if fmt == "xlsx" and out_file is None:
        fail(text("export_xlsx_out"))
    current = settings()
    _scope(scope)
    rules = load_rules(rules_file(None, current))
    if department is not None and department not in rules.departments:
        from bot.core.rules_problems import suggest

        hint = suggest(department, rules.departments) or text("export_departments_hint")
        fail(text("export_bad_department", department=department) + hint)
    tz = ZoneInfo(rules.timezone)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    engine = engine_for(current)
    ensure_current(engine)
    with session_scope(engine) as session:
        rows = export_rows(
            session=session,
            start=start,
            end=end,
            scope=scope,
            department=department,
            status=status,
        )
    from bot.cli.export_format import raw_record, to_csv, to_xlsx

    if fmt == "xlsx":
        assert out_file is not None
        to_xlsx(rows, rules, tz, out_file, raw=raw)
    else:
        body = (
            to_csv(rows, rules, tz, raw=raw)
            if fmt == "csv"
            else "".join(json.dumps(raw_record(row, tz), ensure_ascii=False) + "\n" for row in rows)
        )
        if out_file is None:
            sys.stdout.write(body)
        else:
            out_file.parent.mkdir(parents=True, exist_ok=True)
            out_file.write_text(body, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
    issues = sum(1 for row in rows if row.duplicate_of is None)  # joined reports: one issue
    say("export_done", err=True, count=len(rows), issues=issues)
