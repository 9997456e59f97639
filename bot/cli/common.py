"""Helpers shared by the command-line modules: settings, database, wording and error reporting.

Everything `obsbot` says to a person comes from the message catalogue's ``cli`` section
(``say`` and ``fail``); ``bot.cli.errors`` turns any error into one line saying what to do.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import click
from sqlalchemy.engine import Engine, make_url

from bot.core.messages import t
from bot.errors import ConfigError, ObserverBotError, SchemaError
from bot.infra.config import Settings, load_settings

P = ParamSpec("P")
R = TypeVar("R")


def text(key: str, **values: Any) -> str:
    """Return the catalogue text ``cli.<key>`` with ``values`` filled in."""
    return t(f"cli.{key}", **values)


def say(key: str, *, err: bool = False, **values: Any) -> None:
    """Print the catalogue text ``cli.<key>`` (to stderr with ``err``)."""
    click.echo(text(key, **values), err=err)


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr as an error and exit with ``code``."""
    click.echo(text("error", message=message), err=True)
    raise SystemExit(code)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the project's own errors into one line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ObserverBotError as exc:
            fail(str(exc))

    return wrapper


def settings() -> Settings:
    """Load settings for a command (ConfigError surfaces through ``friendly_errors``)."""
    loaded = load_settings()
    configure_logging(loaded.log_level)
    return loaded


def configure_logging(level: str) -> None:
    """Log to stderr at ``level``, personal numbers masked; keep httpx quiet (token in URLs)."""
    from bot.infra.redaction import protect

    protect()  # the record factory: from now on no record carries a personal number
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("httpx", "httpcore", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite ``url`` (None for PostgreSQL and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if parsed.database == ":memory:" else Path(parsed.database)


def require_database(current: Settings) -> None:
    """Refuse (SchemaError) when the SQLite file does not exist, instead of creating it empty."""
    path = sqlite_file(current.database_url)
    if path is not None and not path.is_file():
        raise SchemaError(text("no_database", path=path))


def engine_for(current: Settings, *, create: bool = False) -> Engine:
    """Create the engine for DATABASE_URL; a missing SQLite file is refused unless ``create``."""
    from storage.db import make_engine

    if not create:
        require_database(current)
    return make_engine(current.database_url)


def rules_file(given: str | Path | None, current: Settings | None = None) -> Path:
    """Return the rules file to use (``given``, else ROUTING_RULES, ./ or the shipped one).

    ROUTING_RULES is read from ``current`` settings (.env included) when given, else from the
    environment. A file that does not exist is refused in one line; the shipped rules, used
    when nothing names a file and there is no ./routing_rules.yaml, are named on stderr.
    """
    import os

    from bot.infra.config import SHIPPED_RULES, default_rules_file

    if current is not None:
        setting = "routing_rules" in current.model_fields_set
        named = given or (str(current.routing_rules) if setting else None)
    else:
        named = given or os.environ.get("ROUTING_RULES") or None
    path = Path(named) if named else default_rules_file()
    if not path.is_file():
        how = "given" if given else ("env" if named else "default")
        raise ConfigError(text(f"rules_missing_{how}", path=path))
    if not named and path == SHIPPED_RULES:  # not the file next to them: say which one it is
        say("rules_used", err=True, path=path)
    return path


def pad(value: str, width: int) -> str:
    """Left-align ``value`` in ``width`` terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in value)
    return value + " " * max(1, width - used)
