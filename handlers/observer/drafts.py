"""Free text: every message an observer sends extends their draft and gets a fresh preview."""

from __future__ import annotations

from typing import Any

from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from handlers import limits, same_issue
from handlers.actions import Button
from handlers.callbacks import Act, Press
from handlers.context import Ctx
from handlers.events import Event
from handlers.observer.preview import preview, submit
from handlers.observer.rows import (
    IDLE,
    KINDS,
    LATER,
    absorb,
    has_content,
    new_draft,
    report_text,
    touch,
)
from storage.models import Draft, Observer


def compose(event: Event, ctx: Ctx, observer: Observer, draft: Draft | None) -> None:
    """Adds a message to the observer's draft (creating it) and answers with a preview.

    A draft left alone for a while is not silently extended: what comes later is held apart
    and the observer is asked whether it belongs to the old draft (see ``_hold``).
    """
    if draft is not None and (LATER in draft.data or _idle(ctx, draft)):
        _hold(event, ctx, draft)
        return
    refused = limits.refusal(draft.data if draft is not None else {}, event)
    if refused is not None:
        limits.refuse(ctx, event.chat_id, draft, refused)
        if draft is not None and not ctx.followed and has_content(draft.data):
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
    if not has_content(draft.data):
        ctx.out.send(event.chat_id, t("observer.empty_text"))
        return
    preview(ctx, observer, draft)  # words, or a voice, photo or place alone: each can be sent


def _idle(ctx: Ctx, draft: Draft) -> bool:
    return draft.step == "compose" and has_content(draft.data) and ctx.now - draft.updated_at > IDLE


def _hold(event: Event, ctx: Ctx, draft: Draft) -> None:
    """Keeps a message apart from an idle draft and asks whether it belongs to it."""
    later = dict(draft.data.get(LATER) or {"texts": [], "attachments": []})
    refused = limits.refusal(later, event)
    if refused is not None:
        limits.refuse(ctx, event.chat_id, draft, refused)
        return
    later = absorb(event, later)
    draft.data = {**draft.data, LATER: later, "rev": draft.data.get("rev", 0) + 1}
    touch(ctx, draft)
    if ctx.followed:
        return  # the batch's last message asks, once
    limits.tell_held(ctx, draft)
    rev, did = str(draft.data["rev"]), draft.id or 0
    earlier = {key: value for key, value in draft.data.items() if key != LATER}
    ctx.out.send(
        draft.chat_id,
        t("observer.later_ask", earlier=_gist(earlier), later=_gist(later)),
        keyboard=[
            [Button(t("observer.button_join"), Press(Act.JOIN, did, rev).encode())],
            [Button(t("observer.button_submit_first"), Press(Act.APART, did, rev).encode())],
            [Button(t("observer.button_drop_first"), Press(Act.DROP_FIRST, did, rev).encode())],
        ],
    )


def _gist(data: dict[str, Any]) -> str:
    """Returns the first words of draft data (or what was sent), short enough to read aloud."""
    text = mask_personal_numbers(report_text(data))  # before the cut: no half number is left
    return text if len(text) <= 30 else text[:30] + "…"


def _settle(event: Event, press: Press, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Answers the question ``_hold`` asked: join the two, or keep them apart."""
    later = dict(draft.data.get(LATER) or {})
    earlier = {key: value for key, value in draft.data.items() if key != LATER}
    if press.act == Act.JOIN:
        joined = dict(earlier)
        joined["texts"] = [*earlier.get("texts", []), *later.get("texts", [])]
        joined["attachments"] = [*earlier.get("attachments", []), *later.get("attachments", [])]
        joined["messages"] = earlier.get("messages", 0) + later.get("messages", 0)
        joined["location"] = later.get("location") or earlier.get("location")
        if limits.over(joined):
            ctx.out.reply_answer(t("observer.join_too_big"), alert=True)
            return
        draft.data = {**joined, "rev": earlier.get("rev", 0) + 1}
        touch(ctx, draft)
        ctx.out.reply_answer(t("observer.joined"))
        preview(ctx, observer, draft)
        return
    draft.data = earlier
    if press.act == Act.APART:
        if submit(event, ctx, observer, draft) is None:  # the earlier draft, as previewed
            draft.data = {**earlier, LATER: later}  # not filed (answered why): nothing changes
            return
    else:
        ctx.session.delete(draft)
        ctx.session.flush()
        ctx.out.reply_answer(t("observer.dropped_first"))
    fresh = new_draft(ctx, observer, event, mode="free", step="compose")
    fresh.data = {**fresh.data, **later, "rev": 1}
    touch(ctx, fresh)
    preview(ctx, observer, fresh)


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
    if press.act == Act.JOIN_ISSUE:  # 补充到该反映: submitted and joined to a similar report
        into = same_issue.chosen(press, draft)
        if into is None:
            ctx.out.reply_answer(t("common.stale_button"))
        else:
            submit(event, ctx, observer, draft, into=into)
        return
    if str(draft.data.get("rev", 0)) != press.arg:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if press.act in (Act.JOIN, Act.APART, Act.DROP_FIRST):
        if LATER in draft.data:
            _settle(event, press, ctx, observer, draft)
        else:
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
