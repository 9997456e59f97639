"""An observer's rows: who they are, their one draft (or one-message step), what it holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import select

from bot.core.messages import t
from bot.services import people
from handlers import limits
from handlers.actions import menu_keyboard
from handlers.context import Ctx
from handlers.events import Event
from storage.models import Draft, Observer, ReportKind

KINDS = (ReportKind.PROBLEM, ReportKind.SUGGESTION, ReportKind.SENTIMENT)
# A draft untouched this long is not silently extended: the observer is asked first.
IDLE = dt.timedelta(minutes=30)
LATER = "later"  # draft data: messages that arrived after the draft went idle, held until asked
NAMES = {"photo": "照片", "voice": "语音", "video": "视频", "document": "文件", "location": "位置"}
UNITS = {"photo": "张", "voice": "条", "video": "段", "document": "个", "location": "处"}


def menu() -> dict[str, Any]:
    """Returns the observer's keyboard under the input field: 我要反映 / 我的反映 / 帮助."""
    return menu_keyboard(
        [[t("observer.menu_report"), t("observer.menu_mine")], [t("observer.menu_help")]]
    )


def menu_choice(text: str) -> str | None:
    """Returns which menu button sent ``text`` ("report", "mine", "help"), if one did."""
    plain = text.strip()
    for choice in ("report", "mine", "help"):
        label = t(f"observer.menu_{choice}")
        if plain == label or plain == label.split(" ", 1)[-1]:  # with or without its emoji
            return choice
    return None


def observer_of(ctx: Ctx, event: Event) -> Observer | None:
    if event.user_id is None:
        return None
    return people.observer_of_user(ctx.session, user_id=event.user_id)


def new_draft(ctx: Ctx, observer: Observer, event: Event, *, mode: str, step: str) -> Draft:
    """Returns a fresh draft whose report will be known by the event's message."""
    data = {
        "mode": mode,
        "rev": 0,
        "texts": [],
        "attachments": [],
        "first_message_id": event.message_id,
    }
    return Draft(
        observer_id=observer.id or 0,
        chat_id=event.chat_id,
        step=step,
        data=data,
        created_at=ctx.now,
        updated_at=ctx.now,
    )


def draft_of(ctx: Ctx, observer: Observer) -> Draft | None:
    return ctx.session.exec(select(Draft).where(Draft.observer_id == observer.id)).first()


def touch(ctx: Ctx, draft: Draft) -> None:
    draft.updated_at = ctx.now
    ctx.session.add(draft)
    ctx.session.flush()


def set_step(ctx: Ctx, observer: Observer, chat_id: int, step: str) -> None:
    """Puts the conversation in a one-message step; an unfinished draft waits underneath."""
    draft = draft_of(ctx, observer)
    if draft is None:
        draft = Draft(
            observer_id=observer.id or 0, chat_id=chat_id, step=step, data={}, created_at=ctx.now
        )
    elif draft.step == "compose" or draft.step.startswith("guided:"):
        draft.data = {**draft.data, "resume_step": draft.step}
    draft.step = step
    touch(ctx, draft)


def end_step(ctx: Ctx, draft: Draft) -> None:
    """Ends a one-message step: resumes the draft underneath, or removes the row."""
    resume = draft.data.get("resume_step")
    if resume:
        draft.data = {k: v for k, v in draft.data.items() if k != "resume_step"}
        draft.step = resume
        touch(ctx, draft)
    else:
        ctx.session.delete(draft)


def absorb(event: Event, data: dict[str, Any]) -> dict[str, Any]:
    """Returns draft data with the event's text, attachments and location added."""
    texts = list(data.get("texts", []))
    if event.text.strip():
        texts.append(event.text.strip())
    attachments = list(data.get("attachments", []))
    attachments += [{"kind": a.kind, "file_id": a.file_id} for a in event.attachments]
    data.update(texts=texts, attachments=attachments, messages=limits.usage(data)[2] + 1)
    if event.location:
        data["location"] = {"lat": event.location[0], "lon": event.location[1]}
    if data.get("first_message_id") is None:
        data["first_message_id"] = event.message_id
    return data


def what(event: Event) -> str:
    return "、".join(NAMES[a.kind] for a in event.attachments)


def has_content(data: dict[str, Any]) -> bool:
    """Return True if draft data holds anything to report: words, an attachment, a place."""
    return bool(data.get("texts") or data.get("attachments") or data.get("location"))


def draft_text(data: dict[str, Any]) -> str:
    """Return the words of draft data (a typed address first)."""
    texts = list(data.get("texts", []))
    address = (data.get("location") or {}).get("address")
    if address:
        texts.insert(0, f"地点：{address}")
    return "\n".join(texts)


def report_text(data: dict[str, Any]) -> str:
    """Return a report's text: the observer's words, or a plain note of what they sent alone
    (after a typed address, if the guided form has one)."""
    text = draft_text(data)
    kinds = [item["kind"] for item in attachment_items(data)]
    if data.get("texts") or not kinds:
        return text
    sent = "、".join(
        f"{NAMES[kind]}{kinds.count(kind)}{UNITS[kind]}" for kind in dict.fromkeys(kinds)
    )
    return "\n".join(filter(None, [text, t("observer.no_text", what=sent)]))


def attachment_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Return draft data's attachments, its map pin last."""
    items = list(data.get("attachments", []))
    location = data.get("location") or {}
    if "lat" in location:
        items.append({"kind": "location", "lat": location["lat"], "lon": location["lon"]})
    return items
