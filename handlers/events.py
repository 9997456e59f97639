"""Channel-neutral incoming events, built from Bot API update JSON.

Both runtimes store updates as the Bot API's own JSON (python-telegram-bot's ``to_dict()``,
aiogram's ``model_dump``); ``Event.from_update`` reads that JSON, so the handlers never see a
Telegram library and behave the same on either.

An update is input like any other: whoever holds the webhook secret can send any JSON. Ids are
kept only when they are integers and file ids only when they are strings, so nothing in an
update can turn into an instruction of our own (``{"$upload": path}``, ``{"$card": id}``);
an attachment whose file id is not a string is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal["message", "edited", "callback", "member", "bot_member", "other"]

UNSUPPORTED_CONTENT = (
    "sticker",
    "animation",
    "poll",
    "dice",
    "game",
    "video_note",
    "audio",
    "story",
    "venue",
    "invoice",
)


@dataclass(frozen=True, slots=True)
class Contact:
    """A shared contact: a phone number and, when it is a Telegram user, their id."""

    phone: str
    user_id: int | None
    name: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo, voice note, video or document sent with a report."""

    kind: Literal["photo", "voice", "video", "document"]
    file_id: str
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened in a chat, as the handlers need it."""

    update_id: int
    kind: EventKind
    chat_id: int = 0
    chat_type: str = "private"
    chat_title: str = ""
    user_id: int | None = None
    user_name: str = ""
    message_id: int | None = None
    text: str = ""
    command: str | None = None
    args: str = ""
    contact: Contact | None = None
    location: tuple[float, float] | None = None
    attachments: tuple[Attachment, ...] = ()
    unsupported: str | None = None
    reply_to_message_id: int | None = None
    reply_to_text: str = ""  # the text of the message replied to (only when it is the bot's)
    forwarded: bool = False
    sender_chat_id: int | None = None
    callback_id: str | None = None
    callback_data: str | None = None
    migrate_to_chat_id: int | None = None
    migrate_from_chat_id: int | None = None
    member_status: str | None = None  # for member events: the new status
    member_user_id: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def private(self) -> bool:
        """True in a one-to-one chat with the bot."""
        return self.chat_type == "private"

    @property
    def group(self) -> bool:
        """True in a group or supergroup."""
        return self.chat_type in ("group", "supergroup")

    @classmethod
    def from_update(cls, update: dict[str, Any], *, bot_username: str = "") -> Event:
        """Build an event from one Bot API update object."""
        update_id = int(update.get("update_id", 0))
        if "callback_query" in update:
            return _callback(update_id, update["callback_query"], update)
        messages: tuple[tuple[str, EventKind], ...] = (
            ("message", "message"),
            ("edited_message", "edited"),
        )
        for key, kind in messages:
            if key in update:
                return _message(update_id, kind, update[key], update, bot_username)
        members: tuple[tuple[str, EventKind], ...] = (
            ("chat_member", "member"),
            ("my_chat_member", "bot_member"),
        )
        for key, kind in members:
            if key in update:
                return _member(update_id, kind, update[key], update)
        return cls(update_id=update_id, kind="other", raw=update)


def _int(value: Any) -> int | None:
    """Return ``value`` if it is a JSON integer (a bool is not), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _file_id(value: Any) -> str | None:
    """Return a Bot API file id: a non-empty string of printable characters, else None."""
    if isinstance(value, str) and 0 < len(value) <= 256 and value.isprintable():
        return value
    return None


def _user(payload: dict[str, Any] | None) -> tuple[int | None, str]:
    if not isinstance(payload, dict):
        return None, ""
    name = " ".join(p for p in (payload.get("first_name"), payload.get("last_name")) if p)
    return _int(payload.get("id")), str(name or payload.get("username", ""))


def _chat(payload: dict[str, Any]) -> dict[str, Any]:
    chat = payload.get("chat") or {}
    return {
        "chat_id": int(chat.get("id", 0)),
        "chat_type": chat.get("type", "private"),
        "chat_title": chat.get("title", "") or "",
    }


def _command(text: str, bot_username: str) -> tuple[str | None, str]:
    if not text.startswith("/"):
        return None, ""
    head, _, rest = text.partition(" ")
    name, _, target = head[1:].partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None, ""  # a command addressed to another bot
    return name.lower(), rest.strip()


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    """Return the message's media; an item whose file id is not a string is left out."""
    caption = message.get("caption", "") or ""
    found: list[Attachment] = []
    sizes = message.get("photo")
    sizes = [size for size in sizes if isinstance(size, dict)] if isinstance(sizes, list) else []
    if sizes:
        largest = max(sizes, key=lambda size: _int(size.get("width")) or 0)
        if (file_id := _file_id(largest.get("file_id"))) is not None:
            found.append(Attachment("photo", file_id, caption))
    for kind in ("voice", "video", "document"):
        media = message.get(kind)
        if isinstance(media, dict) and (file_id := _file_id(media.get("file_id"))) is not None:
            found.append(Attachment(kind, file_id, caption))
    return tuple(found)


def _location(message: dict[str, Any]) -> tuple[float, float] | None:
    """Return the message's map pin, if it is one (two numbers within the globe's bounds)."""
    pin = message.get("location")
    if not isinstance(pin, dict):
        return None
    latitude, longitude = _number(pin.get("latitude")), _number(pin.get("longitude"))
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def _number(value: Any) -> float | None:
    """Return ``value`` as a float if it is a JSON number (a bool is not), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _message(
    update_id: int, kind: EventKind, message: dict[str, Any], raw: dict[str, Any], bot: str
) -> Event:
    user_id, user_name = _user(message.get("from"))
    text = message.get("text") or ""
    command, args = _command(text, bot)
    contact = None
    if isinstance(message.get("contact"), dict):
        shared = message["contact"]
        contact = Contact(
            phone=str(shared.get("phone_number", "")),
            user_id=_int(shared.get("user_id")),
            name=str(shared.get("first_name", "")),
        )
    unsupported = next((name for name in UNSUPPORTED_CONTENT if name in message), None)
    reply = message.get("reply_to_message") or {}
    new_members = message.get("new_chat_members") or []
    left = message.get("left_chat_member")
    return Event(
        update_id=update_id,
        kind=kind,
        **_chat(message),
        user_id=user_id,
        user_name=user_name,
        message_id=_int(message.get("message_id")),
        text=text or (message.get("caption") or ""),
        command=command,
        args=args,
        contact=contact,
        location=_location(message),
        attachments=_attachments(message),
        unsupported=unsupported,
        reply_to_message_id=_int(reply.get("message_id")),
        reply_to_text=(reply.get("text") or "") if (reply.get("from") or {}).get("is_bot") else "",
        forwarded=bool(message.get("forward_origin") or message.get("forward_date")),
        sender_chat_id=_int((message.get("sender_chat") or {}).get("id")),
        migrate_to_chat_id=_int(message.get("migrate_to_chat_id")),
        migrate_from_chat_id=_int(message.get("migrate_from_chat_id")),
        member_status="member" if new_members else ("left" if left else None),
        member_user_id=_int(new_members[0].get("id") if new_members else (left or {}).get("id")),
        raw=raw,
    )


def _callback(update_id: int, query: dict[str, Any], raw: dict[str, Any]) -> Event:
    user_id, user_name = _user(query.get("from"))
    message = query.get("message") or {}
    return Event(
        update_id=update_id,
        kind="callback",
        **_chat(message),
        user_id=user_id,
        user_name=user_name,
        message_id=_int(message.get("message_id")),
        callback_id=str(query.get("id", "")),
        callback_data=query.get("data") if isinstance(query.get("data"), str) else None,
        raw=raw,
    )


def _member(update_id: int, kind: EventKind, change: dict[str, Any], raw: dict[str, Any]) -> Event:
    user_id, user_name = _user(change.get("from"))
    new = change.get("new_chat_member") or {}
    return Event(
        update_id=update_id,
        kind=kind,
        **_chat(change),
        user_id=user_id,
        user_name=user_name,
        member_status=new.get("status"),
        member_user_id=_int((new.get("user") or {}).get("id")),
        raw=raw,
    )
