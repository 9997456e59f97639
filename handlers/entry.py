"""The one place that sends each event to its audience's handlers.

    private chat   → admin commands (ADMIN_USER_IDS), /web, or the observer conversation
    group chat     → admin commands, or the department/dispatch group handlers
    button press   → observer buttons in private, card buttons in groups (查看全文: notify)
    bot added/removed, group migrated, /bind in a group → membership

Callback data that is not ours (another bot's, an old version, forged) gets a polite answer.
"""

from __future__ import annotations

from bot.core.messages import t
from handlers import (
    admin,
    card_actions,
    console_link,
    department,
    leader,
    membership,
    notify,
    observer,
    workbench,
)
from handlers.callbacks import Act, parse
from handlers.context import Ctx
from handlers.events import Event
from storage.leader_invites import is_leader_code


def handle(event: Event, ctx: Ctx) -> None:
    """Handles one event; everything it changes and queues commits together."""
    if not event.chat_id:
        return  # no chat to act in or answer to (not an update Telegram sends)
    if event.kind == "callback":
        press = parse(event.callback_data)
        if press is None:
            ctx.out.reply_answer(t("common.unknown_button"))
        elif event.private:
            observer.on_press(event, press, ctx)
        elif event.group and press.act in (Act.LIST_PAGE, Act.QUEUE_PAGE):
            workbench.on_press(event, press, ctx)
        elif event.group and press.act == Act.FULL_TEXT:
            notify.send_full_text(event, press, ctx)
        elif event.group:
            card_actions.on_press(event, press, ctx)
        else:
            ctx.out.reply_answer(t("common.unknown_button"))
        return
    if event.kind == "bot_member":
        membership.on_bot_membership(event, ctx)
        return
    if event.kind not in ("message", "edited"):
        return
    if event.group and (event.migrate_to_chat_id or event.migrate_from_chat_id):
        membership.on_migration(event, ctx)
        return
    if event.command == "whoami":
        workbench.whoami(event, ctx)
        return
    if event.command == "help" and event.private and event.user_id in ctx.services.admin_ids:
        ctx.out.send(event.chat_id, t("admin.help"))
        return
    if event.command == "start" and event.private and is_leader_code(event.args):
        leader.redeem_invite(event, ctx)
        return
    if event.command in leader.COMMANDS:
        leader.on_command(event, ctx)
        return
    if event.command in console_link.COMMANDS and event.private:
        console_link.on_command(event, ctx)
        return
    if event.command in admin.COMMANDS:
        if event.private or event.user_id in ctx.services.admin_ids:
            admin.on_command(event, ctx)
        else:  # refused and recorded, but not answered: a busy group hears nothing
            admin.record_refusal(event, ctx)
        return
    if event.private:
        observer.on_private_message(event, ctx)
    elif event.group:
        department.on_group_message(event, ctx)
