"""What every handler receives: the event's session, services, clock and outbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.core.authority import Actor, Membership
from bot.core.messages import t
from bot.core.regions import full_name, is_well_formed
from bot.services import Services
from handlers.actions import Outbox
from handlers.events import Event
from storage import outbox


@dataclass
class Ctx:
    """The state one update is handled in; everything it writes commits together."""

    services: Services
    session: Session
    now: dt.datetime
    out: Outbox = field(default_factory=Outbox)
    followed: bool = False  # the same chat already sent another message after this one

    @property
    def rules(self):
        """Return the routing rules in force."""
        return self.services.rules

    def actor(self, event: Event, *, on_card: bool = False) -> Actor:
        """Return who acts in ``event``, for the authority policy (membership as known now).

        ``on_card``: the event is a press on a report's card, which must be its current one.
        """
        return Actor(
            chat_id=event.chat_id,
            user_id=event.user_id,
            membership=(
                self.services.membership_of(event.chat_id, event.user_id)
                if event.group and event.kind == "callback"
                else Membership.UNCHECKED
            ),
            message_id=event.message_id,
            on_card=on_card,
            name=event.user_name,
        )

    def local(self, moment: dt.datetime | None) -> str:
        """Format ``moment`` as short local time, e.g. ``11月27日 18:00``."""
        if moment is None:
            return t("common.none")
        local = moment.astimezone(self.services.tz)
        return f"{local.month}月{local.day}日 {local:%H:%M}"

    def department_name(self, department: str) -> str:
        """Return a department's Chinese name."""
        return self.services.rules.department_name(department)

    def region_name(self, code: str | None) -> str:
        """Return the full Chinese name of a region code (the code itself if unknown)."""
        if not code or not is_well_formed(code):
            return code or ""
        try:
            return full_name(code) or code
        except (KeyError, ValueError):
            return code


def queue_outbox(ctx: Ctx, *, key: str) -> None:
    """Write ``ctx``'s queued calls to the outbox, keyed ``{key}:{index}`` so a replay adds nothing.

    One multi-row INSERT for all of them, in the order they were queued (their ids, and so
    the order the delivery worker sends them in, follow that order). Every door that acts on
    reports — an update from Telegram, a console request — writes its calls this way.
    """
    outbox.enqueue_many(session=ctx.session, messages=ctx.out.rows(prefix=key, now=ctx.now))
