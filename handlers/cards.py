"""Texts and buttons built from reports: department cards and observer notices."""

from __future__ import annotations

import datetime as dt

from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from handlers.actions import Button, Keyboard, fit, utf16_len
from handlers.callbacks import Act, Press
from handlers.context import Ctx
from storage.models import Report, ReportKind, ReportStatus, Station

CARD_TEXT_LIMIT = 2500  # the card's body; the rest of a long report follows as messages


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
    text = t(
        "department.card",
        badge=t(
            "department.badge_urgent" if report.priority == "urgent" else "department.badge_normal"
        ),
        kind=t(f"kind.{report.kind}"),
        number=report.number,
        status=t(f"status.{report.status}") + overdue,
        actor=t("department.card_actor", who=actor, when=ctx.local(ctx.now)) if actor else "",
        tags=tag_names(ctx, report.tags),
        station=station.name if station else report.station_code,
        region=ctx.region_name(report.region_code),
        deadlines=deadlines_line(ctx, report, prefix="department.card_deadlines"),
        text=body,
        attachments=attachment_summary(report.attachments),
        explanation=report.routing.get("explanation", ""),
    )
    if report.status == ReportStatus.DISPATCH:
        candidates = [
            f"{ctx.department_name(dept)}({score:.1f})"
            for dept, score in report.routing.get("candidates", [])[:3]
            if dept != ctx.rules.dispatch
        ]
        if candidates:
            text += "\n" + t("dispatch.card_candidates", candidates="、".join(candidates))
    return text


def card_keyboard(ctx: Ctx, report: Report) -> Keyboard | None:
    """Return the buttons a card shows in its current status (None when nothing is left)."""
    rid = report.id or 0
    if report.status == ReportStatus.ROUTED:
        return [
            [Button(t("department.button_sign"), Press(Act.SIGN, rid).encode())],
            [
                Button(t("department.button_transfer"), Press(Act.TRANSFER, rid).encode()),
                Button(t("department.button_return"), Press(Act.RETURN, rid).encode()),
            ],
        ]
    if report.status == ReportStatus.SIGNED:
        return [
            [
                Button(t("department.button_resolve"), Press(Act.RESOLVE, rid).encode()),
                Button(t("extension.button"), Press(Act.EXTEND, rid).encode()),
            ],
            [
                Button(t("department.button_transfer"), Press(Act.TRANSFER, rid).encode()),
                Button(t("department.button_return"), Press(Act.RETURN, rid).encode()),
            ],
        ]
    if report.status == ReportStatus.DISPATCH:
        ranked = [
            dept
            for dept, _ in report.routing.get("candidates", [])
            if dept in ctx.rules.departments and dept != ctx.rules.dispatch
        ][:4]
        rows = [
            [Button(f"📤 {ctx.department_name(dept)}", Press(Act.ROUTE_TO, rid, dept).encode())]
            for dept in ranked
        ]
        rows.append(
            [
                Button(t("department.button_transfer"), Press(Act.TRANSFER, rid).encode()),
                Button(t("dispatch.button_close"), Press(Act.CLOSE, rid).encode()),
            ]
        )
        return rows
    return None


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
