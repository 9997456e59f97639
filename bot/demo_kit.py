"""The demo's stagehands: the transcript, the accelerated clock, and finding what the bot sent."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from sandbox import ControlClient
from storage.models import InboxUpdate, OutboxMessage


@dataclass
class Transcript:
    """What each participant has seen so far, printed step by step."""

    control: ControlClient
    write: Callable[[str], None]
    chats: dict[int, str] = field(default_factory=dict)
    seen: dict[tuple[int, int], str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        self.lines.append(text)
        self.write(text)

    def stage(self, title: str) -> None:
        self.say("")
        self.say(f"=== {title} ===")

    def person(self, who: str, action: str) -> None:
        self.say(f"  ▶ {who}: {action}")

    async def show(self) -> None:
        """Print every bot message each participant received or saw change since last time."""
        for chat_id, label in self.chats.items():
            for message in await self.control.bot_messages(chat_id):
                key = (chat_id, int(message["message_id"]))
                rendered = render(message)
                if self.seen.get(key) == rendered:
                    continue
                mark = "◀" if key not in self.seen else "✎ (edited)"
                self.seen[key] = rendered
                self.say(f"  {mark} [{label}] {rendered}")


def render(message: dict[str, Any]) -> str:
    text = message.get("text") or message.get("caption") or ""
    if not text:
        kinds = [k for k in ("photo", "location", "document", "voice") if k in message]
        text = f"<{kinds[0] if kinds else 'message'}>"
    body = text.replace("\n", "\n      ")
    buttons = [
        b["text"]
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    ]
    if buttons:
        body += "\n      [" + "] [".join(buttons) + "]"
    return body


def last_card(messages: list[dict[str, Any]], where: str) -> dict[str, Any]:
    """Return the newest report card among ``messages`` (a card carries a 签收 button)."""
    cards = [m for m in messages if "签收" in render(m)]
    if not cards:
        raise RuntimeError(f"the demo expected a report card in {where}; routing rules changed?")
    return cards[-1]


def button(message: dict[str, Any], label: str) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    raise RuntimeError(f"the demo expected a button {label!r}")


async def settle(engine: Any, control: ControlClient, seconds: float = 10.0) -> None:
    """Wait until every update is handled and every queued message delivered."""
    deadline = asyncio.get_running_loop().time() + seconds
    await control.wait_idle(timeout=seconds)
    while asyncio.get_running_loop().time() < deadline:
        with Session(engine) as session:
            busy = (
                session.exec(
                    select(InboxUpdate.update_id).where(InboxUpdate.status == "pending").limit(1)
                ).first()
                is not None
            )
            busy = (
                busy
                or session.exec(
                    select(OutboxMessage.id).where(OutboxMessage.status == "pending").limit(1)
                ).first()
                is not None
            )
        if not busy:
            await asyncio.sleep(0.05)
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the demo bot did not settle in time")


@dataclass
class DemoClock:
    """The demo's accelerated clock: real time plus an offset the story moves forward."""

    offset: dt.timedelta = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def buttons(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's inline buttons."""
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
