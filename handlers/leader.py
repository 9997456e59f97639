"""Leaders (领导) and leaders' groups: their scope's weekly digest, on demand or subscribed.

A leader is a ``Leader`` row: a Telegram user's private chat or a leaders' group, with a scope
region. Only a chat with such a row gets a digest, and only of its own scope. Administrators
register leaders with ``/leader add CHAT_ID SCOPE [supervises]``, or give them an invite link
(``obsbot invite --leader SCOPE``: ``/start L…``); the change is recorded in the audit trail.

    /digest [last|2026-W47]   this week so far (or the last full week, or a named week)
    /subscribe, /unsubscribe  the Monday digest through the outbox (bot.services.digest_jobs)
"""

from __future__ import annotations

from sqlmodel import select

from bot.core.messages import t
from bot.core.regions import is_known, level_of
from bot.core.weeks import FIRST_YEAR, OutOfRange, Week, parse_week, previous_week, week_of
from bot.errors import Refused
from bot.infra.digest_render import region_label, render_text
from bot.services import leaders
from bot.services.digest import build_digest
from bot.services.digest_jobs import digest_files
from handlers import admin
from handlers.context import Ctx
from handlers.events import Event
from storage import reports as report_queries
from storage.models import Leader
from storage.outbox import UPLOAD

COMMANDS = ("digest", "subscribe", "unsubscribe", "leader")
SCOPE_LEVELS = ("province", "city", "county")


def on_command(event: Event, ctx: Ctx) -> None:
    """Runs a leader's command (or an administrator's /leader) for the chat it came from."""
    if event.kind != "message":
        return
    if event.command == "leader":
        _leader_admin(event, ctx)
        return
    leader = leader_of_chat(ctx, event.chat_id)
    if leader is None:
        if event.private:
            ctx.out.send(event.chat_id, t("leader.not_leader"))
        return  # a group that is not a leaders' group: stay quiet
    if event.command == "digest":
        _digest(event, ctx, leader)
    elif event.command == "subscribe":
        leader.subscribed = True
        ctx.session.add(leader)
        scope = region_label(leader.scope_region)
        ctx.out.send(event.chat_id, t("leader.subscribed", scope=scope))
    elif event.command == "unsubscribe":
        leader.subscribed = False
        ctx.session.add(leader)
        ctx.out.send(event.chat_id, t("leader.unsubscribed"))


def redeem_invite(event: Event, ctx: Ctx) -> None:
    """/start L…: registers the user as a leader of the invite's scope (the link is used up)."""
    try:
        leader = leaders.register_by_invite(
            ctx.session,
            user_id=event.user_id or 0,
            name=event.user_name,
            code=event.args,
            now=ctx.now,
        )
    except Refused as refused:
        ctx.out.send(event.chat_id, t(refused.key))
        return
    note = t("leader.supervises_note") if leader.supervises else ""
    scope = region_label(leader.scope_region)
    ctx.out.send(event.chat_id, t("leader.joined", scope=scope, supervises=note))


def leader_of_chat(ctx: Ctx, chat_id: int) -> Leader | None:
    """Return the leader registered for ``chat_id``, if any."""
    return ctx.session.exec(select(Leader).where(Leader.chat_id == chat_id)).first()


def _digest(event: Event, ctx: Ctx, leader: Leader) -> None:
    """Sends the digest of the leader's scope: this week so far, the last week, or a named one."""
    week = _week_asked(event, ctx)
    if week is None:
        return
    digest = build_digest(
        session=ctx.session,
        rules=ctx.rules,
        scope=leader.scope_region,
        week=week,
        now=ctx.now,
    )
    ctx.out.send(event.chat_id, render_text(digest, ctx.rules), purpose="digest")
    stamp = f"{event.chat_id}-{event.update_id}"
    chart, workbook = digest_files(ctx.services, digest, stamp=stamp)
    ctx.out.media(event.chat_id, "photo", {UPLOAD: str(chart.resolve())})
    ctx.out.media(event.chat_id, "document", {UPLOAD: str(workbook.resolve())})


def _week_asked(event: Event, ctx: Ctx) -> Week | None:
    """Return the week /digest asks for, or refuse (saying what to write) and return None."""
    tz = ctx.services.tz
    argument = event.args.strip().lower()
    current = week_of(ctx.now, tz)
    if not argument:
        return current
    if argument in ("last", "上周"):
        return previous_week(ctx.now, tz)
    try:
        week = parse_week(argument, tz)
    except OutOfRange:
        key = "leader.week_out_of_range"
    except ValueError:
        key = "leader.bad_week"
    else:
        if week.start <= current.start:
            return week
        key = "leader.week_out_of_range"  # a week that has not begun has no digest yet
    first = f"{FIRST_YEAR}-W01"
    ctx.out.send(
        event.chat_id, t(key, week=event.args.strip()[:20], first=first, current=current.label)
    )
    return None


def _leader_admin(event: Event, ctx: Ctx) -> None:
    """Registers (or updates) a leader: /leader add CHAT_ID SCOPE [supervises]; admins only."""
    if event.user_id not in ctx.services.admin_ids:
        admin.record_refusal(event, ctx)
        ctx.out.send(event.chat_id, t("common.admins_only"))
        return
    parts = event.args.split()
    if len(parts) not in (3, 4) or parts[0] != "add" or parts[3:] not in ([], ["supervises"]):
        ctx.out.send(event.chat_id, t("leader.add_usage"))
        return
    chat_text, scope = parts[1], parts[2]
    chat_id = admin.telegram_id(chat_text)
    if chat_id is None:
        ctx.out.send(event.chat_id, t("leader.bad_chat", chat=chat_text[:24]))
        return
    if not is_known(scope) or level_of(scope) not in SCOPE_LEVELS:
        ctx.out.send(event.chat_id, t("leader.bad_scope", scope=scope[:24]))
        return
    supervises = len(parts) == 4
    leader = leader_of_chat(ctx, chat_id)
    created = leader is None
    if leader is None:
        leader = Leader(name=chat_text, chat_id=chat_id, scope_region=scope, created_at=ctx.now)
    leader.scope_region = scope
    leader.supervises = supervises
    ctx.session.add(leader)
    report_queries.add_event(
        session=ctx.session,
        report_id=None,
        actor=f"user:{event.user_id}",
        action="leader_added" if created else "leader_updated",
        at=ctx.now,
        details={"chat_id": chat_id, "scope": scope, "supervises": supervises},
    )
    note = t("leader.supervises_note") if supervises else ""
    key = "leader.added" if created else "leader.updated"
    ctx.out.send(event.chat_id, t(key, chat=chat_id, scope=ctx.region_name(scope), supervises=note))
