"""Texts and buttons built from reports: department cards and observer notices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.core import lifecycle
from bot.core.durations import time_left
from bot.core.lifecycle import Action
from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.services import access, joining
from handlers.actions import Button, Keyboard, fit, utf16_len
from handlers.callbacks import Act, Press
from handlers.context import Ctx
from storage import reports as report_queries
from storage.models import Report, ReportEvent, ReportKind, ReportStatus, Station

CARD_TEXT_LIMIT = 2500  # the card's body; the rest of a long report is sent on request (查看全文)


def tag_names(ctx: Ctx, tags: list[str] | tuple[str, ...]) -> str:
    """Return the Chinese names of tags, joined for display."""
    names = [ctx.rules.tags[tag].name if tag in ctx.rules.tags else tag for tag in tags]
    return "、".join(names) or t("common.none")


def attachment_summary(attachments: list[dict[str, str]]) -> str:
    """Return e.g. ``照片2、语音1`` for a list of attachments."""
    labels = {
        "photo": "照片",
        "voice": "语音",
        "video": "视频",
        "document": "文件",
        "location": "位置",
    }
    counts: dict[str, int] = {}
    for item in attachments:
        counts[item.get("kind", "document")] = counts.get(item.get("kind", "document"), 0) + 1
    return "、".join(f"{labels.get(k, k)}{n}" for k, n in counts.items()) or t("common.none")


def deadlines_line(ctx: Ctx, report: Report, *, prefix: str) -> str:
    """Return the deadlines line of a card or preview."""
    if report.kind == ReportKind.SENTIMENT:
        return t("observer.preview_no_deadlines")
    key = f"{prefix}_suggestion" if report.kind == ReportKind.SUGGESTION else prefix
    return t(
        key, sign_due=ctx.local(report.sign_due_at), resolve_due=ctx.local(report.resolve_due_at)
    )


def is_overdue(report: Report, now: dt.datetime) -> bool:
    """Return True when the report's running deadline (sign-for, or resolve once signed) passed."""
    if report.status == ReportStatus.ROUTED:
        return report.sign_due_at is not None and report.sign_due_at <= now
    if report.status == ReportStatus.SIGNED:
        return report.resolve_due_at is not None and report.resolve_due_at <= now
    return False


def card_text(ctx: Ctx, report: Report, *, actor: str = "") -> str:
    """Return the text of a report's card in a department or dispatch group (numbers masked)."""
    station = ctx.session.get(Station, report.station_code)
    body = mask_personal_numbers(report.text)
    if utf16_len(body) > CARD_TEXT_LIMIT:  # Telegram counts UTF-16 units
        body = fit(body, CARD_TEXT_LIMIT) + "…" + t("department.text_truncated")
    overdue = t("reminder.card_overdue") if is_overdue(report, ctx.now) else ""
    events = report_queries.events_of(session=ctx.session, report_id=report.id or 0)
    urgent = report.priority == "urgent"
    text = t(
        "department.card",
        badge=t("department.badge_urgent" if urgent else "department.badge_normal"),
        kind=t(f"kind.{report.kind}"),
        number=report.number,
        urgency=t("department.card_urgent") if urgent else "",
        status=t(f"status.{report.status}") + overdue,
        actor=_actor_line(ctx, events, actor),
        submitted=ctx.local(report.created_at),
        left=_time_left_line(ctx, report),
        tags=tag_names(ctx, report.tags),
        station=station.name if station else report.station_code,
        region=ctx.region_name(report.region_code),
        deadlines=deadlines_line(ctx, report, prefix="department.card_deadlines"),
        text=body,
        attachments=attachment_summary(report.attachments),
        explanation=report.routing.get("explanation", ""),
    )
    returned = last_return(report, events)
    if returned:
        text += "\n" + t(
            "dispatch.card_returned",
            department=ctx.department_name(returned.get("from", "")),
            reason=mask_personal_numbers(returned.get("reason", "")),
        )
    if report.status == ReportStatus.DISPATCH:
        ranked = dispatch_candidates(ctx, report, events)
        candidates = [ctx.department_name(dept) for dept in ranked]
        if candidates:
            text += "\n" + t("dispatch.card_candidates", candidates="、".join(candidates))
    same = joining.card_line(joining.issue_of(ctx.session, report.id or 0))
    if same:
        text += "\n" + same
    notes = sum(1 for e in events if e.action == "note")
    if notes:
        text += "\n" + t("department.card_notes", count=notes)
    if report.status in lifecycle.OPEN:
        text += "\n" + t("department.card_hint")
    return text


# How each lifecycle action appears on a card: its label and the button it sends.
CARD_BUTTON: dict[Action, tuple[str, Act]] = {
    Action.SIGN: ("department.button_sign", Act.SIGN),
    Action.TRANSFER: ("department.button_transfer", Act.TRANSFER),
    Action.RETURN: ("department.button_return", Act.RETURN),
    Action.RESOLVE: ("department.button_resolve", Act.RESOLVE),
    Action.EXTEND: ("extension.button", Act.EXTEND),
    Action.ANSWER: ("department.button_answer", Act.ANSWER),
    Action.ROUTE: ("dispatch.button_other", Act.TRANSFER),  # opens the department list
    Action.CLOSE: ("dispatch.button_close", Act.CLOSE),
}


# Actions whose audit events say who moved the report last (shown on its card).
ACTED = ("signed", "transferred", "returned", "resolved", "routed_by_dispatch", "reopened")


def _actor_line(ctx: Ctx, events: Sequence[ReportEvent], actor: str) -> str:
    """Return ``（张工 12月2日 14:20）``: who acted just now, or who last moved the report."""
    if actor:
        return t("department.card_actor", who=actor, when=ctx.local(ctx.now))
    last = max(
        (e for e in events if e.action in ACTED and e.details.get("who")),
        key=lambda e: (e.at, e.id or 0),
        default=None,
    )
    if last is None:
        return ""
    return t("department.card_actor", who=last.details["who"], when=ctx.local(last.at))


def _time_left_line(ctx: Ctx, report: Report) -> str:
    """Return ``｜签收还剩4小时`` for the deadline running now (nothing when none runs)."""
    if report.status == ReportStatus.ROUTED and report.sign_due_at is not None:
        step, due = "department.left_sign", report.sign_due_at
    elif report.status == ReportStatus.SIGNED and report.resolve_due_at is not None:
        suggestion = report.kind == ReportKind.SUGGESTION
        step = "department.left_reply" if suggestion else "department.left_resolve"
        due = report.resolve_due_at
    else:
        return ""
    return t(step, left=time_left(due, ctx.now))


def card_keyboard(ctx: Ctx, report: Report) -> Keyboard | None:
    """Return the buttons a card shows now (None when nothing is left); 查看全文 when long."""
    rows = _status_keyboard(ctx, report)
    if not has_more_text(report):
        return rows
    more = Button(t("department.button_full_text"), Press(Act.FULL_TEXT, report.id or 0).encode())
    return [*(rows or []), [more]]


def has_more_text(report: Report) -> bool:
    """Return True when the card shows only the first part of the report's text."""
    return utf16_len(mask_personal_numbers(report.text)) > CARD_TEXT_LIMIT


def rest_of_text(report: Report) -> str:
    """Return the part of the report's text (numbers masked) that its card does not show."""
    body = mask_personal_numbers(report.text)
    return body[len(fit(body, CARD_TEXT_LIMIT)) :]


def _status_keyboard(ctx: Ctx, report: Report) -> Keyboard | None:
    """Return the buttons of the card's current status.

    The actions come from the lifecycle table; dispatch's card starts with one 分拨 button per
    candidate department.
    """
    rid = report.id or 0
    rows: Keyboard = []
    if report.status == ReportStatus.DISPATCH:
        events = report_queries.events_of(session=ctx.session, report_id=rid)
        rows = [
            [Button(f"📤 {ctx.department_name(dept)}", Press(Act.ROUTE_TO, rid, dept).encode())]
            for dept in dispatch_candidates(ctx, report, events)
        ]
    for actions in lifecycle.card_buttons(report.status):
        row = [
            Button(t(CARD_BUTTON[action][0]), Press(CARD_BUTTON[action][1], rid).encode())
            for action in actions
        ]
        if row:
            rows.append(row)
    same = same_issue_row(ctx, report)
    if same:
        rows.append(same)
    return rows or None


def same_issue_row(ctx: Ctx, report: Report) -> list[Button]:
    """Return 合并 (when the group holds other open reports it could take in) and 拆分 (when
    reports are joined to this one), as the lifecycle allows them now."""
    rid = report.id or 0
    row: list[Button] = []
    if report.duplicate_of is not None:
        return row
    chat = access.holder_chat(ctx.session, ctx.services, report)
    if (
        chat is not None
        and lifecycle.allows(report.status, Action.MERGE)
        and joining.merge_choices(ctx.session, report, chat_id=chat, limit=1)
    ):
        row.append(Button(t("joining.button_merge"), Press(Act.MERGE, rid).encode()))
    if lifecycle.allows(report.status, Action.SPLIT) and joining.members_of(ctx.session, rid):
        row.append(Button(t("joining.button_split"), Press(Act.SPLIT, rid).encode()))
    return row


def dispatch_candidates(
    ctx: Ctx, report: Report, events: Sequence[ReportEvent], *, limit: int = 4
) -> list[str]:
    """Return the departments dispatch is offered first: the router's candidates, best first,
    with the department that just returned the report last (it said it is not theirs)."""
    returned_by = last_return(report, events).get("from")
    ranked = [
        dept
        for dept, _ in report.routing.get("candidates", [])
        if dept in ctx.rules.departments and dept != ctx.rules.dispatch
    ]
    ranked.sort(key=lambda dept: dept == returned_by)
    return ranked[:limit]


def last_return(report: Report, events: Sequence[ReportEvent]) -> dict[str, str]:
    """Return the details of the return (退回) that sent the report to dispatch, if it did."""
    if report.status != ReportStatus.DISPATCH:
        return {}
    moves = ("created", "transferred", "routed_by_dispatch", "returned", "reopened", "no_group")
    last = max(
        (e for e in events if e.action in moves), key=lambda e: (e.at, e.id or 0), default=None
    )
    return dict(last.details) if last is not None and last.action == "returned" else {}


def transfer_keyboard(ctx: Ctx, report: Report) -> Keyboard:
    """Return one button per department (two per row) and a way back."""
    rid = report.id or 0
    act = Act.ROUTE_TO if report.status == ReportStatus.DISPATCH else Act.TRANSFER_TO
    choices = [
        dept
        for dept in ctx.rules.departments
        if dept not in (report.department, ctx.rules.dispatch)
    ]
    buttons = [
        Button(ctx.department_name(dept), Press(act, rid, dept).encode()) for dept in choices
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([Button(t("department.button_back"), Press(Act.BACK, rid).encode())])
    return rows


def rating_keyboard(report: Report) -> Keyboard:
    """Return the three rating buttons for a resolved report."""
    rid = report.id or 0
    return [
        [
            Button(t(f"rating.{r}"), Press(Act.RATE, rid, r).encode())
            for r in ("satisfied", "basic", "unsatisfied")
        ]
    ]
