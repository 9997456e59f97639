"""Drive the channel-neutral handlers the way the runtimes do: update JSON in, outbox out.

``World`` stores each update in the inbox and runs the real pipeline. A tiny stand-in for
Telegram then "delivers" the queued calls: it gives each sent message an id and records card
message ids, as the delivery worker does, so the next press can refer to them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from bot.infra.pipeline import CallbackAnswer, process_pending
from bot.services import Services
from storage import inbox
from storage.models import OutboxMessage, OutboxStatus, Report


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

    def update(self, body: dict[str, Any]) -> list[Sent]:
        """Store one update in the inbox, run the pipeline, deliver and return the new calls."""
        body = {"update_id": next(self._updates), **body}
        with Session(self.services.engine) as session:
            inbox.record_updates(session=session, updates=[body], now=self.now)
            session.commit()
        _, answers = process_pending(self.services)
        self.answers.extend(answers)
        return self.deliver()

    # --- a stand-in for Telegram's side of delivery -------------------------------------------

    def deliver(self) -> list[Sent]:
        """Mark queued calls sent, giving messages ids and recording where cards went."""
        delivered: list[Sent] = []
        with Session(self.services.engine) as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
                .order_by(col(OutboxMessage.id))
            ).all()
            for row in rows:
                payload = _resolve(session, row.payload)
                message_id = payload.get("message_id") if row.method.startswith("edit") else None
                message_id = message_id or next(self._messages)
                row.status = OutboxStatus.SENT
                row.result_message_id = message_id
                row.sent_at = self.now
                session.add(row)
                if row.purpose == "card" and row.report_id:
                    report = session.get(Report, row.report_id)
                    assert report is not None
                    report.card_chat_id, report.card_message_id = row.chat_id, message_id
                    session.add(report)
                sent = Sent(
                    row.chat_id,
                    row.method,
                    payload.get("text", ""),
                    message_id,
                    payload,
                    row.purpose,
                )
                delivered.append(sent)
                self.transcript.append(sent)
                session.flush()
            session.commit()
        return delivered

    def last_answer(self) -> str:
        return self.answers[-1].text


def _resolve(session: Session, value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$card"}:
            report = session.get(Report, value["$card"])
            assert report is not None and report.card_message_id is not None
            return report.card_message_id
        return {k: _resolve(session, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(session, v) for v in value]
    return value


def texts(sent: list[Sent], chat_id: int | None = None) -> list[str]:
    """Return the texts of ``sent`` (to one chat, if given)."""
    return [s.text for s in sent if chat_id is None or s.chat_id == chat_id]
