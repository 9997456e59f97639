"""The simulated Telegram: people, chats, messages, files, and the bot's update queue.

Everything here runs on the server's event loop. ``World`` holds state and the actions people
take (``user_message``, ``press_button``, ``join``, ``migrate``, …), each of which produces the
update the bot would receive. The bot's own calls are implemented in ``methods.py`` on top of it.
Lookups are dictionaries and queues are deques, so nothing scans all messages per call.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox.entities import find_auto_entities
from sandbox.validation import bad_request, forbidden, migrated

ANONYMOUS_ADMIN = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
DEFAULT_UPDATES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post", "inline_query",
        "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
        "poll", "poll_answer", "my_chat_member", "chat_join_request", "business_connection",
        "business_message", "edited_business_message", "deleted_business_messages",
        "purchased_paid_media", "removed_chat_boost", "chat_boost",
    }
)  # fmt: skip
ALL_UPDATES = DEFAULT_UPDATES | {"chat_member", "message_reaction", "message_reaction_count"}
CALLBACK_TTL = 15.0
# A 1x1 transparent PNG: what a simulated person's photo contains unless bytes are given.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@dataclass
class Person:
    """A simulated Telegram user."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    phone: str | None = None
    language_code: str | None = "zh-hans"
    is_bot: bool = False
    started: bool = False
    blocked: bool = False

    def as_user(self) -> dict[str, Any]:
        """The Bot API User object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code and not self.is_bot:
            user["language_code"] = self.language_code
        return user


@dataclass
class Chat:
    """A private chat, group or supergroup."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    person: Person | None = None
    members: dict[int, str] = field(default_factory=dict)
    bot_status: str = "left"
    migrated_to: int | None = None
    migrated_from: int | None = None
    next_message_id: int = 1

    def as_chat(self) -> dict[str, Any]:
        """The Bot API Chat object."""
        if self.person is not None:
            chat = {"id": self.id, "type": "private", "first_name": self.person.first_name}
            if self.person.last_name:
                chat["last_name"] = self.person.last_name
            if self.person.username:
                chat["username"] = self.person.username
            return chat
        chat = {"id": self.id, "type": self.type, "title": self.title or ""}
        if self.username:
            chat["username"] = self.username
        if self.type == "group":
            chat["all_members_are_administrators"] = False
        return chat


@dataclass
class StoredFile:
    """An uploaded or simulated file."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0


@dataclass
class CallbackQuery:
    """A button press waiting for answerCallbackQuery."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    created: float
    answer: dict[str, Any] | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class TranscriptEntry:
    """Something the bot did in a chat: sent, edited or deleted a message."""

    event: str
    chat_id: int
    message_id: int
    method: str
    text: str | None
    reply_markup: dict[str, Any] | None
    date: int

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view."""
        return {
            "event": self.event,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "method": self.method,
            "text": self.text,
            "reply_markup": self.reply_markup,
            "date": self.date,
        }


class _Signal:
    """A broadcast wake-up: waiters wait on the current event; ``fire`` replaces it."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return False
        return True


def _image_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return 320, 320


_FILE_PREFIX = {
    "photo": "AgAC", "document": "BQAC", "voice": "AwAC", "sticker": "CAAC",
    "animation": "CgAC", "video": "BAAC", "audio": "CQAC",
}  # fmt: skip
_FILE_DIR = {"photo": "photos", "voice": "voice", "sticker": "stickers", "animation": "animations"}


class World:
    """The state of the simulated Telegram for one bot."""

    def __init__(
        self,
        *,
        token: str,
        bot_id: int | None = None,
        bot_username: str = "loopback_bot",
        bot_name: str = "Loopback Bot",
        privacy_mode: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        bot_id = bot_id if bot_id is not None else int(token.split(":", 1)[0])
        self.bot = Person(id=bot_id, first_name=bot_name, username=bot_username, is_bot=True)
        self.privacy_mode = privacy_mode
        self.clock = clock
        self.people: dict[int, Person] = {}
        self.chats: dict[int, Chat] = {}
        self.usernames: dict[str, int] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackQuery] = {}
        self.transcript: dict[int, list[TranscriptEntry]] = {}
        self.sent_count: dict[int, int] = {}
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.keyboards: dict[int, dict[str, Any]] = {}
        # Messages sent with force_reply: who gets the reply box (None: everyone in the chat).
        self.reply_boxes: dict[tuple[int, int], list[int] | None] = {}
        self.updates: deque[dict[str, Any]] = deque()
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATES
        self.next_update_id = 1
        self.updates_dropped = 0
        self.webhook: dict[str, Any] | None = None
        self.update_signal = _Signal()
        self.change_signal = _Signal()
        self._ids = itertools.count(1)
        self._user_ids = itertools.count(100001)
        self._group_ids = itertools.count(1)
        self._media_groups = itertools.count(10_000_000_000)

    # ----------------------------------------------------------------- basics

    def now(self) -> int:
        """The current Unix time as Telegram stamps it."""
        return int(self.clock())

    def add_person(
        self,
        first_name: str,
        *,
        user_id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        phone: str | None = None,
        language_code: str | None = "zh-hans",
        started: bool = False,
    ) -> Person:
        """Create a simulated user; ``started`` means they already pressed Start."""
        if user_id is None:
            user_id = next(self._user_ids)
            while user_id in self.people:
                user_id = next(self._user_ids)
        if user_id in self.people or user_id <= 0:
            raise ValueError(f"user id {user_id} is taken or invalid")
        person = Person(
            id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            phone=phone,
            language_code=language_code,
            started=started,
        )
        self.people[user_id] = person
        if username:
            self.usernames[username.lower()] = user_id
        return person

    def add_group(
        self,
        title: str,
        *,
        chat_type: str = "group",
        chat_id: int | None = None,
        members: Iterable[int] = (),
        admins: Iterable[int] = (),
        creator: int | None = None,
        bot_status: str = "member",
        username: str | None = None,
    ) -> Chat:
        """Create a group or supergroup, with the bot in it unless ``bot_status`` says otherwise."""
        if chat_type not in ("group", "supergroup"):
            raise ValueError("chat_type must be 'group' or 'supergroup'")
        if chat_id is None:
            n = next(self._group_ids)
            chat_id = -(4_000_000_000 + n) if chat_type == "group" else -(1_002_000_000_000 + n)
        if chat_id in self.chats or chat_id >= 0:
            raise ValueError(f"chat id {chat_id} is taken or invalid")
        chat = Chat(id=chat_id, type=chat_type, title=title, username=username)
        for user_id in members:
            self.person(user_id)
            chat.members[user_id] = "member"
        for user_id in admins:
            self.person(user_id)
            chat.members[user_id] = "administrator"
        if creator is not None:
            self.person(creator)
            chat.members[creator] = "creator"
        chat.bot_status = bot_status
        self.chats[chat_id] = chat
        if username:
            self.usernames[username.lower()] = chat_id
        return chat

    def person(self, user_id: int) -> Person:
        """A known user, or a control error."""
        person = self.people.get(user_id)
        if person is None:
            raise KeyError(f"unknown user {user_id}")
        return person

    def private_chat(self, person: Person) -> Chat:
        """The private chat between ``person`` and the bot (created on first use)."""
        chat = self.chats.get(person.id)
        if chat is None:
            chat = Chat(id=person.id, type="private", person=person, bot_status="member")
            self.chats[person.id] = chat
        return chat

    def group(self, chat_id: int) -> Chat:
        """A known group or supergroup, or a control error."""
        chat = self.chats.get(chat_id)
        if chat is None or chat.type == "private":
            raise KeyError(f"unknown group {chat_id}")
        return chat

    def lookup_chat(self, chat_id: int | str) -> Chat:
        """Resolve a chat id or @username for the bot, refusing unknown chats like Telegram."""
        if isinstance(chat_id, str):
            found = self.usernames.get(chat_id[1:].lower())
            if found is None:
                raise bad_request("chat not found")
            chat_id = found
        chat = self.chats.get(chat_id)
        if chat is None:
            person = self.people.get(chat_id)
            if person is None:
                raise bad_request("chat not found")
            chat = self.private_chat(person)
        return chat

    def writable_chat(self, chat_id: int | str) -> Chat:
        """A chat the bot may post to now; otherwise Telegram's 400/403."""
        chat = self.lookup_chat(chat_id)
        if chat.migrated_to is not None:
            raise migrated(chat.migrated_to)
        if chat.person is not None:
            if chat.person.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.person.started:
                raise forbidden("bot can't initiate conversation with a user")
            return chat
        label = "group chat" if chat.type == "group" else "supergroup chat"
        if chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {label}")
        if chat.bot_status == "left":
            raise forbidden(f"bot is not a member of the {label}")
        return chat

    def next_message_id(self, chat: Chat) -> int:
        """Allocate a message id in ``chat``."""
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    # ------------------------------------------------------------------ files

    def store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        duration: int = 0,
    ) -> StoredFile:
        """Keep bytes as a Telegram file and give it a file_id."""
        n = next(self._ids)
        file_id = f"{_FILE_PREFIX.get(kind, 'BQAC')}{n:07d}{secrets.token_urlsafe(12)}"
        unique = f"AQAD{n:07d}"
        suffix = file_name.rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
        if kind == "photo":
            suffix = "jpg" if data[:2] == b"\xff\xd8" else "png"
        elif kind == "voice":
            suffix = "oga"
        path = f"{_FILE_DIR.get(kind, kind + 's')}/file_{n}.{suffix}"
        width = height = 0
        if kind in ("photo", "sticker", "animation"):
            width, height = _image_size(data) if kind == "photo" else (512, 512)
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            kind=kind,
            data=data,
            file_path=path,
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
            duration=duration,
        )
        self.files[file_id] = stored
        self.files_by_path[path] = stored
        return stored

    def media_object(self, stored: StoredFile) -> Any:
        """The Bot API object for a file in a message (PhotoSize list for photos)."""
        base: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.kind == "photo":
            return [{**base, "width": stored.width, "height": stored.height}]
        if stored.kind == "voice":
            return {**base, "duration": stored.duration, "mime_type": "audio/ogg"}
        if stored.kind == "sticker":
            return {
                **base, "type": "regular", "width": 512, "height": 512,
                "is_animated": False, "is_video": False, "emoji": "🙂",
            }  # fmt: skip
        if stored.kind == "animation":
            return {
                **base, "width": 320, "height": 240, "duration": stored.duration or 1,
                "file_name": stored.file_name or "animation.mp4", "mime_type": "video/mp4",
            }  # fmt: skip
        if stored.file_name:
            base["file_name"] = stored.file_name
        if stored.mime_type:
            base["mime_type"] = stored.mime_type
        return base

    # ---------------------------------------------------------------- updates

    def push_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for the bot; returns its update_id (None when filtered out)."""
        if kind not in self.allowed_updates:
            self.updates_dropped += 1
            return None
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append({"update_id": update_id, kind: payload})
        self.update_signal.fire()
        return update_id

    def confirm(self, offset: int) -> None:
        """Forget updates below ``offset`` (negative: keep only the last -offset)."""
        updates = self.updates
        if offset < 0:
            while len(updates) > -offset:
                updates.popleft()
            return
        while updates and updates[0]["update_id"] < offset:
            updates.popleft()

    def set_allowed(self, allowed: Any) -> None:
        """Apply a getUpdates/setWebhook allowed_updates list (empty keeps the previous)."""
        if allowed is None:
            return
        if isinstance(allowed, list):
            chosen = frozenset(str(item) for item in allowed) & ALL_UPDATES
            self.allowed_updates = chosen or DEFAULT_UPDATES

    def reply_box_for(self, message: dict[str, Any], selective: bool) -> list[int] | None:
        """Return whom a force_reply opens the reply box for, as Telegram decides it.

        Not selective: everyone. Selective: the users mentioned in the text (an ``@username``
        or a ``text_mention`` entity) and the author of the message replied to — which, for a
        reply to the bot's own message, is the bot, so nobody.
        """
        if not selective:
            return None
        users: list[int] = []
        text = message.get("text") or message.get("caption") or ""
        for entity in message.get("entities") or message.get("caption_entities") or []:
            if entity.get("type") == "text_mention":
                users.append(int(entity["user"]["id"]))
            elif entity.get("type") == "mention":
                name = _utf16_slice(text, entity["offset"], entity["length"]).lstrip("@")
                if name.lower() in self.usernames:
                    users.append(self.usernames[name.lower()])
        author = (message.get("reply_to_message") or {}).get("from") or {}
        if author.get("id") not in (None, self.bot.id):
            users.append(int(author["id"]))
        return sorted(set(users))

    def changed(self) -> None:
        """Wake anyone waiting on the transcript."""
        self.change_signal.fire()

    def record(
        self,
        event: str,
        chat_id: int,
        message: dict[str, Any],
        method: str,
        markup: dict[str, Any] | None = None,
    ) -> None:
        """Add a bot action to the chat's transcript (``markup``: a reply keyboard sent)."""
        entry = TranscriptEntry(
            event=event,
            chat_id=chat_id,
            message_id=message["message_id"],
            method=method,
            text=message.get("text", message.get("caption")),
            reply_markup=message.get("reply_markup", markup),
            date=self.now(),
        )
        self.transcript.setdefault(chat_id, []).append(entry)
        if event == "sent":
            self.sent_count[chat_id] = self.sent_count.get(chat_id, 0) + 1
        self.changed()

    # -------------------------------------------------------- people's actions

    def _visible_to_bot(self, chat: Chat, message: dict[str, Any]) -> bool:
        """Whether the bot receives a group message (privacy mode, membership)."""
        if chat.person is not None:
            return True
        if chat.bot_status not in ("member", "administrator", "creator"):
            return False
        if not self.privacy_mode or chat.bot_status in ("administrator", "creator"):
            return True
        reply = message.get("reply_to_message")
        if reply is not None and reply.get("from", {}).get("id") == self.bot.id:
            return True
        text = message.get("text") or message.get("caption") or ""
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            addressee = command.partition("@")[2].lower()
            return not addressee or addressee == (self.bot.username or "").lower()
        return bool(self.bot.username and f"@{self.bot.username}".lower() in text.lower())

    def user_message(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        content: dict[str, Any] | None = None,
        reply_to_message_id: int | None = None,
        forward_origin: dict[str, Any] | None = None,
        anonymous_admin: bool = False,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        """A person sends a message (to the bot, or in a group); returns message and update id."""
        person = self.person(user_id)
        if chat_id is None or chat_id == user_id:
            chat = self.private_chat(person)
            if person.blocked:
                self.set_blocked(user_id, False)
            person.started = True
        else:
            chat = self.group(chat_id)
            if chat.migrated_to is not None:
                raise KeyError(f"group {chat_id} migrated to {chat.migrated_to}; use that id")
            if chat.members.get(user_id) in (None, "left", "kicked"):
                raise KeyError(f"user {user_id} is not a member of {chat_id}")
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat),
            "date": self.now(),
            "chat": chat.as_chat(),
        }
        if anonymous_admin:
            message["from"] = dict(ANONYMOUS_ADMIN)
            message["sender_chat"] = chat.as_chat()
            message["author_signature"] = person.first_name
        else:
            message["from"] = person.as_user()
        if forward_origin is not None:
            message["forward_origin"] = forward_origin
        if reply_to_message_id is not None:
            replied = self.messages.get((chat.id, reply_to_message_id))
            if replied is None:
                raise KeyError(f"no message {reply_to_message_id} in chat {chat.id}")
            message["reply_to_message"] = _without_reply(replied)
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        if text is not None:
            message["text"] = text
            found = list(entities or [])
            found.extend(find_auto_entities(text, found))
            if found:
                message["entities"] = found
        if content:
            message.update(content)
            caption = content.get("caption")
            if caption and "caption_entities" not in content:
                detected = find_auto_entities(caption, [])
                if detected:
                    message["caption_entities"] = detected
        self.messages[(chat.id, message["message_id"])] = message
        update_id = None
        if self._visible_to_bot(chat, message):
            update_id = self.push_update("message", message)
        return {"message": message, "update_id": update_id}

    def user_edit(self, user_id: int, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """A person edits the text (or caption) of one of their messages."""
        message = self.messages.get((chat_id, message_id))
        if message is None or message.get("from", {}).get("id") not in (
            user_id,
            ANONYMOUS_ADMIN["id"],
        ):
            raise KeyError(f"user {user_id} has no message {message_id} in chat {chat_id}")
        edited = dict(message)
        if "text" in edited or "caption" not in edited:
            edited["text"] = text
            found = find_auto_entities(text, [])
            if found:
                edited["entities"] = found
            else:
                edited.pop("entities", None)
        else:
            edited["caption"] = text
        edited["edit_date"] = self.now()
        self.messages[(chat_id, message_id)] = edited
        update_id = None
        if self._visible_to_bot(self.chats[chat_id], edited):
            update_id = self.push_update("edited_message", edited)
        return {"message": edited, "update_id": update_id}

    def press_button(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        *,
        data: str | None = None,
        button_text: str | None = None,
    ) -> CallbackQuery:
        """A person presses an inline button on a bot message; the bot gets a callback_query."""
        person = self.person(user_id)
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        if data is None:
            buttons = [
                button
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row
            ]
            chosen = [b for b in buttons if button_text is None or b.get("text") == button_text]
            if not chosen or "callback_data" not in chosen[0]:
                raise KeyError(f"message {message_id} has no callback button {button_text!r}")
            data = chosen[0]["callback_data"]
        query_id = f"{next(self._ids)}{secrets.randbelow(10**9):09d}"
        query = CallbackQuery(
            id=query_id,
            user_id=user_id,
            chat_id=chat_id,
            message_id=message_id,
            data=data,
            created=time.monotonic(),
        )
        self.callbacks[query_id] = query
        payload: dict[str, Any] = {
            "id": query_id,
            "from": person.as_user(),
            "message": message,
            "chat_instance": str(abs(hash((self.bot.id, chat_id))) % 10**18),
        }
        if data is not None:
            payload["data"] = data
        self.push_update("callback_query", payload)
        return query

    def _chat_member(self, user: dict[str, Any], status: str) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(ADMIN_RIGHTS)
        return member

    def _service(self, chat: Chat, actor: dict[str, Any], **fields: Any) -> dict[str, Any]:
        message = {
            "message_id": self.next_message_id(chat),
            "date": self.now(),
            "chat": chat.as_chat(),
            "from": actor,
            **fields,
        }
        self.messages[(chat.id, message["message_id"])] = message
        return message

    def set_member(self, chat_id: int, user_id: int, status: str) -> dict[str, Any]:
        """A person joins ("member"/"administrator") or leaves ("left"/"kicked") a group."""
        chat = self.group(chat_id)
        person = self.person(user_id)
        old = chat.members.get(user_id, "left")
        chat.members[user_id] = status
        result: dict[str, Any] = {"chat_member_update_id": None, "message": None}
        joined = status in ("member", "administrator", "creator")
        was_in = old in ("member", "administrator", "creator")
        if chat.bot_status in ("member", "administrator", "creator") and joined != was_in:
            if joined:
                message = self._service(chat, person.as_user(), new_chat_members=[person.as_user()])
            else:
                message = self._service(chat, person.as_user(), left_chat_member=person.as_user())
            result["message"] = message
            result["update_id"] = self.push_update("message", message)
        if chat.bot_status in ("administrator", "creator"):
            result["chat_member_update_id"] = self.push_update(
                "chat_member",
                {
                    "chat": chat.as_chat(),
                    "from": person.as_user(),
                    "date": self.now(),
                    "old_chat_member": self._chat_member(person.as_user(), old),
                    "new_chat_member": self._chat_member(person.as_user(), status),
                },
            )
        return result

    def set_bot_status(
        self, chat_id: int, status: str, by_user_id: int | None, *, silent: bool = False
    ) -> dict[str, Any]:
        """The bot is added to / promoted in / removed from a group by a person; ``silent``
        changes it without telling the bot (an update it never got: lost after 24 hours)."""
        chat = self.group(chat_id)
        if status not in ("member", "administrator", "left", "kicked"):
            raise ValueError("status must be member, administrator, left or kicked")
        if by_user_id is None:
            by_user_id = next(
                (uid for uid, s in chat.members.items() if s in ("creator", "administrator")),
                None,
            )
        if by_user_id is None:
            raise KeyError("give by_user_id: the group has no administrator to act")
        actor = self.person(by_user_id).as_user()
        old = chat.bot_status
        chat.bot_status = status
        if silent:
            return {}
        result: dict[str, Any] = {
            "update_id": self.push_update(
                "my_chat_member",
                {
                    "chat": chat.as_chat(),
                    "from": actor,
                    "date": self.now(),
                    "old_chat_member": self._chat_member(self.bot.as_user(), old),
                    "new_chat_member": self._chat_member(self.bot.as_user(), status),
                },
            )
        }
        if old in ("left", "kicked") and status in ("member", "administrator"):
            message = self._service(chat, actor, new_chat_members=[self.bot.as_user()])
            result["message"] = message
            result["message_update_id"] = self.push_update("message", message)
        return result

    def set_blocked(self, user_id: int, blocked: bool) -> dict[str, Any]:
        """A person blocks (or unblocks) the bot; the bot gets my_chat_member."""
        person = self.person(user_id)
        chat = self.private_chat(person)
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        person.blocked = blocked
        update_id = self.push_update(
            "my_chat_member",
            {
                "chat": chat.as_chat(),
                "from": person.as_user(),
                "date": self.now(),
                "old_chat_member": self._chat_member(self.bot.as_user(), old),
                "new_chat_member": self._chat_member(self.bot.as_user(), new),
            },
        )
        return {"update_id": update_id}

    def migrate(self, chat_id: int, by_user_id: int | None = None) -> dict[str, Any]:
        """A group becomes a supergroup: service messages in both, the old id stops working."""
        old = self.group(chat_id)
        if old.type != "group" or old.migrated_to is not None:
            raise ValueError(f"chat {chat_id} is not a basic group")
        new_id = -(1_000_000_000_000 + abs(chat_id))
        new = Chat(
            id=new_id,
            type="supergroup",
            title=old.title,
            members=dict(old.members),
            bot_status=old.bot_status,
            migrated_from=chat_id,
        )
        self.chats[new_id] = new
        old.migrated_to = new_id
        actor_id = by_user_id or next(
            (uid for uid, s in old.members.items() if s == "creator"), None
        )
        actor = self.person(actor_id).as_user() if actor_id else dict(ANONYMOUS_ADMIN)
        result: dict[str, Any] = {"supergroup_id": new_id}
        if old.bot_status in ("member", "administrator"):
            first = self._service(old, actor, migrate_to_chat_id=new_id)
            second = self._service(new, dict(ANONYMOUS_ADMIN), migrate_from_chat_id=chat_id)
            second["sender_chat"] = new.as_chat()
            result["update_ids"] = [
                self.push_update("message", first),
                self.push_update("message", second),
            ]
        return result

    def new_media_group_id(self) -> str:
        """A fresh media_group_id."""
        return str(next(self._media_groups))


ADMIN_RIGHTS: dict[str, Any] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
    "can_manage_topics": False,
    "can_send_welcome_messages": False,
}


def _without_reply(message: dict[str, Any]) -> dict[str, Any]:
    """A message as embedded in another's reply_to_message (no nested reply)."""
    if "reply_to_message" not in message:
        return message
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def _utf16_slice(text: str, offset: int, length: int) -> str:
    """Return the part of ``text`` at ``offset`` and ``length`` counted in UTF-16 units."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="ignore")
