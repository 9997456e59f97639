"""The Bot API methods the loopback server implements, over ``World``.

Each handler takes ``Params`` and returns the ``result`` of the envelope, or raises ``ApiError``
with Telegram's code and description. ``METHODS`` maps lower-case method names to handler names
(Telegram's method names are case-insensitive).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.limits import RateLimiter
from sandbox.validation import (
    MAX_CALLBACK_ANSWER,
    ApiError,
    Params,
    Upload,
    bad_request,
    check_commands,
    check_reply_markup,
    forbidden,
    migrated,
    parse_text,
    too_many_requests,
)
from sandbox.world import ADMIN_RIGHTS, CALLBACK_TTL, Chat, StoredFile, World

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
FILE_DOWNLOAD_LIMIT = 20 * 1024 * 1024
_SEND_FIELDS = {"sendphoto": "photo", "senddocument": "document"}

Handler = Callable[[Params], Awaitable[Any]]
_COPYABLE = (
    "text", "entities", "photo", "document", "voice", "sticker", "animation", "location",
    "contact", "poll", "dice", "caption", "caption_entities",
)  # fmt: skip


class BotMethods:
    """Implementations of Bot API methods for one bot."""

    def __init__(self, world: World, limiter: RateLimiter) -> None:
        self.world = world
        self.limiter = limiter
        self.poll_generation = 0
        self.handlers: dict[str, Handler] = {
            "getme": self.get_me,
            "getupdates": self.get_updates,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "answercallbackquery": self.answer_callback_query,
            "sendphoto": self.send_photo,
            "senddocument": self.send_document,
            "sendvoice": self.send_voice,
            "sendlocation": self.send_location,
            "copymessage": self.copy_message,
            "forwardmessage": self.forward_message,
            "sendmediagroup": self.send_media_group,
            "sendchataction": self.send_chat_action,
            "getfile": self.get_file,
            "getchat": self.get_chat,
            "getchatmember": self.get_chat_member,
            "getchatmembercount": self.get_chat_member_count,
            "leavechat": self.leave_chat,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "close": self.close,
            "logout": self.close,
        }

    # ------------------------------------------------------------------ helpers

    def _rate(self, chat: Chat, count: int = 1) -> None:
        retry_after = self.limiter.acquire(chat.id, chat.type, count)
        if retry_after:
            raise too_many_requests(retry_after)

    def _reply_to(self, chat: Chat, p: Params) -> dict[str, Any] | None:
        """Resolve reply_parameters / reply_to_message_id into the replied message."""
        reply = p.json("reply_parameters")
        allow_missing = p.flag("allow_sending_without_reply")
        message_id = p.integer("reply_to_message_id")
        if reply is not None:
            if not isinstance(reply, dict) or "message_id" not in reply:
                raise bad_request("can't parse reply parameters JSON object")
            message_id = int(reply["message_id"])
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
            if reply.get("chat_id") not in (None, chat.id):
                target = self.world.lookup_chat(
                    reply["chat_id"] if isinstance(reply["chat_id"], int) else str(reply["chat_id"])
                )
                replied = self.world.messages.get((target.id, message_id))
                if replied is None and not allow_missing:
                    raise bad_request("message to be replied not found")
                return None
        if message_id is None:
            return None
        replied = self.world.messages.get((chat.id, message_id))
        if replied is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in replied.items() if k != "reply_to_message"}

    def _new_message(self, chat: Chat, p: Params, **content: Any) -> dict[str, Any]:
        world = self.world
        message: dict[str, Any] = {
            "message_id": 0,
            "from": world.bot.as_user(),
            "chat": chat.as_chat(),
            "date": world.now(),
        }
        replied = self._reply_to(chat, p)
        if replied is not None:
            message["reply_to_message"] = replied
        message.update(content)
        return message

    def _commit(
        self,
        chat: Chat,
        message: dict[str, Any],
        method: str,
        markup: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        message["message_id"] = self.world.next_message_id(chat)
        self.world.messages[(chat.id, message["message_id"])] = message
        if markup is not None and markup.get("force_reply"):
            self.world.reply_boxes[(chat.id, message["message_id"])] = self.world.reply_box_for(
                message, bool(markup.get("selective"))
            )
        if markup is not None and markup.get("remove_keyboard"):
            self.world.keyboards.pop(chat.id, None)
        elif markup is not None and "keyboard" in markup:
            self.world.keyboards[chat.id] = markup
        self.world.record("sent", chat.id, message, method, markup)
        return message

    def _markup(self, p: Params, chat: Chat) -> dict[str, Any] | None:
        return check_reply_markup(p.json("reply_markup"), chat.type)

    def _editable(self, p: Params) -> tuple[Chat, dict[str, Any]]:
        if "inline_message_id" in p:
            raise bad_request("MESSAGE_ID_INVALID")
        if "chat_id" not in p or "message_id" not in p:
            raise bad_request("message identifier is not specified")
        chat = self.world.lookup_chat(p.chat_id())
        if chat.migrated_to is not None:
            raise migrated(chat.migrated_to)
        if chat.person is not None and chat.person.blocked:
            raise forbidden("bot was blocked by the user")
        message = self.world.messages.get((chat.id, p.integer("message_id") or 0))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.world.bot.id:
            raise bad_request("message can't be edited")
        return chat, message

    def _file(self, p: Params, name: str, kind: str, **extra: Any) -> StoredFile:
        value = p.get(name)
        if value is None or value == "":
            raise bad_request(f"there is no {name} in the request")
        return self._resolve_file(p, value, kind, **extra)

    def _resolve_file(self, p: Params, value: Any, kind: str, **extra: Any) -> StoredFile:
        world = self.world
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value[len("attach://") :])
            if not isinstance(value, Upload):
                raise bad_request("wrong file identifier/HTTP URL specified")
        if isinstance(value, Upload):
            if not value.data:
                raise bad_request("file must be non-empty")
            if kind == "photo" and len(value.data) > 10 * 1024 * 1024:
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            if len(value.data) > 50 * 1024 * 1024:
                raise ApiError(413, "Request Entity Too Large")
            return world.store_file(
                kind,
                value.data,
                file_name=value.filename,
                mime_type=value.content_type,
                **extra,
            )
        if not isinstance(value, str):
            raise bad_request("wrong file identifier/HTTP URL specified")
        if value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = world.files.get(value.strip())
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind and not (kind == "document" and stored.kind != "photo"):
            raise bad_request(
                f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}"
            )
        return stored

    # ------------------------------------------------------------------ basics

    async def get_me(self, p: Params) -> Any:
        """getMe."""
        return {
            **self.world.bot.as_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.world.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def close(self, p: Params) -> Any:
        """close / logOut: accepted and ignored."""
        return True

    async def get_updates(self, p: Params) -> Any:
        """getUpdates with offset confirmation, limit, allowed_updates and long polling."""
        world = self.world
        if world.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        self.poll_generation += 1
        generation = self.poll_generation
        world.update_signal.fire()  # an older pending poll wakes up and ends with 409
        offset = p.integer("offset")
        if offset:
            world.confirm(offset)
        limit = max(1, min(100, p.integer("limit", 100) or 100))
        timeout = max(0, p.integer("timeout", 0) or 0)
        world.set_allowed(p.json("allowed_updates"))
        deadline = time.monotonic() + timeout
        while not world.updates:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await world.update_signal.wait(remaining)
            if generation != self.poll_generation and not world.updates:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
        return list(itertools.islice(world.updates, limit))

    async def set_webhook(self, p: Params) -> Any:
        """setWebhook: switch to pushing updates to a URL."""
        url = (p.string("url") or "").strip()
        if not url:
            return await self.delete_webhook(p)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.string("secret_token")
        if secret is not None and (
            not 1 <= len(secret) <= 256
            or not all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in secret)
        ):
            raise bad_request("secret token contains unallowed characters")
        if p.flag("drop_pending_updates"):
            self.world.updates.clear()
        self.world.set_allowed(p.json("allowed_updates"))
        self.world.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": max(1, min(100, p.integer("max_connections", 40) or 40)),
            "last_error_date": None,
            "last_error_message": None,
        }
        self.world.update_signal.fire()
        return True

    async def delete_webhook(self, p: Params) -> Any:
        """deleteWebhook: back to getUpdates."""
        if p.flag("drop_pending_updates"):
            self.world.updates.clear()
        self.world.webhook = None
        self.world.update_signal.fire()
        return True

    async def get_webhook_info(self, p: Params) -> Any:
        """getWebhookInfo."""
        hook = self.world.webhook
        info: dict[str, Any] = {
            "url": hook["url"] if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if hook:
            info["max_connections"] = hook["max_connections"]
            info["allowed_updates"] = sorted(self.world.allowed_updates)
            if hook["last_error_date"]:
                info["last_error_date"] = hook["last_error_date"]
                info["last_error_message"] = hook["last_error_message"]
        return info

    # ------------------------------------------------------------------ sending

    async def send_message(self, p: Params) -> Any:
        """sendMessage."""
        chat = self.world.writable_chat(p.chat_id())
        text, entities = parse_text(p.string("text"), p.string("parse_mode"), p.json("entities"))
        markup = self._markup(p, chat)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        message = self._new_message(chat, p, **content)
        self._rate(chat)
        return self._commit(chat, message, "sendMessage", markup)

    async def _send_media(self, p: Params, method: str, field: str, kind: str) -> Any:
        chat = self.world.writable_chat(p.chat_id())
        caption, entities = parse_text(
            p.string("caption"), p.string("parse_mode"), p.json("caption_entities"), caption=True
        )
        markup = self._markup(p, chat)
        stored = self._file(p, field, kind)
        content: dict[str, Any] = {field: self.world.media_object(stored)}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        if markup is not None and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        message = self._new_message(chat, p, **content)
        self._rate(chat)
        return self._commit(chat, message, method, markup)

    async def send_photo(self, p: Params) -> Any:
        """sendPhoto (upload or file_id)."""
        return await self._send_media(p, "sendPhoto", "photo", "photo")

    async def send_document(self, p: Params) -> Any:
        """sendDocument (upload or file_id)."""
        return await self._send_media(p, "sendDocument", "document", "document")

    async def send_voice(self, p: Params) -> Any:
        """sendVoice (upload or file_id)."""
        return await self._send_media(p, "sendVoice", "voice", "voice")

    def _source(self, p: Params, what: str) -> tuple[Chat, dict[str, Any]]:
        source_chat = self.world.lookup_chat(p.chat_id("from_chat_id"))
        if source_chat.person is None and source_chat.bot_status in ("left", "kicked"):
            raise bad_request("chat not found")
        message = self.world.messages.get((source_chat.id, p.integer("message_id") or 0))
        if message is None:
            raise bad_request(f"message to {what} not found")
        return source_chat, message

    async def copy_message(self, p: Params) -> Any:
        """copyMessage: the content of a message, without a link to the original."""
        chat = self.world.writable_chat(p.chat_id())
        _, source = self._source(p, "copy")
        content = {k: source[k] for k in _COPYABLE if k in source}
        if not content:
            raise bad_request("message can't be copied")
        if "text" not in content and "caption" in p:
            caption, entities = parse_text(
                p.string("caption"), p.string("parse_mode"), p.json("caption_entities"),
                caption=True,
            )  # fmt: skip
            content.pop("caption", None)
            content.pop("caption_entities", None)
            if caption:
                content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        markup = self._markup(p, chat)
        if markup is not None and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        message = self._new_message(chat, p, **content)
        self._rate(chat)
        return {"message_id": self._commit(chat, message, "copyMessage", markup)["message_id"]}

    async def forward_message(self, p: Params) -> Any:
        """forwardMessage: the message with a forward_origin naming its sender."""
        chat = self.world.writable_chat(p.chat_id())
        source_chat, source = self._source(p, "forward")
        content = {k: source[k] for k in _COPYABLE if k in source}
        if not content:
            raise bad_request("message can't be forwarded")
        if "sender_chat" in source:
            origin = {"type": "chat", "date": source["date"], "sender_chat": source["sender_chat"]}
        else:
            origin = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        message = {
            "message_id": 0,
            "from": self.world.bot.as_user(),
            "chat": chat.as_chat(),
            "date": self.world.now(),
            "forward_origin": origin,
            **content,
        }
        self._rate(chat)
        return self._commit(chat, message, "forwardMessage")

    async def send_location(self, p: Params) -> Any:
        """sendLocation."""
        chat = self.world.writable_chat(p.chat_id())
        latitude, longitude = p.number("latitude"), p.number("longitude")
        if latitude is None or longitude is None:
            raise bad_request("wrong latitude or longitude specified")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong latitude or longitude specified")
        markup = self._markup(p, chat)
        content: dict[str, Any] = {"location": {"latitude": latitude, "longitude": longitude}}
        if markup is not None and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        message = self._new_message(chat, p, **content)
        self._rate(chat)
        return self._commit(chat, message, "sendLocation", markup)

    async def send_media_group(self, p: Params) -> Any:
        """sendMediaGroup: 2–10 photos/documents as one album."""
        chat = self.world.writable_chat(p.chat_id())
        media = p.json("media")
        if not isinstance(media, list):
            raise bad_request("can't parse InputMedia JSON object")
        if not 2 <= len(media) <= 10:
            raise bad_request("media must include 2-10 items")
        items = []
        kinds = set()
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "document"):
                raise bad_request("can't parse InputMedia JSON object")
            kinds.add(item["type"])
            caption, entities = parse_text(
                item.get("caption"), item.get("parse_mode"), item.get("caption_entities"),
                caption=True,
            )  # fmt: skip
            stored = self._resolve_file(p, item.get("media"), item["type"])
            items.append((item["type"], stored, caption, entities))
        if len(kinds) > 1:
            raise bad_request("documents can't be mixed with other media types")
        replied = self._reply_to(chat, p)
        self._rate(chat, len(items))
        group_id = self.world.new_media_group_id()
        result = []
        for field, stored, caption, entities in items:
            message = {
                "message_id": 0,
                "from": self.world.bot.as_user(),
                "chat": chat.as_chat(),
                "date": self.world.now(),
                "media_group_id": group_id,
                field: self.world.media_object(stored),
            }
            if replied is not None:
                message["reply_to_message"] = replied
            if caption:
                message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
            result.append(self._commit(chat, message, "sendMediaGroup"))
        return result

    async def send_chat_action(self, p: Params) -> Any:
        """sendChatAction."""
        self.world.writable_chat(p.chat_id())
        if not p.string("action"):
            raise bad_request("wrong parameter action in request")
        return True

    # ------------------------------------------------------------------ editing

    async def edit_message_text(self, p: Params) -> Any:
        """editMessageText."""
        chat, message = self._editable(p)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = parse_text(p.string("text"), p.string("parse_mode"), p.json("entities"))
        markup = self._markup(p, chat)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        if (
            text == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise bad_request(NOT_MODIFIED)
        edited = {k: v for k, v in message.items() if k not in ("entities", "reply_markup")}
        edited["text"] = text
        if entities:
            edited["entities"] = entities
        if markup is not None:
            edited["reply_markup"] = markup
        return self._store_edit(chat, edited, "editMessageText")

    async def edit_message_caption(self, p: Params) -> Any:
        """editMessageCaption."""
        chat, message = self._editable(p)
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = parse_text(
            p.string("caption"), p.string("parse_mode"), p.json("caption_entities"), caption=True
        )
        markup = self._markup(p, chat)
        if (
            caption == message.get("caption", "")
            and entities == message.get("caption_entities", [])
            and markup == message.get("reply_markup")
        ):
            raise bad_request(NOT_MODIFIED)
        edited = {
            k: v
            for k, v in message.items()
            if k not in ("caption", "caption_entities", "reply_markup")
        }
        if caption:
            edited["caption"] = caption
        if entities:
            edited["caption_entities"] = entities
        if markup is not None:
            edited["reply_markup"] = markup
        return self._store_edit(chat, edited, "editMessageCaption")

    async def edit_message_reply_markup(self, p: Params) -> Any:
        """editMessageReplyMarkup (absent markup removes the keyboard)."""
        chat, message = self._editable(p)
        markup = self._markup(p, chat)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        current = message.get("reply_markup")
        if markup is not None and not markup["inline_keyboard"]:
            markup = None
        if markup == current:
            raise bad_request(NOT_MODIFIED)
        edited = {k: v for k, v in message.items() if k != "reply_markup"}
        if markup is not None:
            edited["reply_markup"] = markup
        return self._store_edit(chat, edited, "editMessageReplyMarkup")

    def _store_edit(self, chat: Chat, edited: dict[str, Any], method: str) -> dict[str, Any]:
        edited["edit_date"] = self.world.now()
        self.world.messages[(chat.id, edited["message_id"])] = edited
        self.world.record("edited", chat.id, edited, method)
        return edited

    async def delete_message(self, p: Params) -> Any:
        """deleteMessage."""
        chat = self.world.lookup_chat(p.chat_id())
        key = (chat.id, p.integer("message_id") or 0)
        message = self.world.messages.get(key)
        if message is None:
            raise bad_request("message to delete not found")
        own = message.get("from", {}).get("id") == self.world.bot.id
        if not own and chat.person is None and chat.bot_status not in ("administrator", "creator"):
            raise bad_request("message can't be deleted")
        del self.world.messages[key]
        self.world.record("deleted", chat.id, message, "deleteMessage")
        return True

    async def answer_callback_query(self, p: Params) -> Any:
        """answerCallbackQuery: once per query, within Telegram's time."""
        query = self.world.callbacks.get(p.string("callback_query_id") or "")
        too_old = bad_request(
            "query is too old and response timeout expired or query ID is invalid"
        )
        if query is None or query.answered.is_set():
            raise too_old
        if time.monotonic() - query.created > CALLBACK_TTL:
            raise too_old
        text = p.string("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer = {
            "text": text,
            "show_alert": p.flag("show_alert"),
            "url": p.string("url"),
            "cache_time": p.integer("cache_time", 0),
        }
        query.answered.set()
        self.world.changed()
        return True

    # ------------------------------------------------------------------ files

    async def get_file(self, p: Params) -> Any:
        """getFile."""
        stored = self.world.files.get((p.string("file_id") or "").strip())
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if len(stored.data) > FILE_DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # ------------------------------------------------------------------ chats

    async def get_chat(self, p: Params) -> Any:
        """getChat (a ChatFullInfo)."""
        chat = self.world.lookup_chat(p.chat_id())
        if chat.migrated_to is not None:
            raise migrated(chat.migrated_to)
        if chat.person is None and chat.bot_status in ("left", "kicked"):
            raise bad_request("chat not found")
        info = {
            **chat.as_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if chat.migrated_from is not None:
            info["migrated_from_chat_id"] = chat.migrated_from
        return info

    async def get_chat_member(self, p: Params) -> Any:
        """getChatMember."""
        chat = self.world.lookup_chat(p.chat_id())
        user_id = p.integer("user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        if user_id == self.world.bot.id:
            user, status = self.world.bot.as_user(), chat.bot_status
        else:
            person = self.world.people.get(user_id)
            if person is None:
                raise bad_request("user not found")
            user = person.as_user()
            if chat.person is not None:
                if chat.person.id != user_id:
                    raise bad_request("user not found")
                status = "member"
            else:
                if chat.bot_status in ("left", "kicked"):
                    raise bad_request("chat not found")
                status = chat.members.get(user_id, "left")
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(ADMIN_RIGHTS)
        return member

    async def get_chat_member_count(self, p: Params) -> Any:
        """getChatMemberCount."""
        chat = self.world.lookup_chat(p.chat_id())
        if chat.person is not None:
            return 2
        members = sum(1 for s in chat.members.values() if s not in ("left", "kicked"))
        return members + (1 if chat.bot_status in ("member", "administrator") else 0)

    async def leave_chat(self, p: Params) -> Any:
        """leaveChat: the bot leaves a group."""
        chat = self.world.lookup_chat(p.chat_id())
        if chat.person is not None:
            raise bad_request("chat member status can't be changed in private chats")
        if chat.migrated_to is not None:
            raise migrated(chat.migrated_to)
        if chat.bot_status in ("left", "kicked"):
            label = "group chat" if chat.type == "group" else "supergroup chat"
            raise forbidden(f"bot is not a member of the {label}")
        old = chat.bot_status
        chat.bot_status = "left"
        self.world.push_update(
            "my_chat_member",
            {
                "chat": chat.as_chat(),
                "from": self.world.bot.as_user(),
                "date": self.world.now(),
                "old_chat_member": {"status": old, "user": self.world.bot.as_user()}
                | (ADMIN_RIGHTS if old == "administrator" else {}),
                "new_chat_member": {"status": "left", "user": self.world.bot.as_user()},
            },
        )
        self.world.changed()
        return True

    # ------------------------------------------------------------------ commands

    def _commands_key(self, p: Params) -> str:
        scope = p.json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        parts = [str(scope["type"])]
        if "chat_id" in scope:
            parts.append(str(scope["chat_id"]))
        if "user_id" in scope:
            parts.append(str(scope["user_id"]))
        return "/".join(parts) + "|" + (p.string("language_code") or "")

    async def set_my_commands(self, p: Params) -> Any:
        """setMyCommands."""
        commands = check_commands(p.json("commands"))
        self.world.commands[self._commands_key(p)] = commands
        return True

    async def get_my_commands(self, p: Params) -> Any:
        """getMyCommands."""
        return self.world.commands.get(self._commands_key(p), [])

    async def delete_my_commands(self, p: Params) -> Any:
        """deleteMyCommands."""
        self.world.commands.pop(self._commands_key(p), None)
        return True
