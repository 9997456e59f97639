"""`obsbot console`: serve the web console, or print a sign-in link for an administrator."""

from __future__ import annotations

import datetime as dt

import click

from bot.cli.common import (
    configure_logging,
    fail,
    friendly_errors,
    require_database,
    say,
    settings,
    text,
)
from bot.infra.config import Settings


@click.command()
@click.option("--host", default=None, help="Address to listen on (default CONSOLE_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default CONSOLE_PORT).")
@click.option(
    "--login-link",
    "login_user",
    type=int,
    default=None,
    metavar="USER_ID",
    help="Print a one-time sign-in link for this administrator and exit.",
)
@friendly_errors
def console(host: str | None, port: int | None, login_user: int | None) -> None:
    """Serve the web console (sign in with a link from /web or --login-link)."""
    current = settings()
    overrides = {
        key: value
        for key, value in (("console_host", host), ("console_port", port))
        if value is not None
    }
    current = current.model_copy(update=overrides)
    current.require_console_secret()
    if login_user is not None:
        if login_user not in current.admin_user_ids:
            fail(text("console_not_admin", user=login_user))
        click.echo(login_link(current, login_user))
        return
    serve(current)


def login_link(current: Settings, user_id: int) -> str:
    """Return a one-time sign-in link to the console for ``user_id``."""
    from bot.core.signing import sign_in_link

    return sign_in_link(
        current.console_base(),
        current.require_console_secret(),
        user_id=user_id,
        name=str(user_id),
        now=dt.datetime.now(dt.UTC),
    )


def serve(current: Settings) -> None:
    """Serve the console on ``current``'s database until interrupted."""
    import uvicorn

    from bot.app import build_services
    from bot.web.app import create_app
    from storage.db import ensure_current

    configure_logging(current.log_level)
    require_database(current)
    services = build_services(current)
    ensure_current(services.engine)
    say("console_on", host=current.console_host, port=current.console_port)
    uvicorn.run(
        create_app(services),
        host=current.console_host,
        port=current.console_port,
        proxy_headers=True,
        # The project's logging (redacted); no access log: sign-in links carry their token in
        # the address, which must not be written anywhere.
        log_config=None,
        access_log=False,
    )
