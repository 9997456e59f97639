"""Console actions: the same services and the same Telegram messages as a card's buttons.

One transaction per action, as the pipeline handles one update: the write lock is taken, the
viewer's roles are asked anew, the service is called with the viewer acting as the group that
holds the report (the authority policy decides), the handler functions queue the messages the
card press would have queued, and ``queue_outbox`` writes them. A refusal changes nothing and
is recorded in the audit trail, as a refused press is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlmodel import Session

from bot.core.authority import Actor
from bot.core.lifecycle import Action
from bot.errors import Refused
from bot.services import Services
from bot.services.extensions import pending_extension
from bot.services.reports import add_note
from bot.services.viewers import Viewer, actor_for, can_see, viewer_of
from bot.web.auth import Signed
from handlers.card_actions import decide_extension, move, sign
from handlers.context import Ctx, queue_outbox
from handlers.notify import redraw_card
from handlers.prompting import answer_observer, finish, request_extension
from storage import reports as report_queries
from storage.db import begin_write
from storage.models import Report

# The console's actions: the lifecycle action each is, and the notice shown after it.
ACTIONS: dict[str, tuple[Action, str]] = {
    "route": (Action.ROUTE, "web.done.routed"),
    "close": (Action.CLOSE, "web.done.closed"),
    "sign": (Action.SIGN, "web.done.signed"),
    "transfer": (Action.TRANSFER, "web.done.transferred"),
    "return": (Action.RETURN, "web.done.returned"),
    "resolve": (Action.RESOLVE, "web.done.resolved"),
    "extend": (Action.EXTEND, "web.done.extension_requested"),
    "answer": (Action.ANSWER, "web.done.answered"),
    "note": (Action.NOTE, "web.done.noted"),
    "extension_ok": (Action.DECIDE_EXTENSION, "web.done.extension_decided"),
    "extension_no": (Action.DECIDE_EXTENSION, "web.done.extension_decided"),
}
DECISIONS = ("extension_ok", "extension_no")  # asked of the region's dispatch group


@dataclass(frozen=True)
class Outcome:
    """How an action went: 303 with the notice to show, or an error status and its text."""

    status: int
    notice: str


def perform(
    services: Services, who: Signed, report_id: int, action: str, form: dict[str, object]
) -> Outcome:
    """Take ``action`` (one of ``ACTIONS``) on a report for the signed-in ``who``."""
    if action not in ACTIONS:
        return Outcome(404, "web.not_found")
    now = services.clock()
    with Session(services.engine, expire_on_commit=False) as session:
        begin_write(session)
        viewer = viewer_of(session, services, who.user_id, who.name)
        report = (
            can_see(session, viewer, services.rules.dispatch, report_id)
            if viewer.has_role
            else None
        )
        if report is None:
            return Outcome(404, "web.not_found")
        by = actor_for(session, services, viewer, report, dispatch=action in DECISIONS)
        ctx = Ctx(services=services, session=session, now=now)
        try:
            notice = _do(ctx, viewer, report, by, action, form)
        except Refused as refused:
            session.rollback()
            report_queries.add_event(
                session=session,
                report_id=report_id,
                actor=f"user:{who.user_id}",
                action="console_refused",
                at=now,
                details={"action": action, "reason": refused.key},
            )
            session.commit()
            return Outcome(403, refused.key)
        queue_outbox(ctx, key=f"web{secrets.token_hex(8)}")
        session.commit()
    return Outcome(303, notice)


def _do(
    ctx: Ctx, viewer: Viewer, report: Report, by: Actor, action: str, form: dict[str, object]
) -> str:
    """Carry out an action as the card press (or prompt answer) would; return the notice key."""
    card = report.card_message_id if report.card_chat_id == by.chat_id else None
    who = viewer.name
    if action in ("route", "transfer"):
        department = str(form.get("department", ""))
        move(
            ctx,
            report,
            department,
            by=by,
            who=who,
            chat=by.chat_id,
            message_id=card,
            transfer=action == "transfer",
        )
    elif action == "sign":
        sign(ctx, report, by=by, who=who, chat=by.chat_id, message_id=card)
    elif action in DECISIONS:
        request = pending_extension(ctx.session, report_id=report.id or 0)
        decide_extension(
            ctx,
            report.id or 0,
            request.id if request is not None and request.id is not None else 0,
            approve=action == "extension_ok",
            by=by,
            who=who,
            chat=by.chat_id,
            message_id=None,
        )
    else:
        words = str(form.get("words", "")).strip()
        if not words:
            raise Refused("web.need_words")
        _worded(ctx, report, by, who, action, words, card)
    return ACTIONS[action][1]


def _worded(
    ctx: Ctx, report: Report, by: Actor, who: str, action: str, words: str, card: int | None
) -> None:
    """Take an action that needs words, as the answer to the card's prompt would."""
    if action == "extend":
        request_extension(ctx, report, words[:500], by=by, who=who, chat=by.chat_id, reply_to=None)
    elif action == "answer":
        answer_observer(ctx, report, words[:1000], by=by, chat=by.chat_id, reply_to=None)
    elif action == "note":
        add_note(ctx.session, ctx.services, report=report, text=words[:1000], by=by, now=ctx.now)
        redraw_card(ctx, report)
    else:
        finish(
            ctx,
            action,
            report,
            words[:1000],
            by=by,
            who=who,
            chat=by.chat_id,
            card=card,
            reply_to=None,
            was_current=card is not None,
        )
