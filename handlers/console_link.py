"""``/web`` in a private chat: a one-time sign-in link to the web console.

Only people who may use the console get one — administrators, leaders, and members of bound
department and dispatch groups (asked of Telegram now, ``bot.services.viewers``); anyone else
is told so. Each link given (or refused) is recorded in the audit trail. In a group the command
is ignored: a sign-in link must never be posted where others can read it.
"""

from __future__ import annotations

from bot.core.messages import t
from bot.core.signing import sign_in_link
from bot.errors import ConfigError
from bot.services.viewers import viewer_of
from handlers.context import Ctx
from handlers.events import Event
from storage import reports as report_queries

COMMANDS = ("web",)


def on_command(event: Event, ctx: Ctx) -> None:
    """Answers ``/web`` with a sign-in link, or with why there is none."""
    if not event.private or event.user_id is None or event.kind != "message":
        return
    settings = ctx.services.settings
    try:
        secret = settings.require_console_secret()
    except ConfigError:
        ctx.out.send(event.chat_id, t("web.console_off"))
        return
    name = event.user_name or str(event.user_id)
    viewer = viewer_of(ctx.session, ctx.services, event.user_id, name)
    report_queries.add_event(
        session=ctx.session,
        report_id=None,
        actor=f"user:{event.user_id}",
        action="console_link" if viewer.has_role else "console_link_refused",
        at=ctx.now,
    )
    if not viewer.has_role:
        ctx.out.send(event.chat_id, t("web.no_role"))
        return
    link = sign_in_link(
        settings.console_base(), secret, user_id=event.user_id, name=name, now=ctx.now
    )
    ctx.out.send(event.chat_id, t("web.login_link", link=link), purpose="console_link")
