"""The guided form (/new): one question at a time, then the usual preview.

guided:kind → guided:category → guided:location → guided:description
   → guided:photos → guided:urgency → compose (the preview)
"""

from __future__ import annotations

from bot.core.messages import t
from handlers import limits
from handlers.actions import Button
from handlers.callbacks import Act, Press
from handlers.context import Ctx
from handlers.events import Event
from handlers.observer.preview import preview
from handlers.observer.rows import KINDS, absorb, draft_of, new_draft, touch, what
from storage.models import Draft, Observer, Station

STEPS = ("kind", "category", "location", "description", "photos", "urgency")


def start_guided(event: Event, ctx: Ctx, observer: Observer) -> None:
    """Starts the guided form, replacing an unfinished draft."""
    draft = draft_of(ctx, observer)
    if draft is not None:
        ctx.session.delete(draft)
        ctx.session.flush()
    draft = new_draft(ctx, observer, event, mode="guided", step="guided:kind")
    touch(ctx, draft)
    _ask(ctx, draft)


def _ask(ctx: Ctx, draft: Draft) -> None:
    """Asks the question of the draft's current guided step."""
    step = draft.step.removeprefix("guided:")
    did = draft.id or 0
    if step == "kind":
        keyboard = [[Button(t(f"kind.{k}"), Press(Act.GUIDE, did, k).encode())] for k in KINDS]
        ctx.out.send(draft.chat_id, t("observer.guided_kind"), keyboard=keyboard)
    elif step == "category":
        tags = list(ctx.rules.tags.values())[:16]
        buttons = [Button(tag.name, Press(Act.GUIDE, did, tag.id).encode()) for tag in tags]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append(
            [Button(t("observer.guided_other_category"), Press(Act.GUIDE, did, "other").encode())]
        )
        ctx.out.send(draft.chat_id, t("observer.guided_category"), keyboard=rows)
    elif step == "location":
        ctx.out.send(
            draft.chat_id,
            t("observer.guided_location"),
            keyboard=[
                [
                    Button(
                        t("observer.guided_use_station"), Press(Act.GUIDE, did, "station").encode()
                    )
                ]
            ],
        )
    elif step == "description":
        ctx.out.send(draft.chat_id, t("observer.guided_description"))
    elif step == "photos":
        ctx.out.send(
            draft.chat_id,
            t("observer.guided_photos"),
            keyboard=[[Button(t("observer.guided_next"), Press(Act.GUIDE, did, "next").encode())]],
        )
    elif step == "urgency":
        ctx.out.send(
            draft.chat_id,
            t("observer.guided_urgency"),
            keyboard=[
                [
                    Button(t("observer.guided_urgent"), Press(Act.GUIDE, did, "urgent").encode()),
                    Button(t("observer.guided_normal"), Press(Act.GUIDE, did, "normal").encode()),
                ]
            ],
        )


def _advance(ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Moves the guided draft to its next step, or to the preview after the last one."""
    step = draft.step.removeprefix("guided:")
    index = STEPS.index(step)
    draft.data = {**draft.data, "rev": draft.data.get("rev", 0) + 1}
    if index + 1 < len(STEPS):
        draft.step = f"guided:{STEPS[index + 1]}"
        touch(ctx, draft)
        _ask(ctx, draft)
    else:
        draft.step = "compose"
        touch(ctx, draft)
        preview(ctx, observer, draft)


def on_guided_press(event: Event, press: Press, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Takes a button answer in the guided form, if it answers the current step."""
    step = draft.step.removeprefix("guided:")
    data = dict(draft.data)
    valid = {
        "kind": press.arg in KINDS,
        "category": press.arg in ctx.rules.tags or press.arg == "other",
        "location": press.arg == "station",
        "photos": press.arg == "next",
        "urgency": press.arg in ("urgent", "normal"),
    }
    if not valid.get(step, False):
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if step == "kind":
        data["kind"] = press.arg
    elif step == "category":
        data["category"] = None if press.arg == "other" else press.arg
    elif step == "location":
        station = ctx.session.get(Station, observer.station_code)
        data["location"] = {"address": station.name if station else ""}
    elif step == "urgency":
        data["urgent"] = press.arg == "urgent"
    draft.data = data
    ctx.out.reply_answer("✓")
    _advance(ctx, observer, draft)


def on_guided_input(event: Event, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Takes a typed or sent answer in the guided form."""
    step = draft.step.removeprefix("guided:")
    data = dict(draft.data)
    refused = limits.refusal(data, event) if step in ("description", "photos") else None
    if refused is not None:
        limits.refuse(ctx, event.chat_id, draft, refused)
        return
    if step == "location" and (event.location or event.text.strip()):
        if event.location:
            data["location"] = {"lat": event.location[0], "lon": event.location[1]}
        else:
            data["location"] = {"address": event.text.strip()[:200]}
        draft.data = data
        _advance(ctx, observer, draft)
    elif step == "description" and (event.text.strip() or event.attachments):  # words or a voice
        draft.data = absorb(event, data)
        _advance(ctx, observer, draft)
    elif step == "photos" and event.attachments:
        draft.data = absorb(event, data)
        touch(ctx, draft)
        ctx.out.send(
            event.chat_id,
            t("observer.attachment_added", what=what(event), count=len(draft.data["attachments"])),
        )
    elif step == "description":
        ctx.out.send(event.chat_id, t("observer.guided_need_text"))
    else:
        _ask(ctx, draft)
