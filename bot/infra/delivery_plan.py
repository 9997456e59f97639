"""What to do with one claimed outbox row: send it as it is, resolve its cards, wait, or combine.

- **Card placeholders.** ``{"$card": report_id}`` anywhere in a payload becomes the report's
  ``card_message_id``; until the card is sent the row waits. A card that has moved to another
  chat since (or is queued after the row) is not addressed: an edit of it is skipped, a reply to
  it goes out as a plain message. A sent row with purpose ``card`` records the report's
  ``card_chat_id``/``card_message_id`` (``record_card``).
- **Bursts.** When a chat has more than ``coalesce_after`` pending ``card`` messages, they go out
  as one combined message (purpose ``card_batch``) listing the reports, with each card's buttons
  on its own row; the combined rows are marked sent with ``result_message_id`` pointing at it and
  each report's card is that message (``record_batch``). A later ``editMessageText`` of such a
  card is sent as a new message replying to the list (and becomes the report's card); other
  edits of it are skipped.

Most rows need no database read (``plan_plain``); the rest are planned in one read
(``plan_row``). The delivery worker (``bot.infra.delivery``) sends what the ``Plan`` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlmodel import Session

from bot.core.masking import mask_personal_numbers
from bot.core.messages import catalogue, t
from bot.telegram.transport import Result
from storage import outbox
from storage.models import OutboxMessage, Report
from storage.outbox import CARD, CARD_BATCH
from storage.reports import add_event

EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup", "editMessageCaption"})
TEXT_BUDGET = 3900  # Telegram allows 4,096 UTF-16 units; leave room for the header
BUTTON_BUDGET = 100  # Telegram's maximum of inline buttons in one message


@dataclass(frozen=True, slots=True)
class Claimed:
    """A leased row, detached from its session."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    purpose: str
    report_id: int | None
    attempts: int
    created_at: datetime

    @classmethod
    def of(cls, row: OutboxMessage) -> Claimed:
        """Copy the fields the worker needs from a row."""
        assert row.id is not None
        return cls(
            id=row.id,
            chat_id=row.chat_id,
            method=row.method,
            payload=dict(row.payload),
            purpose=row.purpose,
            report_id=row.report_id,
            attempts=row.attempts,
            created_at=row.created_at,
        )


@dataclass(slots=True)
class Plan:
    """What to do with a claimed row, decided in one database read."""

    action: Literal["send", "wait", "fail", "skip", "coalesce"]
    method: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    card_report_id: int | None = None  # record the sent message as this report's card
    reason: str = ""
    absorbed: list[int] = field(default_factory=list)  # rows the combined message carries
    reports: list[int] = field(default_factory=list)  # reports listed in it


@dataclass(slots=True)
class _BatchEntry:
    report_id: int | None
    row_ids: list[int]
    line: str
    buttons: list[dict[str, Any]]


def _snippet(text: str, width: int = 40) -> str:
    """Return the first ``width`` characters of ``text`` on one line, numbers masked."""
    flat = " ".join(mask_personal_numbers(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _buttons_of(payload: dict[str, Any], number: str) -> list[dict[str, Any]]:
    """Return a card's inline buttons in one row, the first labelled with the report's number."""
    markup = payload.get("reply_markup")
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        return []
    buttons = [dict(button) for row in markup["inline_keyboard"] for button in row]
    if buttons and number:
        buttons[0]["text"] = f"{number[-4:]} {buttons[0]['text']}"
    return buttons


def batch_message(chat_id: int, entries: list[_BatchEntry]) -> dict[str, Any]:
    """Return the sendMessage payload listing several new reports at once."""
    lines = [f"{index}. {entry.line}" for index, entry in enumerate(entries, 1)]
    text = t("delivery.batch_header", count=len(entries)) + "\n\n" + "\n".join(lines)
    rows = [entry.buttons for entry in entries if entry.buttons]
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if rows:
        payload["text"] += "\n\n" + t("delivery.batch_footer")
        payload["reply_markup"] = {"inline_keyboard": rows}
    return payload


def card_references(value: Any) -> set[int]:
    """Return the report ids of every ``{"$card": id}`` placeholder inside ``value``."""
    found: set[int] = set()
    if isinstance(value, dict):
        if set(value) == {"$card"}:
            found.add(int(value["$card"]))
        else:
            for item in value.values():
                found |= card_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= card_references(item)
    return found


def resolve_cards(value: Any, cards: dict[int, int]) -> Any:
    """Return ``value`` with each ``{"$card": id}`` replaced by ``cards[id]``."""
    if isinstance(value, dict):
        if set(value) == {"$card"}:
            return cards[int(value["$card"])]
        return {key: resolve_cards(item, cards) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_cards(item, cards) for item in value]
    return value


def placeholder_chats(payload: dict[str, Any], chat_id: int) -> dict[int, int]:
    """Return, for the card an edit targets or a reply quotes, the chat it is addressed in."""
    own = int(payload.get("chat_id", chat_id))
    found: dict[int, int] = {}
    target = payload.get("message_id")
    if isinstance(target, dict) and set(target) == {"$card"}:
        found[int(target["$card"])] = own
    reply = payload.get("reply_parameters")
    quoted = reply.get("message_id") if isinstance(reply, dict) else None
    if isinstance(reply, dict) and isinstance(quoted, dict) and set(quoted) == {"$card"}:
        found[int(quoted["$card"])] = int(reply.get("chat_id", own))
    return found


def without_moved_cards(payload: dict[str, Any], moved: set[int]) -> dict[str, Any]:
    """Return ``payload`` without a reply to one of the ``moved`` cards."""
    reply = payload.get("reply_parameters")
    quoted = reply.get("message_id") if isinstance(reply, dict) else None
    if isinstance(quoted, dict) and card_references(quoted) & moved:
        return {key: value for key, value in payload.items() if key != "reply_parameters"}
    return payload


def message_id_of(result: Result) -> int | None:
    """Return the id of the message a call produced (the first one of an album)."""
    if isinstance(result, dict):
        message_id = result.get("message_id")
        return int(message_id) if isinstance(message_id, int) else None
    if isinstance(result, list) and result and isinstance(result[0], dict):
        return message_id_of(result[0])
    return None


def chat_id_of(result: Result, default: int) -> int:
    """Return the chat a call's message landed in."""
    if isinstance(result, dict) and isinstance(result.get("chat"), dict):
        return int(result["chat"].get("id", default))
    return default


def plan_plain(row: Claimed, coalesce_after: int) -> Plan | None:
    """Plan a row that needs nothing from the database (most of them); else None."""
    if card_references(row.payload):
        return None  # a reply or an edit of a card: its message id is in the database
    if row.purpose == CARD and row.method == "sendMessage" and coalesce_after > 0:
        return None  # a new card: it may join others in one combined message
    return Plan("send", row.method, row.payload, row.report_id if row.purpose == CARD else None)


def plan_row(session: Session, row: Claimed, coalesce_after: int) -> Plan:
    """Plan a row that reads the database: its cards' message ids, or a burst of new cards."""
    placed = place_cards(session, row)
    if isinstance(placed, Plan):
        return placed
    payload = placed
    method = row.method
    card_report_id = row.report_id if row.purpose == CARD else None
    target = row.payload.get("message_id")
    if method in EDIT_METHODS and isinstance(target, dict) and "$card" in target:
        report_id = int(target["$card"])
        batch = outbox.sent_with_purpose(
            session=session,
            chat_id=int(payload.get("chat_id", row.chat_id)),
            result_message_id=int(payload["message_id"]),
            purpose=CARD_BATCH,
        )
        if batch is not None:
            if method != "editMessageText":
                return Plan("skip", reason="the card is part of a combined message")
            method, payload = "sendMessage", card_from_edit(payload)
            card_report_id = report_id
    if (
        row.purpose == CARD
        and row.method == "sendMessage"
        and 0
        < coalesce_after
        < outbox.count_pending(session=session, chat_id=row.chat_id, purpose=CARD)
    ):
        return plan_batch(session, row)
    return Plan("send", method, payload, card_report_id)


def place_cards(session: Session, row: Claimed) -> dict[str, Any] | Plan:
    """Resolve the row's card placeholders, or say why it waits, fails or is skipped.

    A card may have moved since the row was queued (its group was rebound, migrated or
    lost): an edit of a card that is no longer in the chat it addresses is skipped, a reply
    to it is sent without the reply. So is one queued before the card it refers to.
    """
    pointed = placeholder_chats(row.payload, row.chat_id)
    cards: dict[int, int] = {}
    moved: set[int] = set()
    for report_id in sorted(card_references(row.payload)):
        chat = pointed.get(report_id, row.chat_id)
        report = session.get(Report, report_id)
        if report is not None and report.card_message_id is None:
            card = outbox.first_pending(session=session, report_id=report_id, purpose=CARD)
            if card is None:
                # On PostgreSQL each statement reads a fresh snapshot: the card may have
                # been sent (and recorded) between reading the report and the outbox.
                session.refresh(report)
            elif card.chat_id != chat or (card.id or 0) > row.id:
                moved.add(report_id)  # it will land elsewhere, or after this row
                continue
            else:
                return Plan("wait", reason=f"waiting for the card of report {report_id}")
        if report is None or report.card_message_id is None:
            return Plan("fail", reason=f"the card of report {report_id} was never delivered")
        if report.card_chat_id not in (None, chat):
            moved.add(report_id)
            continue
        cards[report_id] = report.card_message_id
    payload = row.payload
    if moved:
        payload = without_moved_cards(payload, moved)
        if card_references(payload) - set(cards):
            return Plan("skip", reason="the card it refers to is in another chat now")
    return resolve_cards(payload, cards)


def card_from_edit(payload: dict[str, Any]) -> dict[str, Any]:
    """Turn an edit of a combined card into a new card replying to the combined message."""
    message: dict[str, Any] = {
        "chat_id": payload["chat_id"],
        "text": payload.get("text", ""),
        "reply_parameters": {
            "message_id": payload["message_id"],
            "allow_sending_without_reply": True,
        },
    }
    for key in ("reply_markup", "parse_mode", "entities", "link_preview_options"):
        if key in payload:
            message[key] = payload[key]
    return message


def plan_batch(session: Session, head: Claimed) -> Plan:
    """Plan one message listing the chat's pending new-report cards (oldest first)."""
    rows = [
        queued
        for queued in outbox.pending_of_chat(session=session, chat_id=head.chat_id, limit=500)
        if queued.purpose == CARD
        and queued.method == "sendMessage"
        and not card_references(queued.payload)
    ]
    entries: dict[int | None, _BatchEntry] = {}
    order: list[_BatchEntry] = []
    length = buttons = 0
    for queued in rows:
        assert queued.id is not None
        key = queued.report_id if queued.report_id is not None else -queued.id
        entry = entries.get(key)
        if entry is not None:
            entry.row_ids.append(queued.id)
            if not entry.buttons:
                entry.buttons = _buttons_of(queued.payload, "")
            continue
        report = session.get(Report, queued.report_id) if queued.report_id else None
        if report is not None:
            kind = catalogue().get(f"kind.{report.kind}", report.kind)
            line = f"{report.number}｜{kind}｜{_snippet(report.text)}"
            row_buttons = _buttons_of(queued.payload, report.number)
        else:
            line = _snippet(str(queued.payload.get("text", "")))
            row_buttons = []
        if order and (
            length + len(line) + 6 > TEXT_BUDGET or buttons + len(row_buttons) > BUTTON_BUDGET
        ):
            break
        entry = _BatchEntry(queued.report_id, [queued.id], line, row_buttons)
        entries[key] = entry
        order.append(entry)
        length += len(line) + 6
        buttons += len(row_buttons)
    if head.id not in {row_id for entry in order for row_id in entry.row_ids}:
        return Plan("send", head.method, head.payload, head.report_id)
    return Plan(
        "coalesce",
        "sendMessage",
        batch_message(head.chat_id, order),
        absorbed=[row_id for entry in order for row_id in entry.row_ids],
        reports=[entry.report_id for entry in order if entry.report_id is not None],
    )


def record_card(session: Session, row: Claimed, plan: Plan, result: Result) -> None:
    """Record the sent message as its report's card, when the row was one."""
    message_id = message_id_of(result)
    if plan.card_report_id is not None and message_id is not None:
        report = session.get(Report, plan.card_report_id)
        if report is not None:
            report.card_chat_id = chat_id_of(result, row.chat_id)
            report.card_message_id = message_id
            session.add(report)


def record_batch(
    session: Session, row: Claimed, plan: Plan, result: Result, now: datetime
) -> tuple[int, int | None]:
    """Record a combined message (its own row, the rows it carries, each report's card now
    being it); return its chat and message id."""
    message_id = message_id_of(result)
    chat_id = chat_id_of(result, row.chat_id)
    batch = outbox.record_sent(
        session=session,
        chat_id=chat_id,
        method="sendMessage",
        payload=plan.payload,
        purpose=CARD_BATCH,
        idempotency_key=f"{CARD_BATCH}:{chat_id}:{message_id}:{row.id}",
        now=now,
        result_message_id=message_id,
    )
    outbox.mark_coalesced(
        session=session,
        message_ids=plan.absorbed,
        now=now,
        result_message_id=message_id or 0,
    )
    for report_id in plan.reports:
        report = session.get(Report, report_id)
        if report is None:
            continue
        report.card_chat_id = chat_id
        report.card_message_id = message_id
        session.add(report)
        add_event(
            session=session,
            report_id=report_id,
            actor="system",
            action="card_coalesced",
            at=now,
            details={"chat_id": chat_id, "message_id": message_id, "outbox_id": batch.id},
        )
    return chat_id, message_id
