"""The `obsbot` command line.

Each command lives in its own module and is imported only when it is invoked, so
`obsbot --help` stays fast (no jieba, no Telegram library at start-up). To add a
command, add one line to ``COMMANDS``: the command name and "module:attribute".
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, tuple[str, str]] = {
    # name: ("module:attribute", one-line help shown by `obsbot --help`)
    "db": ("bot.cli.db:db", "Create or upgrade the database schema."),
    "run": ("bot.cli.run:run", "Run the bot (long polling)."),
    "demo": ("bot.cli.demo:demo", "Play the whole flow offline and print what everyone sees."),
    "sandbox": ("bot.cli.sandbox:sandbox", "Run the loopback Bot API server on 127.0.0.1."),
    "deadline": ("bot.cli.deadline:deadline", "Print the due time of a window (ISO 8601)."),
    "roster": ("bot.cli.roster:roster", "Import the station and observer roster (CSV or XLSX)."),
    "invite": ("bot.cli.invite:invite", "Print one-time invite codes for a station."),
    "rules": ("bot.cli.rules:rules", "Check, try (test) and measure (eval) the routing rules."),
    "model": ("bot.cli.model:model", "Train the observer model from labelled reports."),
    "route": ("bot.cli.route:route", "Route JSON Lines reports on stdin; decisions on stdout."),
    "digest": ("bot.cli.digest:digest", "Write a scope's weekly digest: text, PNG chart, XLSX."),
    "console": ("bot.cli.console:console", "Serve the web console; --login-link prints a link."),
    "export": ("bot.cli.digest:export", "Export reports between two dates as CSV, XLSX or JSONL."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, _, attribute = entry[0].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - programming error
            raise TypeError(f"{entry[0]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="observer-bot", prog_name="obsbot")
def main() -> None:
    """observer-bot: reports from social work observation stations, routed for direct handling."""
