"""The `obsbot` command line.

Each command lives in its own module and is imported only when it is invoked, so
`obsbot --help` stays fast (no jieba, no Telegram library at start-up). To add a
command, add one line to ``COMMANDS``: the command name and "module:attribute".
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

COMMANDS: dict[str, tuple[str, str]] = {
    # name: ("module:attribute", one-line help shown by `obsbot --help`)
    "db": ("bot.cli.db:db", "创建或升级数据库（db upgrade / db status）"),
    "run": ("bot.cli.run:run", "运行机器人（长轮询，或 --webhook）"),
    "demo": ("bot.cli.demo:demo", "离线演示全流程，打印每个人看到的消息"),
    "sandbox": ("sandbox.cli:sandbox", "在本机 127.0.0.1 运行模拟的 Telegram 接口"),
    "deadline": ("bot.cli.deadline:deadline", "计算时限的到期时间（ISO 8601）"),
    "roster": ("bot.cli.roster:roster", "导入观察站和观察员名册（CSV 或 XLSX）"),
    "invite": (
        "bot.cli.invite:invite",
        "生成登记码、链接和二维码海报（观察员），或领导登记链接",
    ),
    "rules": ("bot.cli.rules:rules", "检查（check）、试分（test）、评估（eval）分拨规则"),
    "model": ("bot.cli.model:model", "用已标注的反映训练观察员用语模型（model train）"),
    "route": ("bot.cli.route:route", "批量分拨：标准输入读 JSON Lines，标准输出写结果"),
    "digest": ("bot.cli.digest:digest", "生成某地区的周报：文字、图表 PNG、工作簿 XLSX"),
    "console": ("bot.cli.console:console", "运行网页工作台；--login-link 打印登录链接"),
    "export": ("bot.cli.digest:export", "导出两个日期之间的反映（CSV、XLSX 或 JSONL）"),
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

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Name an unknown command in Chinese, with the nearest command as a suggestion."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            from bot.cli.common import text

            said = text("no_such_command", name=name)
            guess = difflib.get_close_matches(name, list(COMMANDS), n=1)
            if guess:
                said += text("did_you_mean", guess=guess[0])
            raise click.UsageError(said, ctx)
        return super().resolve_command(ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run a command; any error ends in one Chinese line on stderr and a non-zero status."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            from bot.cli.common import text
            from bot.cli.errors import usage

            click.echo(text("error", message=usage(exc)), err=True)
            code = exc.exit_code
        except (click.Abort, KeyboardInterrupt):
            from bot.cli.common import text

            click.echo(text("aborted"), err=True)
            code = 130
        except Exception as exc:  # noqa: BLE001 - the last guard: no traceback reaches a person
            from bot.cli.errors import report

            report(exc)
            code = 1
        else:
            if not standalone_mode:
                return result
            code = result if isinstance(result, int) else 0
        if not standalone_mode and code == 0:
            return None
        sys.exit(code)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("命令"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="observer-bot", prog_name="obsbot")
def main() -> None:
    """observer-bot：社会工作观察站的反映直通承办部门（“直通直办”）。"""
