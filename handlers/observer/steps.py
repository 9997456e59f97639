"""What an observer does to a report already filed: add to it (补充), rate it, press the
department once a deadline has passed (催办), take it back before it is signed for (撤回)."""

from __future__ import annotations

from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.services import access, observer_steps
from bot.services import reports as flows
from bot.services.reports import Refused
from handlers import same_issue
from handlers.actions import Button, card_of
from handlers.callbacks import Act, Press
from handlers.cards import card_keyboard, card_text
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import office_name
from handlers.observer.rows import end_step, set_step
from storage import outbox
from storage import reports as report_queries
from storage.models import OPEN_STATUSES, Draft, Observer, Report, ReportStatus


def on_step_press(event: Event, press: Press, ctx: Ctx, observer: Observer, report: Report) -> None:
    """Starts a follow-up, records a rating, presses the department or withdraws the report."""
    if press.act == Act.FOLLOW_UP:
        if report.status not in OPEN_STATUSES:
            ctx.out.reply_answer(t("observer.follow_up_closed"), alert=True)
            return
        set_step(ctx, observer, event.chat_id, f"followup:{report.id}")
        ctx.out.reply_answer(t("observer.follow_up_prompt"))
        ctx.out.send(event.chat_id, t("observer.follow_up_prompt"))
    elif press.act == Act.URGE:
        _remind(event, ctx, observer, report)
    elif press.act == Act.WITHDRAW:
        _withdraw(event, press, ctx, observer, report)
    elif press.act == Act.RATE:
        if press.arg == "unsatisfied":
            if report.status != ReportStatus.RESOLVED:
                ctx.out.reply_answer(t("common.stale_button"))
                return
            set_step(ctx, observer, event.chat_id, f"reason:{report.id}")
            ctx.out.reply_answer(t("observer.rate_reason_prompt"))
            ctx.out.send(event.chat_id, t("observer.rate_reason_prompt"))
            return
        try:
            flows.rate(
                ctx.session,
                ctx.services,
                report_id=report.id or 0,
                observer=observer,
                rating=press.arg,
                reason="",
                now=ctx.now,
            )
        except Refused as refused:
            ctx.out.reply_answer(
                t(refused.key if refused.key.startswith("common") else "common.stale_button")
            )
            return
        ctx.out.reply_answer(t("observer.rate_thanks", rating=t(f"rating.{press.arg}")))
        ctx.out.edit(
            event.chat_id,
            event.message_id or 0,
            t("observer.rate_thanks", rating=t(f"rating.{press.arg}")),
        )


def _remind(event: Event, ctx: Ctx, observer: Observer, report: Report) -> None:
    """Presses the department holding an overdue report (催办): it and dispatch are told."""
    try:
        report, late = observer_steps.remind(
            ctx.session, ctx.services, report_id=report.id or 0, observer=observer, now=ctx.now
        )
    except Refused as refused:
        ctx.out.reply_answer(_refusal(refused), alert=True)
        return
    step = t("reminder.step_resolve" if late == "resolve" else "reminder.step_sign")
    note = t("observer.reminded_group", number=report.number, step=step)
    holder = access.holder_chat(ctx.session, ctx.services, report)
    if holder is not None:
        ctx.out.send(
            holder,
            note,
            reply_to=card_of(report.id or 0) if report.card_chat_id == holder else None,
            report_id=report.id,
        )
    dispatch = access.region_dispatch_chat(ctx.session, ctx.services, report)
    if dispatch is not None and dispatch != holder:
        ctx.out.send(dispatch, note, report_id=report.id)
    office = office_name(ctx, report.department, report.target_region)
    ctx.out.reply_answer(t("observer.reminded_answer"))
    ctx.out.send(
        event.chat_id, t("observer.reminded", number=report.number, department=office, step=step)
    )


def _withdraw(event: Event, press: Press, ctx: Ctx, observer: Observer, report: Report) -> None:
    """Asks once, then takes the report back (撤回); its card is closed with a short note."""
    if press.arg != "yes":
        ctx.out.reply_answer(t("observer.withdraw_ask", number=report.number))
        yes = Press(Act.WITHDRAW, report.id or 0, "yes").encode()
        ctx.out.send(
            event.chat_id,
            t("observer.withdraw_ask", number=report.number),
            keyboard=[
                [
                    Button(t("observer.button_withdraw_yes"), yes),
                    Button(
                        t("observer.button_withdraw_no"), Press(Act.OPEN, report.id or 0).encode()
                    ),
                ]
            ],
        )
        return
    chat = outbox.card_chat(session=ctx.session, report=report)  # its card, sent or queued
    try:
        report = observer_steps.withdraw(
            ctx.session, ctx.services, report_id=report.id or 0, observer=observer, now=ctx.now
        )
    except Refused as refused:
        ctx.out.reply_answer(_refusal(refused), alert=True)
        return
    if chat is not None:  # the card gives way to a short note, and the group is told
        rid = report.id or 0
        text = mask_personal_numbers(report.text)  # before the cut: no half number is left
        text = text if len(text) <= 60 else text[:60] + "…"
        closed = t("department.withdrawn_card", number=report.number, text=text)
        ctx.out.edit(chat, card_of(rid), closed, report_id=rid)
        note = t("department.withdrawn", number=report.number)
        ctx.out.send(chat, note, reply_to=card_of(rid), report_id=rid)
    ctx.out.reply_answer(t("observer.withdrawn", number=report.number))
    ctx.out.edit(
        event.chat_id, event.message_id or 0, t("observer.withdrawn", number=report.number)
    )


def _refusal(refused: Refused) -> str:
    """Returns what an observer is told when a step is refused (never a department's words)."""
    return t(
        refused.key if refused.key.startswith(("observer.", "common.")) else "common.stale_button"
    )


def follow_up(event: Event, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Relays an observer's additional information to the department, under the card."""
    report = same_issue.on_card(ctx, ctx.session.get(Report, int(draft.step.split(":", 1)[1])))
    end_step(ctx, draft)
    if report is None or report.status not in OPEN_STATUSES or report.card_chat_id is None:
        ctx.out.send(event.chat_id, t("observer.follow_up_closed"))
        return
    chat = report.card_chat_id
    if event.text:
        ctx.out.send(
            chat,
            t("department.follow_up", number=report.number, text=event.text),
            reply_to=card_of(report.id or 0),
            report_id=report.id,
        )
    for item in event.attachments:
        ctx.out.media(
            chat, item.kind, item.file_id, reply_to=card_of(report.id or 0), report_id=report.id
        )
    if event.location:
        ctx.out.location(
            chat, *event.location, reply_to=card_of(report.id or 0), report_id=report.id
        )
    report_queries.add_event(
        session=ctx.session,
        report_id=report.id,
        actor=f"observer:{observer.id}",
        action="follow_up",
        at=ctx.now,
        details={"text": event.text[:1000]},
    )
    ctx.out.send(event.chat_id, t("observer.follow_up_sent", number=report.number))


def rating_reason(event: Event, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Takes the reason for 不满意 and reopens the report to the same department."""
    if not event.text.strip():
        ctx.out.send(event.chat_id, t("observer.rate_reason_prompt"))
        return
    report_id = int(draft.step.split(":", 1)[1])
    end_step(ctx, draft)
    try:
        report = flows.rate(
            ctx.session,
            ctx.services,
            report_id=report_id,
            observer=observer,
            rating="unsatisfied",
            reason=event.text.strip(),
            now=ctx.now,
        )
    except Refused:
        ctx.out.send(event.chat_id, t("common.stale_button"))
        return
    ctx.out.send(
        event.chat_id,
        t(
            "observer.reopened",
            number=report.number,
            department=office_name(ctx, report.department, report.target_region),
        ),
    )
    if report.card_chat_id is not None:
        ctx.out.send(
            report.card_chat_id,
            t("department.reopened", number=report.number, reason=event.text.strip()),
            reply_to=card_of(report.id or 0),
            report_id=report.id,
        )
        ctx.out.edit(
            report.card_chat_id,
            card_of(report.id or 0),
            card_text(ctx, report),
            keyboard=card_keyboard(ctx, report),
            report_id=report.id,
        )
