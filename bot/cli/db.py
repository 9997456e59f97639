"""`obsbot db`: create, upgrade and inspect the database schema."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from bot.cli.common import engine_for, friendly_errors, settings


@click.group()
def db() -> None:
    """Create or upgrade the database schema."""


@db.command()
@friendly_errors
def upgrade() -> None:
    """Create the schema, or upgrade it to the newest version (safe to run again)."""
    from storage.db import current_revision, head_revision
    from storage.db import upgrade as run_upgrade

    current = settings()
    before = current_revision(engine_for(current))
    run_upgrade(current.database_url)
    where = make_url(current.database_url).render_as_string(hide_password=True)
    if before == head_revision():
        click.echo(f"{where}: already at revision {before}")
    else:
        click.echo(f"{where}: upgraded from {before or 'empty'} to {head_revision()}")


@db.command()
@friendly_errors
def status() -> None:
    """Say which schema revision the database is at and whether it is current."""
    from storage.db import current_revision, head_revision

    current = current_revision(engine_for(settings()))
    head = head_revision()
    state = "current" if current == head else "outdated: run `obsbot db upgrade`"
    click.echo(f"revision {current or 'none'} (newest {head}): {state}")
    if current != head:
        raise SystemExit(1)
