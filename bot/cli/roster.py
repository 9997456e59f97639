"""`obsbot roster import FILE`: load the station and observer roster into the database."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import click

from bot.cli.common import engine_for, fail, friendly_errors, say, settings, text

PROGRESS_FROM_ROWS = 2_000  # smaller files are quick: no progress bar
PROGRESS_STEP = 500


@click.group()
def roster() -> None:
    """Import the station and observer roster (CSV or XLSX)."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-bad", is_flag=True, help="Import the good rows even if some rows are bad.")
@click.option("--dry-run", is_flag=True, help="Check the file and count changes; write nothing.")
@friendly_errors
def import_command(file: Path, skip_bad: bool, dry_run: bool) -> None:
    """Import FILE (.csv in UTF-8 or GBK, or .xlsx); re-importing updates, never duplicates.

    Columns: 站点编码 站点名称 地市 区县 镇街 行政区划代码 观察员姓名 手机号 (or station_code,
    station_name, city, county, town, region_code, observer_name, phone). Every bad row is
    listed; nothing is written unless the file is clean or --skip-bad is given.
    """
    from bot.core.roster import parse_rows
    from bot.core.roster_sheet import column_label, estimate_rows, read_rows
    from storage.db import ensure_current, session_scope
    from storage.roster import import_roster

    engine = engine_for(settings())
    ensure_current(engine)

    expected = estimate_rows(file)
    show_progress = expected >= PROGRESS_FROM_ROWS
    with _bar(show_progress, expected, text("roster_reading", file=file.name)) as bar:
        parsed = parse_rows(_counted(read_rows(file), bar))

    for problem in parsed.problems:
        column = problem.column
        header = (parsed.headers.get(column) or column_label(column)) if column else None
        click.echo(f"{file.name}：{problem.located(header)}", err=True)
    bad = len(parsed.bad_rows)
    if parsed.ignored_columns:
        say("roster_ignored", err=True, columns="、".join(parsed.ignored_columns))
    if bad and not skip_bad:
        fail(text("roster_bad_rows", bad=bad, rows=parsed.rows))

    total = len(parsed.stations) + len(parsed.observers)
    writing = text("roster_writing")
    with session_scope(engine) as session, _bar(show_progress, total, writing) as bar:
        result = import_roster(
            session=session,
            stations=parsed.stations,
            observers=parsed.observers,
            now=datetime.now(UTC),
            dry_run=dry_run,
            progress=bar.update,
        )

    s, o = result.stations, result.observers
    say("roster_rows", rows=parsed.rows, bad=bad, skipped=text("roster_skipped") if bad else "")
    say("roster_stations", created=s.created, updated=s.updated, unchanged=s.unchanged)
    say("roster_observers", created=o.created, updated=o.updated, unchanged=o.unchanged)
    if dry_run:
        say("roster_dry_run")


class _Bar(Protocol):
    """What the import needs from a progress bar."""

    def update(self, n_steps: int) -> None:
        """Advance by ``n_steps``."""


class _NoBar:
    """Stands in for a progress bar on small files."""

    def update(self, n_steps: int) -> None:
        """Ignore progress."""


def _bar(show: bool, length: int, label: str) -> AbstractContextManager[_Bar]:
    """Return a progress bar on stderr, or a silent stand-in when ``show`` is False."""
    if not show:
        return nullcontext(_NoBar())
    return click.progressbar(length=max(length, 1), label=label, file=sys.stderr)


def _counted(rows: Iterable[tuple[int, list[str]]], bar: _Bar) -> Iterator[tuple[int, list[str]]]:
    """Pass rows through, advancing ``bar`` every few hundred rows."""
    pending = 0
    for row in rows:
        pending += 1
        if pending == PROGRESS_STEP:
            bar.update(pending)
            pending = 0
        yield row
    bar.update(pending)
