"""Channel-neutral services: what handlers call to change state.

``Services`` is the bundle the composition root (``bot.app``) builds once and passes to every
handler: the database engine, the routing rules and router, the working-day calendar, the
settings and the clock. Nothing here imports a Telegram library.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.core.authority import Membership
from bot.core.routing import Router
from bot.core.rules import RuleSet
from bot.core.workdays import WorkCalendar
from bot.infra.config import Settings


def system_clock() -> dt.datetime:
    """Return the current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Services:
    """Everything a handler may use, built once at start-up."""

    settings: Settings
    engine: Engine
    rules: RuleSet
    router: Router
    calendar: WorkCalendar
    clock: Callable[[], dt.datetime] = system_clock
    bot_username: str = ""
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    rules_generation: int = 0  # counts reloads, so another process can tell it must follow
    # Whether a user is a member of a group, asked of Telegram and cached
    # (bot.infra.membership); None where there is no Bot API to ask (membership unchecked).
    membership: Callable[[int, int], Membership] | None = None

    def membership_of(self, chat_id: int, user_id: int | None) -> Membership:
        """Return what is known of ``user_id``'s membership of the group ``chat_id``."""
        if self.membership is None or user_id is None:
            return Membership.UNCHECKED
        return self.membership(chat_id, user_id)

    @property
    def tz(self) -> ZoneInfo:
        """Return the time zone deadlines and digests are shown in."""
        return ZoneInfo(self.rules.timezone)

    @property
    def close_of_business(self) -> dt.time:
        """Return the local time at which working-day windows end."""
        hours, minutes = self.rules.close_of_business.split(":")
        return dt.time(int(hours), int(minutes))

    def replace_rules(self, rules: RuleSet) -> None:
        """Put newly loaded rules in force (the caller has validated them)."""
        self.rules = rules
        self.router = Router(rules)
        self.rules_generation += 1

    def reload_rules(self) -> RuleSet:
        """Load the rules file again and put it in force; a broken file raises ``RulesError``
        and leaves the old rules in force."""
        from bot.core.rules import load_rules

        rules = load_rules(self.settings.routing_rules)
        self.replace_rules(rules)
        return rules
