"""Messages in department groups (and the dispatch group): binding, prompts, internal notes.

Card buttons are handled in ``handlers.card_actions``; the prompts they open in
``handlers.prompting``; the bot's own place in groups (added, removed, migrated, ``/bind``) in
``handlers.membership``. A message here is, in this order: ``/bind``, ``/cancel`` (withdraws
the sender's prompt), a reply to the sender's own prompt (its answer), or a reply to one of
the bot's messages about a report — an internal note, kept on the report's timeline and
counted on its card, never sent to the observer. Answering the observer is an explicit act: the
card's 答复观察员 button.
"""

from __future__ import annotations

import re

from sqlmodel import select

from bot.core.lifecycle import Action
from bot.core.messages import t
from bot.services import access
from bot.services import reports as flows
from bot.services.reports import binding_of_chat
from handlers import membership, prompting, workbench
from handlers.cards import attachment_summary
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import redraw_card
from storage import reports as report_queries
from storage.models import OutboxMessage, Report


def on_group_message(event: Event, ctx: Ctx) -> None:
    """Handles a message in a group: /bind, /cancel, a prompt's answer, or a note on a card."""
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
        membership.bind(event, ctx)
        return
    if event.command == "cancel" and prompting.cancel(event, ctx):
        return
    if workbench.on_group_command(event, ctx):
        return
    if event.command in ("start", "new", "my", "cancel"):
        if binding_of_chat(ctx.session, chat_id=event.chat_id):
            ctx.out.send(event.chat_id, t("group.private_only"), reply_to=event.message_id)
        return
    if event.command is not None:
        return  # commands for other bots or people: stay quiet in a busy group
    if prompting.try_answer(event, ctx):
        return
    if event.reply_to_message_id is not None:
        _note(event, ctx)


REPORT_NUMBER = re.compile(r"GD-\d{8}-\d{4,}")


def _note(event: Event, ctx: Ctx) -> None:
    """Keeps a reply to the bot's message about a report as an internal note on that report."""
    report = _report_replied_to(event, ctx)
    if report is None or not (event.text.strip() or event.attachments):
        return
    by = ctx.actor(event)
    if not access.verdict(ctx.session, ctx.services, Action.NOTE, by, report):
        return  # not this group's report: chatter about it stays in the group
    text = event.text.strip()
    if event.attachments:
        sent = attachment_summary([{"kind": item.kind} for item in event.attachments])
        text = f"{text} [{sent}]".strip()
    flows.add_note(ctx.session, ctx.services, report=report, text=text, by=by, now=ctx.now)
    if report.card_chat_id in (event.chat_id, None):  # None: the card is still on its way
        redraw_card(ctx, report)


def _report_replied_to(event: Event, ctx: Ctx) -> Report | None:
    """Returns the report of the bot's message that ``event`` replies to, if any."""
    sent = ctx.session.exec(
        select(OutboxMessage).where(
            OutboxMessage.chat_id == event.chat_id,
            OutboxMessage.result_message_id == event.reply_to_message_id,
        )
    ).first()
    if sent is not None and sent.report_id is not None:
        return ctx.session.get(Report, sent.report_id)
    # The bot's message may have been delivered but not yet recorded (a reply within a
    # moment of it): the report number in the text replied to says which report it is.
    number = REPORT_NUMBER.search(event.reply_to_text)
    if not number:
        return None
    return report_queries.get_report_by_number(session=ctx.session, number=number[0])
