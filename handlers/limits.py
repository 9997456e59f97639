"""What one report may hold, and how the observer hears of it before a limit bites.

A report is read by a department group at Telegram's pace (20 messages a minute per group), so
one observer's very long report must not fill the group's queue ahead of everyone else's. A
draft therefore holds at most ``TEXT_CHARS`` characters of text, ``ATTACHMENTS`` photos, voice
notes, videos and documents, and ``MESSAGES`` merged messages. Past ``NEAR`` of any limit the
preview says how much room is left; a message that would go over is not added, and the
observer is told why and what to do (submit, then start another report). The card in the
group carries the first part of a long text and a 查看全文 button for the rest (``cards``).
"""

from __future__ import annotations

from typing import Any

from bot.core.messages import t
from handlers.events import Event

TEXT_CHARS = 5000  # a single Telegram message (4,096 units at most) always fits in a new draft
ATTACHMENTS = 10
MESSAGES = 20
NEAR = 0.8  # the preview warns from this share of a limit on


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
