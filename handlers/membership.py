"""The bot's own place in groups: added, removed, bound with /bind, migrated to a supergroup.

What changes is decided by ``handlers.groups``; this module reads the event and answers in
the group. Removal (``my_chat_member`` left/kicked) stops the group's bindings at once and sends
its open reports to dispatch; being added back asks for a re-bind; ``/bind`` binds, rebinds or
re-activates, taking the binding's open cards along; a migration is followed once, whichever of
its two messages (``migrate_to_chat_id`` in the old chat, ``migrate_from_chat_id`` in the new)
arrives first.
"""

from __future__ import annotations

from sqlmodel import select

from bot.core.messages import t
from bot.errors import Refused
from bot.services import people
from handlers import groups
from handlers.context import Ctx
from handlers.events import Event
from storage import reports as report_queries
from storage.models import BindCode, GroupBinding, KnownGroup


def on_bot_membership(event: Event, ctx: Ctx) -> None:
    """Remembers groups the bot is added to and follows its removal from them."""
    if not event.group:
        return
    if event.member_status in ("member", "administrator"):
        groups.known_group(ctx, event.chat_id, title=event.chat_title, user_id=event.user_id)
        report_queries.add_event(
            session=ctx.session,
            report_id=None,
            actor=f"user:{event.user_id}",
            action="bot_added",
            at=ctx.now,
            details={"chat": event.chat_id},
        )
        groups.group_back(ctx, event.chat_id, title=event.chat_title)
    elif event.member_status in ("left", "kicked"):
        group = ctx.session.get(KnownGroup, event.chat_id)
        if group is not None:
            group.left_at = ctx.now
            ctx.session.add(group)
        groups.group_lost(
            ctx,
            event.chat_id,
            cause=f"my_chat_member {event.member_status}",
            title=event.chat_title,
        )


SUPERGROUP_IDS_BELOW = -1_000_000_000_000  # Bot API ids: supergroups -100…, basic groups above


def on_migration(event: Event, ctx: Ctx) -> None:
    """Follows a basic group that became a supergroup (either of the two service messages);
    ids Telegram could not have sent (a forged update) move nothing, and are recorded."""
    if event.migrate_to_chat_id:
        old, new = event.chat_id, event.migrate_to_chat_id
    else:
        old, new = event.migrate_from_chat_id or 0, event.chat_id
    if SUPERGROUP_IDS_BELOW < old < 0 and new < SUPERGROUP_IDS_BELOW:
        groups.migrate(ctx, old, new)
        return
    report_queries.add_event(
        session=ctx.session,
        report_id=None,
        actor=f"user:{event.user_id}",
        action="migration_refused",
        at=ctx.now,
        details={"from": old, "to": new},
    )


def bind(event: Event, ctx: Ctx) -> None:
    """Binds this group to a (department, region) with a one-time code; a binding that was in
    another group, or stopped when the bot was removed, brings its open reports here."""
    code = event.args.strip()
    if not code:
        ctx.out.send(event.chat_id, t("group.bind_usage"), reply_to=event.message_id)
        return
    previous_chat, was_active = _binding_of_code(ctx, code)
    try:
        binding = people.bind_group(
            ctx.session,
            code=code,
            chat_id=event.chat_id,
            title=event.chat_title,
            user_id=event.user_id or 0,
            now=ctx.now,
        )
    except Refused as refused:
        ctx.out.send(event.chat_id, t(refused.key), reply_to=event.message_id)
        return
    groups.known_group(ctx, event.chat_id, title=event.chat_title, user_id=event.user_id)
    ctx.out.send(
        event.chat_id,
        t(
            "group.bound",
            department=ctx.department_name(binding.department),
            region=ctx.region_name(binding.region_code),
        ),
    )
    groups.rebound(ctx, binding, previous_chat=previous_chat, was_active=was_active)


def _binding_of_code(ctx: Ctx, code: str) -> tuple[int | None, bool]:
    """Return the chat and state of the binding a bind code would change, before the /bind."""
    bind = ctx.session.get(BindCode, code.strip().upper())
    binding = (
        ctx.session.exec(
            select(GroupBinding).where(
                GroupBinding.department == bind.department,
                GroupBinding.region_code == bind.region_code,
            )
        ).first()
        if bind is not None
        else None
    )
    if binding is None:
        return None, True
    return binding.chat_id, binding.active
