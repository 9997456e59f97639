"""`obsbot invite --station CODE`: one-time invite codes for a station's observers.

Each code is printed with its deep link (``https://t.me/<bot>?start=CODE``) when the bot's
username is known (``--bot-username``, ``BOT_USERNAME``, or asked of the Bot API with the
token); ``--poster DIR`` also writes a printable PNG poster per code with a QR code of the link.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import httpx

from bot.cli.common import engine_for, friendly_errors, say, settings, text
from bot.errors import ConfigError
from bot.infra.config import Settings
from bot.infra.poster import Invitation, deep_link, render
from bot.infra.redaction import protect

SHANGHAI = ZoneInfo("Asia/Shanghai")


@click.command()
@click.option("--station", "station", help="The station code from the roster (observers).")
@click.option(
    "--leader",
    "leader_scope",
    metavar="SCOPE",
    help="Invite leaders of this region (province, city or county code, e.g. 440100) instead.",
)
@click.option("--supervises", is_flag=True, help="With --leader: the leader receives 督办.")
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
@click.option(
    "--poster",
    "poster_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a printable poster (PNG with a QR code) per code into this folder.",
)
@click.option("--bot-username", help="The bot's @username for the links (else BOT_USERNAME).")
@friendly_errors
def invite(
    station: str | None,
    leader_scope: str | None,
    supervises: bool,
    count: int,
    days: int,
    poster_dir: Path | None,
    bot_username: str | None,
) -> None:
    """Print one-time invite codes and links, one per line (each registers one person)."""
    from bot.core.roster import normalize_code
    from storage.db import ensure_current, session_scope
    from storage.roster import get_station, issue_invites

    if (station is None) == (leader_scope is None):
        raise ConfigError(text("invite_station_or_leader"))
    if supervises and leader_scope is None:
        raise ConfigError(text("invite_supervises_alone"))
    current = settings()
    if leader_scope is not None:
        if poster_dir is not None:
            raise ConfigError(text("invite_leader_poster"))
        _leader_links(current, leader_scope, supervises, count, days, bot_username)
        return
    assert station is not None
    username = bot_username or current.bot_username or _ask_username(current)
    if poster_dir is not None and not username:
        raise ConfigError(text("invite_no_username"))
    engine = engine_for(current)
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
    say("invite_issued", err=True, count=count, code=code, name=name, until=until)
    expires = (now + timedelta(days=days)).astimezone(SHANGHAI)
    for issued in codes:
        link = deep_link(username, issued) if username else ""
        click.echo(f"{issued}\t{link}" if link else issued)
        if poster_dir is not None:
            written = render(
                Invitation(code=issued, station=name, link=link, expires=expires),
                poster_dir / f"{code}-{issued}.png",
            )
            say("invite_poster", err=True, path=written)


def _leader_links(
    current: Settings,
    scope: str,
    supervises: bool,
    count: int,
    days: int,
    bot_username: str | None,
) -> None:
    """Issue leader invite codes for ``scope`` and print their links (or /start commands)."""
    from bot.core.regions import full_name, is_known, level_of
    from storage.db import ensure_current, session_scope
    from storage.leader_invites import issue_leader_invites

    if not is_known(scope) or level_of(scope) not in ("province", "city", "county"):
        raise ConfigError(text("invite_bad_scope", scope=scope))
    username = bot_username or current.bot_username or _ask_username(current)
    engine = engine_for(current)
    ensure_current(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        codes = issue_leader_invites(
            session=session,
            scope_region=scope,
            supervises=supervises,
            count=count,
            ttl=timedelta(days=days),
            now=now,
        )
    until = (now + timedelta(days=days)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    role = text("invite_supervising") if supervises else ""
    say("invite_leaders", err=True, count=count, scope=full_name(scope), role=role, until=until)
    for code in codes:
        click.echo(f"{code}\t{deep_link(username, code)}" if username else f"{code}\t/start {code}")


def _ask_username(current: Settings) -> str | None:
    """Ask the Bot API for the bot's username (getMe) when a token is set; None otherwise."""
    if current.telegram_bot_token is None:
        return None
    token = current.telegram_bot_token.get_secret_value()
    protect(token)  # httpx logs request URLs, which hold the token
    try:
        response = httpx.get(f"{current.telegram_api_base}/bot{token}/getMe", timeout=10)
        result = response.json().get("result") or {}
    except (httpx.HTTPError, ValueError) as error:
        raise ConfigError(text("invite_ask_failed", kind=type(error).__name__)) from None
    return str(result.get("username") or "") or None
