"""Observers in their private chat: registration, reports (free text and guided), status, rating.

States of an observer's draft (``Draft.step``)::

    compose ──submit──▶ (report)          free text: every message extends the draft
       │  └─cancel──▶ (nothing)            and answers with a fresh preview
    guided:kind → guided:category → guided:location → guided:description
       → guided:photos → guided:urgency → compose (the preview, as above)
    followup:<report>   the next message is relayed to the department
    reason:<report>     the next message is the reason for 不满意 (reopens the report)

Every state is a row, so a restart resumes exactly where the observer was.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.core.messages import catalogue, t
from bot.core.regions import name_of
from bot.core.roster import mask_phone
from bot.core.routing import Decision
from bot.services import people
from bot.services import reports as flows
from bot.services.reports import Refused, find_binding
from handlers import limits
from handlers.actions import REMOVE_KEYBOARD, Button, Keyboard, card_of, contact_keyboard
from handlers.callbacks import Act, Press
from handlers.cards import attachment_summary, tag_names
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import post_card
from storage import reports as report_queries
from storage.models import (
    OPEN_STATUSES,
    Draft,
    Observer,
    ObserverStatus,
    Report,
    ReportKind,
    ReportStatus,
    Station,
)

KINDS = (ReportKind.PROBLEM, ReportKind.SUGGESTION, ReportKind.SENTIMENT)
GUIDED_STEPS = ("kind", "category", "location", "description", "photos", "urgency")


# --- entry points ----------------------------------------------------------------------------


def on_private_message(event: Event, ctx: Ctx) -> None:
    """Handles anything an observer (or a stranger) sends the bot in private."""
    observer = _observer(ctx, event)
    if event.contact is not None:
        on_contact(event, ctx, observer)
        return
    if event.command == "start":
        on_start(event, ctx, observer)
        return
    if observer is None:
        report_queries.add_event(
            session=ctx.session,
            report_id=None,
            actor=f"user:{event.user_id}",
            action="report_refused",
            at=ctx.now,
            details={"reason": "not_registered", "message": event.message_id},
        )
        ctx.out.send(
            event.chat_id,
            t("observer.register_first"),
            markup=contact_keyboard(t("observer.share_phone_button")),
        )
        return
    if observer.status == ObserverStatus.SUSPENDED:
        ctx.out.send(event.chat_id, t("observer.suspended"))
        return
    if event.kind == "edited":
        ctx.out.send(event.chat_id, t("observer.edited"))
        return
    if event.forwarded:
        report_queries.add_event(
            session=ctx.session,
            report_id=None,
            actor=f"observer:{observer.id}",
            action="forward_refused",
            at=ctx.now,
            details={"message": event.message_id},
        )
        ctx.out.send(event.chat_id, t("observer.forwarded"))
        return
    if event.command is not None:
        _command(event, ctx, observer)
        return
    if event.unsupported:
        ctx.out.send(event.chat_id, t("observer.unsupported", what=event.unsupported))
        return
    draft = _draft(ctx, observer)
    if draft is not None and draft.step.startswith("followup:"):
        _follow_up(event, ctx, observer, draft)
    elif draft is not None and draft.step.startswith("reason:"):
        _rating_reason(event, ctx, observer, draft)
    elif draft is not None and draft.step.startswith("guided:"):
        _guided_input(event, ctx, observer, draft)
    else:
        _compose(event, ctx, observer, draft)


def on_press(event: Event, press: Press, ctx: Ctx) -> None:
    """Handles a button pressed in the private chat."""
    observer = _observer(ctx, event)
    if observer is None or observer.status == ObserverStatus.SUSPENDED:
        ctx.out.reply_answer(t("observer.register_first"), alert=True)
        return
    if press.act in (Act.OPEN, Act.FOLLOW_UP, Act.RATE):
        _report_press(event, press, ctx, observer)
        return
    draft = _draft(ctx, observer)
    if draft is None or draft.id != press.target:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if press.act == Act.GUIDE:
        _guided_press(event, press, ctx, observer, draft)
        return
    if press.act == Act.SET_KIND:
        if press.arg not in KINDS:
            ctx.out.reply_answer(t("common.stale_button"))
            return
        draft.data = {**draft.data, "kind": press.arg, "rev": draft.data.get("rev", 0) + 1}
        _touch(ctx, draft)
        ctx.out.reply_answer(t("observer.kind_changed", kind=t(f"kind.{press.arg}")))
        _preview(ctx, observer, draft)
        return
    if press.act == Act.SET_CATEGORY:
        if press.arg not in ctx.rules.tags:
            ctx.out.reply_answer(t("common.stale_button"))
            return
        draft.data = {**draft.data, "category": press.arg, "rev": draft.data.get("rev", 0) + 1}
        _touch(ctx, draft)
        ctx.out.reply_answer(
            t("observer.category_changed", category=ctx.rules.tags[press.arg].name)
        )
        _preview(ctx, observer, draft)
        return
    if str(draft.data.get("rev", 0)) != press.arg:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if press.act == Act.SUBMIT:
        _submit(event, ctx, observer, draft)
    elif press.act == Act.ADD_MORE:
        ctx.out.reply_answer(t("observer.add_more"))
        ctx.out.send(event.chat_id, t("observer.add_more"))
    elif press.act == Act.CHANGE_KIND:
        ctx.out.reply_answer(t("observer.choose_kind"))
        ctx.out.send(
            event.chat_id,
            t("observer.choose_kind"),
            keyboard=[
                [
                    Button(t(f"kind.{kind}"), Press(Act.SET_KIND, draft.id or 0, kind).encode())
                    for kind in KINDS
                ]
            ],
        )
    elif press.act == Act.CHANGE_CATEGORY:
        ctx.out.reply_answer(t("observer.choose_category"))
        buttons = [
            Button(tag.name, Press(Act.SET_CATEGORY, draft.id or 0, tag.id).encode())
            for tag in ctx.rules.tags.values()
        ]
        ctx.out.send(
            event.chat_id,
            t("observer.choose_category"),
            keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)],
        )
    elif press.act == Act.CANCEL:
        ctx.session.delete(draft)
        ctx.out.reply_answer(t("observer.cancelled"))
        ctx.out.send(event.chat_id, t("observer.cancelled"))
    else:
        ctx.out.reply_answer(t("common.unknown_button"))


# --- registration ----------------------------------------------------------------------------


def on_start(event: Event, ctx: Ctx, observer: Observer | None) -> None:
    """Greets a registered observer, redeems an invite code, or asks for the phone number."""
    code = event.args.strip()
    if observer is not None and observer.status == ObserverStatus.SUSPENDED:
        ctx.out.send(event.chat_id, t("observer.suspended"))
        return
    if observer is not None:
        station = ctx.session.get(Station, observer.station_code)
        ctx.out.send(
            event.chat_id,
            t("observer.welcome_back", name=observer.name, station=station.name if station else ""),
            markup=REMOVE_KEYBOARD,
        )
        draft = _draft(ctx, observer)
        if draft is not None and draft.step == "compose":
            ctx.out.send(event.chat_id, t("observer.idle_draft_offer"))
            _preview(ctx, observer, draft)
        return
    if code:
        try:
            registered = people.register_by_invite(
                ctx.session,
                user_id=event.user_id or 0,
                name=event.user_name,
                code=code,
                now=ctx.now,
            )
        except Refused as refused:
            ctx.out.send(event.chat_id, t(refused.key))
            return
        ctx.out.send(
            event.chat_id,
            t(
                "observer.registered",
                name=registered.observer.name,
                station=registered.station.name,
            ),
            markup=REMOVE_KEYBOARD,
        )
        return
    ctx.out.send(
        event.chat_id,
        t("observer.welcome_new"),
        markup=contact_keyboard(t("observer.share_phone_button")),
    )


def on_contact(event: Event, ctx: Ctx, observer: Observer | None) -> None:
    """Accepts the sender's own shared phone number and binds them to the roster."""
    assert event.contact is not None
    if event.contact.user_id != event.user_id or event.forwarded:
        report_queries.add_event(
            session=ctx.session,
            report_id=None,
            actor=f"user:{event.user_id}",
            action="contact_refused",
            at=ctx.now,
            details={"reason": "not_own_contact", "phone": mask_phone(event.contact.phone)},
        )
        ctx.out.send(
            event.chat_id,
            t("observer.not_own_contact"),
            markup=contact_keyboard(t("observer.share_phone_button")),
        )
        return
    if observer is not None:
        ctx.out.send(event.chat_id, t("observer.already_registered"), markup=REMOVE_KEYBOARD)
        return
    try:
        registered = people.register_by_phone(
            ctx.session, user_id=event.user_id or 0, phone=event.contact.phone, now=ctx.now
        )
    except Refused as refused:
        ctx.out.send(event.chat_id, t(f"{refused.key}"), markup=REMOVE_KEYBOARD)
        return
    ctx.out.send(
        event.chat_id,
        t("observer.registered", name=registered.observer.name, station=registered.station.name),
        markup=REMOVE_KEYBOARD,
    )


# --- commands --------------------------------------------------------------------------------


def _command(event: Event, ctx: Ctx, observer: Observer) -> None:
    """Runs an observer's command."""
    if event.command == "help":
        ctx.out.send(event.chat_id, t("observer.help"))
    elif event.command == "cancel":
        draft = _draft(ctx, observer)
        if draft is None:
            ctx.out.send(event.chat_id, t("observer.nothing_to_cancel"))
        else:
            ctx.session.delete(draft)
            ctx.out.send(event.chat_id, t("observer.cancelled"))
    elif event.command == "new":
        _start_guided(event, ctx, observer)
    elif event.command == "my":
        _my_reports(event, ctx, observer)
    elif event.command in ("bind", "digest", "subscribe", "unsubscribe"):
        ctx.out.send(event.chat_id, t("observer.group_command_in_private"))
    else:
        ctx.out.send(event.chat_id, t("common.unknown_command", command=event.command))


def _my_reports(event: Event, ctx: Ctx, observer: Observer) -> None:
    """Lists the observer's recent reports as buttons that open their timelines."""
    found = report_queries.reports_of_observer(session=ctx.session, observer_id=observer.id or 0)
    if not found:
        ctx.out.send(event.chat_id, t("observer.my_empty"))
        return
    keyboard: Keyboard = [
        [
            Button(
                t(
                    "observer.my_line",
                    number=r.number,
                    kind=t(f"kind.{r.kind}"),
                    status=t(f"status.{r.status}"),
                ),
                Press(Act.OPEN, r.id or 0).encode(),
            )
        ]
        for r in found
    ]
    ctx.out.send(event.chat_id, t("observer.my_header"), keyboard=keyboard)


def _timeline(ctx: Ctx, report: Report) -> str:
    """Returns a report's status and audit trail as the observer sees it."""
    lines = [
        t(
            "observer.timeline_header",
            number=report.number,
            kind=t(f"kind.{report.kind}"),
            status=t(f"status.{report.status}"),
            department=ctx.department_name(report.department),
            text=report.text[:500],
        )
    ]
    labels = {
        key.removeprefix("timeline.event."): text
        for key, text in catalogue().items()
        if key.startswith("timeline.event.")
    }
    for item in report_queries.events_of(session=ctx.session, report_id=report.id or 0):
        if item.action in labels:
            lines.append(
                t("observer.timeline_line", time=ctx.local(item.at), what=labels[item.action])
            )
    return "\n".join(lines)


def _report_press(event: Event, press: Press, ctx: Ctx, observer: Observer) -> None:
    """Opens a report, starts a follow-up, or records a rating — only on the observer's own."""
    report = ctx.session.get(Report, press.target)
    if report is None or report.observer_id != observer.id:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if press.act == Act.OPEN:
        ctx.out.reply_answer(report.number)
        keyboard = None
        if report.status in OPEN_STATUSES:
            keyboard = [
                [
                    Button(
                        t("observer.button_follow_up"),
                        Press(Act.FOLLOW_UP, report.id or 0).encode(),
                    )
                ]
            ]
        ctx.out.send(event.chat_id, _timeline(ctx, report), keyboard=keyboard)
    elif press.act == Act.FOLLOW_UP:
        if report.status not in OPEN_STATUSES:
            ctx.out.reply_answer(t("observer.follow_up_closed"), alert=True)
            return
        _set_step(ctx, observer, event.chat_id, f"followup:{report.id}")
        ctx.out.reply_answer(t("observer.follow_up_prompt"))
        ctx.out.send(event.chat_id, t("observer.follow_up_prompt"))
    elif press.act == Act.RATE:
        if press.arg == "unsatisfied":
            if report.status != ReportStatus.RESOLVED:
                ctx.out.reply_answer(t("common.stale_button"))
                return
            _set_step(ctx, observer, event.chat_id, f"reason:{report.id}")
            ctx.out.reply_answer(t("observer.rate_reason_prompt"))
            ctx.out.send(event.chat_id, t("observer.rate_reason_prompt"))
            return
        try:
            flows.rate(
                ctx.session,
                ctx.services,
                report_id=report.id or 0,
                observer=observer,
                rating=press.arg,
                reason="",
                now=ctx.now,
            )
        except Refused as refused:
            ctx.out.reply_answer(
                t(refused.key if refused.key.startswith("common") else "common.stale_button")
            )
            return
        ctx.out.reply_answer(t("observer.rate_thanks", rating=t(f"rating.{press.arg}")))
        ctx.out.edit(
            event.chat_id,
            event.message_id or 0,
            t("observer.rate_thanks", rating=t(f"rating.{press.arg}")),
        )


def _follow_up(event: Event, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Relays an observer's additional information to the department, under the card."""
    report = ctx.session.get(Report, int(draft.step.split(":", 1)[1]))
    _end_step(ctx, draft)
    if report is None or report.status not in OPEN_STATUSES or report.card_chat_id is None:
        ctx.out.send(event.chat_id, t("observer.follow_up_closed"))
        return
    chat = report.card_chat_id
    if event.text:
        ctx.out.send(
            chat,
            t("department.follow_up", number=report.number, text=event.text),
            reply_to=card_of(report.id or 0),
            report_id=report.id,
        )
    for item in event.attachments:
        ctx.out.media(
            chat, item.kind, item.file_id, reply_to=card_of(report.id or 0), report_id=report.id
        )
    if event.location:
        ctx.out.location(
            chat, *event.location, reply_to=card_of(report.id or 0), report_id=report.id
        )
    report_queries.add_event(
        session=ctx.session,
        report_id=report.id,
        actor=f"observer:{observer.id}",
        action="follow_up",
        at=ctx.now,
        details={"text": event.text[:1000]},
    )
    ctx.out.send(event.chat_id, t("observer.follow_up_sent", number=report.number))


def _rating_reason(event: Event, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Takes the reason for 不满意 and reopens the report to the same department."""
    if not event.text.strip():
        ctx.out.send(event.chat_id, t("observer.rate_reason_prompt"))
        return
    report_id = int(draft.step.split(":", 1)[1])
    _end_step(ctx, draft)
    try:
        report = flows.rate(
            ctx.session,
            ctx.services,
            report_id=report_id,
            observer=observer,
            rating="unsatisfied",
            reason=event.text.strip(),
            now=ctx.now,
        )
    except Refused:
        ctx.out.send(event.chat_id, t("common.stale_button"))
        return
    ctx.out.send(
        event.chat_id,
        t(
            "observer.reopened",
            number=report.number,
            department=ctx.department_name(report.department),
        ),
    )
    if report.card_chat_id is not None:
        from handlers.cards import card_keyboard, card_text

        ctx.out.send(
            report.card_chat_id,
            t("department.reopened", number=report.number, reason=event.text.strip()),
            reply_to=card_of(report.id or 0),
            report_id=report.id,
        )
        ctx.out.edit(
            report.card_chat_id,
            card_of(report.id or 0),
            card_text(ctx, report),
            keyboard=card_keyboard(ctx, report),
            report_id=report.id,
        )


# --- drafts: free text -----------------------------------------------------------------------


def _compose(event: Event, ctx: Ctx, observer: Observer, draft: Draft | None) -> None:
    """Adds a message to the observer's draft (creating it) and answers with a preview."""
    refused = limits.refusal(draft.data if draft is not None else {}, event)
    if refused is not None:
        limits.refuse(ctx, event.chat_id, draft, refused)
        if draft is not None and not ctx.followed and _draft_text(draft):
            _preview(ctx, observer, draft)  # the draft as it stands, with 提交 at hand
        return
    if draft is None:
        draft = _new_draft(ctx, observer, event, mode="free", step="compose")
    data = _absorb(event, dict(draft.data))
    data["rev"] = data.get("rev", 0) + 1
    draft.data = data
    _touch(ctx, draft)
    if ctx.followed:
        return  # more is already on its way: the last message answers with one preview
    limits.tell_held(ctx, draft)
    if not _draft_text(draft):
        if event.attachments:
            ctx.out.send(
                event.chat_id,
                t("observer.attachment_added", what=_what(event), count=len(data["attachments"])),
            )
        elif event.location:
            ctx.out.send(event.chat_id, t("observer.location_added"))
        else:
            ctx.out.send(event.chat_id, t("observer.empty_text"))
        return
    _preview(ctx, observer, draft)


def _absorb(event: Event, data: dict[str, Any]) -> dict[str, Any]:
    """Returns draft data with the event's text, attachments and location added."""
    texts = list(data.get("texts", []))
    if event.text.strip():
        texts.append(event.text.strip())
    attachments = list(data.get("attachments", []))
    attachments += [{"kind": a.kind, "file_id": a.file_id} for a in event.attachments]
    data.update(texts=texts, attachments=attachments, messages=limits.usage(data)[2] + 1)
    if event.location:
        data["location"] = {"lat": event.location[0], "lon": event.location[1]}
    if data.get("first_message_id") is None:
        data["first_message_id"] = event.message_id
    return data


def _what(event: Event) -> str:
    names = {"photo": "照片", "voice": "语音", "video": "视频", "document": "文件"}
    return "、".join(names[a.kind] for a in event.attachments)


def _draft_text(draft: Draft) -> str:
    texts = list(draft.data.get("texts", []))
    address = (draft.data.get("location") or {}).get("address")
    if address:
        texts.insert(0, f"地点：{address}")
    return "\n".join(texts)


def _decide(ctx: Ctx, observer: Observer, draft: Draft):  # type: ignore[no-untyped-def]
    station = ctx.session.get(Station, observer.station_code)
    region = station.region_code if station else None
    return ctx.services.router.route(
        _draft_text(draft), region, category=draft.data.get("category")
    ), station


def _preview(ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Sends the preview of a draft: kind, tags, destination, deadlines; submit or change."""
    decision, station = _decide(ctx, observer, draft)
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
        text=_draft_text(draft),
        attachments=attachment_summary(_attachment_items(draft)),
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


def _attachment_items(draft: Draft) -> list[dict[str, Any]]:
    items = list(draft.data.get("attachments", []))
    location = draft.data.get("location") or {}
    if "lat" in location:
        items.append({"kind": "location", "lat": location["lat"], "lon": location["lon"]})
    return items


def _submit(event: Event, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Commits the draft as a report, acknowledges it with its number and sends the card."""
    if not _draft_text(draft):
        ctx.out.reply_answer(t("observer.empty_text"), alert=True)
        return
    decision, station = _decide(ctx, observer, draft)
    if station is None:
        ctx.out.reply_answer(t("common.error"), alert=True)
        return
    report = flows.create_report(
        ctx.session,
        ctx.services,
        observer=observer,
        station=station,
        text=_draft_text(draft),
        kind=draft.data.get("kind"),
        category=draft.data.get("category"),
        decision=decision,
        source_chat_id=draft.chat_id,
        source_message_id=int(draft.data.get("first_message_id") or draft.id or 0),
        attachments=_attachment_items(draft),
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


# --- drafts: the guided form -----------------------------------------------------------------


def _start_guided(event: Event, ctx: Ctx, observer: Observer) -> None:
    """Starts the guided form, replacing an unfinished draft."""
    draft = _draft(ctx, observer)
    if draft is not None:
        ctx.session.delete(draft)
        ctx.session.flush()
    draft = _new_draft(ctx, observer, event, mode="guided", step="guided:kind")
    _touch(ctx, draft)
    _ask(ctx, draft)


def _ask(ctx: Ctx, draft: Draft) -> None:
    """Asks the question of the draft's current guided step."""
    step = draft.step.removeprefix("guided:")
    did = draft.id or 0
    if step == "kind":
        keyboard = [[Button(t(f"kind.{k}"), Press(Act.GUIDE, did, k).encode())] for k in KINDS]
        ctx.out.send(draft.chat_id, t("observer.guided_kind"), keyboard=keyboard)
    elif step == "category":
        tags = list(ctx.rules.tags.values())[:16]
        buttons = [Button(tag.name, Press(Act.GUIDE, did, tag.id).encode()) for tag in tags]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append(
            [Button(t("observer.guided_other_category"), Press(Act.GUIDE, did, "other").encode())]
        )
        ctx.out.send(draft.chat_id, t("observer.guided_category"), keyboard=rows)
    elif step == "location":
        ctx.out.send(
            draft.chat_id,
            t("observer.guided_location"),
            keyboard=[
                [
                    Button(
                        t("observer.guided_use_station"), Press(Act.GUIDE, did, "station").encode()
                    )
                ]
            ],
        )
    elif step == "description":
        ctx.out.send(draft.chat_id, t("observer.guided_description"))
    elif step == "photos":
        ctx.out.send(
            draft.chat_id,
            t("observer.guided_photos"),
            keyboard=[[Button(t("observer.guided_next"), Press(Act.GUIDE, did, "next").encode())]],
        )
    elif step == "urgency":
        ctx.out.send(
            draft.chat_id,
            t("observer.guided_urgency"),
            keyboard=[
                [
                    Button(t("observer.guided_urgent"), Press(Act.GUIDE, did, "urgent").encode()),
                    Button(t("observer.guided_normal"), Press(Act.GUIDE, did, "normal").encode()),
                ]
            ],
        )


def _advance(ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Moves the guided draft to its next step, or to the preview after the last one."""
    step = draft.step.removeprefix("guided:")
    index = GUIDED_STEPS.index(step)
    draft.data = {**draft.data, "rev": draft.data.get("rev", 0) + 1}
    if index + 1 < len(GUIDED_STEPS):
        draft.step = f"guided:{GUIDED_STEPS[index + 1]}"
        _touch(ctx, draft)
        _ask(ctx, draft)
    else:
        draft.step = "compose"
        _touch(ctx, draft)
        _preview(ctx, observer, draft)


def _guided_press(event: Event, press: Press, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Takes a button answer in the guided form, if it answers the current step."""
    step = draft.step.removeprefix("guided:")
    data = dict(draft.data)
    valid = {
        "kind": press.arg in KINDS,
        "category": press.arg in ctx.rules.tags or press.arg == "other",
        "location": press.arg == "station",
        "photos": press.arg == "next",
        "urgency": press.arg in ("urgent", "normal"),
    }
    if not valid.get(step, False):
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if step == "kind":
        data["kind"] = press.arg
    elif step == "category":
        data["category"] = None if press.arg == "other" else press.arg
    elif step == "location":
        station = ctx.session.get(Station, observer.station_code)
        data["location"] = {"address": station.name if station else ""}
    elif step == "urgency":
        data["urgent"] = press.arg == "urgent"
    draft.data = data
    ctx.out.reply_answer("✓")
    _advance(ctx, observer, draft)


def _guided_input(event: Event, ctx: Ctx, observer: Observer, draft: Draft) -> None:
    """Takes a typed or sent answer in the guided form."""
    step = draft.step.removeprefix("guided:")
    data = dict(draft.data)
    refused = limits.refusal(data, event) if step in ("description", "photos") else None
    if refused is not None:
        limits.refuse(ctx, event.chat_id, draft, refused)
        return
    if step == "location" and (event.location or event.text.strip()):
        if event.location:
            data["location"] = {"lat": event.location[0], "lon": event.location[1]}
        else:
            data["location"] = {"address": event.text.strip()[:200]}
        draft.data = data
        _advance(ctx, observer, draft)
    elif step == "description" and event.text.strip():
        draft.data = _absorb(event, data)
        _advance(ctx, observer, draft)
    elif step == "photos" and event.attachments:
        draft.data = _absorb(event, data)
        _touch(ctx, draft)
        ctx.out.send(
            event.chat_id,
            t("observer.attachment_added", what=_what(event), count=len(draft.data["attachments"])),
        )
    elif step == "description":
        ctx.out.send(event.chat_id, t("observer.guided_need_text"))
    else:
        _ask(ctx, draft)


# --- rows ------------------------------------------------------------------------------------


def _observer(ctx: Ctx, event: Event) -> Observer | None:
    if event.user_id is None:
        return None
    return people.observer_of_user(ctx.session, user_id=event.user_id)


def _new_draft(ctx: Ctx, observer: Observer, event: Event, *, mode: str, step: str) -> Draft:
    """Returns a fresh draft whose report will be known by the event's message."""
    data = {
        "mode": mode,
        "rev": 0,
        "texts": [],
        "attachments": [],
        "first_message_id": event.message_id,
    }
    return Draft(
        observer_id=observer.id or 0,
        chat_id=event.chat_id,
        step=step,
        data=data,
        created_at=ctx.now,
        updated_at=ctx.now,
    )


def _draft(ctx: Ctx, observer: Observer) -> Draft | None:
    return ctx.session.exec(select(Draft).where(Draft.observer_id == observer.id)).first()


def _touch(ctx: Ctx, draft: Draft) -> None:
    draft.updated_at = ctx.now
    ctx.session.add(draft)
    ctx.session.flush()


def _set_step(ctx: Ctx, observer: Observer, chat_id: int, step: str) -> None:
    """Puts the conversation in a one-message step; an unfinished draft waits underneath."""
    draft = _draft(ctx, observer)
    if draft is None:
        draft = Draft(
            observer_id=observer.id or 0, chat_id=chat_id, step=step, data={}, created_at=ctx.now
        )
    elif draft.step == "compose" or draft.step.startswith("guided:"):
        draft.data = {**draft.data, "resume_step": draft.step}
    draft.step = step
    _touch(ctx, draft)


def _end_step(ctx: Ctx, draft: Draft) -> None:
    """Ends a one-message step: resumes the draft underneath, or removes the row."""
    resume = draft.data.get("resume_step")
    if resume:
        draft.data = {k: v for k, v in draft.data.items() if k != "resume_step"}
        draft.step = resume
        _touch(ctx, draft)
    else:
        ctx.session.delete(draft)
