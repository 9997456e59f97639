"""Prompts in groups: 退回 reason, 办结 result, dispatch's close reason, 延期, 答复观察员.

A button that needs words asks its presser with a prompt that mentions them (so Telegram
opens the reply box for them alone) and replies to the card. Only a reply to that prompt, by
that person, within half an hour, answers it; 取消 (or /cancel) withdraws it. When the answer
comes, authority and the report's state are checked again: a report a colleague signed, or
that was transferred meanwhile, is not returned by a stale prompt, and the presser is told so.
"""

from __future__ import annotations

import re

from bot.core.authority import Actor
from bot.core.lifecycle import Action
from bot.core.messages import mention, t
from bot.errors import Refused
from bot.services import dispatching, extensions, prompts
from bot.services import reports as flows
from bot.services.reports import find_binding
from handlers.actions import Button
from handlers.callbacks import Act, Press
from handlers.cards import card_keyboard, card_text
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import (
    close_card,
    edit_card,
    is_current_card,
    post_card,
    tell_observer,
    tell_resolved,
)
from storage.models import PendingInput, Report

ACTION_OF = {
    "return": Action.RETURN,
    "resolve": Action.RESOLVE,
    "close": Action.CLOSE,
    "extend": Action.EXTEND,
    "answer": Action.ANSWER,
}
CANCEL_WORDS = frozenset({"取消", "撤销", "算了", "cancel", "/cancel"})


def ask_for_text(event: Event, ctx: Ctx, report: Report, action: str, who: str) -> None:
    """Asks the presser for a reason, result or answer; only a reply to the prompt answers."""
    name = who or str(event.user_id)
    text = t(f"prompt.ask.{action}", user=name, number=report.number)
    asked = prompts.ask(
        ctx.session,
        chat_id=event.chat_id,
        user_id=event.user_id or 0,
        action=action,
        report=report,
        card_message_id=event.message_id,
        who=who,
        text=text,
        update_id=event.update_id,
        now=ctx.now,
    )
    ctx.out.reply_answer(t("prompt.answer_hint"))
    # A forced reply that mentions the presser: with privacy mode on, the bot sees replies to
    # its own messages, and ``selective`` opens the reply box for the mentioned user only.
    ctx.out.send(
        event.chat_id,
        text,
        reply_to=event.message_id,
        report_id=report.id,
        markup={"force_reply": True, "selective": True, "input_field_placeholder": "请输入"},
        entities=[mention(event.user_id or 0, name)] if text.startswith(name) else None,
        purpose="prompt",
        key=asked.key,
    )


def try_answer(event: Event, ctx: Ctx) -> bool:
    """Completes the sender's open prompt if this message replies to it; True if it did."""
    if event.user_id is None:
        return False
    pending = prompts.pending_of(ctx.session, chat_id=event.chat_id, user_id=event.user_id)
    if pending is None or not prompts.answers(
        ctx.session,
        pending,
        reply_to_message_id=event.reply_to_message_id,
        reply_to_text=event.reply_to_text,
    ):
        return False
    _answer(event, ctx, pending)
    return True


def cancel(event: Event, ctx: Ctx) -> bool:
    """Withdraws the sender's open prompt in this group (/cancel); True if there was one."""
    if event.user_id is None:
        return False
    pending = prompts.pending_of(ctx.session, chat_id=event.chat_id, user_id=event.user_id)
    if pending is None:
        return False
    _withdraw(event, ctx, pending, "prompt.cancelled")
    return True


def _withdraw(event: Event, ctx: Ctx, pending: PendingInput, key: str, **values: str) -> None:
    """Deletes a prompt and says why, naming the report and the action."""
    report = ctx.session.get(Report, pending.report_id or 0)
    ctx.session.delete(pending)
    ctx.out.send(
        event.chat_id,
        t(
            key,
            number=report.number if report else "",
            action=t(f"prompt.action.{pending.action}"),
            **values,
        ),
        reply_to=event.message_id,
    )


def _answer(event: Event, ctx: Ctx, pending: PendingInput) -> None:
    """Carries out the prompt's action with the text just sent, after checking it again."""
    text = event.text.strip()
    if text.lower() in CANCEL_WORDS:
        _withdraw(event, ctx, pending, "prompt.cancelled")
        return
    if prompts.expired(pending, ctx.now):
        _withdraw(event, ctx, pending, "prompt.expired_on_answer")
        return
    report = ctx.session.get(Report, pending.report_id or 0)
    if report is None or prompts.moved_on(pending, report):
        status = t(f"status.{report.status}") if report else t("common.none")
        _withdraw(event, ctx, pending, "prompt.moved_on", status=status)
        return
    if not text:
        ctx.out.send(event.chat_id, t("department.need_text"), reply_to=event.message_id)
        return
    ctx.session.delete(pending)
    try:
        _complete(event, ctx, pending, report, text)
    except Refused as refused:
        ctx.out.send(event.chat_id, t(refused.key), reply_to=event.message_id)


def _complete(event: Event, ctx: Ctx, pending: PendingInput, report: Report, text: str) -> None:
    """Takes the prompt's action on ``report`` with ``text`` (authority is asked again)."""
    who = str(pending.data.get("who") or event.user_name)
    by = ctx.actor(event)
    raw_card = pending.data.get("card_message_id")
    card = int(raw_card) if raw_card is not None else None
    was_current = is_current_card(report, event.chat_id, card)
    if pending.action == "extend":
        request_extension(
            ctx, report, text, by=by, who=who, chat=event.chat_id, reply_to=event.message_id
        )
        return
    if pending.action == "answer":
        answer_observer(ctx, report, text, by=by, chat=event.chat_id, reply_to=event.message_id)
        return
    finish(
        ctx,
        pending.action,
        report,
        text,
        by=by,
        who=who,
        chat=event.chat_id,
        card=card,
        reply_to=event.message_id,
        was_current=was_current,
    )


def answer_observer(
    ctx: Ctx, report: Report, text: str, *, by: Actor, chat: int, reply_to: int | None
) -> None:
    """Answers the observer (答复观察员) with ``text``; the group ``chat`` is told it went."""
    flows.answer_observer(
        ctx.session, ctx.services, report_id=report.id or 0, text=text, by=by, now=ctx.now
    )
    tell_observer(ctx, report, "replied", text=text)
    ctx.out.send(
        chat,
        t("department.answer_sent", number=report.number),
        reply_to=reply_to,
        report_id=report.id,
    )


def finish(
    ctx: Ctx,
    action: str,
    report: Report,
    text: str,
    *,
    by: Actor,
    who: str,
    chat: int,
    card: int | None,
    reply_to: int | None,
    was_current: bool,
) -> None:
    """Returns (退回), resolves (办结) or closes (dispatch) ``report`` with ``text``; the card
    ``card`` in ``chat`` is redrawn (or closed), a note goes to ``chat``, the observer is told.
    """
    rid = report.id or 0
    if action == "return":
        report, previous = flows.return_to_dispatch(
            ctx.session, ctx.services, report_id=rid, reason=text, by=by, now=ctx.now
        )
        note = t("department.returned_note", number=report.number, who=who, reason=text)
        post_card(ctx, report)
        tell_observer(ctx, report, "returned")
    elif action == "resolve":
        report = flows.resolve(
            ctx.session, ctx.services, report_id=rid, result=text, by=by, now=ctx.now
        )
        note = t("department.resolved_note", number=report.number, who=who, result=text)
        tell_resolved(ctx, report, text)
    else:
        report = dispatching.close_by_dispatch(
            ctx.session, ctx.services, report_id=rid, reason=text, by=by, now=ctx.now
        )
        note = t("dispatch.closed_note", number=report.number, who=who, reason=text)
        tell_observer(ctx, report, "closed_by_dispatch", reason=text)
    if card is not None and action == "return":
        close_card(ctx, chat, card, rid, note, was_current)
        return
    if card is not None:
        edit_card(
            ctx,
            chat,
            card,
            report,
            card_text(ctx, report, actor=who),
            card_keyboard(ctx, report),
        )
    ctx.out.send(chat, note, reply_to=reply_to, report_id=report.id)


EXTENSION_ANSWER = re.compile(
    r"^\s*(\d{1,3})\s*(?:个)?\s*(?:工作日|天|日)?[\s,，:：、]*(.+)$", re.S
)


def request_extension(
    ctx: Ctx, report: Report, text: str, *, by: Actor, who: str, chat: int, reply_to: int | None
) -> None:
    """Records a department's extension request ("5 天 原因") and puts it before dispatch;
    the group ``chat`` is told. Refused when the words are not a number of days and a reason,
    or no dispatch group is bound for the report's region."""
    match = EXTENSION_ANSWER.match(text)
    if match is None or not match.group(2).strip():
        raise Refused("extension.usage")
    dispatch = find_binding(ctx.session, department=ctx.rules.dispatch, region=report.region_code)
    if dispatch is None:
        raise Refused("extension.no_dispatch")
    days, reason = int(match.group(1)), match.group(2).strip()
    request = extensions.request_extension(
        ctx.session,
        ctx.services,
        report_id=report.id or 0,
        days=days,
        reason=reason,
        by=by,
        now=ctx.now,
    )
    rid, arg = report.id or 0, str(request.id)
    ctx.out.send(
        dispatch.chat_id,
        t(
            "extension.to_dispatch",
            number=report.number,
            department=ctx.department_name(report.department),
            who=who,
            days=days,
            due=ctx.local(report.resolve_due_at),
            reason=reason,
        ),
        keyboard=[
            [
                Button(t("extension.button_ok"), Press(Act.EXTENSION_OK, rid, arg).encode()),
                Button(t("extension.button_no"), Press(Act.EXTENSION_NO, rid, arg).encode()),
            ]
        ],
        report_id=rid,
    )
    ctx.out.send(
        chat,
        t("extension.requested_note", number=report.number, days=days, who=who),
        reply_to=reply_to,
        report_id=rid,
    )
