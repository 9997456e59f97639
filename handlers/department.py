"""Department groups (and the dispatch group): binding, card buttons, replies, reasons.

A card's buttons are 签收 / 转办 / 退回, then 办结 once signed. Any member of the bound group may
act; every press is re-checked against the database (the report belongs to a department this
group is bound for, and its status allows the action), so stale or forged buttons change
nothing and only one of two simultaneous 签收 wins. 退回 and 办结 ask the presser for a reason or
result: their next message in the group is taken as the answer.
"""

from __future__ import annotations

import re

from sqlmodel import select

from bot.core.messages import t
from bot.infra.delivery import CARD_BATCH
from bot.services import people
from bot.services import reports as flows
from bot.services.reports import Refused, binding_of_chat, find_binding
from handlers.actions import Button, Keyboard, card_of
from handlers.callbacks import Act, Press
from handlers.cards import card_keyboard, card_text, rating_keyboard, transfer_keyboard
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import post_card, tell_observer
from storage import reports as report_queries
from storage.models import (
    KnownGroup,
    OutboxMessage,
    PendingInput,
    Report,
    ReportKind,
    ReportStatus,
)


def on_group_message(event: Event, ctx: Ctx) -> None:
    """Handles a message in a group: /bind, a pending reason, or a reply to a card."""
    if event.migrate_to_chat_id:
        _migrate(event, ctx)
        return
    if event.kind != "message" or event.user_id is None:
        return
    if event.sender_chat_id is not None and event.sender_chat_id == event.chat_id:
        # An anonymous administrator speaks as the group: nobody to hold to account.
        report_queries.add_event(
            session=ctx.session,
            report_id=None,
            actor=f"chat:{event.chat_id}",
            action="anonymous_refused",
            at=ctx.now,
            details={"message": event.message_id},
        )
        return
    if event.command == "bind":
        _bind(event, ctx)
        return
    if event.command in ("start", "new", "my", "cancel"):
        if binding_of_chat(ctx.session, chat_id=event.chat_id):
            ctx.out.send(event.chat_id, t("group.private_only"), reply_to=event.message_id)
        return
    if event.command is not None:
        return  # commands for other bots or people: stay quiet in a busy group
    pending = ctx.session.exec(
        select(PendingInput).where(
            PendingInput.chat_id == event.chat_id, PendingInput.user_id == event.user_id
        )
    ).first()
    if pending is not None:
        _answer_pending(event, ctx, pending)
        return
    if event.reply_to_message_id is not None:
        _relay_reply(event, ctx)


def on_bot_membership(event: Event, ctx: Ctx) -> None:
    """Remembers groups the bot is added to; an unbound one is left after a grace period."""
    if not event.group:
        return
    group = ctx.session.get(KnownGroup, event.chat_id)
    if event.member_status in ("member", "administrator"):
        if group is None:
            group = KnownGroup(
                chat_id=event.chat_id,
                title=event.chat_title[:255],
                added_by=event.user_id,
                added_at=ctx.now,
            )
        group.left_at = None
        ctx.session.add(group)
        report_queries.add_event(
            session=ctx.session,
            report_id=None,
            actor=f"user:{event.user_id}",
            action="bot_added",
            at=ctx.now,
            details={"chat": event.chat_id},
        )
    elif event.member_status in ("left", "kicked") and group is not None:
        group.left_at = ctx.now
        ctx.session.add(group)


def on_press(event: Event, press: Press, ctx: Ctx) -> None:
    """Handles a card button pressed in a department or dispatch group."""
    if event.user_id is None:
        return
    who = event.user_name or str(event.user_id)
    actor = f"user:{event.user_id}"
    report = ctx.session.get(Report, press.target)
    if report is None:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    try:
        _act(event, press, ctx, report, who=who, actor=actor)
    except Refused as refused:
        report_queries.add_event(
            session=ctx.session,
            report_id=report.id,
            actor=actor,
            action="press_refused",
            at=ctx.now,
            details={"act": press.act.value, "chat": event.chat_id, "reason": refused.key},
        )
        ctx.out.reply_answer(t(refused.key), alert=refused.key.endswith("not_your_report"))


def _act(event: Event, press: Press, ctx: Ctx, report: Report, *, who: str, actor: str) -> None:
    rid = report.id or 0
    chat = event.chat_id
    if press.act in (Act.ROUTE_TO, Act.CLOSE, Act.EXTENSION_OK, Act.EXTENSION_NO) or (
        press.act in (Act.TRANSFER, Act.BACK) and report.status == ReportStatus.DISPATCH
    ):
        _check_dispatch(ctx, report, chat)
    else:
        flows.check_department_chat(ctx.session, report, chat_id=chat)
    if press.act == Act.SIGN:
        report = flows.sign(ctx.session, report_id=rid, chat_id=chat, actor=actor, now=ctx.now)
        ctx.out.reply_answer(t("department.signed_answer"))
        _redraw(event, ctx, report, who)
        tell_observer(ctx, report, "signed", department=ctx.department_name(report.department))
    elif press.act == Act.TRANSFER:
        if report.status not in (ReportStatus.ROUTED, ReportStatus.SIGNED, ReportStatus.DISPATCH):
            raise Refused("department.not_allowed_now")
        ctx.out.reply_answer(t("department.choose_department"))
        _edit_card(
            ctx,
            chat,
            event.message_id,
            report,
            card_text(ctx, report),
            transfer_keyboard(ctx, report),
        )
    elif press.act == Act.BACK:
        ctx.out.reply_answer("↩")
        _redraw(event, ctx, report, "")
    elif press.act == Act.TRANSFER_TO:
        card_is_current = _is_current_card(report, chat, event.message_id)
        report, previous = flows.transfer(
            ctx.session,
            ctx.services,
            report_id=rid,
            chat_id=chat,
            department=press.arg,
            actor=actor,
            now=ctx.now,
        )
        name = ctx.department_name(report.department)
        ctx.out.reply_answer(
            t("department.transferred_note", number=report.number, department=name, who=who)
        )
        _close_card(
            ctx,
            chat,
            event.message_id,
            rid,
            t("department.transferred_note", number=report.number, department=name, who=who),
            card_is_current,
        )
        post_card(ctx, report)
        tell_observer(ctx, report, "transferred", department=name)
    elif press.act in (Act.RETURN, Act.RESOLVE, Act.CLOSE, Act.EXTEND):
        allowed = {
            Act.RETURN: (ReportStatus.ROUTED, ReportStatus.SIGNED),
            Act.RESOLVE: (ReportStatus.SIGNED,),
            Act.CLOSE: (ReportStatus.DISPATCH,),
            Act.EXTEND: (ReportStatus.SIGNED,),
        }
        if report.status not in allowed[press.act]:
            raise Refused("department.not_allowed_now")
        if press.act == Act.EXTEND and flows.pending_extension(ctx.session, report_id=rid):
            raise Refused("extension.already_pending")
        action = {
            Act.RETURN: "return",
            Act.RESOLVE: "resolve",
            Act.CLOSE: "close",
            Act.EXTEND: "extend",
        }[press.act]
        _ask_for_text(event, ctx, report, action, who)
    elif press.act in (Act.EXTENSION_OK, Act.EXTENSION_NO):
        _decide_extension(event, press, ctx, who=who, actor=actor)
    elif press.act == Act.ROUTE_TO:
        card_is_current = _is_current_card(report, chat, event.message_id)
        report = flows.route_from_dispatch(
            ctx.session, ctx.services, report_id=rid, department=press.arg, actor=actor, now=ctx.now
        )
        name = ctx.department_name(report.department)
        note = t("dispatch.routed_note", number=report.number, department=name, who=who)
        ctx.out.reply_answer(note)
        _close_card(ctx, chat, event.message_id, rid, note, card_is_current)
        post_card(ctx, report)
        tell_observer(ctx, report, "routed_by_dispatch", department=name)
    else:
        ctx.out.reply_answer(t("common.unknown_button"))


def _check_dispatch(ctx: Ctx, report: Report, chat_id: int) -> None:
    """Refuse unless ``chat_id`` is a dispatch group."""
    bound = {b.department for b in binding_of_chat(ctx.session, chat_id=chat_id)}
    if ctx.rules.dispatch not in bound:
        raise Refused("department.not_your_report")


def _redraw(event: Event, ctx: Ctx, report: Report, who: str) -> None:
    """Edits the pressed card to show the report's status, who acted and the next buttons."""
    _edit_card(
        ctx,
        event.chat_id,
        event.message_id,
        report,
        card_text(ctx, report, actor=who),
        card_keyboard(ctx, report),
    )


def _is_current_card(report: Report, chat_id: int, message_id: int | None) -> bool:
    """True if ``message_id`` in ``chat_id`` is the report's card (or the burst list holding it)."""
    return report.card_chat_id == chat_id and report.card_message_id == message_id


def _edit_card(
    ctx: Ctx,
    chat_id: int,
    message_id: int | None,
    report: Report,
    text: str,
    keyboard: Keyboard | None,
) -> None:
    """Edits the card a button was pressed on.

    The report's current card is addressed through its placeholder: when several new reports
    arrived at once and share one list message, the delivery worker turns the edit into a new
    card replying to the list instead of overwriting the list.
    """
    target: int | dict[str, int] = message_id or 0
    if _is_current_card(report, chat_id, message_id):
        target = card_of(report.id or 0)
    ctx.out.edit(chat_id, target, text, keyboard=keyboard, report_id=report.id)


def _close_card(
    ctx: Ctx, chat_id: int, message_id: int | None, report_id: int, note: str, was_current: bool
) -> None:
    """Replaces a card the report has left (transferred, returned, routed) by a short note.

    The report's placeholder now points at its next card, so the old message is addressed by
    id — unless it is a burst list shared with other reports, which gets a reply instead.
    """
    shared = ctx.session.exec(
        select(OutboxMessage.id).where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.result_message_id == message_id,
            OutboxMessage.purpose == CARD_BATCH,
        )
    ).first()
    if message_id is None or (was_current and shared is not None):
        ctx.out.send(chat_id, note, reply_to=message_id, report_id=report_id)
    else:
        ctx.out.edit(chat_id, message_id, note, report_id=report_id)


def _ask_for_text(event: Event, ctx: Ctx, report: Report, action: str, who: str) -> None:
    """Asks the presser for a reason or result; their next message in this group answers."""
    existing = ctx.session.exec(
        select(PendingInput).where(
            PendingInput.chat_id == event.chat_id, PendingInput.user_id == event.user_id
        )
    ).first()
    pending = existing or PendingInput(
        chat_id=event.chat_id, user_id=event.user_id or 0, action=action
    )
    pending.action = action
    pending.report_id = report.id
    pending.data = {"card_message_id": event.message_id, "who": who}
    pending.created_at = ctx.now
    ctx.session.add(pending)
    key = {
        "return": "department.return_prompt",
        "resolve": "department.resolve_prompt",
        "close": "dispatch.close_prompt",
        "extend": "extension.prompt",
    }[action]
    prompt = t(key, user=who, number=report.number)
    ctx.out.reply_answer(prompt)
    # A forced reply: groups run in privacy mode, where the bot sees replies to its own
    # messages but not plain chatter, so the answer must be a reply to this prompt.
    ctx.out.send(
        event.chat_id,
        prompt,
        reply_to=event.message_id,
        report_id=report.id,
        markup={"force_reply": True, "selective": True},
    )


def _answer_pending(event: Event, ctx: Ctx, pending: PendingInput) -> None:
    """Completes 退回, 办结 or a dispatch close with the text the presser just sent."""
    text = event.text.strip()
    if not text:
        ctx.out.send(event.chat_id, t("department.need_text"), reply_to=event.message_id)
        return
    ctx.session.delete(pending)
    who = str(pending.data.get("who") or event.user_name)
    actor = f"user:{event.user_id}"
    card_message = pending.data.get("card_message_id")
    rid = pending.report_id or 0
    before = ctx.session.get(Report, rid)
    card_is_current = before is not None and _is_current_card(before, event.chat_id, card_message)
    try:
        if pending.action == "return":
            report, _ = flows.return_to_dispatch(
                ctx.session,
                ctx.services,
                report_id=rid,
                chat_id=event.chat_id,
                reason=text,
                actor=actor,
                now=ctx.now,
            )
            note = t("department.returned_note", number=report.number, who=who, reason=text)
            post_card(ctx, report)
            tell_observer(ctx, report, "returned")
        elif pending.action == "extend":
            _request_extension(event, ctx, rid, text, who=who, actor=actor)
            return
        elif pending.action == "resolve":
            report = flows.resolve(
                ctx.session,
                report_id=rid,
                chat_id=event.chat_id,
                result=text,
                actor=actor,
                now=ctx.now,
            )
            note = t("department.resolved_note", number=report.number, who=who, result=text)
            _tell_resolved(ctx, report, text)
        else:
            report = ctx.session.get(Report, rid)
            if report is None:
                raise Refused("common.stale_button")
            _check_dispatch(ctx, report, event.chat_id)
            report = flows.close_by_dispatch(
                ctx.session, report_id=rid, reason=text, actor=actor, now=ctx.now
            )
            note = t("dispatch.closed_note", number=report.number, who=who, reason=text)
            tell_observer(ctx, report, "closed_by_dispatch", reason=text)
    except Refused as refused:
        ctx.out.send(event.chat_id, t(refused.key), reply_to=event.message_id)
        return
    if card_message and pending.action == "return":
        _close_card(
            ctx,
            event.chat_id,
            int(card_message),
            rid,
            card_text(ctx, report, actor=who),
            card_is_current,
        )
    elif card_message:
        _edit_card(
            ctx,
            event.chat_id,
            int(card_message),
            report,
            card_text(ctx, report, actor=who),
            card_keyboard(ctx, report),
        )
    ctx.out.send(event.chat_id, note, reply_to=event.message_id, report_id=report.id)


REPORT_NUMBER = re.compile(r"GD-\d{8}-\d{4,}")
EXTENSION_ANSWER = re.compile(
    r"^\s*(\d{1,3})\s*(?:个)?\s*(?:工作日|天|日)?[\s,，:：、]*(.+)$", re.S
)


def _request_extension(
    event: Event, ctx: Ctx, report_id: int, text: str, *, who: str, actor: str
) -> None:
    """Records a department's extension request and puts it before dispatch."""
    match = EXTENSION_ANSWER.match(text)
    if match is None or not match.group(2).strip():
        ctx.out.send(event.chat_id, t("extension.usage"), reply_to=event.message_id)
        return
    report = ctx.session.get(Report, report_id)
    dispatch = (
        find_binding(ctx.session, department=ctx.rules.dispatch, region=report.region_code)
        if report
        else None
    )
    if report is None or dispatch is None:
        ctx.out.send(event.chat_id, t("extension.no_dispatch"), reply_to=event.message_id)
        return
    days, reason = int(match.group(1)), match.group(2).strip()
    request = flows.request_extension(
        ctx.session,
        report_id=report_id,
        chat_id=event.chat_id,
        days=days,
        reason=reason,
        actor=actor,
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
        event.chat_id,
        t("extension.requested_note", number=report.number, days=days, who=who),
        reply_to=event.message_id,
        report_id=rid,
    )


def _decide_extension(event: Event, press: Press, ctx: Ctx, *, who: str, actor: str) -> None:
    """Dispatch approves or refuses an extension; the department and the observer are told."""
    if not press.arg.isdigit():
        raise Refused("common.stale_button")
    approve = press.act == Act.EXTENSION_OK
    report, request = flows.decide_extension(
        ctx.session,
        ctx.services,
        report_id=press.target,
        request_id=int(press.arg),
        approve=approve,
        actor=actor,
        now=ctx.now,
    )
    days = int(request.details["days"])
    due = ctx.local(report.resolve_due_at)
    key = "extension.approved_note" if approve else "extension.refused_note"
    note = t(key, number=report.number, days=days, who=who, due=due)
    ctx.out.reply_answer(note)
    ctx.out.edit(event.chat_id, event.message_id or 0, note, report_id=report.id)
    if report.card_chat_id is not None:
        ctx.out.send(
            report.card_chat_id, note, reply_to=card_of(report.id or 0), report_id=report.id
        )
        ctx.out.edit(
            report.card_chat_id,
            card_of(report.id or 0),
            card_text(ctx, report),
            keyboard=card_keyboard(ctx, report),
            report_id=report.id,
        )
    if approve:
        tell_observer(ctx, report, "extension_approved", due=due)


def _tell_resolved(ctx: Ctx, report: Report, result: str) -> None:
    """Tells the observer the result; a problem asks for a rating, a suggestion is answered."""
    from storage.models import Observer

    observer = ctx.session.get(Observer, report.observer_id)
    if observer is None or observer.telegram_user_id is None:
        return
    if report.kind == ReportKind.SUGGESTION:
        ctx.out.send(
            observer.telegram_user_id,
            t("observer.answered", number=report.number, result=result),
            report_id=report.id,
        )
        return
    ctx.out.send(
        observer.telegram_user_id,
        t("observer.resolved", number=report.number, result=result),
        keyboard=rating_keyboard(report),
        purpose="rating",
        report_id=report.id,
    )


def _relay_reply(event: Event, ctx: Ctx) -> None:
    """Relays a reply to one of the bot's messages about a report to that report's observer."""
    sent = ctx.session.exec(
        select(OutboxMessage).where(
            OutboxMessage.chat_id == event.chat_id,
            OutboxMessage.result_message_id == event.reply_to_message_id,
        )
    ).first()
    if sent is not None and sent.report_id is not None:
        report = ctx.session.get(Report, sent.report_id)
    else:
        # The bot's message may have been delivered but not yet recorded (a reply within a
        # moment of it): the report number in the text replied to says which report it is.
        number = REPORT_NUMBER.search(event.reply_to_text)
        report = (
            report_queries.get_report_by_number(session=ctx.session, number=number[0])
            if number
            else None
        )
    if report is None:
        return
    bound = {b.department for b in binding_of_chat(ctx.session, chat_id=event.chat_id)}
    if report.department not in bound:
        return
    if report.status not in (ReportStatus.ROUTED, ReportStatus.SIGNED, ReportStatus.DISPATCH):
        ctx.out.send(event.chat_id, t("department.relayed_closed"), reply_to=event.message_id)
        return
    if not (event.text.strip() or event.attachments):
        return
    observer_chat = report.source_chat_id
    name = ctx.department_name(report.department)
    if event.text.strip():
        ctx.out.send(
            observer_chat,
            t("observer.replied", department=name, number=report.number, text=event.text.strip()),
            purpose="notice:replied",
            report_id=report.id,
        )
    for item in event.attachments:
        ctx.out.media(observer_chat, item.kind, item.file_id, report_id=report.id)
    report_queries.add_event(
        session=ctx.session,
        report_id=report.id,
        actor=f"user:{event.user_id}",
        action="replied",
        at=ctx.now,
        details={"text": event.text[:1000]},
    )
    ctx.out.send(event.chat_id, t("department.reply_sent"), reply_to=event.message_id)


def _bind(event: Event, ctx: Ctx) -> None:
    """Binds this group to a (department, region) with a one-time code."""
    code = event.args.strip()
    if not code:
        ctx.out.send(event.chat_id, t("group.bind_usage"), reply_to=event.message_id)
        return
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
    group = ctx.session.get(KnownGroup, event.chat_id)
    if group is None:
        ctx.session.add(
            KnownGroup(
                chat_id=event.chat_id,
                title=event.chat_title[:255],
                added_by=event.user_id,
                added_at=ctx.now,
            )
        )
    ctx.out.send(
        event.chat_id,
        t(
            "group.bound",
            department=ctx.department_name(binding.department),
            region=ctx.region_name(binding.region_code),
        ),
    )


def _migrate(event: Event, ctx: Ctx) -> None:
    """Follows a group that became a supergroup: its bindings and cards move with it."""
    new_id = event.migrate_to_chat_id
    assert new_id is not None
    for binding in binding_of_chat(ctx.session, chat_id=event.chat_id):
        binding.chat_id = new_id
        ctx.session.add(binding)
    for report in ctx.session.exec(select(Report).where(Report.card_chat_id == event.chat_id)):
        report.card_chat_id = new_id
        ctx.session.add(report)
