"""The preview of a draft and its submission: the one place a draft becomes a report.

``preview`` shows the observer, in plain words, what will happen; ``submit`` files the report
(``bot.services.reports.create_report``), sends its card and acknowledges it. Whatever must
happen to every draft on its way to becoming a report belongs in ``submit``.
"""

from __future__ import annotations

from bot.core.messages import t
from bot.core.routing import Decision
from bot.services import clocks
from bot.services import reports as flows
from handlers import limits, same_issue
from handlers.actions import Button
from handlers.callbacks import Act, Press
from handlers.cards import attachment_summary, tag_names
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import office_name, post_card
from handlers.observer.rows import attachment_items, draft_text, has_content, report_text
from storage.models import Draft, Observer, Report, ReportKind, ReportStatus, Station


def decide(ctx: Ctx, observer: Observer, draft: Draft) -> tuple[Decision, Station | None]:
    """Routes the draft's words from the observer's station (no words: to dispatch)."""
    station = ctx.session.get(Station, observer.station_code)
    region = station.region_code if station else None
    decision = ctx.services.router.route(
        draft_text(draft.data), region, category=draft.data.get("category")
    )
    return decision, station


def preview(ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Sends the preview of a draft: what it is, where it goes, by when; submit or change."""
    decision, station = decide(ctx, observer, draft)
    kind = draft.data.get("kind") or decision.kind
    text = t(
        "observer.preview",
        kind=t(f"kind.{kind}"),
        tags=tag_names(ctx, decision.tags),
        where=_where(ctx, decision, kind, bool(draft.data.get("urgent")), station),
        text=report_text(draft.data),
        attachments=attachment_summary(attachment_items(draft.data)),
    )
    near = limits.notice(draft.data)
    if near:
        text += "\n" + near
    rev = str(draft.data.get("rev", 0))
    did = draft.id or 0
    keyboard = [
        [
            Button(t("observer.button_submit"), Press(Act.SUBMIT, did, rev).encode()),
            Button(t("observer.button_add"), Press(Act.ADD_MORE, did, rev).encode()),
        ],
        [
            Button(t("observer.button_kind"), Press(Act.CHANGE_KIND, did, rev).encode()),
            Button(t("observer.button_category"), Press(Act.CHANGE_CATEGORY, did, rev).encode()),
        ],
        [Button(t("observer.button_cancel"), Press(Act.CANCEL, did, rev).encode())],
    ]
    preview = (text, keyboard)  # a similar report already handled: offer to join it
    body = report_text(draft.data)
    text, keyboard = same_issue.offer(ctx, draft, decision, station, body, preview)
    ctx.out.send(draft.chat_id, text, keyboard=keyboard)


def _where(ctx: Ctx, decision: Decision, kind: str, urgent: bool, station: Station | None) -> str:
    """Returns where the report will go and by when, as the observer reads it (no internals).

    The department is named at the level of the group that will really get it; with no group
    bound for it at any level, the report goes to dispatch, and the preview says so.
    """
    if kind == ReportKind.SENTIMENT:
        return t("observer.preview_sentiment")
    region = decision.target_region or (station.region_code if station else "")
    dispatched = decision.dispatched or decision.department == ctx.rules.dispatch
    office = "" if dispatched else office_name(ctx, decision.department, region, bound=True)
    if not office:  # no group for it at any level: dispatch takes it (the lifecycle's fall_back)
        dispatched, office = True, office_name(ctx, ctx.rules.dispatch, region)
    note = decision.observer_note("", office, dispatched=dispatched)
    sla = "urgent" if urgent else decision.sla_class
    due = clocks.plan_deadlines(ctx.services, kind=kind, sla_class=sla, start=ctx.now)
    key = "suggestion" if kind == ReportKind.SUGGESTION else "problem"
    return (
        note
        + "\n"
        + t(
            f"observer.preview_deadlines_{key}",
            sign_due=ctx.local(due.sign_due),
            resolve_due=ctx.local(due.resolve_due),
        )
    )


def submit(
    event: Event, ctx: Ctx, observer: Observer, draft: Draft, *, into: int | None = None
) -> Report | None:
    """Commits the draft as a report, acknowledges it with its number and sends the card.

    Returns the report, or None when the draft cannot be filed (the presser is told why).
    """
    if not has_content(draft.data):
        ctx.out.reply_answer(t("observer.empty_text"), alert=True)
        return None
    decision, station = decide(ctx, observer, draft)
    if station is None:
        ctx.out.reply_answer(t("common.error"), alert=True)
        return None
    report = flows.create_report(
        ctx.session,
        ctx.services,
        observer=observer,
        station=station,
        text=report_text(draft.data),
        kind=draft.data.get("kind"),
        category=draft.data.get("category"),
        decision=decision,
        source_chat_id=draft.chat_id,
        source_message_id=int(draft.data.get("first_message_id") or draft.id or 0),
        attachments=attachment_items(draft.data),
        location=draft.data.get("location"),
        urgent=bool(draft.data.get("urgent")),
        now=ctx.now,
    )
    ctx.session.delete(draft)
    ctx.session.flush()
    if into is not None and same_issue.join_submitted(event, ctx, observer, report, into):
        return report  # no card of its own: it went under the similar report's card
    post_card(ctx, report)
    if report.status == ReportStatus.RECORDED:
        routing = t("observer.submitted_sentiment")
    elif report.status == ReportStatus.DISPATCH:
        dispatch = office_name(ctx, ctx.rules.dispatch, report.target_region)
        routing = t("observer.submitted_dispatch", department=dispatch)
    else:
        routing = t(
            "observer.submitted_routed",
            department=office_name(ctx, report.department, report.target_region),
            sign_due=ctx.local(report.sign_due_at),
        )
    ctx.out.reply_answer(report.number)
    ctx.out.send(
        event.chat_id,
        t(
            "observer.submitted",
            number=report.number,
            kind=t(f"kind.{report.kind}"),
            routing=routing,
        ),
        purpose="ack",
        report_id=report.id,
    )
    return report
