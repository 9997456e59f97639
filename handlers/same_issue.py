"""One problem, one card, for the observer: a similar report is already being handled.

When a draft is previewed, the open and recent reports of its area are compared with it
(``bot.services.similar``). If one is probably the same issue, the preview names it (number,
status and why: "同站点、2小时内、相似度 0.82：河涌、发臭") and offers 补充到该反映 (the draft is
submitted and joined to that report's issue: no card or deadline of its own, its text goes
under the existing card) or 仍然单独提交 (the preview's usual 提交).

The observer conversation (``handlers.observer``) calls :func:`offer` where it builds the
preview, :func:`chosen` when 补充到该反映 is pressed, :func:`join_submitted` once the report
exists, and :func:`on_card` when an observer adds to a report (补充信息) that was joined.
"""

from __future__ import annotations

import logging

from bot.core.authority import Actor
from bot.core.messages import t
from bot.core.routing import Decision
from bot.errors import Refused
from bot.services import joining
from bot.services.similar import similar_reports
from handlers.actions import Button, Keyboard
from handlers.callbacks import Act, Press
from handlers.context import Ctx
from handlers.events import Event
from handlers.same_issue_cards import relay_joined
from storage.models import OPEN_STATUSES, Draft, Observer, Report, ReportKind, Station

log = logging.getLogger(__name__)


def similar_open(
    ctx: Ctx, text: str, kind: str, decision: Decision, station: Station | None
) -> tuple[Report, str] | None:
    """Return the issue's primary report the draft is probably the same as, and why."""
    if station is None or kind == ReportKind.SENTIMENT or not text.strip():
        return None
    matches = similar_reports(
        ctx.session,
        text=text,
        station_code=station.code,
        region_code=station.region_code,
        department=decision.department,
        now=ctx.now,
        dispatch=ctx.rules.dispatch,
    )
    for match in matches:
        found = ctx.session.get(Report, match.candidate.id)
        if found is None:
            continue
        primary = joining.root_of(ctx.session, found)
        if primary.kind == kind and primary.status in OPEN_STATUSES:  # still being handled
            return primary, match.reason
    return None


def offer(
    ctx: Ctx,
    draft: Draft,
    decision: Decision,
    station: Station | None,
    body: str,
    preview: tuple[str, Keyboard],
) -> tuple[str, Keyboard]:
    """Return the preview (text, buttons) of a draft whose words are ``body``, with the offer
    to join a similar report: 补充到该反映 first, then 提交 as 仍然单独提交."""
    kind = str(draft.data.get("kind") or decision.kind)
    found = similar_open(ctx, body, kind, decision, station)
    text, keyboard = preview
    if found is None:
        return preview
    primary, reason = found
    status = t(f"status.{primary.status}")
    text += "\n" + t("joining.preview_similar", number=primary.number, status=status, reason=reason)
    text += "\n" + t("joining.preview_choose")
    rev, did = str(draft.data.get("rev", 0)), draft.id or 0
    submit = Press(Act.SUBMIT, did, rev).encode()
    join = Button(
        t("joining.button_join", number=primary.number),
        Press(Act.JOIN_ISSUE, did, f"{rev}_{primary.id}").encode(),
    )
    rest = [[b for b in row if b.data != submit] for row in keyboard]
    alone = Button(t("joining.button_alone"), submit)
    return text, [[join], [alone], *[row for row in rest if row]]


def on_card(ctx: Ctx, report: Report | None) -> Report | None:
    """Return the report whose card shows ``report``: its primary when it was joined to one
    (an observer's 补充 to a joined report goes under that card)."""
    return joining.root_of(ctx.session, report) if report is not None else None


def chosen(press: Press, draft: Draft) -> int | None:
    """Return the report id a 补充到该反映 press chose, if it was pressed on this revision."""
    rev, _, report_id = press.arg.partition("_")
    if rev != str(draft.data.get("rev", 0)) or not report_id.isdigit():
        return None
    return int(report_id)


def join_submitted(
    event: Event, ctx: Ctx, observer: Observer, report: Report, into_id: int
) -> bool:
    """Join the just-created ``report`` to ``into_id``'s issue and tell the observer.

    Returns False when it cannot be joined (the other report was merged or split meanwhile,
    or is of another kind now): the caller then submits it on its own as usual.
    """
    by = Actor(chat_id=event.chat_id, user_id=event.user_id, observer_id=observer.id)
    try:
        issue = joining.join(
            ctx.session, ctx.services, report_id=report.id or 0, into_id=into_id, by=by, now=ctx.now
        )
    except Refused as refused:
        log.info("join refused report=%s into=%s: %s", report.number, into_id, refused.key)
        return False
    primary = issue.primary
    relay_joined(ctx, primary, [report])
    status = t(f"status.{primary.status}")
    ack = t("joining.joined_ack", number=primary.number, status=status, own=report.number)
    ctx.out.reply_answer(primary.number)
    ctx.out.send(event.chat_id, ack, purpose="ack", report_id=report.id)
    return True
