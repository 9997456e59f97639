"""An observer's own reports (我的反映, /my): a paged list, and each report's timeline in plain
words with what the observer can do next (补充, 催办 once a deadline has passed, 撤回)."""

from __future__ import annotations

from bot.core import lifecycle
from bot.core.lifecycle import Action
from bot.core.messages import catalogue, t
from bot.services.observer_steps import overdue
from handlers.actions import Button, Keyboard
from handlers.callbacks import Act, Press
from handlers.context import Ctx
from handlers.events import Event
from handlers.notify import office_name
from handlers.observer.steps import on_step_press
from storage import reports as report_queries
from storage.models import OPEN_STATUSES, Observer, Report, ReportStatus

PAGE = 5  # reports a page: a short list reads well on a small phone
_MOVES = ("transferred", "routed_by_dispatch")  # events whose details name the next department


def list_reports(event: Event, ctx: Ctx, observer: Observer, page: int = 1) -> None:
    """Sends page ``page`` (from 1) of the observer's reports, newest first, as buttons."""
    text, keyboard = _page(ctx, observer, page)
    ctx.out.send(event.chat_id, text, keyboard=keyboard)


def _page(ctx: Ctx, observer: Observer, page: int) -> tuple[str, Keyboard | None]:
    total = report_queries.count_reports_of_observer(
        session=ctx.session, observer_id=observer.id or 0
    )
    if not total:
        return t("observer.my_empty"), None
    pages = (total + PAGE - 1) // PAGE
    page = min(max(page, 1), pages)
    found = report_queries.reports_of_observer(
        session=ctx.session, observer_id=observer.id or 0, limit=PAGE, offset=(page - 1) * PAGE
    )
    keyboard: Keyboard = [
        [
            Button(
                t(
                    "observer.my_line",
                    number=r.number,
                    kind=t(f"kind.{r.kind}"),
                    status=_status(ctx, r),
                ),
                Press(Act.OPEN, r.id or 0).encode(),
            )
        ]
        for r in found
    ]
    turn = []
    if page > 1:
        turn.append(Button(t("observer.my_previous"), Press(Act.MY_PAGE, page - 1).encode()))
    if page < pages:
        turn.append(Button(t("observer.my_next"), Press(Act.MY_PAGE, page + 1).encode()))
    if turn:
        keyboard.append(turn)
    return t("observer.my_header", page=page, pages=pages, total=total), keyboard


def on_report_press(event: Event, press: Press, ctx: Ctx, observer: Observer) -> None:
    """Turns a page of the list, opens a report, or takes a step on it — only the observer's own."""
    if press.act == Act.MY_PAGE:
        text, keyboard = _page(ctx, observer, press.target)
        ctx.out.reply_answer(t("observer.my_page", page=press.target))
        ctx.out.edit(event.chat_id, event.message_id or 0, text, keyboard=keyboard)
        return
    report = ctx.session.get(Report, press.target)
    if report is None or report.observer_id != observer.id:
        ctx.out.reply_answer(t("common.stale_button"))
        return
    if press.act == Act.OPEN:
        ctx.out.reply_answer(report.number)
        ctx.out.send(event.chat_id, timeline(ctx, report), keyboard=_next_steps(ctx, report))
    else:
        on_step_press(event, press, ctx, observer, report)


def _next_steps(ctx: Ctx, report: Report) -> Keyboard | None:
    """Returns the buttons for what the observer can do with the report now."""
    rid = report.id or 0
    row = []
    if report.status in OPEN_STATUSES:
        row.append(Button(t("observer.button_follow_up"), Press(Act.FOLLOW_UP, rid).encode()))
    if overdue(report, ctx.now) is not None:
        row.append(Button(t("observer.button_remind"), Press(Act.URGE, rid).encode()))
    if report.status in (ReportStatus.ROUTED, ReportStatus.DISPATCH):
        row.append(Button(t("observer.button_withdraw"), Press(Act.WITHDRAW, rid).encode()))
    return [row] if row else None


def timeline(ctx: Ctx, report: Report) -> str:
    """Returns a report's state and history as the observer reads it, in plain words."""
    if report.kind == "sentiment":
        holder = t("observer.timeline_sentiment")
    elif report.status == ReportStatus.DISPATCH:
        holder = office_name(ctx, ctx.rules.dispatch, report.region_code)
    else:
        holder = office_name(ctx, report.department, report.target_region)
    lines = [
        t(
            "observer.timeline_header",
            number=report.number,
            kind=t(f"kind.{report.kind}"),
            status=_status(ctx, report),
            department=holder,
            text=report.text[:500],
        )
    ]
    due = _due_line(ctx, report)
    if due:
        lines.append(due)
    lines.append(t("observer.timeline_history"))
    labels = {
        key.removeprefix("observer.events."): text
        for key, text in catalogue().items()
        if key.startswith("observer.events.")
    }
    for item in report_queries.events_of(session=ctx.session, report_id=report.id or 0):
        what = labels.get(item.action)
        if what is None:
            continue
        moved_to = item.details.get("to") if item.action in _MOVES else None
        if moved_to:
            what += t("observer.events_to", department=ctx.department_name(str(moved_to)))
        lines.append(t("observer.timeline_line", time=ctx.local(item.at), what=what))
    return "\n".join(lines)


def _status(ctx: Ctx, report: Report) -> str:
    """Returns the report's status in words; a withdrawn report reads as such, not 已办结."""
    withdrawn = lifecycle.step(Action.WITHDRAW).event
    if report.status == ReportStatus.CLOSED and any(
        e.action == withdrawn
        for e in report_queries.events_of(session=ctx.session, report_id=report.id or 0)
    ):
        return t("observer.status_withdrawn")
    return t(f"status.{report.status}")


def _due_line(ctx: Ctx, report: Report) -> str:
    """Returns by when the department must act next, or that the time has passed."""
    late = overdue(report, ctx.now)
    if late is not None:
        return t(f"observer.timeline_late_{late[0]}", due=ctx.local(late[1]))
    if report.status == ReportStatus.ROUTED and report.sign_due_at is not None:
        return t("observer.timeline_due_sign", due=ctx.local(report.sign_due_at))
    if report.status == ReportStatus.SIGNED and report.resolve_due_at is not None:
        return t("observer.timeline_due_resolve", due=ctx.local(report.resolve_due_at))
    return ""
