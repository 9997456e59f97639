"""Free text: every message an observer sends extends their draft and gets a fresh preview."""

from __future__ import annotations

from bot.core.messages import t
from handlers import limits
from handlers.actions import Button
from handlers.callbacks import Act, Press
from handlers.context import Ctx
from handlers.events import Event
from handlers.observer.preview import preview, submit
from handlers.observer.rows import KINDS, absorb, draft_text, new_draft, touch, what
from storage.models import Draft, Observer


def compose(event: Event, ctx: Ctx, observer: Observer, draft: Draft | None) -> None:
    """Adds a message to the observer's draft (creating it) and answers with a preview."""
    refused = limits.refusal(draft.data if draft is not None else {}, event)
    if refused is not None:
        limits.refuse(ctx, event.chat_id, draft, refused)
        if draft is not None and not ctx.followed and draft_text(draft):
            preview(ctx, observer, draft)  # the draft as it stands, with 提交 at hand
        return
    if draft is None:
        draft = new_draft(ctx, observer, event, mode="free", step="compose")
    data = absorb(event, dict(draft.data))
    data["rev"] = data.get("rev", 0) + 1
    draft.data = data
    touch(ctx, draft)
    if ctx.followed:
        return  # more is already on its way: the last message answers with one preview
    limits.tell_held(ctx, draft)
    if not draft_text(draft):
        if event.attachments:
            ctx.out.send(
                event.chat_id,
                t("observer.attachment_added", what=what(event), count=len(data["attachments"])),
            )
        elif event.location:
            ctx.out.send(event.chat_id, t("observer.location_added"))
        else:
            ctx.out.send(event.chat_id, t("observer.empty_text"))
        return
    preview(ctx, observer, draft)


def on_draft_press(event: Event, press: Press, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Handles a button of the draft's preview (or of its kind and category menus)."""
    if press.act == Act.SET_KIND:
        if press.arg not in KINDS:
            ctx.out.reply_answer(t("common.stale_button"))
            return
        draft.data = {**draft.data, "kind": press.arg, "rev": draft.data.get("rev", 0) + 1}
        touch(ctx, draft)
        ctx.out.reply_answer(t("observer.kind_changed", kind=t(f"kind.{press.arg}")))
        preview(ctx, observer, draft)
        return
    if press.act == Act.SET_CATEGORY:
        if press.arg not in ctx.rules.tags:
            ctx.out.reply_answer(t("common.stale_button"))
            return
        draft.data = {**draft.data, "category": press.arg, "rev": draft.data.get("rev", 0) + 1}
        touch(ctx, draft)
        ctx.out.reply_answer(
            t("observer.category_changed", category=ctx.rules.tags[press.arg].name)
        )
        preview(ctx, observer, draft)
        return
    if str(draft.data.get("rev", 0)) != press.arg:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if press.act == Act.SUBMIT:
        submit(event, ctx, observer, draft)
    elif press.act == Act.ADD_MORE:
        ctx.out.reply_answer(t("observer.add_more"))
        ctx.out.send(event.chat_id, t("observer.add_more"))
    elif press.act == Act.CHANGE_KIND:
        ctx.out.reply_answer(t("observer.choose_kind"))
        ctx.out.send(
            event.chat_id,
            t("observer.choose_kind"),
            keyboard=[
                [
                    Button(t(f"kind.{kind}"), Press(Act.SET_KIND, draft.id or 0, kind).encode())
                    for kind in KINDS
                ]
            ],
        )
    elif press.act == Act.CHANGE_CATEGORY:
        ctx.out.reply_answer(t("observer.choose_category"))
        buttons = [
            Button(tag.name, Press(Act.SET_CATEGORY, draft.id or 0, tag.id).encode())
            for tag in ctx.rules.tags.values()
        ]
        ctx.out.send(
            event.chat_id,
            t("observer.choose_category"),
            keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)],
        )
    elif press.act == Act.CANCEL:
        ctx.session.delete(draft)
        ctx.out.reply_answer(t("observer.cancelled"))
        ctx.out.send(event.chat_id, t("observer.cancelled"))
    else:
        ctx.out.reply_answer(t("common.unknown_button"))
