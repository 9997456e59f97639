"""`obsbot demo`: the whole flow offline, printed as each participant sees it."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from bot.cli.common import configure_logging, friendly_errors


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the transcript (and later the digest's chart and workbook).",
)
@click.option("--keep", is_flag=True, help="Keep the demo's database folder and print its path.")
@click.option(
    "--runtime",
    "runtime_name",
    type=click.Choice(["ptb", "aiogram"]),
    default="ptb",
    show_default=True,
    help="The Telegram library the bot runs on.",
)
@click.option(
    "--console",
    "with_console",
    is_flag=True,
    help="Then serve the web console on the demo's database (keeps it) with a sign-in link.",
)
@click.option("--port", type=int, default=8090, show_default=True, help="The console's port.")
@friendly_errors
def demo(out: Path | None, keep: bool, runtime_name: str, with_console: bool, port: int) -> None:
    """Play the whole story offline: no token, no network, a throw-away database."""
    from bot.demo import run_demo

    configure_logging("WARNING")
    logging.getLogger("bot").setLevel(logging.WARNING)
    kept = run_demo(runtime_name=runtime_name, out=out, keep=keep or with_console, write=click.echo)
    if out is not None:
        click.echo(f"\ntranscript written to {out / 'transcript.txt'}")
    if kept is not None:
        click.echo(f"database kept in {kept}")
    if kept is not None and with_console:
        _console(kept, port)


def _console(folder: Path, port: int) -> None:
    """Serve the console on the demo's database; print a sign-in link for its administrator."""
    import secrets

    from pydantic import SecretStr

    from bot.cli.console import login_link, serve
    from bot.demo import ADMIN_FILE, ROOT
    from bot.infra.config import Settings

    admin = int((folder / ADMIN_FILE).read_text(encoding="utf-8"))
    current = Settings(
        routing_rules=ROOT / "routing_rules.yaml",
        database_url=f"sqlite:///{folder / 'demo.sqlite'}",
        admin_user_ids=[admin],
        console_secret=SecretStr(secrets.token_urlsafe(32)),
        console_port=port,
        digest_dir=folder / "digests",
        log_level="WARNING",
    )
    click.echo(
        f"sign in as the demo's administrator (10 minutes, once): {login_link(current, admin)}"
    )
    serve(current)
