"""Groups that change under the bot: removed, added back, rebound, migrated to a supergroup.

A department group can stop being reachable at any moment — someone removes the bot, the
group is deleted — and Telegram says so twice: a ``my_chat_member`` update, and a 403 on the
next message sent there. Whichever comes first calls ``group_lost``: the group's bindings stop
at once (routing then falls back upward, or to dispatch), its open reports are returned to
dispatch with their cards, their observers are told where their report really is, and dispatch
(looked up now, not at start-up) and the administrators are told what happened and how to
re-bind. When the bot is added back, the group and the administrators are asked to re-bind it;
a ``/bind`` there makes the binding active again and brings back the reports that went to
dispatch only because the group was gone.

A binding that moves to another chat (a rebinding, or a basic group that became a supergroup)
takes its open cards with it: message ids are per chat, so each card is posted again in the new
chat with its buttons and the report's card pointer is cleared, to be set by delivery to the new
message. A rebinding retires the old cards (no buttons left to press in a group that no longer
handles them) and cancels prompts asked there; a migration moves the prompts and the group's
record, since the people are the same.

Each change starts with a conditional update, so the paths that notice the same change (the
update and the refused send; the migration's message in the old chat and the one in the new
chat) act exactly once. The state changes are services' and storage's (the lifecycle's
``group_lost`` and ``group_back`` steps, ``storage.groups``); this module decides what follows
and who is told, with the cards the handlers draw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlmodel import Session, col, select

from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.errors import Refused
from bot.services import Services, dispatching
from bot.services import reports as flows
from bot.services.dispatching import find_dispatch_chat
from bot.services.reports import find_binding
from handlers.actions import card_of, utf16_len
from handlers.cards import CARD_TEXT_LIMIT, card_keyboard, card_text
from handlers.context import Ctx
from handlers.notify import close_card, post_card, tell_observer
from storage import groups as group_queries
from storage import outbox
from storage import reports as report_queries
from storage.models import (
    OPEN_STATUSES,
    GroupBinding,
    KnownGroup,
    Report,
    ReportEvent,
    ReportStatus,
)

log = logging.getLogger(__name__)

# Telegram's words for "the bot cannot post in this group any more".
GONE_HINTS = ("kicked", "not a member", "chat was deleted", "chat not found")
GROUP_LOST = "group_lost"


def is_group_gone(chat_id: int, description: str) -> bool:
    """True if a refusal to post in ``chat_id`` means the bot is out of that group."""
    lowered = description.lower()
    return chat_id < 0 and any(hint in lowered for hint in GONE_HINTS)


# --- the bot is out of a group -----------------------------------------------------------------


def group_lost(ctx: Ctx, chat_id: int, *, cause: str, title: str = "") -> int:
    """Stop the group's bindings, return its open reports to dispatch with their cards and tell
    dispatch, the administrators and the observers; return how many bindings stopped (0 when
    another path already did all this)."""
    stopped = group_queries.deactivate_bindings(session=ctx.session, chat_id=chat_id, now=ctx.now)
    if not stopped:
        return 0
    departments = {binding.department for binding in stopped}
    reports = group_queries.open_reports_in_chat(
        session=ctx.session, chat_id=chat_id, departments=departments
    )
    cancelled = outbox.cancel_pending(
        session=ctx.session, chat_id=chat_id, reason=f"the bot is out of the group: {cause}"
    )
    group_queries.clear_cards(
        session=ctx.session, report_ids=[r.id or 0 for r in reports], chat_id=chat_id
    )
    known = ctx.session.get(KnownGroup, chat_id)
    title = title or stopped[0].chat_title or (known.title if known else "") or str(chat_id)
    moved = [
        report for report in (_to_dispatch(ctx, report, title) for report in reports) if report
    ]
    _audit(
        ctx,
        GROUP_LOST,
        {
            "chat": chat_id,
            "cause": cause[:200],
            "bindings": [[b.department, b.region_code] for b in stopped],
            "reports": [report.number for report in moved],
            "cancelled": cancelled,
        },
    )
    text = t(
        "groups.lost",
        title=title,
        bindings=_names(ctx, stopped),
        count=len(moved),
        numbers="、".join(report.number for report in moved) or t("common.none"),
        commands=_bindcode_commands(stopped),
    )
    _tell_dispatch_and_admins(ctx, stopped, text, key=f"lost:{chat_id}:{stopped[0].left_at}")
    log.warning(
        "group lost chat=%s bindings=%s reports=%s cause=%s",
        chat_id,
        len(stopped),
        len(moved),
        cause,
    )
    return len(stopped)


def _to_dispatch(ctx: Ctx, report: Report, title: str) -> Report | None:
    """Return one report of a lost group to dispatch and post its card there (None if someone
    changed it meanwhile, e.g. resolved it: it is no longer the group's to lose)."""
    previous = ctx.department_name(report.department)
    if report.status != ReportStatus.DISPATCH:
        try:
            report = flows.group_gone_to_dispatch(
                ctx.session,
                ctx.services,
                report_id=report.id or 0,
                reason=t("groups.lost_reason", title=title, department=previous),
                now=ctx.now,
            )
        except Refused:
            return None
        tell_observer(ctx, report, "group_lost", department=previous)
    else:
        ctx.session.refresh(report)
    post_card(ctx, report)
    return report


def _audit(ctx: Ctx, action: str, details: dict[str, object]) -> None:
    """Record a group change in the audit trail (not about one report)."""
    report_queries.add_event(
        session=ctx.session,
        report_id=None,
        actor="system",
        action=action,
        at=ctx.now,
        details=details,
    )


def _names(ctx: Ctx, bindings: Sequence[GroupBinding]) -> str:
    """Name bindings as people read them: 水务局（广东省广州市）、…"""
    return "、".join(
        t(
            "groups.binding",
            department=ctx.department_name(b.department),
            region=ctx.region_name(b.region_code),
        )
        for b in bindings
    )


def _bindcode_commands(bindings: Sequence[GroupBinding]) -> str:
    """The /bindcode commands that re-create the codes for ``bindings``."""
    return "\n".join(f"/bindcode {b.department} {b.region_code}" for b in bindings)


def _tell_dispatch_and_admins(
    ctx: Ctx, bindings: Sequence[GroupBinding], text: str, *, key: str
) -> None:
    """Send ``text`` to the dispatch group of the bindings' region (now) and each administrator."""
    dispatch = find_dispatch_chat(ctx.session, ctx.services, region=bindings[0].region_code)
    chats = ([dispatch] if dispatch is not None else []) + sorted(ctx.services.admin_ids)
    for chat in dict.fromkeys(chats):
        ctx.out.send(chat, text, purpose="group_notice", key=f"{key}:{chat}")


# --- the bot is back in a group ----------------------------------------------------------------


def group_back(ctx: Ctx, chat_id: int, *, title: str) -> bool:
    """The bot was added back to a group it had lost: ask the group and the administrators to
    re-bind it; return True if the group had bindings."""
    stopped = list(group_queries.inactive_bindings(session=ctx.session, chat_id=chat_id))
    if not stopped:
        return False
    names = _names(ctx, stopped)
    ctx.out.send(chat_id, t("groups.rebind_in_group", bindings=names))
    text = t(
        "groups.rebind_admin",
        title=title or str(chat_id),
        bindings=names,
        commands=_bindcode_commands(stopped),
    )
    for admin in sorted(ctx.services.admin_ids):
        ctx.out.send(admin, text, purpose="group_notice")
    _audit(
        ctx,
        "rebind_asked",
        {"chat": chat_id, "bindings": [[b.department, b.region_code] for b in stopped]},
    )
    return True


# --- a binding moves, or comes back ------------------------------------------------------------


def rebound(ctx: Ctx, binding: GroupBinding, *, previous_chat: int | None, was_active: bool) -> int:
    """Follow a /bind that moved ``binding`` from ``previous_chat`` or made it active again:
    its open cards are posted again in the bound chat; return how many."""
    chat = binding.chat_id
    moved: list[Report] = []
    if previous_chat is not None and previous_chat != chat and was_active:
        moved = _take_from(ctx, binding, previous_chat)
    if previous_chat is not None and not was_active:
        moved += _bring_back(ctx, binding)
    for report in moved:
        repost_card(ctx, report, chat)
    if moved:
        _audit(
            ctx,
            "cards_moved",
            {"from": previous_chat, "to": chat, "reports": [r.number for r in moved]},
        )
    return len(moved)


def _belongs(ctx: Ctx, report: Report, binding: GroupBinding) -> bool:
    """True if ``report`` is handled by ``binding`` (its department, and the binding's region
    is the report's or above it)."""
    dispatch = binding.department == ctx.rules.dispatch
    region = report.region_code if dispatch else report.target_region
    found = find_binding(ctx.session, department=binding.department, region=region)
    return found is not None and found.id == binding.id


def _take_from(ctx: Ctx, binding: GroupBinding, old_chat: int) -> list[Report]:
    """Retire the binding's cards in the chat it left, cancel what was queued or asked there."""
    reports = [
        report
        for report in group_queries.open_reports_in_chat(
            session=ctx.session, chat_id=old_chat, departments=[binding.department]
        )
        if _belongs(ctx, report, binding)
    ]
    ids = [report.id or 0 for report in reports]
    if not ids:
        return []
    outbox.cancel_pending(
        session=ctx.session, chat_id=old_chat, report_ids=ids, reason="the binding moved"
    )
    group_queries.drop_prompts(session=ctx.session, chat_id=old_chat, report_ids=ids)
    note = t("groups.card_moved_note", title=binding.chat_title or str(binding.chat_id))
    for report in reports:
        if report.card_chat_id == old_chat and report.card_message_id is not None:
            retire_card(ctx, report, f"{report.number} {note}")
    cleared = set(group_queries.clear_cards(session=ctx.session, report_ids=ids, chat_id=old_chat))
    cleared |= set(group_queries.clear_cards(session=ctx.session, report_ids=ids, chat_id=None))
    return [report for report in reports if report.id in cleared]


def _bring_back(ctx: Ctx, binding: GroupBinding) -> list[Report]:
    """Reports still waiting at dispatch only because this binding's group was lost go back."""
    back: list[Report] = []
    for report in _waiting_since_loss(ctx.session, binding):
        if not _belongs_after_return(ctx, report, binding):
            continue
        card = (report.card_chat_id, report.card_message_id)
        try:
            report = dispatching.route_back(
                ctx.session,
                ctx.services,
                report_id=report.id or 0,
                department=binding.department,
                now=ctx.now,
            )
        except Refused:
            continue  # dispatch acted on it meanwhile
        retire_card(ctx, report, t("groups.back_note", number=report.number), card=card)
        tell_observer(ctx, report, "routed_by_dispatch")
        back.append(report)
    return back


def _waiting_since_loss(session: Session, binding: GroupBinding) -> list[Report]:
    """Reports in dispatch whose last move was the system returning them from this department."""
    returned_by_system = select(ReportEvent.report_id).where(
        ReportEvent.action == "returned", ReportEvent.actor == "system"
    )
    waiting = session.exec(
        select(Report)
        .where(
            Report.status == ReportStatus.DISPATCH,
            col(Report.id).in_(returned_by_system),
        )
        .order_by(col(Report.id))
    ).all()
    found = []
    for report in waiting:
        last = session.exec(
            select(ReportEvent)
            .where(
                ReportEvent.report_id == report.id,
                col(ReportEvent.action).in_(
                    ("created", "transferred", "routed_by_dispatch", "returned", "reopened")
                ),
            )
            .order_by(col(ReportEvent.at).desc(), col(ReportEvent.id).desc())
            .limit(1)
        ).first()
        if (
            last is not None
            and last.action == "returned"
            and last.actor == "system"
            and last.details.get("from") == binding.department
        ):
            found.append(report)
    return found


def _belongs_after_return(ctx: Ctx, report: Report, binding: GroupBinding) -> bool:
    """True if the binding is the group the report would be routed to by its department."""
    target = (
        ctx.services.router.target_region(binding.department, report.region_code)
        or report.region_code
    )
    found = find_binding(ctx.session, department=binding.department, region=target)
    return found is not None and found.id == binding.id


# --- a group becomes a supergroup --------------------------------------------------------------


def migrate(ctx: Ctx, old_chat: int, new_chat: int) -> int:
    """Move everything of ``old_chat`` to ``new_chat`` and post its open cards there again;
    return how many cards were posted (0 when the migration was already followed)."""
    counts = group_queries.move_chat_rows(
        session=ctx.session, old_chat_id=old_chat, new_chat_id=new_chat
    )
    had_cards = group_queries.cards_in_chat(session=ctx.session, chat_id=old_chat)
    counts["outbox"] = outbox.move_pending(
        session=ctx.session, old_chat_id=old_chat, new_chat_id=new_chat
    )
    reports = [
        report
        for report in (ctx.session.get(Report, rid) for rid in had_cards)
        if report is not None and report.status in OPEN_STATUSES
    ]
    for report in reports:
        ctx.session.refresh(report)
        repost_card(ctx, report, new_chat)
    if any(counts.values()) or had_cards:
        _audit(
            ctx,
            "group_migrated",
            {"from": old_chat, "to": new_chat, "reposted": len(reports), **counts},
        )
        log.info("group migrated old=%s new=%s moved=%s", old_chat, new_chat, counts)
    return len(reports)


# --- cards ---------------------------------------------------------------------------------------


def repost_card(ctx: Ctx, report: Report, chat_id: int) -> None:
    """Post a report's card (with its buttons and attachments) in ``chat_id`` again; delivery
    makes the new message the report's card."""
    rid = report.id or 0
    text = t("groups.card_reposted") + "\n" + card_text(ctx, report)
    ctx.out.send(chat_id, text, keyboard=card_keyboard(ctx, report), purpose="card", report_id=rid)
    if utf16_len(report.text) > CARD_TEXT_LIMIT:
        ctx.out.send(
            chat_id, mask_personal_numbers(report.text), reply_to=card_of(rid), report_id=rid
        )
    for item in report.attachments:
        if item.get("kind") == "location":
            ctx.out.location(
                chat_id, item["lat"], item["lon"], reply_to=card_of(rid), report_id=rid
            )
        else:
            ctx.out.media(
                chat_id, item["kind"], item["file_id"], reply_to=card_of(rid), report_id=rid
            )


def retire_card(
    ctx: Ctx, report: Report, note: str, *, card: tuple[int | None, int | None] | None = None
) -> None:
    """Replace a report's card (its current one, or ``card``) by ``note`` without buttons."""
    chat, message = card or (report.card_chat_id, report.card_message_id)
    if chat is not None and message is not None:
        close_card(ctx, chat, message, report.id or 0, note, True)


# --- for callers outside an update (the delivery worker) ---------------------------------------


def outside_update(
    services: Services, session: Session, name: str, act: Callable[[Ctx], int]
) -> int:
    """Run ``act`` on a context in ``session`` and queue what it sends (keys start with
    ``name``); return its result. The caller commits."""
    ctx = Ctx(services=services, session=session, now=services.clock())
    result = act(ctx)
    outbox.enqueue_many(
        session=session, messages=ctx.out.rows(prefix=f"{name}:{ctx.now.isoformat()}", now=ctx.now)
    )
    return result


def known_group(ctx: Ctx, chat_id: int, *, title: str, user_id: int | None) -> KnownGroup:
    """Return the record of a group the bot is in, creating it if needed."""
    group = ctx.session.get(KnownGroup, chat_id)
    if group is None:
        group = KnownGroup(chat_id=chat_id, title=title[:255], added_by=user_id, added_at=ctx.now)
    group.left_at = None
    ctx.session.add(group)
    return group
