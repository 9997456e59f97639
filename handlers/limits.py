"""What one report may hold, and how the observer hears of it before a limit bites.

A report is read by a department group at Telegram's pace (20 messages a minute per group), so
one observer's very long report must not fill the group's queue ahead of everyone else's. A
draft therefore holds at most ``TEXT_CHARS`` characters of text, ``ATTACHMENTS`` photos, voice
notes, videos and documents, and ``MESSAGES`` merged messages. Past ``NEAR`` of any limit the
preview says how much room is left; a message that would go over is not added, and the
observer is told why and what to do (submit, then start another report) — once for a batch
of messages that arrived together, not once per message. The card in the group carries the
first part of a long text and a 查看全文 button for the rest (``cards``).
"""

from __future__ import annotations

from typing import Any

from bot.core.messages import t
from handlers.context import Ctx
from handlers.events import Event
from storage.models import Draft

TEXT_CHARS = 5000  # a single Telegram message (4,096 units at most) always fits in a new draft
ATTACHMENTS = 10
MESSAGES = 50
NEAR = 0.8  # the preview warns from this share of a limit on
HELD = "refused"  # draft data: a refusal kept back until the batch of messages ends


def usage(data: dict[str, Any]) -> tuple[int, int, int]:
    """Return a draft's characters of text, attachments and merged messages."""
    texts = data.get("texts", [])
    chars = sum(len(text) for text in texts) + max(len(texts) - 1, 0)  # joined by line breaks
    merged = int(data.get("messages", len(texts)))
    return chars, len(data.get("attachments", [])), merged


def refusal(data: dict[str, Any], event: Event) -> str | None:
    """Return why ``event`` cannot join the draft (a catalogue text), or None if it fits."""
    chars, attachments, merged = usage(data)
    if merged + 1 > MESSAGES:
        return t("observer.limit_messages", most=MESSAGES)
    text = event.text.strip()
    if text and chars + (1 if chars else 0) + len(text) > TEXT_CHARS:
        return t("observer.limit_text", most=TEXT_CHARS, count=chars, adding=len(text))
    if event.attachments and attachments + len(event.attachments) > ATTACHMENTS:
        return t("observer.limit_attachments", most=ATTACHMENTS, count=attachments)
    return None


def over(data: dict[str, Any]) -> bool:
    """Return True if draft data is over one of the limits (two drafts joined can be)."""
    chars, attachments, messages = usage(data)
    return chars > TEXT_CHARS or attachments > ATTACHMENTS or messages > MESSAGES


def notice(data: dict[str, Any]) -> str:
    """Return the preview's warning when the draft is close to a limit, else ``""``."""
    chars, attachments, merged = usage(data)
    close = [
        t(f"observer.limit_near_{name}", count=count, most=most)
        for name, count, most in (
            ("text", chars, TEXT_CHARS),
            ("attachments", attachments, ATTACHMENTS),
            ("messages", merged, MESSAGES),
        )
        if count >= most * NEAR
    ]
    return t("observer.limit_near", what="、".join(close)) if close else ""


def refuse(ctx: Ctx, chat_id: int, draft: Draft | None, note: str) -> None:
    """Tells the observer a message was not added; within a batch, only its last message does."""
    if ctx.followed and draft is not None:
        draft.data = {**draft.data, HELD: note}
        ctx.session.add(draft)
        return
    if draft is not None and HELD in draft.data:
        draft.data = {key: value for key, value in draft.data.items() if key != HELD}
        ctx.session.add(draft)
    ctx.out.send(chat_id, note)


def tell_held(ctx: Ctx, draft: Draft) -> None:
    """Sends a refusal kept back during a batch whose last message was accepted."""
    note = draft.data.get(HELD)
    if note:
        draft.data = {key: value for key, value in draft.data.items() if key != HELD}
        ctx.session.add(draft)
        ctx.out.send(draft.chat_id, str(note))
