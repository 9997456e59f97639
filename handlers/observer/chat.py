"""Where an observer's private messages and button presses go, by the state of their draft."""

from __future__ import annotations

from bot.core.messages import t
from bot.core.smalltalk import SmallTalk, classify
from handlers.actions import contact_keyboard
from handlers.callbacks import Act, Press
from handlers.context import Ctx
from handlers.events import Event
from handlers.observer.drafts import compose, on_draft_press
from handlers.observer.guided import on_guided_input, on_guided_press, start_guided
from handlers.observer.mine import list_reports, on_report_press
from handlers.observer.preview import preview
from handlers.observer.rows import draft_of, has_content, menu, menu_choice, observer_of
from handlers.observer.signup import on_contact, on_start
from handlers.observer.steps import follow_up, rating_reason
from storage import reports as report_queries
from storage.models import Observer, ObserverStatus


def on_private_message(event: Event, ctx: Ctx) -> None:
    """Handles anything an observer (or a stranger) sends the bot in private."""
    observer = observer_of(ctx, event)
    if event.contact is not None:
        on_contact(event, ctx, observer)
        return
    if event.command == "start":
        on_start(event, ctx, observer)
        return
    if observer is None:
        report_queries.add_event(
            session=ctx.session,
            report_id=None,
            actor=f"user:{event.user_id}",
            action="report_refused",
            at=ctx.now,
            details={"reason": "not_registered", "message": event.message_id},
        )
        ctx.out.send(
            event.chat_id,
            t("observer.register_first"),
            markup=contact_keyboard(t("observer.share_phone_button")),
        )
        return
    if observer.status == ObserverStatus.SUSPENDED:
        ctx.out.send(event.chat_id, t("observer.suspended"))
        return
    if event.kind == "edited":
        ctx.out.send(event.chat_id, t("observer.edited"))
        return
    if event.forwarded:
        report_queries.add_event(
            session=ctx.session,
            report_id=None,
            actor=f"observer:{observer.id}",
            action="forward_refused",
            at=ctx.now,
            details={"message": event.message_id},
        )
        ctx.out.send(event.chat_id, t("observer.forwarded"))
        return
    if event.command is not None:
        _command(event, ctx, observer)
        return
    if event.unsupported:
        ctx.out.send(event.chat_id, t("observer.unsupported", what=event.unsupported))
        return
    draft = draft_of(ctx, observer)
    composing = draft is None or draft.step == "compose"
    words_only = not (event.attachments or event.location)
    choice = menu_choice(event.text) if words_only else None
    talk = classify(event.text) if words_only and composing else None
    if choice is not None or talk is not None:  # a button of the menu, or small talk: no draft
        if choice is not None:
            _menu(event, ctx, observer, choice)
        else:
            key = "help" if talk == SmallTalk.QUESTION else f"smalltalk_{talk}"
            text = t(f"observer.{key}")
            ctx.out.send(event.chat_id, text, markup=menu())
        if draft is not None and composing and has_content(draft.data) and not ctx.followed:
            preview(ctx, observer, draft)  # the draft stays in view (a batch may have just made it)
        return
    if draft is not None and draft.step.startswith("followup:"):
        follow_up(event, ctx, observer, draft)
    elif draft is not None and draft.step.startswith("reason:"):
        rating_reason(event, ctx, observer, draft)
    elif draft is not None and draft.step.startswith("guided:"):
        on_guided_input(event, ctx, observer, draft)
    else:
        compose(event, ctx, observer, draft)


def on_press(event: Event, press: Press, ctx: Ctx) -> None:
    """Handles a button pressed in the private chat."""
    observer = observer_of(ctx, event)
    if observer is None or observer.status == ObserverStatus.SUSPENDED:
        ctx.out.reply_answer(t("observer.register_first"), alert=True)
        return
    if press.act in (Act.OPEN, Act.FOLLOW_UP, Act.RATE, Act.URGE, Act.WITHDRAW, Act.MY_PAGE):
        on_report_press(event, press, ctx, observer)
        return
    draft = draft_of(ctx, observer)
    if draft is None or draft.id != press.target:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if press.act == Act.GUIDE:
        on_guided_press(event, press, ctx, observer, draft)
        return
    on_draft_press(event, press, ctx, observer, draft)


def _menu(event: Event, ctx: Ctx, observer: Observer, choice: str) -> None:
    """Answers a button of the keyboard under the input field."""
    if choice == "mine":
        list_reports(event, ctx, observer)
    else:
        key = "observer.report_how" if choice == "report" else "observer.help"
        ctx.out.send(event.chat_id, t(key), markup=menu())


def _command(event: Event, ctx: Ctx, observer: Observer) -> None:
    """Runs an observer's command."""
    if event.command == "help":
        ctx.out.send(event.chat_id, t("observer.help"), markup=menu())
    elif event.command == "cancel":
        draft = draft_of(ctx, observer)
        if draft is None:
            ctx.out.send(event.chat_id, t("observer.nothing_to_cancel"))
        else:
            ctx.session.delete(draft)
            ctx.out.send(event.chat_id, t("observer.cancelled"))
    elif event.command == "new":
        start_guided(event, ctx, observer)
    elif event.command == "my":
        list_reports(event, ctx, observer)
    elif event.command in ("bind", "digest", "subscribe", "unsubscribe"):
        ctx.out.send(event.chat_id, t("observer.group_command_in_private"))
    else:
        ctx.out.send(event.chat_id, t("common.unknown_command", command=event.command))
