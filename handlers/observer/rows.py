"""An observer's rows: who they are, their one draft (or one-message step), what it holds."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.services import people
from handlers import limits
from handlers.context import Ctx
from handlers.events import Event
from storage.models import Draft, Observer, ReportKind

KINDS = (ReportKind.PROBLEM, ReportKind.SUGGESTION, ReportKind.SENTIMENT)


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
    names = {"photo": "照片", "voice": "语音", "video": "视频", "document": "文件"}
    return "、".join(names[a.kind] for a in event.attachments)


def draft_text(draft: Draft) -> str:
    texts = list(draft.data.get("texts", []))
    address = (draft.data.get("location") or {}).get("address")
    if address:
        texts.insert(0, f"地点：{address}")
    return "\n".join(texts)


def attachment_items(draft: Draft) -> list[dict[str, Any]]:
    items = list(draft.data.get("attachments", []))
    location = draft.data.get("location") or {}
    if "lat" in location:
        items.append({"kind": "location", "lat": location["lat"], "lon": location["lon"]})
    return items
