"""An observer's own reports: /my, each report's timeline, follow-ups, and the rating."""

from __future__ import annotations

from bot.core.messages import catalogue, t
from bot.services import reports as flows
from bot.services.reports import Refused
from handlers.actions import Button, Keyboard, card_of
from handlers.callbacks import Act, Press
from handlers.cards import card_keyboard, card_text
from handlers.context import Ctx
from handlers.events import Event
from handlers.observer.rows import end_step, set_step
from storage import reports as report_queries
from storage.models import OPEN_STATUSES, Draft, Observer, Report, ReportStatus


def list_reports(event: Event, ctx: Ctx, observer: Observer) -> None:
    """Lists the observer's recent reports as buttons that open their timelines."""
    found = report_queries.reports_of_observer(session=ctx.session, observer_id=observer.id or 0)
    if not found:
        ctx.out.send(event.chat_id, t("observer.my_empty"))
        return
    keyboard: Keyboard = [
        [
            Button(
                t(
                    "observer.my_line",
                    number=r.number,
                    kind=t(f"kind.{r.kind}"),
                    status=t(f"status.{r.status}"),
                ),
                Press(Act.OPEN, r.id or 0).encode(),
            )
        ]
        for r in found
    ]
    ctx.out.send(event.chat_id, t("observer.my_header"), keyboard=keyboard)


def _timeline(ctx: Ctx, report: Report) -> str:
    """Returns a report's status and audit trail as the observer sees it."""
    lines = [
        t(
            "observer.timeline_header",
            number=report.number,
            kind=t(f"kind.{report.kind}"),
            status=t(f"status.{report.status}"),
            department=ctx.department_name(report.department),
            text=report.text[:500],
        )
    ]
    labels = {
        key.removeprefix("timeline.event."): text
        for key, text in catalogue().items()
        if key.startswith("timeline.event.")
    }
    for item in report_queries.events_of(session=ctx.session, report_id=report.id or 0):
        if item.action in labels:
            lines.append(
                t("observer.timeline_line", time=ctx.local(item.at), what=labels[item.action])
            )
    return "\n".join(lines)


def on_report_press(event: Event, press: Press, ctx: Ctx, observer: Observer) -> None:
    """Opens a report, starts a follow-up, or records a rating — only on the observer's own."""
    report = ctx.session.get(Report, press.target)
    if report is None or report.observer_id != observer.id:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if press.act == Act.OPEN:
        ctx.out.reply_answer(report.number)
        keyboard = None
        if report.status in OPEN_STATUSES:
            keyboard = [
                [
                    Button(
                        t("observer.button_follow_up"),
                        Press(Act.FOLLOW_UP, report.id or 0).encode(),
                    )
                ]
            ]
        ctx.out.send(event.chat_id, _timeline(ctx, report), keyboard=keyboard)
    elif press.act == Act.FOLLOW_UP:
        if report.status not in OPEN_STATUSES:
            ctx.out.reply_answer(t("observer.follow_up_closed"), alert=True)
            return
        set_step(ctx, observer, event.chat_id, f"followup:{report.id}")
        ctx.out.reply_answer(t("observer.follow_up_prompt"))
        ctx.out.send(event.chat_id, t("observer.follow_up_prompt"))
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


def follow_up(event: Event, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Relays an observer's additional information to the department, under the card."""
    report = ctx.session.get(Report, int(draft.step.split(":", 1)[1]))
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
            department=ctx.department_name(report.department),
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
