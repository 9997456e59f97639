"""Who is told what when a report changes: cards to groups, notices to observers."""

from __future__ import annotations

import logging

from sqlmodel import select

from bot.core.messages import t
from bot.core.regions import name_of
from bot.services import joining
from bot.services import reports as flows
from bot.services.reports import find_binding
from handlers.actions import TEXT_LIMIT, Keyboard, card_of, fit, split_text
from handlers.callbacks import Press
from handlers.cards import card_keyboard, card_text, rating_keyboard, rest_of_text
from handlers.context import Ctx
from handlers.events import Event
from storage import outbox
from storage.models import Observer, OutboxMessage, Report, ReportKind, ReportStatus
from storage.outbox import CARD_BATCH

log = logging.getLogger(__name__)


def post_card(ctx: Ctx, report: Report) -> Report:
    """Send a report's card (and its attachments) to the group that handles it now.

    A long text's card shows its first part and a 查看全文 button (``send_full_text``): the
    rest is not queued unasked, so one long report does not hold back the group's other cards.

    A routed report whose department has no bound group at its level or above goes to
    dispatch instead (a lifecycle step); nothing is ever posted into an unbound group. Returns
    the report as it now stands, so the caller tells the observer where it really went.

    A report joined to another (the same issue) gets no card: the primary's card counts it. One
    split off an issue that was signed for gets its card, signed, in its department's group.
    """
    rid = report.id or 0
    if report.duplicate_of is not None:
        return report
    binding = None
    if report.status in (ReportStatus.ROUTED, ReportStatus.SIGNED):
        binding = find_binding(
            ctx.session, department=report.department, region=report.target_region
        )
        if binding is None and report.status == ReportStatus.ROUTED:
            note = t(
                "dispatch.no_group",
                number=report.number,
                department=ctx.department_name(report.department),
                region=ctx.region_name(report.target_region),
            )
            report = flows.fall_back_to_dispatch(
                ctx.session, ctx.services, report=report, note=note, now=ctx.now
            )
    if report.status == ReportStatus.DISPATCH:
        binding = find_binding(
            ctx.session, department=ctx.rules.dispatch, region=report.region_code
        )
    if binding is None or report.status not in (
        ReportStatus.ROUTED,
        ReportStatus.SIGNED,  # a report split off an issue its group had signed for
        ReportStatus.DISPATCH,
    ):
        if report.status == ReportStatus.DISPATCH:
            log.warning(
                "no dispatch group bound report=%s region=%s", report.number, report.region_code
            )
        return report
    text = card_text(ctx, report)
    if report.routing.get("no_group"):
        text = report.routing["no_group"] + "\n" + text
    ctx.out.send(
        binding.chat_id, text, keyboard=card_keyboard(ctx, report), purpose="card", report_id=rid
    )
    send_attachments(ctx, binding.chat_id, report.attachments, card=rid)
    return report


def send_attachments(ctx: Ctx, chat_id: int, attachments: list[dict], *, card: int) -> None:
    """Send a report's photos, voice, files and place under the card of report ``card``."""
    for item in attachments:
        if item.get("kind") == "location":
            ctx.out.location(
                chat_id, item["lat"], item["lon"], reply_to=card_of(card), report_id=card
            )
        else:
            ctx.out.media(
                chat_id, item["kind"], item["file_id"], reply_to=card_of(card), report_id=card
            )


def issue_reports(ctx: Ctx, report: Report) -> list[tuple[Report, int]]:
    """Return the reports whose observers hear of ``report``'s progress, with their chats.

    The report itself and every report joined to it (the same issue), one per observer who
    can be reached: each observer is told under the number of their own report.
    """
    told: dict[int, tuple[Report, int]] = {}
    members = joining.members_of(ctx.session, report.id) if report.id is not None else ()
    for each in (report, *members):
        observer = ctx.session.get(Observer, each.observer_id)
        if observer is not None and observer.telegram_user_id is not None:
            told.setdefault(observer.telegram_user_id, (each, observer.telegram_user_id))
    return list(told.values())


def tell_observer(ctx: Ctx, report: Report, key: str, **values: str) -> None:
    """Send the observers of ``report`` (and of the reports joined to it) a notice, each under
    their own report's number.

    ``{department}`` in the notice is the report's department as the observer should read it,
    at the level of the group that has it ("越秀区水务局"), unless the caller names another.
    """
    if "department" not in values:
        values["department"] = office_name(ctx, report.department, report.target_region)
    for each, chat in issue_reports(ctx, report):
        text = t(f"observer.{key}", number=each.number, **values)
        ctx.out.send(chat, text, purpose=f"notice:{key}", report_id=each.id)


def edit_card(
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
    if is_current_card(report, chat_id, message_id):
        target = card_of(report.id or 0)
    ctx.out.edit(chat_id, target, text, keyboard=keyboard, report_id=report.id)


def redraw_card(ctx: Ctx, report: Report, *, who: str = "") -> None:
    """Edits the report's current card to show its status, who acted and the next buttons.

    A card still waiting in the outbox is edited too: the edit waits for it (a note or a press
    within a moment of the card being sent must not be lost from it).
    """
    chat_id = report.card_chat_id
    if chat_id is None:
        chat_id = outbox.card_chat(session=ctx.session, report=report)
    if chat_id is None:
        return
    ctx.out.edit(
        chat_id,
        card_of(report.id or 0),
        card_text(ctx, report, actor=who),
        keyboard=card_keyboard(ctx, report),
        report_id=report.id,
    )


def is_current_card(report: Report, chat_id: int, message_id: int | None) -> bool:
    """True if ``message_id`` in ``chat_id`` is the report's card (or the burst list holding it)."""
    return report.card_chat_id == chat_id and report.card_message_id == message_id


def close_card(
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


def tell_resolved(ctx: Ctx, report: Report, result: str) -> None:
    """Tells the observers the result; a problem asks each for a rating of their own report
    (a joined report was resolved with its primary), a suggestion is answered."""
    for each, chat in issue_reports(ctx, report):
        if report.kind == ReportKind.SUGGESTION:
            text = t("observer.answered", number=each.number, result=result)
            ctx.out.send(chat, text, report_id=each.id)
            continue
        ctx.out.send(
            chat,
            t("observer.resolved", number=each.number, result=result),
            keyboard=rating_keyboard(each),
            purpose="rating",
            report_id=each.id,
        )


FULL_TEXT_PIECES = 2  # messages the rest of a text may take in the group; a report holds less


def send_full_text(event: Event, press: Press, ctx: Ctx) -> None:
    """Answers 查看全文: the rest of a long report's text, replying to its card in this chat.

    Only in the chat that holds the report's card, at most ``FULL_TEXT_PIECES`` messages, and
    once per chat (the outbox key): pressing again does not queue it again.
    """
    report = ctx.session.get(Report, press.target)
    if report is None or report.card_chat_id != event.chat_id:
        ctx.out.reply_answer(t("department.full_text_elsewhere"), alert=True)
        return
    rest = rest_of_text(report)
    if not rest.strip():
        ctx.out.reply_answer(t("common.stale_button"))
        return
    pieces = split_text(t("department.full_text", number=report.number, text=rest))
    if len(pieces) > FULL_TEXT_PIECES:
        kept = fit(rest, TEXT_LIMIT * FULL_TEXT_PIECES - 200)
        text = t("department.full_text", number=report.number, text=kept)
        pieces = split_text(text + "…\n" + t("department.full_text_cut"))
    ctx.out.send(
        event.chat_id,
        "\n".join(pieces),
        reply_to=card_of(report.id or 0),
        report_id=report.id,
        key=f"full_text:{report.id}:{event.chat_id}",
    )
    ctx.out.reply_answer(t("department.full_text_sent"))


def office_name(ctx: Ctx, department: str, region: str | None, *, bound: bool = False) -> str:
    """Return a department as Chinese convention names it, at the level of the group that gets
    it: "越秀区水务局" (a group bound for the city: "广州市水务局").

    With no group bound for it at any level: its bare name, or "" when ``bound`` is asked.
    """
    group = find_binding(ctx.session, department=department, region=region) if region else None
    if group is None:
        return "" if bound else ctx.department_name(department)
    return f"{name_of(group.region_code) or ''}{ctx.department_name(department)}"
