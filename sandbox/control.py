"""The control API: act as people in the simulated Telegram, and read what the bot did.

Over HTTP every action is ``POST /control/{action}`` with a JSON object (``GET`` with query
parameters works for the read-only ones); the answer is ``{"ok": true, "result": …}`` or
``{"ok": false, "error": "…"}`` with status 400 (bad input), 404 (unknown action) or 408 (a wait
timed out). The same actions are methods of ``ControlClient`` (async; bound in-process to a
server, or to a URL) and ``SyncControlClient`` (blocking, over HTTP).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from aiohttp import web

from sandbox.faults import Fault
from sandbox.world import TINY_PNG

if TYPE_CHECKING:
    from sandbox.server import LoopbackServer

Action = Callable[[dict[str, Any]], Awaitable[Any]]
_MEDIA_KINDS = ("photo", "voice", "document", "sticker", "animation")


class ControlError(Exception):
    """A control request that cannot be done; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class WaitTimeout(ControlError, TimeoutError):
    """A wait helper gave up before the condition held."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 408)


def _int(payload: dict[str, Any], name: str, default: int | None = None) -> int:
    value = payload.get(name, default)
    if value is None:
        raise ControlError(f"{name} is required")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be an integer") from None


def _opt_int(payload: dict[str, Any], name: str) -> int | None:
    return None if payload.get(name) in (None, "") else _int(payload, name)


class Controller:
    """Executes control actions against a running ``LoopbackServer``."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.world = server.world
        self.actions: dict[str, Action] = {
            "user": self.user,
            "group": self.group,
            "message": self.message,
            "edit": self.edit,
            "press": self.press,
            "member": self.member,
            "bot_status": self.bot_status,
            "block": self.block,
            "migrate": self.migrate,
            "transcript": self.transcript,
            "bot_messages": self.bot_messages,
            "get_message": self.get_message,
            "keyboard": self.keyboard,
            "reply_box": self.reply_box,
            "file": self.file,
            "calls": self.calls,
            "stats": self.stats,
            "updates": self.updates,
            "wait_sent": self.wait_sent,
            "wait_calls": self.wait_calls,
            "wait_idle": self.wait_idle,
            "fault": self.fault,
            "clear_faults": self.clear_faults,
            "latency": self.latency,
            "limits": self.limits,
            "help": self.help,
        }

    async def run(self, action: str, payload: dict[str, Any]) -> Any:
        """Execute one action; raises ControlError."""
        handler = self.actions.get(action)
        if handler is None:
            raise ControlError(f"unknown control action {action!r}", 404)
        try:
            return await handler(payload)
        except KeyError as exc:
            raise ControlError(str(exc.args[0]) if exc.args else "not found") from None
        except ValueError as exc:
            raise ControlError(str(exc)) from None

    async def handle_http(self, request: web.Request) -> web.Response:
        """The aiohttp handler for ``/control/{action}``."""
        payload: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError:
                return web.json_response({"ok": False, "error": "body must be JSON"}, status=400)
            if not isinstance(body, dict):
                return web.json_response(
                    {"ok": False, "error": "body must be an object"}, status=400
                )
            payload.update(body)
        try:
            result = await self.run(request.match_info["action"], payload)
        except ControlError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=exc.status)
        return web.json_response({"ok": True, "result": result})

    async def help(self, p: dict[str, Any]) -> Any:
        """Every action with its one-line description."""
        return {
            name: " ".join((action.__doc__ or "").split())
            for name, action in sorted(self.actions.items())
        }

    # ------------------------------------------------------------ people

    async def user(self, p: dict[str, Any]) -> Any:
        """Create a user: first_name, last_name, username, phone, language_code, started, id."""
        person = self.world.add_person(
            str(p.get("first_name") or "用户"),
            user_id=_opt_int(p, "id"),
            last_name=p.get("last_name"),
            username=p.get("username"),
            phone=p.get("phone"),
            language_code=p.get("language_code", "zh-hans"),
            started=bool(p.get("started", False)),
        )
        return {**person.as_user(), "phone": person.phone, "started": person.started}

    async def group(self, p: dict[str, Any]) -> Any:
        """Create a group: title, type (group|supergroup), members, admins, creator, bot_status."""
        chat = self.world.add_group(
            str(p.get("title") or "群组"),
            chat_type=str(p.get("type", "group")),
            chat_id=_opt_int(p, "id"),
            members=[int(x) for x in p.get("members", [])],
            admins=[int(x) for x in p.get("admins", [])],
            creator=_opt_int(p, "creator"),
            bot_status=str(p.get("bot_status", "member")),
            username=p.get("username"),
        )
        return {**chat.as_chat(), "members": chat.members, "bot_status": chat.bot_status}

    def _media(self, p: dict[str, Any], kind: str) -> dict[str, Any]:
        raw = p.get("data_b64")
        try:
            data = base64.b64decode(raw) if raw else (TINY_PNG if kind == "photo" else b"")
        except (binascii.Error, ValueError):
            raise ControlError("data_b64 is not base64") from None
        if not data:
            data = {
                "voice": b"OggS\x00loopback-voice",
                "sticker": b"RIFF\x00\x00\x00\x00WEBPVP8 loopback",
                "animation": b"\x00\x00\x00\x18ftypmp42loopback",
                "document": b"loopback document\n",
            }[kind]
        stored = self.world.store_file(
            kind,
            data,
            file_name=p.get("file_name") or ("document.txt" if kind == "document" else None),
            mime_type=p.get("mime_type") or ("text/plain" if kind == "document" else None),
            duration=int(p.get("duration", 1 if kind in ("voice", "animation") else 0)),
        )
        content: dict[str, Any] = {kind: self.world.media_object(stored)}
        if kind == "animation":
            content["document"] = dict(content["animation"])
        if p.get("caption"):
            content["caption"] = str(p["caption"])
        return content

    def _content(self, p: dict[str, Any]) -> dict[str, Any] | None:
        kind = p.get("kind", "text")
        if kind == "text":
            return None
        if kind in _MEDIA_KINDS:
            return self._media(p, kind)
        if kind == "location":
            return {
                "location": {
                    "latitude": float(p.get("latitude", 23.1291)),
                    "longitude": float(p.get("longitude", 113.2644)),
                }
            }
        if kind == "contact":
            sender = self.world.person(_int(p, "user_id"))
            if p.get("contact_user_id") is None and p.get("phone_number") is None:
                contact_person = sender
            elif p.get("contact_user_id") is not None:
                contact_person = self.world.person(_int(p, "contact_user_id"))
            else:
                contact_person = None
            contact: dict[str, Any] = {
                "phone_number": p.get("phone_number")
                or (contact_person.phone if contact_person else None),
                "first_name": p.get("first_name")
                or (contact_person.first_name if contact_person else "联系人"),
            }
            if not contact["phone_number"]:
                raise ControlError("the contact has no phone number; give phone_number")
            if contact_person is not None:
                contact["user_id"] = contact_person.id
                if contact_person.last_name:
                    contact["last_name"] = contact_person.last_name
            return {"contact": contact}
        if kind == "poll":
            options = p.get("options") or ["是", "否"]
            return {
                "poll": {
                    "id": str(int(time.time() * 1000)),
                    "question": str(p.get("question", "投票")),
                    "options": [
                        {"text": str(o), "voter_count": 0, "persistent_id": str(i)}
                        for i, o in enumerate(options)
                    ],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                    "allows_revoting": False,
                    "members_only": False,
                }
            }
        if kind == "dice":
            return {"dice": {"emoji": str(p.get("emoji", "🎲")), "value": int(p.get("value", 3))}}
        raise ControlError(f"unknown message kind {kind!r}")

    async def message(self, p: dict[str, Any]) -> Any:
        """A person sends a message; kind: text|photo|voice|document|sticker|animation|poll|
        dice|location|contact; optional chat_id (a group), reply_to_message_id,
        forward_from_user_id / forward_sender_name, anonymous_admin, media_group_id."""
        user_id = _int(p, "user_id")
        origin = None
        if p.get("forward_from_user_id") is not None:
            origin = {
                "type": "user",
                "date": self.world.now() - 60,
                "sender_user": self.world.person(_int(p, "forward_from_user_id")).as_user(),
            }
        elif p.get("forward_sender_name"):
            origin = {
                "type": "hidden_user",
                "date": self.world.now() - 60,
                "sender_user_name": str(p["forward_sender_name"]),
            }
        text = p.get("text")
        if p.get("kind", "text") == "text" and not text:
            raise ControlError("text is required for a text message")
        return self.world.user_message(
            user_id,
            chat_id=_opt_int(p, "chat_id"),
            text=None if text is None else str(text),
            entities=p.get("entities"),
            content=self._content(p),
            reply_to_message_id=_opt_int(p, "reply_to_message_id"),
            forward_origin=origin,
            anonymous_admin=bool(p.get("anonymous_admin", False)),
            media_group_id=p.get("media_group_id"),
        )

    async def edit(self, p: dict[str, Any]) -> Any:
        """A person edits their message: user_id, chat_id, message_id, text."""
        return self.world.user_edit(
            _int(p, "user_id"), _int(p, "chat_id"), _int(p, "message_id"), str(p.get("text", ""))
        )

    async def press(self, p: dict[str, Any]) -> Any:
        """A person presses an inline button (data or button_text); waits for the answer."""
        query = self.world.press_button(
            _int(p, "user_id"),
            _int(p, "chat_id"),
            _int(p, "message_id"),
            data=p.get("data"),
            button_text=p.get("button_text"),
        )
        wait = float(p.get("wait", 5.0))
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(query.answered.wait(), wait)
        return {
            "callback_query_id": query.id,
            "data": query.data,
            "answered": query.answered.is_set(),
            "answer": query.answer,
        }

    async def member(self, p: dict[str, Any]) -> Any:
        """A person joins or leaves a group: chat_id, user_id, status (member|left|kicked|…)."""
        return self.world.set_member(
            _int(p, "chat_id"), _int(p, "user_id"), str(p.get("status", "member"))
        )

    async def bot_status(self, p: dict[str, Any]) -> Any:
        """The bot is added/promoted/removed: chat_id, status, by_user_id; silent=true sends the
        bot no update (as if it had been lost)."""
        return self.world.set_bot_status(
            _int(p, "chat_id"),
            str(p.get("status", "member")),
            _opt_int(p, "by_user_id"),
            silent=bool(p.get("silent", False)),
        )

    async def block(self, p: dict[str, Any]) -> Any:
        """A person blocks (blocked=true) or unblocks the bot."""
        return self.world.set_blocked(_int(p, "user_id"), bool(p.get("blocked", True)))

    async def migrate(self, p: dict[str, Any]) -> Any:
        """A group becomes a supergroup; returns supergroup_id."""
        return self.world.migrate(_int(p, "chat_id"), _opt_int(p, "by_user_id"))

    # ------------------------------------------------------------ reading

    async def transcript(self, p: dict[str, Any]) -> Any:
        """Everything the bot did in chat_id: sent / edited / deleted entries in order."""
        return [e.as_dict() for e in self.world.transcript.get(_int(p, "chat_id"), [])]

    def _bot_messages(self, chat_id: int, since: int = 0) -> list[dict[str, Any]]:
        entries = self.world.transcript.get(chat_id, [])
        result = []
        for entry in entries:
            if entry.event != "sent":
                continue
            current = self.world.messages.get((chat_id, entry.message_id))
            result.append(
                current
                if current is not None
                else {"message_id": entry.message_id, "deleted": True}
            )
        return result[since:]

    async def bot_messages(self, p: dict[str, Any]) -> Any:
        """Messages the bot sent to chat_id, each in its current state (after edits)."""
        return self._bot_messages(_int(p, "chat_id"), _int(p, "since", 0))

    async def get_message(self, p: dict[str, Any]) -> Any:
        """The current state of one message (text, reply_markup, …)."""
        message = self.world.messages.get((_int(p, "chat_id"), _int(p, "message_id")))
        if message is None:
            raise ControlError("no such message (never sent, or deleted)", 404)
        return message

    async def reply_box(self, p: dict[str, Any]) -> Any:
        """For a message sent with force_reply: the users its reply box opens for (null: all)."""
        key = (_int(p, "chat_id"), _int(p, "message_id"))
        if key not in self.world.reply_boxes:
            raise ControlError("that message was not sent with force_reply", 404)
        return {"users": self.world.reply_boxes[key]}

    async def keyboard(self, p: dict[str, Any]) -> Any:
        """The last reply keyboard the bot showed in chat_id (or null)."""
        return self.world.keyboards.get(_int(p, "chat_id"))

    async def file(self, p: dict[str, Any]) -> Any:
        """A stored file's bytes (base64) and metadata by file_id."""
        stored = self.world.files.get(str(p.get("file_id", "")))
        if stored is None:
            raise ControlError("unknown file_id", 404)
        return {
            "file_id": stored.file_id,
            "kind": stored.kind,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "size": len(stored.data),
            "data_b64": base64.b64encode(stored.data).decode(),
        }

    async def calls(self, p: dict[str, Any]) -> Any:
        """The recent calls of one method (or every method), oldest first."""
        method = p.get("method")
        logs = self.server.call_log
        if method:
            return [c.as_dict() for c in logs.get(str(method), [])]
        merged = [c for records in logs.values() for c in records]
        merged.sort(key=lambda c: c.at)
        return [c.as_dict() for c in merged]

    async def stats(self, p: dict[str, Any]) -> Any:
        """Counters: calls per method, errors per description, 429s, faults, queue sizes."""
        server = self.server
        return {
            "calls": dict(server.call_counts),
            "errors": dict(server.error_counts),
            "http_429": server.http_429,
            "rate_limited": server.limiter.served_429,
            "faults_served": dict(server.faults.served),
            "pending_updates": len(self.world.updates),
            "updates_dropped": self.world.updates_dropped,
            "last_update_id": self.world.next_update_id - 1,
            "webhook": {
                "url": (self.world.webhook or {}).get("url", ""),
                "deliveries": server.webhook_deliveries,
                "failures": server.webhook_failures,
                "in_flight": server.webhook_in_flight,
            },
        }

    async def updates(self, p: dict[str, Any]) -> Any:
        """Updates queued and not yet confirmed by the bot."""
        return list(self.world.updates)

    # ------------------------------------------------------------ waiting

    async def _wait(self, predicate: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(f"timed out after {seconds:g}s waiting for {what}")
            await self.world.change_signal.wait(min(remaining, 0.5))

    async def wait_sent(self, p: dict[str, Any]) -> Any:
        """Wait until the bot has sent ``count`` messages to chat_id (counting from ``since``)."""
        chat_id, count = _int(p, "chat_id"), _int(p, "count", 1)
        since = _int(p, "since", 0)
        sent = self.world.sent_count
        await self._wait(
            lambda: sent.get(chat_id, 0) - since >= count,
            float(p.get("timeout", 5.0)),
            f"{count} bot message(s) in chat {chat_id} (sent so far: {sent.get(chat_id, 0)})",
        )
        return self._bot_messages(chat_id, since)

    async def wait_calls(self, p: dict[str, Any]) -> Any:
        """Wait until ``method`` has been called ``count`` times in total."""
        method, count = str(p.get("method", "")), _int(p, "count", 1)
        counts = self.server.call_counts
        await self._wait(
            lambda: counts.get(method, 0) >= count,
            float(p.get("timeout", 5.0)),
            f"{count} call(s) of {method} (so far: {counts.get(method, 0)})",
        )
        return counts.get(method, 0)

    async def wait_idle(self, p: dict[str, Any]) -> Any:
        """Wait until the bot has confirmed (or the webhook accepted) every queued update."""
        server = self.server
        await self._wait(
            lambda: not self.world.updates and not server.webhook_in_flight,
            float(p.get("timeout", 5.0)),
            f"the bot to take its updates ({len(self.world.updates)} pending)",
        )
        return True

    # ------------------------------------------------------------ faults and limits

    async def fault(self, p: dict[str, Any]) -> Any:
        """Inject a fault: kind, method, count, probability, chat_id, retry_after, hang, when."""
        fields = {
            k: p[k]
            for k in (
                "kind", "method", "count", "probability", "chat_id", "retry_after",
                "migrate_to_chat_id", "hang", "when",
            )
            if k in p
        }  # fmt: skip
        if fields.get("count") in (0, "0"):
            fields["count"] = None  # 0 over the wire means "every matching call"
        try:
            fault = Fault(**fields)
        except TypeError as exc:
            raise ControlError(str(exc)) from None
        return self.server.add_fault(fault).as_dict()

    async def clear_faults(self, p: dict[str, Any]) -> Any:
        """Remove every injected fault."""
        self.server.faults.clear()
        return True

    async def latency(self, p: dict[str, Any]) -> Any:
        """Set per-call latency and jitter in seconds."""
        self.server.latency = float(p.get("seconds", 0.0))
        self.server.jitter = float(p.get("jitter", 0.0))
        return {"seconds": self.server.latency, "jitter": self.server.jitter}

    async def limits(self, p: dict[str, Any]) -> Any:
        """Switch rate limits on/off (enabled) or change them; reset buckets."""
        limiter = self.server.limiter
        if "enabled" in p:
            limiter.enabled = bool(p["enabled"])
        for name in (
            "global_rate", "global_burst", "private_rate", "private_burst", "group_rate",
            "group_burst",
        ):  # fmt: skip
            if name in p:
                setattr(limiter.limits, name, float(p[name]))
        limiter.reset()
        return {"enabled": limiter.enabled, "served_429": limiter.served_429}


class _ControlMethods:
    """Control actions as methods; ``_call`` decides whether they block or are awaitable."""

    def _call(self, action: str, payload: dict[str, Any]) -> Any:  # pragma: no cover
        raise TypeError("use ControlClient or SyncControlClient")

    def help(self) -> Any:
        """Every control action with its description."""
        return self._call("help", {})

    # people
    def create_user(self, first_name: str = "用户", **fields: Any) -> Any:
        """Create a user (phone=, username=, last_name=, started=, id=); returns the User."""
        return self._call("user", {"first_name": first_name, **fields})

    def create_group(
        self,
        title: str = "群组",
        *,
        members: Sequence[int] = (),
        **fields: Any,
    ) -> Any:
        """Create a group (type=, admins=, creator=, bot_status=); returns the Chat."""
        return self._call("group", {"title": title, "members": list(members), **fields})

    def send_text(
        self, user_id: int, text: str, *, chat_id: int | None = None, **extra: Any
    ) -> Any:
        """The user sends text (privately, or in chat_id); returns {message, update_id}."""
        return self._call(
            "message", {"user_id": user_id, "text": text, "chat_id": chat_id, **extra}
        )

    def send_media(self, user_id: int, kind: str, **extra: Any) -> Any:
        """The user sends photo|voice|document|sticker|animation|poll|dice|location (data_b64=…)."""
        return self._call("message", {"user_id": user_id, "kind": kind, **extra})

    def send_photo(self, user_id: int, *, caption: str | None = None, **extra: Any) -> Any:
        """The user sends a photo (a tiny PNG unless data_b64 is given)."""
        return self.send_media(user_id, "photo", caption=caption, **extra)

    def send_voice(self, user_id: int, **extra: Any) -> Any:
        """The user sends a voice note."""
        return self.send_media(user_id, "voice", **extra)

    def send_document(self, user_id: int, **extra: Any) -> Any:
        """The user sends a document (file_name=, mime_type=, data_b64=)."""
        return self.send_media(user_id, "document", **extra)

    def send_location(self, user_id: int, latitude: float, longitude: float, **extra: Any) -> Any:
        """The user shares a location."""
        return self.send_media(user_id, "location", latitude=latitude, longitude=longitude, **extra)

    def share_contact(
        self,
        user_id: int,
        *,
        contact_user_id: int | None = None,
        phone_number: str | None = None,
        first_name: str | None = None,
        **extra: Any,
    ) -> Any:
        """The user shares a contact: their own by default, or someone else's."""
        return self._call(
            "message",
            {
                "user_id": user_id,
                "kind": "contact",
                "contact_user_id": contact_user_id,
                "phone_number": phone_number,
                "first_name": first_name,
                **extra,
            },
        )

    def forward(self, user_id: int, text: str, *, from_user_id: int | None = None,
                sender_name: str | None = None, **extra: Any) -> Any:  # fmt: skip
        """The user forwards a text originally from ``from_user_id`` (or a hidden sender)."""
        return self._call(
            "message",
            {
                "user_id": user_id,
                "text": text,
                "forward_from_user_id": from_user_id,
                "forward_sender_name": sender_name
                or ("隐藏用户" if from_user_id is None else None),
                **extra,
            },
        )

    def reply(self, user_id: int, chat_id: int, message_id: int, text: str, **extra: Any) -> Any:
        """The user replies to a message (e.g. a bot card in a group)."""
        return self._call(
            "message",
            {"user_id": user_id, "chat_id": chat_id, "reply_to_message_id": message_id,
             "text": text, **extra},
        )  # fmt: skip

    def anonymous_admin_message(self, user_id: int, chat_id: int, text: str, **extra: Any) -> Any:
        """An admin posts anonymously in a group (from GroupAnonymousBot, sender_chat=group)."""
        return self._call(
            "message",
            {"user_id": user_id, "chat_id": chat_id, "text": text, "anonymous_admin": True,
             **extra},
        )  # fmt: skip

    def edit_message(self, user_id: int, chat_id: int, message_id: int, text: str) -> Any:
        """The user edits one of their messages (the bot gets edited_message)."""
        return self._call(
            "edit", {"user_id": user_id, "chat_id": chat_id, "message_id": message_id, "text": text}
        )

    def press(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        *,
        data: str | None = None,
        button_text: str | None = None,
        wait: float = 5.0,
    ) -> Any:
        """Press an inline button; returns {callback_query_id, answered, answer}."""
        return self._call(
            "press",
            {"user_id": user_id, "chat_id": chat_id, "message_id": message_id, "data": data,
             "button_text": button_text, "wait": wait},
        )  # fmt: skip

    def join(self, chat_id: int, user_id: int, status: str = "member") -> Any:
        """A user joins a group."""
        return self._call("member", {"chat_id": chat_id, "user_id": user_id, "status": status})

    def leave(self, chat_id: int, user_id: int) -> Any:
        """A user leaves a group."""
        return self._call("member", {"chat_id": chat_id, "user_id": user_id, "status": "left"})

    def add_bot(self, chat_id: int, *, by_user_id: int | None = None, admin: bool = False) -> Any:
        """The bot is added to a group (my_chat_member + new_chat_members)."""
        status = "administrator" if admin else "member"
        return self._call(
            "bot_status", {"chat_id": chat_id, "status": status, "by_user_id": by_user_id}
        )

    def remove_bot(
        self, chat_id: int, *, by_user_id: int | None = None, silent: bool = False
    ) -> Any:
        """The bot is removed (kicked) from a group; ``silent``: the bot is not told."""
        return self._call(
            "bot_status",
            {"chat_id": chat_id, "status": "kicked", "by_user_id": by_user_id, "silent": silent},
        )

    def block_bot(self, user_id: int, blocked: bool = True) -> Any:
        """The user blocks (or unblocks) the bot."""
        return self._call("block", {"user_id": user_id, "blocked": blocked})

    def migrate(self, chat_id: int) -> Any:
        """The group becomes a supergroup; returns {supergroup_id}."""
        return self._call("migrate", {"chat_id": chat_id})

    # reading
    def transcript(self, chat_id: int) -> Any:
        """The bot's sent/edited/deleted entries in a chat."""
        return self._call("transcript", {"chat_id": chat_id})

    def bot_messages(self, chat_id: int, since: int = 0) -> Any:
        """The bot's messages in a chat, in their current state."""
        return self._call("bot_messages", {"chat_id": chat_id, "since": since})

    def get_message(self, chat_id: int, message_id: int) -> Any:
        """One message's current state."""
        return self._call("get_message", {"chat_id": chat_id, "message_id": message_id})

    def keyboard(self, chat_id: int) -> Any:
        """The reply keyboard last shown in a chat."""
        return self._call("keyboard", {"chat_id": chat_id})

    def reply_box(self, chat_id: int, message_id: int) -> Any:
        """Whom the reply box of a force_reply message opens for ({"users": null} = all)."""
        return self._call("reply_box", {"chat_id": chat_id, "message_id": message_id})

    def file(self, file_id: str) -> Any:
        """A stored file (data_b64) by file_id."""
        return self._call("file", {"file_id": file_id})

    def calls(self, method: str | None = None) -> Any:
        """Recent Bot API calls (of one method)."""
        return self._call("calls", {"method": method} if method else {})

    def stats(self) -> Any:
        """Counters (calls, errors, http_429, rate_limited, faults_served, pending_updates)."""
        return self._call("stats", {})

    def pending_updates(self) -> Any:
        """Updates not yet confirmed by the bot."""
        return self._call("updates", {})

    # waiting
    def wait_sent(
        self, chat_id: int, count: int = 1, *, since: int = 0, timeout: float = 5.0
    ) -> Any:
        """Wait for ``count`` bot messages in chat (after the first ``since``); returns them."""
        return self._call(
            "wait_sent", {"chat_id": chat_id, "count": count, "since": since, "timeout": timeout}
        )

    def wait_calls(self, method: str, count: int = 1, *, timeout: float = 5.0) -> Any:
        """Wait until ``method`` was called ``count`` times."""
        return self._call("wait_calls", {"method": method, "count": count, "timeout": timeout})

    def wait_idle(self, *, timeout: float = 5.0) -> Any:
        """Wait until the bot took every queued update."""
        return self._call("wait_idle", {"timeout": timeout})

    # faults and limits
    def inject(self, kind: str, method: str = "*", **fields: Any) -> Any:
        """Inject a fault (count=1, 0 = unlimited; probability=, chat_id=, retry_after=, hang=,
        when=)."""
        return self._call("fault", {"kind": kind, "method": method, **fields})

    def clear_faults(self) -> Any:
        """Remove every fault."""
        return self._call("clear_faults", {})

    def set_latency(self, seconds: float, jitter: float = 0.0) -> Any:
        """Delay every Bot API call."""
        return self._call("latency", {"seconds": seconds, "jitter": jitter})

    def set_limits(self, **fields: Any) -> Any:
        """enabled=bool and/or rates/bursts; resets the buckets."""
        return self._call("limits", fields)


def _drop_none(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if v is not None}


class ControlClient(_ControlMethods):
    """Async control client: in-process (``ControlClient(controller)``) or over HTTP (a URL)."""

    def __init__(self, target: Controller | str) -> None:
        self._controller = target if isinstance(target, Controller) else None
        self._url = target.rstrip("/") if isinstance(target, str) else None
        self._http: httpx.AsyncClient | None = None

    async def _run(self, action: str, payload: dict[str, Any]) -> Any:
        payload = _drop_none(payload)
        if self._controller is not None:
            return await self._controller.run(action, payload)
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=None)
        response = await self._http.post(f"{self._url}/{action}", json=payload)
        return _unwrap(response)

    def _call(self, action: str, payload: dict[str, Any]) -> Awaitable[Any]:
        return self._run(action, payload)

    async def aclose(self) -> None:
        """Close the HTTP connection pool, if any."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None


class SyncControlClient(_ControlMethods):
    """Blocking control client over HTTP, for synchronous tests and scripts."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        self._http = httpx.Client(timeout=None)

    def _call(self, action: str, payload: dict[str, Any]) -> Any:
        response = self._http.post(f"{self._url}/{action}", json=_drop_none(payload))
        return _unwrap(response)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()


def _unwrap(response: httpx.Response) -> Any:
    body = response.json()
    if body.get("ok"):
        return body["result"]
    if response.status_code == 408:
        raise WaitTimeout(body.get("error", "timed out"))
    raise ControlError(body.get("error", "control request failed"), response.status_code)
