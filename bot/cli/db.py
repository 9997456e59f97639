"""`obsbot db`: create, upgrade and inspect the database schema."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from bot.cli.common import engine_for, friendly_errors, say, settings, sqlite_file, text


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
    file = sqlite_file(current.database_url)
    new_file = file is not None and not file.exists()
    try:
        before = current_revision(engine_for(current, create=True))
        run_upgrade(current.database_url)
    except BaseException:
        if new_file and file is not None:  # a failed first upgrade leaves no empty file behind
            for leftover in (file, *(file.with_name(file.name + s) for s in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
        raise
    where = make_url(current.database_url).render_as_string(hide_password=True)
    if before == head_revision():
        say("db_current", where=where, revision=before)
    else:
        say("db_upgraded", where=where, before=before or text("db_empty"), after=head_revision())


@db.command()
@friendly_errors
def status() -> None:
    """Say which schema revision the database is at and whether it is current."""
    from storage.db import current_revision, head_revision

    current = current_revision(engine_for(settings()))
    head = head_revision()
    state = text("db_is_current" if current == head else "db_is_outdated")
    say("db_status", revision=current or text("db_empty"), head=head, state=state)
    if current != head:
        raise SystemExit(1)
