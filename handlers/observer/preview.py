"""The preview of a draft and its submission: the one place a draft becomes a report."""

from __future__ import annotations

from bot.core.messages import t
from bot.core.regions import name_of
from bot.core.routing import Decision
from bot.services import reports as flows
from bot.services.reports import find_binding
from handlers import limits
from handlers.actions import Button
from handlers.callbacks import Act, Press
from handlers.cards import attachment_summary, tag_names
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import post_card
from handlers.observer.rows import attachment_items, draft_text
from storage.models import Draft, Observer, ReportKind, ReportStatus, Station


def decide(ctx: Ctx, observer: Observer, draft: Draft):  # type: ignore[no-untyped-def]
    station = ctx.session.get(Station, observer.station_code)
    region = station.region_code if station else None
    return ctx.services.router.route(
        draft_text(draft), region, category=draft.data.get("category")
    ), station


def preview(ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Sends the preview of a draft: kind, tags, destination, deadlines; submit or change."""
    decision, station = decide(ctx, observer, draft)
    kind = draft.data.get("kind") or decision.kind
    urgent = bool(draft.data.get("urgent"))
    sla = "urgent" if urgent else decision.sla_class
    deadlines = flows.plan_deadlines(ctx.services, kind=kind, sla_class=sla, start=ctx.now)
    if kind == ReportKind.SENTIMENT:
        due_line = t("observer.preview_no_deadlines")
    else:
        key = (
            "observer.preview_deadlines_suggestion"
            if kind == ReportKind.SUGGESTION
            else "observer.preview_deadlines"
        )
        due_line = t(
            key,
            sign_due=ctx.local(deadlines.sign_due),
            resolve_due=ctx.local(deadlines.resolve_due),
        )
    dispatched = decision.dispatched or decision.department == ctx.rules.dispatch
    text = t(
        "observer.preview",
        kind=t(f"kind.{kind}"),
        tags=tag_names(ctx, decision.tags),
        department=ctx.department_name(decision.department),
        region=ctx.region_name(decision.target_region or (station.region_code if station else "")),
        deadlines=due_line,
        text=draft_text(draft),
        attachments=attachment_summary(attachment_items(draft)),
        explanation=_plain_note(ctx, decision, dispatched),
    )
    near = limits.notice(draft.data)
    if near:
        text += "\n" + near
    rev = str(draft.data.get("rev", 0))
    did = draft.id or 0
    ctx.out.send(
        draft.chat_id,
        text,
        keyboard=[
            [
                Button(t("observer.button_submit"), Press(Act.SUBMIT, did, rev).encode()),
                Button(t("observer.button_add"), Press(Act.ADD_MORE, did, rev).encode()),
            ],
            [
                Button(t("observer.button_kind"), Press(Act.CHANGE_KIND, did, rev).encode()),
                Button(
                    t("observer.button_category"), Press(Act.CHANGE_CATEGORY, did, rev).encode()
                ),
            ],
            [Button(t("observer.button_cancel"), Press(Act.CANCEL, did, rev).encode())],
        ],
    )


def _plain_note(ctx: Ctx, decision: Decision, dispatched: bool) -> str:
    """Return the sentence an observer reads about where the report goes (no routing internals)."""
    code = decision.target_region or ""
    region = (name_of(code) or name_of(code[:6]) or "") if code else ""
    return decision.observer_note(
        region, ctx.department_name(decision.department), dispatched=dispatched
    )


def submit(event: Event, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Commits the draft as a report, acknowledges it with its number and sends the card."""
    if not draft_text(draft):
        ctx.out.reply_answer(t("observer.empty_text"), alert=True)
        return
    decision, station = decide(ctx, observer, draft)
    if station is None:
        ctx.out.reply_answer(t("common.error"), alert=True)
        return
    report = flows.create_report(
        ctx.session,
        ctx.services,
        observer=observer,
        station=station,
        text=draft_text(draft),
        kind=draft.data.get("kind"),
        category=draft.data.get("category"),
        decision=decision,
        source_chat_id=draft.chat_id,
        source_message_id=int(draft.data.get("first_message_id") or draft.id or 0),
        attachments=attachment_items(draft),
        location=draft.data.get("location"),
        urgent=bool(draft.data.get("urgent")),
        now=ctx.now,
    )
    ctx.session.delete(draft)
    ctx.session.flush()
    post_card(ctx, report)
    if report.status == ReportStatus.RECORDED:
        routing = t("observer.submitted_sentiment")
    elif report.status == ReportStatus.DISPATCH:
        routing = t("observer.submitted_dispatch")
    else:
        # Name the group the card was sent to: the binding found may be above the target.
        group = find_binding(ctx.session, department=report.department, region=report.target_region)
        routing = t(
            "observer.submitted_routed",
            department=ctx.department_name(report.department),
            region=ctx.region_name(group.region_code if group else report.target_region),
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
