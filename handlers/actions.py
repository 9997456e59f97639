"""What handlers ask the bot to do, as Bot API calls queued in the outbox.

Handlers never call Telegram. They collect ``Outgoing`` calls in an ``Outbox`` during one
update; the pipeline writes them to the outbox table in the same transaction as the state
change, and the delivery worker sends them. A callback answer is the one thing sent directly
(it is ephemeral and must come within seconds).

Texts are sent as plain text (no parse mode), so whatever a person typed — ``<``, ``&``, ``*``,
``_`` — is shown exactly as typed and can never break entity parsing. Personal numbers in every
text are masked here, before a long text is split (a cut must not halve a number), and again
by the delivery worker for what is queued elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.masking import mask_personal_numbers, mask_with_entities

TEXT_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button carrying callback data (at most 64 bytes)."""

    text: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode("utf-8")) > 64:
            raise ValueError(f"callback data over 64 bytes: {self.data!r}")


Keyboard = list[list[Button]]


def inline(keyboard: Keyboard | None) -> dict[str, Any] | None:
    """Return the Bot API ``reply_markup`` for an inline keyboard."""
    if keyboard is None:
        return None
    return {
        "inline_keyboard": [
            [{"text": button.text, "callback_data": button.data} for button in row]
            for row in keyboard
        ]
    }


def contact_keyboard(label: str) -> dict[str, Any]:
    """Return a one-button reply keyboard that shares the user's own phone number."""
    return {
        "keyboard": [[{"text": label, "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


def menu_keyboard(rows: list[list[str]]) -> dict[str, Any]:
    """Return a reply keyboard that stays under the input field: each button sends its label."""
    return {
        "keyboard": [[{"text": label} for label in row] for row in rows],
        "resize_keyboard": True,
        "is_persistent": True,
    }


REMOVE_KEYBOARD: dict[str, Any] = {"remove_keyboard": True}

# A reference to the message that holds a report's card, resolved by the delivery worker once
# the card has been sent (its message id is not known when the handler runs).


def card_of(report_id: int) -> dict[str, int]:
    """Return a placeholder for the message id of a report's card."""
    return {"$card": report_id}


def utf16_len(text: str) -> int:
    """Return the length of ``text`` as Telegram counts it: UTF-16 code units.

    Emoji and other characters beyond the Basic Multilingual Plane count twice.
    """
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """Return the longest prefix of ``text`` within ``limit`` UTF-16 units."""
    if utf16_len(text) <= limit:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split ``text`` into pieces Telegram accepts, preferring line breaks.

    Each piece is at most ``limit`` UTF-16 units and not blank (Telegram strips surrounding
    whitespace and refuses an empty text); a blank ``text`` gives no pieces.
    """
    pieces: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        end = len(fit(rest, limit))
        cut = rest.rfind("\n", 0, end)
        if cut < end // 2:
            cut = end
        if rest[:cut].strip():
            pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest.strip():
        pieces.append(rest)
    return pieces


@dataclass(slots=True)
class Outgoing:
    """One Bot API call to queue."""

    chat_id: int
    method: str
    payload: dict[str, Any]
    purpose: str = ""
    report_id: int | None = None
    key: str | None = None  # idempotency key; derived from the update when None


@dataclass(slots=True)
class Outbox:
    """The calls one handler run produces, plus the answer to a button press."""

    calls: list[Outgoing] = field(default_factory=list)
    answer: tuple[str, bool] | None = None  # (text, show_alert)

    def send(
        self,
        chat_id: int,
        text: str,
        *,
        keyboard: Keyboard | None = None,
        markup: dict[str, Any] | None = None,
        reply_to: int | dict[str, int] | None = None,
        purpose: str = "",
        report_id: int | None = None,
        key: str | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> None:
        """Queue a text message, split if longer than Telegram allows; buttons go on the last.

        ``entities`` (e.g. a ``text_mention``) apply to the first piece, whose offsets they use.
        """
        text, entities = mask_with_entities(text, entities)
        pieces = split_text(text) or ["…"]
        for index, piece in enumerate(pieces):
            payload: dict[str, Any] = {"chat_id": chat_id, "text": piece}
            if entities and index == 0:
                payload["entities"] = entities
            last = index == len(pieces) - 1
            if last and (keyboard is not None or markup is not None):
                payload["reply_markup"] = markup if markup is not None else inline(keyboard)
            if reply_to is not None and index == 0:
                payload["reply_parameters"] = {
                    "message_id": reply_to,
                    "allow_sending_without_reply": True,
                }
            piece_key = key if key is None or len(pieces) == 1 else f"{key}#{index}"
            self.calls.append(
                Outgoing(chat_id, "sendMessage", payload, purpose, report_id, piece_key)
            )

    def edit(
        self,
        chat_id: int,
        message_id: int | dict[str, int],
        text: str,
        *,
        keyboard: Keyboard | None = None,
        report_id: int | None = None,
        key: str | None = None,
    ) -> None:
        """Queue an edit of a message the bot sent (text and buttons)."""
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": (split_text(mask_personal_numbers(text)) or ["…"])[0],
        }
        markup = inline(keyboard)
        if markup is not None:
            payload["reply_markup"] = markup
        self.calls.append(Outgoing(chat_id, "editMessageText", payload, "edit", report_id, key))

    def media(
        self,
        chat_id: int,
        kind: str,
        file_id: str | dict[str, str],
        *,
        caption: str = "",
        reply_to: int | dict[str, int] | None = None,
        report_id: int | None = None,
        key: str | None = None,
    ) -> None:
        """Queue a photo, voice note, video or document by file id (or a local file to upload)."""
        payload: dict[str, Any] = {"chat_id": chat_id, kind: file_id}
        if caption:
            payload["caption"] = fit(mask_personal_numbers(caption), 1024)
        if reply_to is not None:
            payload["reply_parameters"] = {
                "message_id": reply_to,
                "allow_sending_without_reply": True,
            }
        method = "send" + kind.capitalize()
        self.calls.append(Outgoing(chat_id, method, payload, "attachment", report_id, key))

    def location(
        self,
        chat_id: int,
        latitude: float,
        longitude: float,
        *,
        reply_to: int | dict[str, int] | None = None,
        report_id: int | None = None,
    ) -> None:
        """Queue a map pin."""
        payload: dict[str, Any] = {"chat_id": chat_id, "latitude": latitude, "longitude": longitude}
        if reply_to is not None:
            payload["reply_parameters"] = {
                "message_id": reply_to,
                "allow_sending_without_reply": True,
            }
        self.calls.append(Outgoing(chat_id, "sendLocation", payload, "attachment", report_id))

    def leave(self, chat_id: int) -> None:
        """Queue leaving a group."""
        self.calls.append(Outgoing(chat_id, "leaveChat", {"chat_id": chat_id}, "leave"))

    def rows(self, *, prefix: str, now: Any) -> list[dict[str, Any]]:
        """Return the queued calls as outbox rows; a call without a key is keyed
        ``prefix:index`` (its place in this run), so a replay of the same run adds nothing."""
        return [
            {
                "chat_id": call.chat_id,
                "method": call.method,
                "payload": call.payload,
                "purpose": call.purpose,
                "report_id": call.report_id,
                "idempotency_key": call.key or f"{prefix}:{index}",
                "now": now,
            }
            for index, call in enumerate(self.calls)
        ]

    def reply_answer(self, text: str, *, alert: bool = False) -> None:
        """Answer the button press being handled (a short toast, or an alert)."""
        self.answer = (text[:200], alert)
