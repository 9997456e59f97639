"""Drive the channel-neutral handlers the way the runtimes do: update JSON in, outbox out.

``World`` stores each update in the inbox, runs the real pipeline, then the real delivery
worker against a stand-in for Telegram that only hands out message ids — so the next press
can refer to the messages the bot sent, and cards are recorded exactly as in production.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from bot.infra.delivery import DeliveryWorker, Limits
from bot.infra.pipeline import CallbackAnswer, process_pending
from bot.services import Services
from storage import inbox
from storage.models import OutboxMessage, OutboxStatus


@dataclass
class Sent:
    """A message the bot queued, as a person would see it."""

    chat_id: int
    method: str
    text: str
    message_id: int
    payload: dict[str, Any]
    purpose: str

    def buttons(self) -> list[tuple[str, str]]:
        """Return (label, callback data) of every inline button."""
        markup = self.payload.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def button(self, label_part: str) -> str:
        """Return the callback data of the button whose label contains ``label_part``."""
        for label, data in self.buttons():
            if label_part in label:
                return data
        raise AssertionError(f"no button {label_part!r} in {self.buttons()}")


@dataclass
class World:
    """Users and groups talking to the handlers through the inbox and outbox."""

    services: Services
    now: dt.datetime
    _updates: itertools.count = field(default_factory=lambda: itertools.count(1))
    _messages: itertools.count = field(default_factory=lambda: itertools.count(1000))
    transcript: list[Sent] = field(default_factory=list)
    answers: list[CallbackAnswer] = field(default_factory=list)

    def clock(self) -> dt.datetime:
        return self.now

    # --- acting as people -------------------------------------------------------------------

    def message(
        self,
        user_id: int,
        text: str = "",
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        title: str = "",
        edited: bool = False,
        **extra: Any,
    ) -> list[Sent]:
        """A user sends a message; returns what the bot queued in answer."""
        message_id = next(self._messages)
        chat = {"id": chat_id or user_id, "type": chat_type}
        if title:
            chat["title"] = title
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(self.now.timestamp()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}"},
        }
        if text:
            message["text"] = text
        message.update(extra)
        return self.update({"edited_message" if edited else "message": message})

    def press(self, user_id: int, sent: Sent, data: str) -> list[Sent]:
        """A user presses a button on a message the bot sent."""
        query = {
            "id": f"cb{next(self._updates)}",
            "from": {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}"},
            "chat_instance": "x",
            "data": data,
            "message": {
                "message_id": sent.message_id,
                "date": 0,
                "chat": {
                    "id": sent.chat_id,
                    "type": "private" if sent.chat_id > 0 else "supergroup",
                },
            },
        }
        return self.update({"callback_query": query})

    def reply(self, user_id: int, to: Sent, text: str = "", **extra: Any) -> list[Sent]:
        """A user replies to a message the bot sent, in the chat it was sent to."""
        group = to.chat_id < 0
        replied = {
            "message_id": to.message_id,
            "date": 0,
            "text": to.text,
            "from": {"id": 1, "is_bot": True, "first_name": "bot"},
            "chat": {"id": to.chat_id, "type": "supergroup" if group else "private"},
        }
        return self.message(
            user_id,
            text,
            chat_id=to.chat_id,
            chat_type="supergroup" if group else "private",
            title="群" if group else "",
            reply_to_message=replied,
            **extra,
        )

    def backlog(self, user_id: int, texts: list[str]) -> list[Sent]:
        """Several messages from one user arrive before the bot handles any of them."""
        bodies = []
        for text in texts:
            chat = {"id": user_id, "type": "private"}
            bodies.append(
                {
                    "update_id": next(self._updates),
                    "message": {
                        "message_id": next(self._messages),
                        "date": 0,
                        "chat": chat,
                        "text": text,
                        "from": {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}"},
                    },
                }
            )
        with Session(self.services.engine) as session:
            inbox.record_updates(session=session, updates=bodies, now=self.now)
            session.commit()
        process_pending(self.services)
        return self.deliver()

    def update(self, body: dict[str, Any]) -> list[Sent]:
        """Store one update in the inbox, run the pipeline, deliver and return the new calls."""
        body = {"update_id": next(self._updates), **body}
        with Session(self.services.engine) as session:
            inbox.record_updates(session=session, updates=[body], now=self.now)
            session.commit()
        _, answers = process_pending(self.services)
        self.answers.extend(answers)
        return self.deliver()

    # --- delivery: the real worker, sending to a stand-in for Telegram ----------------------

    def deliver(self) -> list[Sent]:
        """Run the real delivery worker until the outbox is drained; return what was sent."""
        return asyncio.run(self._drain())

    async def _drain(self) -> list[Sent]:
        telegram = RecordingTelegram(self._messages)
        offset = dt.timedelta(0)
        worker = DeliveryWorker(
            self.services.engine,
            telegram,
            services=self.services,
            now=lambda: self.now + offset,
            limits=Limits.unpaced(),
        )
        for _ in range(50):
            if await worker.run_once() == 0:
                if not self._pending():
                    break
                offset += dt.timedelta(seconds=5)  # let rows waiting for a card come due
        purposes = self._purposes()
        delivered = [
            Sent(
                chat,
                method,
                payload.get("text", ""),
                message_id,
                payload,
                purposes.get((chat, message_id, method), ""),
            )
            for chat, method, payload, message_id in telegram.calls
        ]
        self.transcript.extend(delivered)
        return delivered

    def _pending(self) -> bool:
        with Session(self.services.engine) as session:
            return (
                session.exec(
                    select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING)
                ).first()
                is not None
            )

    def _purposes(self) -> dict[tuple[int, int, str], str]:
        with Session(self.services.engine) as session:
            rows = session.exec(
                select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT)
            ).all()
        return {(r.chat_id, r.result_message_id or 0, r.method): r.purpose for r in rows}

    def last_answer(self) -> str:
        return self.answers[-1].text


@dataclass
class RecordingTelegram:
    """Telegram's side of the Bot API, reduced to what delivery needs: message ids back."""

    ids: itertools.count
    calls: list[tuple[int, str, dict[str, Any], int]] = field(default_factory=list)

    async def call(self, method: str, payload: dict[str, Any]) -> dict[str, Any] | bool:
        chat_id = int(payload.get("chat_id", 0))
        if method in ("leaveChat", "answerCallbackQuery"):
            self.calls.append((chat_id, method, payload, 0))
            return True
        message_id = int(payload["message_id"]) if method.startswith("edit") else next(self.ids)
        self.calls.append((chat_id, method, payload, message_id))
        return {
            "message_id": message_id,
            "date": 0,
            "chat": {"id": chat_id},
            "text": payload.get("text", ""),
        }

    async def get_updates(
        self,
        offset: int | None,
        timeout: int,  # noqa: ASYNC109 - the Bot API's long-poll seconds
        limit: int,
        allowed_updates: list[str] | None,
    ) -> list[dict[str, Any]]:
        return []

    async def close(self) -> None:
        return None


def texts(sent: list[Sent], chat_id: int | None = None) -> list[str]:
    """Return the texts of ``sent`` (to one chat, if given)."""
    return [s.text for s in sent if chat_id is None or s.chat_id == chat_id]
