"""`obsbot invite --station CODE`: print one-time invite codes for a station's observers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import click

from bot.cli.common import engine_for, friendly_errors, settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


@click.command()
@click.option("--station", "station", required=True, help="The station code from the roster.")
@click.option(
    "--count", default=1, show_default=True, type=click.IntRange(1, 1000), help="How many codes."
)
@click.option(
    "--days",
    default=7,
    show_default=True,
    type=click.IntRange(1, 365),
    help="Days until the codes expire.",
)
@friendly_errors
def invite(station: str, count: int, days: int) -> None:
    """Print one-time invite codes for STATION, one per line (each registers one observer)."""
    from bot.core.roster import normalize_code
    from storage.db import ensure_current, session_scope
    from storage.roster import get_station, issue_invites

    engine = engine_for(settings())
    ensure_current(engine)
    now = datetime.now(UTC)
    code = normalize_code(station)
    with session_scope(engine) as session:
        codes = issue_invites(
            session=session, station_code=code, count=count, ttl=timedelta(days=days), now=now
        )
        found = get_station(session=session, code=code)
        name = found.name if found is not None else code
    until = (now + timedelta(days=days)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    click.echo(
        f"{count} invite code(s) for {code} {name}, valid until {until} (Asia/Shanghai)", err=True
    )
    for issued in codes:
        click.echo(issued)
