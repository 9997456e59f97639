"""Every error `obsbot` meets becomes one line in Chinese saying what to do next; never a traceback.

``explain`` words an exception raised while a command ran (the project's own errors carry
their message; a database that cannot be reached, a file that cannot be read and bad YAML are
named as such; anything else is called unexpected, with the way to see more). ``usage`` words
click's complaints about the command line itself (an unknown option, a missing argument).
"""

from __future__ import annotations

import difflib
import logging

import click

from bot.cli.common import text

log = logging.getLogger("bot.cli")


def explain(exc: BaseException) -> str:
    """Return one line telling a person what went wrong and what to do next."""
    import yaml
    from sqlalchemy.exc import DBAPIError

    from bot.core.rules import RulesError
    from bot.errors import ObserverBotError

    if isinstance(exc, ObserverBotError):
        return str(exc)
    if isinstance(exc, RulesError):
        return text("rules_broken", path=exc.source, count=len(exc.problems))
    if isinstance(exc, DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return text("database_down", reason=_masked(reason))
    if isinstance(exc, yaml.YAMLError):
        return text("bad_yaml", reason=_masked(str(exc).splitlines()[0]))
    if isinstance(exc, UnicodeDecodeError):
        return text("bad_encoding", reason=exc.reason)
    if isinstance(exc, OSError):
        return text(
            "os_error",
            path=exc.filename or "",
            reason=exc.strerror or type(exc).__name__,
        )
    return text("unexpected", kind=type(exc).__name__, reason=_masked(str(exc))[:200])


def _masked(value: str) -> str:
    """Mask personal numbers (a row or parameter quoted in an error may hold one)."""
    from bot.core.masking import mask_personal_numbers

    return mask_personal_numbers(value)


def usage(exc: click.ClickException) -> str:
    """Return click's complaint about the command line in Chinese, with where to look."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "obsbot"
    param = getattr(exc, "param", None)
    hint = param.get_error_hint(ctx).strip("'") if param is not None and ctx is not None else ""
    if isinstance(exc, click.NoSuchOption):
        said = text("no_such_option", option=exc.option_name)
        guess = difflib.get_close_matches(exc.option_name, exc.possibilities or [], n=1)
        said += text("did_you_mean", guess=guess[0]) if guess else ""
    elif isinstance(exc, click.MissingParameter):
        said = text("missing_parameter", name=hint or exc.param_hint or "")
    elif isinstance(exc, click.BadParameter):
        said = text("bad_parameter", name=hint, detail=_wanted(param, exc.message))
    elif isinstance(exc, click.UsageError):
        said = exc.message
    else:  # not the command line's fault: the message says what to do
        return exc.format_message()
    if not said.endswith(("。", "？")):
        said += "。"
    return said + text("usage_hint", command=path)


def _wanted(param: click.Parameter | None, detail: str) -> str:
    """Say in Chinese what a parameter's type accepts (click's own detail otherwise)."""
    kind = param.type if param is not None else None
    if isinstance(kind, click.IntRange | click.FloatRange):
        low = "" if kind.min is None else kind.min
        high = "" if kind.max is None else kind.max
        return text("want_range", low=low, high=high)
    if isinstance(kind, click.types.IntParamType):
        return text("want_integer")
    if isinstance(kind, click.types.FloatParamType):
        return text("want_number")
    if isinstance(kind, click.Choice):
        return text("want_choice", choices="、".join(map(str, kind.choices)))
    if isinstance(kind, click.Path):
        return text("want_path")
    return detail.rstrip(".")


def report(exc: BaseException) -> None:
    """Log ``exc`` with its traceback at DEBUG (LOG_LEVEL=DEBUG shows it) and print one line."""
    log.debug("command failed", exc_info=exc)
    click.echo(text("error", message=explain(exc)), err=True)
