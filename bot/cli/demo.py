"""`obsbot demo`: the whole flow offline, printed as each participant sees it."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from bot.cli.common import configure_logging, friendly_errors, say


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
    default=None,
    help="The Telegram library the bot runs on (default: BOT_RUNTIME, as `obsbot run`).",
)
@click.option(
    "--console",
    "with_console",
    is_flag=True,
    help="Then serve the web console on the demo's database (keeps it) with a sign-in link.",
)
@click.option("--port", type=int, default=8090, show_default=True, help="The console's port.")
@friendly_errors
def demo(
    out: Path | None, keep: bool, runtime_name: str | None, with_console: bool, port: int
) -> None:
    """Play the whole story offline: no token, no network, a throw-away database."""
    from bot.demo import run_demo
    from bot.infra.config import load_settings

    configure_logging("WARNING")
    logging.getLogger("bot").setLevel(logging.WARNING)
    runtime = runtime_name or load_settings().bot_runtime
    kept = run_demo(runtime_name=runtime, out=out, keep=keep or with_console, write=click.echo)
    if out is not None:
        say("demo_written", path=out / "transcript.txt")
    if kept is not None:
        say("demo_kept", path=kept)
    if kept is not None and with_console:
        _console(kept, port)


def _console(folder: Path, port: int) -> None:
    """Serve the console on the demo's database; print a sign-in link for its administrator."""
    import secrets

    from pydantic import SecretStr

    from bot.cli.console import login_link, serve
    from bot.demo import ADMIN_FILE
    from bot.infra.config import SHIPPED_RULES, Settings

    admin = int((folder / ADMIN_FILE).read_text(encoding="utf-8"))
    current = Settings(
        routing_rules=SHIPPED_RULES,
        database_url=f"sqlite:///{folder / 'demo.sqlite'}",
        admin_user_ids=[admin],
        console_secret=SecretStr(secrets.token_urlsafe(32)),
        console_port=port,
        digest_dir=folder / "digests",
        log_level="WARNING",
    )
    say("demo_console_link", link=login_link(current, admin))
    serve(current)
