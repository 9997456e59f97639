"""Administrators (Telegram user ids in ADMIN_USER_IDS): codes, rules reload, counts, unbinding.

The same operations as the command line; anyone else gets a short refusal, recorded in the
audit trail.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func
from sqlmodel import col, select

from bot.core.messages import t
from bot.core.regions import is_known
from bot.core.roster import mask_phone
from bot.core.rules import RulesError
from bot.services import people
from bot.services.reports import Refused
from handlers.context import Ctx
from handlers.events import Event
from storage import reports as report_queries
from storage.models import GroupBinding, Observer, Station

COMMANDS = ("invite", "bindcode", "reload", "stats", "unbind")
MOST_INVITES = 50  # invite codes one /invite issues at most


TELEGRAM_ID_LIMIT = 2**53 - 1  # Telegram: ids have at most 52 significant bits


def telegram_id(text: str) -> int | None:
    """Return ``text`` as a Telegram user or chat id (ASCII digits, ``-`` for groups), or None."""
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 16:
        return None
    number = int(text)
    return number if number != 0 and abs(number) <= TELEGRAM_ID_LIMIT else None


def record_refusal(event: Event, ctx: Ctx) -> None:
    """Records an administrator command from someone who is not one."""
    report_queries.add_event(
        session=ctx.session,
        report_id=None,
        actor=f"user:{event.user_id}",
        action="admin_refused",
        at=ctx.now,
        details={"command": event.command, "chat": event.chat_id},
    )


def on_command(event: Event, ctx: Ctx) -> None:
    """Runs an administrator's command, or refuses it."""
    if event.user_id not in ctx.services.admin_ids:
        record_refusal(event, ctx)
        ctx.out.send(event.chat_id, t("common.admins_only"))
        return
    handler = {
        "invite": _invite,
        "bindcode": _bindcode,
        "reload": _reload,
        "stats": _stats,
        "unbind": _unbind,
    }
    handler[event.command or ""](event, ctx)


def _invite(event: Event, ctx: Ctx) -> None:
    """Issues one-time invite codes for a station: /invite STATION [N]."""
    from storage.roster import issue_invites

    parts = event.args.split()
    counted = len(parts) > 1 and parts[1].isascii() and parts[1].isdigit() and len(parts[1]) <= 2
    if not parts or len(parts) > 2 or (len(parts) == 2 and not counted):
        ctx.out.send(event.chat_id, t("admin.invite_usage", most=MOST_INVITES))
        return
    count = int(parts[1]) if len(parts) > 1 else 1
    if not 1 <= count <= MOST_INVITES:
        ctx.out.send(event.chat_id, t("admin.invite_usage", most=MOST_INVITES))
        return
    station = ctx.session.get(Station, parts[0][:32])
    if station is None:
        ctx.out.send(event.chat_id, t("admin.unknown_station", station=parts[0][:32]))
        return
    codes = issue_invites(
        session=ctx.session,
        station_code=station.code,
        count=count,
        ttl=dt.timedelta(days=7),
        now=ctx.now,
    )
    ctx.out.send(
        event.chat_id, t("admin.invites", station=station.name, days=7, codes="\n".join(codes))
    )


def _bindcode(event: Event, ctx: Ctx) -> None:
    """Issues a one-time group binding code: /bindcode DEPARTMENT REGION."""
    parts = event.args.split()
    if len(parts) != 2:
        ctx.out.send(event.chat_id, t("admin.bindcode_usage"))
        return
    department, region = parts
    if department not in ctx.rules.departments:
        ctx.out.send(
            event.chat_id,
            t(
                "admin.unknown_department",
                department=department,
                departments=", ".join(ctx.rules.departments),
            ),
        )
        return
    if not is_known(region):
        ctx.out.send(event.chat_id, t("admin.bad_region", region=region))
        return
    code = people.issue_bind_code(ctx.session, department=department, region=region, now=ctx.now)
    ctx.out.send(
        event.chat_id,
        t(
            "admin.bindcode",
            code=code,
            department=ctx.department_name(department),
            region=ctx.region_name(region),
        ),
    )


def _unbind(event: Event, ctx: Ctx) -> None:
    """Frees an observer's phone bound to the wrong account: /unbind PHONE_OR_OBSERVER_ID."""
    who = event.args.strip()
    if not who:
        ctx.out.send(event.chat_id, t("admin.unbind_usage"))
        return
    try:
        unbound = people.unbind_observer(
            ctx.session, who=who, actor=f"user:{event.user_id}", now=ctx.now
        )
    except Refused as refused:
        ctx.out.send(event.chat_id, t(refused.key) + "\n" + t("admin.unbind_usage"))
        return
    observer = unbound.observer
    phone = mask_phone(observer.phone) if observer.phone else t("common.none")
    ctx.out.send(
        event.chat_id,
        t("admin.unbound", name=observer.name, id=observer.id, phone=phone),
    )
    if unbound.former_user_id != event.chat_id:
        ctx.out.send(unbound.former_user_id, t("observer.unbound_notice"), purpose="notice:unbound")


def _reload(event: Event, ctx: Ctx) -> None:
    """Reloads routing_rules.yaml; a broken file keeps the old rules in force."""
    try:
        rules = ctx.services.reload_rules()
    except RulesError as error:
        ctx.out.send(event.chat_id, t("admin.reload_failed", problems=str(error)[:3500]))
        return
    ctx.out.send(event.chat_id, t("admin.reloaded", version=rules.version))


def _stats(event: Event, ctx: Ctx) -> None:
    """Shows counts of observers, stations, groups and reports by status."""
    session = ctx.session
    observers = session.exec(select(func.count()).select_from(Observer)).one()
    bound = session.exec(
        select(func.count())
        .select_from(Observer)
        .where(col(Observer.telegram_user_id).is_not(None))
    ).one()
    stations = session.exec(select(func.count()).select_from(Station)).one()
    groups = session.exec(select(func.count()).select_from(GroupBinding)).one()
    counts = report_queries.count_reports_by_status(session=session)
    shown = "，".join(f"{t(f'status.{k}')} {v}" for k, v in sorted(counts.items())) or "0"
    ctx.out.send(
        event.chat_id,
        t(
            "admin.stats",
            observers=observers,
            bound=bound,
            stations=stations,
            groups=groups,
            counts=shown,
        ),
    )
