"""The composition root: settings, database, rules, calendar and services, built once.

Nothing is created at import time; ``build_services`` is called by the commands that need it
(``run``, ``demo``) and by tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.engine import Engine

from bot.core.routing import Router
from bot.core.rules import load_rules
from bot.core.workdays import WorkCalendar
from bot.infra.config import Settings
from bot.services import Services, system_clock
from storage.db import make_engine


def build_services(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], dt.datetime] = system_clock,
    bot_username: str = "",
) -> Services:
    """Build the services the handlers use from ``settings``."""
    rules = load_rules(settings.routing_rules)
    holidays = settings.holidays_file or rules.holiday_file
    return Services(
        settings=settings,
        engine=engine or make_engine(settings.database_url),
        rules=rules,
        router=Router(rules),
        calendar=WorkCalendar.from_file(holidays),
        clock=clock,
        bot_username=bot_username,
        admin_ids=frozenset(settings.admin_user_ids),
    )


def worker_services(settings: Settings, database_url: str, log_level: str) -> Services:
    """Build the services of the handling process (``bot.infra.handling``) and its logging."""
    from bot.cli.common import configure_logging

    configure_logging(log_level)
    return build_services(settings, engine=make_engine(database_url))
