"""Telegram's checks on what a bot sends, with its exact error codes and descriptions.

Exception tree::

    ApiError                 an answer {"ok": false, "error_code": …, "description": …}
    └── (instances only)     built by bad_request(), forbidden(), too_many_requests(), …

``Params`` reads a request's parameters whichever way they came (JSON body, form fields,
multipart parts or the query string), converting strings the way the Bot API does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sandbox.entities import (
    PARSERS,
    Entity,
    EntityParseError,
    find_auto_entities,
    trim,
    utf16_len,
)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional parameters."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def envelope(self) -> dict[str, Any]:
        """The JSON body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str, parameters: dict[str, Any] | None = None) -> ApiError:
    """400 "Bad Request: <reason>"."""
    return ApiError(400, f"Bad Request: {reason}", parameters)


def forbidden(reason: str) -> ApiError:
    """403 "Forbidden: <reason>"."""
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 with parameters.retry_after, as Telegram answers flood limits."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def migrated(new_chat_id: int) -> ApiError:
    """400 telling the bot that a group became a supergroup."""
    return bad_request(
        "group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": new_chat_id}
    )


UNAUTHORIZED = ApiError(401, "Unauthorized")
NOT_FOUND = ApiError(404, "Not Found")


@dataclass(slots=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


_JSON_PARSE_ERRORS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
    "reply_parameters": "can't parse reply parameters JSON object",
    "media": "can't parse InputMedia JSON object",
    "allowed_updates": "can't parse allowed updates JSON object",
    "commands": "can't parse commands JSON object",
    "scope": "can't parse BotCommandScope JSON object",
    "link_preview_options": "can't parse link preview options JSON object",
}


class Params:
    """A request's parameters with Bot API conversions (strings to int, bool, JSON)."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get(self, name: str, default: Any = None) -> Any:
        """The raw value, or ``default``."""
        value = self.raw.get(name)
        return default if value is None else value

    def string(self, name: str, default: str | None = None) -> str | None:
        """A string parameter (numbers are accepted and converted)."""
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, Upload):
            raise bad_request(f"field {name!r} must be of type String")
        return value if isinstance(value, str) else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter; a malformed one is refused like Telegram."""
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def number(self, name: str, default: float | None = None) -> float | None:
        """A floating-point parameter."""
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str, default: bool = False) -> bool:
        """A Boolean parameter ("true"/"false"/"1"/"0" from forms)."""
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def json(self, name: str) -> Any:
        """A JSON-serialised parameter (object or array); ``None`` when absent."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(_JSON_PARSE_ERRORS.get(name, f"can't parse {name}")) from None
        return value

    def chat_id(self, name: str = "chat_id") -> int | str:
        """A chat id: an integer or "@username"; missing is refused."""
        value = self.raw.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise bad_request("chat not found") from None


def parse_text(
    text: str | None,
    parse_mode: str | None,
    entities: Any,
    *,
    caption: bool = False,
) -> tuple[str, list[Entity]]:
    """Apply parse mode or explicit entities, trim, and enforce Telegram's length limits."""
    if text is None:
        text = ""
    found: list[Entity]
    if parse_mode:
        parser = PARSERS.get(parse_mode.lower())
        if parser is None:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        try:
            text, found = parser(text)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif entities:
        if not isinstance(entities, list) or not all(
            isinstance(e, dict) and isinstance(e.get("type"), str) for e in entities
        ):
            raise bad_request("can't parse entities JSON object")
        found = [dict(e) for e in entities]
    else:
        found = []
    text, found = trim(text, found)
    length = utf16_len(text)
    if caption:
        if length > MAX_CAPTION:
            raise bad_request("message caption is too long")
    else:
        if length == 0:
            raise bad_request("message text is empty")
        if length > MAX_TEXT:
            raise bad_request("message is too long")
    for entity in found:
        offset, size = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(size, int) or offset < 0 or size <= 0:
            raise bad_request("can't parse entities JSON object")
    found = [e for e in found if e["offset"] < length]
    found.extend(find_auto_entities(text, found))
    found.sort(key=lambda e: (e["offset"], -e["length"]))
    return text, found


_INLINE_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip


def check_reply_markup(markup: Any, chat_type: str) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram; return it normalised, or None when absent."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "inline_keyboard" must be of type Array'
            )
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return {"inline_keyboard": [[dict(b) for b in row] for row in rows]}
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse reply keyboard markup JSON object")
        normal: list[list[dict[str, Any]]] = []
        for row in rows:
            out_row = []
            for button in row:
                button = {"text": button} if isinstance(button, str) else button
                if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                    raise bad_request("keyboard button text is empty")
                if chat_type != "private" and (
                    button.get("request_contact") or button.get("request_location")
                ):
                    raise bad_request("BUTTON_TYPE_INVALID")
                out_row.append(dict(button))
            normal.append(out_row)
        return {**markup, "keyboard": normal}
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request(
            "BUTTON_TEXT_EMPTY"
            if isinstance(text, str)
            else 'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.strip() or " " in url.strip():
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


BOT_COMMAND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def check_commands(commands: Any) -> list[dict[str, str]]:
    """Validate setMyCommands' list like Telegram."""
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    result = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command = str(item.get("command", "")).strip()
        command = command.removeprefix("/")
        description = str(item.get("description", "")).strip()
        if not 1 <= len(command) <= 32 or not set(command.lower()) <= BOT_COMMAND_CHARS:
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        result.append({"command": command.lower(), "description": description})
    return result
