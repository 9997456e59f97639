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
@friendly_errors
def demo(out: Path | None, keep: bool, runtime_name: str | None) -> None:
    """Play the whole story offline: no token, no network, a throw-away database."""
    from bot.demo import run_demo
    from bot.infra.config import load_settings

    configure_logging("WARNING")
    logging.getLogger("bot").setLevel(logging.WARNING)
    runtime = runtime_name or load_settings().bot_runtime
    kept = run_demo(runtime_name=runtime, out=out, keep=keep, write=click.echo)
    if out is not None:
        say("demo_written", path=out / "transcript.txt")
    if kept is not None:
        say("demo_kept", path=kept)
