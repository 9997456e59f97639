"""One problem, one card, in the department's group: 合并 and 拆分 on a card, and follow-ups.

A report joined to another has no card of its own: its text goes under the primary's card as
a follow-up, and the card counts it ("同一问题 ×2（2位观察员）"). The holding group can merge
another of its open cards into this one (合并: a list of its open reports, the most similar
first) and split a wrongly joined report off (拆分: it gets its own card and deadlines). The
services ask the authority policy again (``bot.services.joining``) and audit both.
"""

from __future__ import annotations

from bot.core.authority import Actor
from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.errors import Refused
from bot.services import joining
from handlers.actions import Button, Keyboard, card_of, fit
from handlers.callbacks import Act, Press
from handlers.cards import card_keyboard, card_text
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import (
    close_card,
    edit_card,
    post_card,
    redraw_card,
    send_attachments,
    tell_observer,
)
from storage import outbox
from storage.models import Report

CHOICE_TEXT = 24  # characters of a report's text on a choice button


def relay_joined(ctx: Ctx, primary: Report, joined: list[Report], *, who: str = "") -> None:
    """Put the texts of ``joined`` under the primary's card as follow-ups and redraw it."""
    chat = primary.card_chat_id or outbox.card_chat(session=ctx.session, report=primary)
    if chat is None:
        return
    for each in joined:
        ctx.out.send(
            chat,
            joining.follow_up_text(each),
            reply_to=card_of(primary.id or 0),
            report_id=primary.id,
        )
        send_attachments(ctx, chat, each.attachments, card=primary.id or 0)
    redraw_card(ctx, primary, who=who)


def on_press(event: Event, press: Press, ctx: Ctx, report: Report, by: Actor, who: str) -> None:
    """Carries out an allowed 合并 / 拆分 press on ``report``'s card."""
    if press.act == Act.MERGE:
        choices = joining.merge_choices(ctx.session, report, chat_id=event.chat_id)
        if not choices:
            raise Refused("joining.no_merge_choice")
        rows = [
            [_choice(Act.MERGE_WITH, report, other, "joining.merge_choice")] for other in choices
        ]
        _menu(event, ctx, report, rows, "joining.choose_merge")
    elif press.act == Act.SPLIT:
        members = joining.members_of(ctx.session, report.id or 0)
        if not members:
            raise Refused("joining.not_joined")
        rows = [[_choice(Act.SPLIT_OFF, report, each, "joining.split_choice")] for each in members]
        _menu(event, ctx, report, rows, "joining.choose_split")
    elif press.act == Act.MERGE_WITH:
        _merge(event, ctx, report, _other(press), by=by, who=who)
    else:
        _split(event, ctx, report, _other(press), by=by, who=who)


def _other(press: Press) -> int:
    """Return the other report's id a choice button carries."""
    if not press.arg.isdigit():
        raise Refused("common.stale_button")
    return int(press.arg)


def _choice(act: Act, report: Report, other: Report, key: str) -> Button:
    """Return a button naming ``other`` (its number and the start of its text)."""
    text = fit(mask_personal_numbers(other.text).replace("\n", " "), CHOICE_TEXT)
    label = t(key, number=other.number, text=text)
    return Button(label, Press(act, report.id or 0, str(other.id)).encode())


def _menu(event: Event, ctx: Ctx, report: Report, rows: Keyboard, key: str) -> None:
    """Shows a list of choices on the card, with a way back."""
    back = [Button(t("department.button_back"), Press(Act.BACK, report.id or 0).encode())]
    ctx.out.reply_answer(t(key))
    edit_card(ctx, event.chat_id, event.message_id, report, card_text(ctx, report), [*rows, back])


def _merge(event: Event, ctx: Ctx, report: Report, other_id: int, *, by: Actor, who: str) -> None:
    """Merges the chosen card and this one: the later report's card closes and goes, with its
    follow-ups, under the earlier one's; its observers are told."""
    other = ctx.session.get(Report, other_id)
    if other is None:
        raise Refused("common.stale_button")
    before = {
        each.id: list(joining.members_of(ctx.session, each.id or 0)) for each in (report, other)
    }
    issue = joining.merge(
        ctx.session, ctx.services, primary_id=report.id or 0, other_id=other_id, by=by, now=ctx.now
    )
    primary = issue.primary
    gone = other if primary.id == report.id else report
    note = t("joining.merged_note", other=gone.number, number=primary.number, who=who)
    if gone.card_chat_id is not None:
        close_card(ctx, gone.card_chat_id, gone.card_message_id, gone.id or 0, note, True)
    moving = [gone, *before[gone.id]]
    relay_joined(ctx, primary, moving, who=who)
    for each in moving:
        tell_observer(ctx, each, "merged", into=primary.number)
    ctx.out.reply_answer(t("joining.merged_answer"))


def _split(event: Event, ctx: Ctx, report: Report, member_id: int, *, by: Actor, who: str) -> None:
    """Splits a joined report off this card: it gets a card of its own; its observer is told."""
    member = ctx.session.get(Report, member_id)
    if member is None or member.duplicate_of != report.id:
        raise Refused("joining.not_joined")
    member = joining.split(ctx.session, ctx.services, report_id=member_id, by=by, now=ctx.now)
    edit_card(
        ctx,
        event.chat_id,
        event.message_id,
        report,
        card_text(ctx, report, actor=who),
        card_keyboard(ctx, report),
    )
    note = t("joining.split_note", other=member.number, number=report.number, who=who)
    ctx.out.send(event.chat_id, note, reply_to=card_of(report.id or 0), report_id=report.id)
    post_card(ctx, member)
    tell_observer(ctx, member, "split")
    ctx.out.reply_answer(t("joining.split_answer"))
