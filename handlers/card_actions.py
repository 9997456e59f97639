"""Buttons on report cards in department and dispatch groups.

Every press is decided by the authority policy (``bot.services.access``): only a member of
the group holding the report, on the report's current card, in a status the lifecycle allows.
Stale, forged or foreign presses change nothing, are recorded, and get a short answer; of two
simultaneous 签收 exactly one wins. Buttons that need words (退回, 办结, 延期, 答复) open a
prompt (``handlers.prompting``); 合并 and 拆分 are carried out by ``handlers.same_issue_cards``.
"""

from __future__ import annotations

from bot.core.authority import Actor
from bot.core.durations import time_left
from bot.core.lifecycle import Action, Status
from bot.core.messages import t
from bot.errors import Refused
from bot.services import access, dispatching, extensions
from bot.services import reports as flows
from handlers import same_issue_cards
from handlers.actions import card_of
from handlers.callbacks import Act, Press
from handlers.cards import card_keyboard, card_text, transfer_keyboard
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import (
    close_card,
    edit_card,
    is_current_card,
    post_card,
    redraw_card,
    tell_observer,
)
from handlers.prompting import ask_for_text
from storage import reports as report_queries
from storage.models import Report

# Buttons that ask for words, and the prompt each opens.
PROMPTED = {
    Act.RETURN: "return",
    Act.RESOLVE: "resolve",
    Act.CLOSE: "close",
    Act.EXTEND: "extend",
    Act.ANSWER: "answer",
}


def action_of(press: Press, report: Report) -> Action:
    """Return the lifecycle action a press asks for (a menu asks for the action behind it)."""
    if press.act in (Act.TRANSFER, Act.BACK):
        return Action.ROUTE if report.status == Status.DISPATCH else Action.TRANSFER
    return {
        Act.SIGN: Action.SIGN,
        Act.TRANSFER_TO: Action.TRANSFER,
        Act.RETURN: Action.RETURN,
        Act.RESOLVE: Action.RESOLVE,
        Act.EXTEND: Action.EXTEND,
        Act.ANSWER: Action.ANSWER,
        Act.ROUTE_TO: Action.ROUTE,
        Act.CLOSE: Action.CLOSE,
        Act.EXTENSION_OK: Action.DECIDE_EXTENSION,
        Act.EXTENSION_NO: Action.DECIDE_EXTENSION,
        Act.URGE: Action.URGE,
        Act.MERGE: Action.MERGE,
        Act.MERGE_WITH: Action.MERGE,
        Act.SPLIT: Action.SPLIT,
        Act.SPLIT_OFF: Action.SPLIT,
    }[press.act]


def on_press(event: Event, press: Press, ctx: Ctx) -> None:
    """Handles a card button pressed in a department or dispatch group."""
    if event.user_id is None:
        return
    report = ctx.session.get(Report, press.target)
    if report is None:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    try:
        action = action_of(press, report)
    except KeyError:  # an observer's button pressed in a group
        ctx.out.reply_answer(t("common.unknown_button"))
        return
    # Extension decisions and 催办 sit on messages of their own, not on the card.
    by = ctx.actor(event, on_card=action not in (Action.DECIDE_EXTENSION, Action.URGE))
    try:
        access.require(ctx.session, ctx.services, action, by, report)
        _act(event, press, ctx, report, by)
    except Refused as refused:
        report_queries.add_event(
            session=ctx.session,
            report_id=report.id,
            actor=access.audit_name(by),
            action="press_refused",
            at=ctx.now,
            details={"act": press.act.value, "chat": event.chat_id, "reason": refused.key},
        )
        ctx.out.reply_answer(t(refused.key), alert=refused.key.startswith("authority."))


def _act(event: Event, press: Press, ctx: Ctx, report: Report, by: Actor) -> None:
    """Carries out an allowed press."""
    who = event.user_name or str(event.user_id)
    rid, chat = report.id or 0, event.chat_id
    if press.act in PROMPTED:
        if press.act == Act.EXTEND and extensions.pending_extension(ctx.session, report_id=rid):
            raise Refused("extension.already_pending")
        ask_for_text(event, ctx, report, PROMPTED[press.act], who)
    elif press.act == Act.SIGN:
        sign(ctx, report, by=by, who=who, chat=chat, message_id=event.message_id)
        ctx.out.reply_answer(t("department.signed_answer"))
    elif press.act == Act.TRANSFER:
        ctx.out.reply_answer(t("department.choose_department"))
        menu = transfer_keyboard(ctx, report)
        edit_card(ctx, chat, event.message_id, report, card_text(ctx, report), menu)
    elif press.act == Act.BACK:
        ctx.out.reply_answer("↩")
        _redraw(event, ctx, report, "")
    elif press.act in (Act.TRANSFER_TO, Act.ROUTE_TO):
        _move(event, press, ctx, report, by, who)
    elif press.act == Act.URGE:
        _urge(event, ctx, report, by, who)
    elif press.act in (Act.MERGE, Act.MERGE_WITH, Act.SPLIT, Act.SPLIT_OFF):
        same_issue_cards.on_press(event, press, ctx, report, by, who)
    else:
        _decide_extension(event, press, ctx, by=by, who=who)


def _move(event: Event, press: Press, ctx: Ctx, report: Report, by: Actor, who: str) -> None:
    """Transfers a report (转办) or routes it from dispatch (分拨) from its card."""
    note = move(
        ctx,
        report,
        press.arg,
        by=by,
        who=who,
        chat=event.chat_id,
        message_id=event.message_id,
        transfer=press.act == Act.TRANSFER_TO,
    )
    ctx.out.reply_answer(note)


def move(
    ctx: Ctx,
    report: Report,
    department: str,
    *,
    by: Actor,
    who: str,
    chat: int,
    message_id: int | None,
    transfer: bool,
) -> str:
    """Transfers (转办) or routes (分拨) ``report``; the card it leaves in ``chat`` (message
    ``message_id``) becomes a note, its new card goes out, the observer is told. Returns the note.
    """
    rid = report.id or 0
    was_current = is_current_card(report, chat, message_id)
    if transfer:
        report, _ = flows.transfer(
            ctx.session, ctx.services, report_id=rid, department=department, by=by, now=ctx.now
        )
        key, notice = "department.transferred_note", "transferred"
    else:
        report = dispatching.route_from_dispatch(
            ctx.session, ctx.services, report_id=rid, department=department, by=by, now=ctx.now
        )
        key, notice = "dispatch.routed_note", "routed_by_dispatch"
    name = ctx.department_name(report.department)
    note = t(key, number=report.number, department=name, who=who)
    close_card(ctx, chat, message_id, rid, note, was_current)
    if post_card(ctx, report).status != Status.DISPATCH:  # it reached the department's group
        tell_observer(ctx, report, notice)
    return note


def _urge(event: Event, ctx: Ctx, report: Report, by: Actor, who: str) -> None:
    """Presses the department holding the report (催办), under its card."""
    report = flows.urge(ctx.session, ctx.services, report_id=report.id or 0, by=by, now=ctx.now)
    holder = access.holder_chat(ctx.session, ctx.services, report)
    ctx.out.reply_answer(t("urge.done"))
    if holder is None:
        return
    signed = report.status == Status.SIGNED
    due = report.resolve_due_at if signed else report.sign_due_at
    ctx.out.send(
        holder,
        t(
            "urge.to_group",
            who=who,
            number=report.number,
            left=time_left(due, ctx.now) if due is not None else "",
            step=t("reminder.step_resolve" if signed else "reminder.step_sign"),
        ),
        reply_to=card_of(report.id or 0) if report.card_chat_id == holder else None,
        report_id=report.id,
    )


def sign(
    ctx: Ctx, report: Report, *, by: Actor, who: str, chat: int, message_id: int | None
) -> Report:
    """Signs for ``report`` (签收); the card (message ``message_id`` in ``chat``) shows who
    signed and the next buttons, and the observer is told."""
    report = flows.sign(ctx.session, ctx.services, report_id=report.id or 0, by=by, now=ctx.now)
    edit_card(
        ctx, chat, message_id, report, card_text(ctx, report, actor=who), card_keyboard(ctx, report)
    )
    tell_observer(ctx, report, "signed")
    return report


def _redraw(event: Event, ctx: Ctx, report: Report, who: str) -> None:
    """Edits the pressed card to show the report's status, who acted and the next buttons."""
    edit_card(
        ctx,
        event.chat_id,
        event.message_id,
        report,
        card_text(ctx, report, actor=who),
        card_keyboard(ctx, report),
    )


def _decide_extension(event: Event, press: Press, ctx: Ctx, *, by: Actor, who: str) -> None:
    """Dispatch approves or refuses an extension from its message's buttons."""
    if not press.arg.isdigit():
        raise Refused("common.stale_button")
    note = decide_extension(
        ctx,
        press.target,
        int(press.arg),
        approve=press.act == Act.EXTENSION_OK,
        by=by,
        who=who,
        chat=event.chat_id,
        message_id=event.message_id or 0,
    )
    ctx.out.reply_answer(note)


def decide_extension(
    ctx: Ctx,
    report_id: int,
    request_id: int,
    *,
    approve: bool,
    by: Actor,
    who: str,
    chat: int,
    message_id: int | None,
) -> str:
    """Dispatch approves or refuses an extension; the department and the observer are told.

    The request's message ``message_id`` in ``chat`` becomes the decision (None: the decision
    is sent to ``chat`` instead). Returns the decision's note.
    """
    report, request = extensions.decide_extension(
        ctx.session,
        ctx.services,
        report_id=report_id,
        request_id=request_id,
        approve=approve,
        by=by,
        now=ctx.now,
    )
    days = int(request.details["days"])
    due = ctx.local(report.resolve_due_at)
    key = "extension.approved_note" if approve else "extension.refused_note"
    note = t(key, number=report.number, days=days, who=who, due=due)
    if message_id is None:
        ctx.out.send(chat, note, report_id=report.id)
    else:
        ctx.out.edit(chat, message_id, note, report_id=report.id)
    if report.card_chat_id is not None:
        ctx.out.send(
            report.card_chat_id, note, reply_to=card_of(report.id or 0), report_id=report.id
        )
        redraw_card(ctx, report)
    if approve:
        tell_observer(ctx, report, "extension_approved", due=due)
    return note
