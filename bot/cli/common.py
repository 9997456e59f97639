"""Helpers shared by the command-line modules: settings, database and error reporting."""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click
from sqlalchemy.engine import Engine

from bot.errors import ObserverBotError
from bot.infra.config import Settings, load_settings

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, *, code: int = 1) -> None:
    """Print ``message`` to stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the project's own errors into one line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ObserverBotError as exc:
            fail(str(exc))
            raise  # unreachable: fail() exits

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


def engine_for(current: Settings) -> Engine:
    """Create the engine for the configured DATABASE_URL."""
    from storage.db import make_engine

    return make_engine(current.database_url)


def pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, width - used)
