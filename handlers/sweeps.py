"""Reminder sweeps: each threshold of each report's deadline fires exactly once.

Deadlines are data and reminders are sweeps (docs/ARCHITECTURE.md, decision 4).

A sweep is disposable: it can run at any time, any number of times, in several processes;
everything it knows is in rows. One sweep does three things:

1. **Plan.** An open report has one running deadline: sign-for while routed, resolve (a
   suggestion's reply) while signed. The first sweep that sees a deadline instance
   (report, deadline, due_at) computes its thresholds once and stores them as planned
   ``ReminderMark`` rows: each configured fraction of the window (of working time for a
   working-day window, ``deadlines.threshold_times``, measured from the event that started the
   clock and leaving out the pauses recorded in the audit trail), ``overdue`` at the due time
   and ``escalated`` one ``escalation.escalate_after`` later. A transfer, a reopen, an approved
   extension or a re-route gives the report a new due time, which is a new instance with fresh
   marks (a threshold that fell before the event that set the due time is stored as skipped);
   marks of an instance that no longer runs are voided when they come due.
2. **Fire.** Reports with a planned mark whose instant has passed are claimed (on PostgreSQL
   ``FOR UPDATE SKIP LOCKED``: a second instance skips them). Each due mark is settled and its
   messages are queued in the outbox in the same transaction, with idempotency keys derived
   from (report, deadline, due_at, threshold): a repeated sweep, a crash before the commit or a
   second instance can never queue a message twice.
3. **Catch up quietly.** When several thresholds of one deadline passed since the last sweep
   (the bot was down), only the latest is sent; the earlier ones are marked ``skipped``. When
   ``overdue`` is skipped because ``escalated`` passed too, the card is still marked 已超时
   (an edit, not a notice), but dispatch gets the red card only.

Who is told:

- a fraction (50 %, 80 %): the department group, replying to the report's card;
- ``overdue``: the card is edited to show 已超时, and the dispatch group (the report's region,
  falling back upward) gets a yellow card 🟡;
- ``escalated``: a red card 🔴 督办 to the escalation department's group and, when
  ``escalation.leaders`` is on, to every supervising leader whose scope contains the report's
  region.

Thresholds are planned with the rules in force when the deadline instance is first seen; a
rules reload applies to new instances. The sweep also warns administrators once a day (from
09:00 local time) while next year's working-day calendar is missing, from 1 December.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlmodel import Session

from bot.core.deadlines import DEFAULT_OPEN_OF_BUSINESS, Due, due_at, threshold_times
from bot.core.durations import time_left
from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.services import Services, access
from bot.services.clocks import deadline_clock, deadline_window
from bot.services.reports import find_binding
from handlers.actions import Button, Outbox, card_of
from handlers.callbacks import Act, Press
from handlers.cards import card_keyboard, card_text
from handlers.context import Ctx
from storage import outbox, reminders
from storage.db import session_scope
from storage.models import (
    ReminderMark,
    ReminderState,
    Report,
    ReportEvent,
    ReportKind,
    ReportStatus,
)

log = logging.getLogger(__name__)

SIGN = reminders.SIGN
RESOLVE = reminders.RESOLVE
OVERDUE = reminders.OVERDUE
ESCALATED = "escalated"
DEFAULT_LIMIT = 1000
# The audit-trail events that start, pause or move a deadline's clock.
DUE_CHANGES = {
    "sign": ("created", "transferred", "routed_by_dispatch"),
    "resolve": ("created", "transferred", "routed_by_dispatch", "reopened", "extension_approved"),
}
CLOCK_EVENTS = tuple(sorted(set(DUE_CHANGES["sign"]) | set(DUE_CHANGES["resolve"])))
WARN_FROM = dt.time(9, 0)  # administrators' calendar warning: not before this local time
SUMMARY_LIMIT = 80
_LOGGED_DAYS: set[dt.date] = set()  # days the missing calendar was logged (nobody to tell)
ANALYZE_AFTER = 500  # planning this many deadlines at once refreshes PostgreSQL's statistics


@dataclass(slots=True)
class SweepResult:
    """What one sweep did."""

    planned: int = 0  # deadline instances whose thresholds were computed
    fired: int = 0  # thresholds whose messages were queued
    skipped: int = 0  # thresholds passed together with a later one of the same deadline
    voided: int = 0  # planned thresholds of deadlines that no longer run
    queued: int = 0  # outbox rows queued
    warnings: int = 0  # calendar warnings queued to administrators
    more: bool = False  # a limit was reached: sweep again soon


def threshold_label(fraction: float) -> str:
    """Return the stored name of a fraction threshold, e.g. ``"0.5"``."""
    return f"{fraction:g}"


def _rank(threshold: str) -> float:
    """Order thresholds of one deadline: fractions, then overdue, then escalated."""
    if threshold == ESCALATED:
        return 3.0
    if threshold == OVERDUE:
        return 2.0
    return float(threshold)


def running_deadline(report: Report) -> tuple[str, dt.datetime] | None:
    """Return the deadline the report's handlers are working against now, and its due time."""
    if report.status == ReportStatus.ROUTED and report.sign_due_at is not None:
        return SIGN, report.sign_due_at
    if report.status == ReportStatus.SIGNED and report.resolve_due_at is not None:
        return RESOLVE, report.resolve_due_at
    return None


def escalation_time(services: Services, due: dt.datetime) -> dt.datetime:
    """Return when an overdue deadline is escalated (督办): ``escalate_after`` past ``due``."""
    later = due_at(
        due,
        services.rules.escalation.escalate_after,
        calendar=services.calendar,
        tz=services.tz,
        close_of_business=services.close_of_business,
    )
    return later.at.astimezone(dt.UTC)


def plan_marks(
    services: Services, report: Report, *, events: Sequence[ReportEvent], now: dt.datetime
) -> list[dict[str, Any]]:
    """Return the marks of the report's running deadline, its clock read from ``events``.

    Thresholds are measured from the clock's start, skipping recorded pauses. A threshold that
    fell before the event that set this due time (an approved extension, a report resumed after
    a return) belongs to the earlier deadline and is stored as already skipped.
    """
    running = running_deadline(report)
    if running is None or report.id is None:
        return []
    deadline, due = running
    clock = deadline_clock(events, deadline=deadline, created_at=report.created_at)
    start = min(clock.start, due)
    began = max([start, *(e.at for e in events if e.action in DUE_CHANGES[deadline])])
    window = deadline_window(
        services, kind=report.kind, sla_class=report.sla_class, deadline=deadline
    )
    zone = services.tz
    due_info = Due(
        at=due.astimezone(zone),
        start=start.astimezone(zone),
        window=window,
        tz=zone,
        close_of_business=services.close_of_business,
    )
    fractions = services.rules.reminder_thresholds
    instants = threshold_times(
        start,
        due_info,
        fractions,
        calendar=services.calendar,
        open_of_business=DEFAULT_OPEN_OF_BUSINESS,
        paused_intervals=clock.pauses,
    )
    planned = [(threshold_label(f), at) for f, at in zip(fractions, instants, strict=True)]
    planned += [(OVERDUE, due), (ESCALATED, escalation_time(services, due))]
    return [
        {
            "report_id": report.id,
            "deadline": deadline,
            "due_at": due,
            "threshold": threshold,
            "fire_at": at.astimezone(dt.UTC),
            "state": ReminderState.SKIPPED if at < began else ReminderState.PLANNED,
            "fired_at": now if at < began else None,
        }
        for threshold, at in planned
    ]


def sweep(services: Services, *, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> SweepResult:
    """Plan new deadlines, fire every threshold due by ``now`` once, warn about the calendar."""
    result = SweepResult()
    _plan(services, now=now, limit=limit, result=result)
    _fire(services, now=now, limit=limit, result=result)
    _warn_missing_calendar(services, now=now, result=result)
    if result.fired or result.planned or result.voided or result.warnings:
        log.info(
            "sweep planned=%s fired=%s skipped=%s voided=%s queued=%s warnings=%s more=%s",
            result.planned,
            result.fired,
            result.skipped,
            result.voided,
            result.queued,
            result.warnings,
            result.more,
        )
    return result


# --- planning ----------------------------------------------------------------------------------


def _plan(services: Services, *, now: dt.datetime, limit: int, result: SweepResult) -> None:
    """Compute and store the thresholds of deadline instances no sweep has seen yet."""
    with session_scope(services.engine) as session:
        reports = reminders.unplanned_reports(session=session, limit=limit)
        if not reports:
            return
        events = reminders.events_of_reports(
            session=session,
            report_ids=[report.id for report in reports if report.id is not None],
            actions=CLOCK_EVENTS,
        )
        by_report: dict[int, list[ReportEvent]] = {}
        for event in events:
            by_report.setdefault(event.report_id or 0, []).append(event)
        marks: list[dict[str, Any]] = []
        for report in reports:
            marks.extend(
                plan_marks(services, report, events=by_report.get(report.id or 0, []), now=now)
            )
        reminders.add_planned(session=session, marks=marks)
    if len(reports) >= ANALYZE_AFTER:
        with session_scope(services.engine) as session:
            reminders.refresh_statistics(session=session)
    result.planned = len(reports)
    result.more = result.more or len(reports) >= limit


# --- firing ------------------------------------------------------------------------------------


def _fire(services: Services, *, now: dt.datetime, limit: int, result: SweepResult) -> None:
    """Claim reports with due thresholds, settle the thresholds and queue their messages."""
    with session_scope(services.engine) as session:
        claimed = reminders.claim_due_reports(session=session, now=now, limit=limit)
        if not claimed:
            return
        result.more = result.more or len(claimed) >= limit
        reports = {report.id or 0: report for report in claimed}
        marks = reminders.due_marks(session=session, report_ids=list(reports), now=now)
        ctx = Ctx(services=services, session=session, now=now)
        chosen: list[tuple[Report, str, dt.datetime, ReminderMark, list[ReminderMark]]] = []

        def instance(mark: ReminderMark) -> tuple[int, str, dt.datetime]:
            return mark.report_id, mark.deadline, mark.due_at

        for (report_id, deadline, due), group in groupby(marks, key=instance):
            report = reports[report_id]
            if running_deadline(report) != (deadline, due):
                result.voided += reminders.void_instance(
                    session=session, report_id=report_id, deadline=deadline, due_at=due, now=now
                )
                continue
            ordered = sorted(group, key=lambda mark: (mark.fire_at, _rank(mark.threshold)))
            chosen.append((report, deadline, due, ordered[-1], ordered[:-1]))
        # The conditional update is the fence: a mark settled by anyone else is not sent.
        won = reminders.settle(
            session=session,
            mark_ids=[latest.id or 0 for _, _, _, latest, _ in chosen],
            state=ReminderState.SENT,
            now=now,
        )
        skipped_ids: list[int] = []
        for report, deadline, due, latest, earlier in chosen:
            if latest.id not in won:
                continue
            skipped = {mark.threshold for mark in earlier}
            _announce(ctx, report, deadline, due, latest.threshold, skipped=skipped)
            skipped_ids.extend(mark.id or 0 for mark in earlier)
            result.fired += 1
            log.info(
                "threshold fired report=%s deadline=%s threshold=%s skipped=%s",
                report.number,
                deadline,
                latest.threshold,
                ",".join(sorted(skipped)) or "-",
            )
        result.skipped += len(
            reminders.settle(
                session=session, mark_ids=skipped_ids, state=ReminderState.SKIPPED, now=now
            )
        )
        result.queued += _queue(session, ctx.out, now=now)


def _queue(session: Session, out: Outbox, *, now: dt.datetime) -> int:
    """Write the collected calls to the outbox (keys make a repeat a no-op); return how many."""
    assert all(call.key is not None for call in out.calls), "every sweep message has its key"
    return outbox.enqueue_many(session=session, messages=out.rows(prefix="sweep", now=now))


def _step(report: Report, deadline: str) -> str:
    """Return the catalogue suffix of the deadline's step: sign, resolve or reply."""
    if deadline == SIGN:
        return "sign"
    return "reply" if report.kind == ReportKind.SUGGESTION else "resolve"


def _summary(report: Report) -> str:
    """Return the report's text, numbers masked, cut short for a notice."""
    text = " ".join(mask_personal_numbers(report.text).split())
    return text if len(text) <= SUMMARY_LIMIT else text[:SUMMARY_LIMIT] + "…"


def _announce(
    ctx: Ctx,
    report: Report,
    deadline: str,
    due: dt.datetime,
    threshold: str,
    *,
    skipped: set[str],
) -> None:
    """Queue the messages of one fired threshold (see the module docstring for who is told)."""
    rid = report.id or 0
    key = f"rm:{rid}:{deadline}:{int(due.timestamp())}:{threshold}"
    card_chat = outbox.card_chat(session=ctx.session, report=report)
    marks_card = threshold == OVERDUE or (threshold == ESCALATED and OVERDUE in skipped)
    # A card drawn since the due time shows 已超时 already; editing it to the same text would
    # be refused by Telegram ("message is not modified").
    if (
        marks_card
        and card_chat is not None
        and not reminders.card_drawn_since(
            session=ctx.session, chat_id=card_chat, report_id=rid, since=due
        )
    ):
        ctx.out.edit(
            card_chat,
            card_of(rid),
            card_text(ctx, report),
            keyboard=card_keyboard(ctx, report),
            report_id=rid,
            key=f"{key}:card",
        )
    if threshold == OVERDUE:
        _yellow_card(ctx, report, deadline, due, key=key)
    elif threshold == ESCALATED:
        _red_card(ctx, report, deadline, due, key=key)
    else:
        _fraction_reminder(ctx, report, deadline, due, threshold, card_chat=card_chat, key=key)


def _fraction_reminder(
    ctx: Ctx,
    report: Report,
    deadline: str,
    due: dt.datetime,
    threshold: str,
    *,
    card_chat: int | None,
    key: str,
) -> None:
    """Remind the department group, replying to the card, that part of the window has passed."""
    chat = card_chat
    if chat is None:
        binding = find_binding(
            ctx.session, department=report.department, region=report.target_region
        )
        chat = binding.chat_id if binding is not None else None
    if chat is None:
        log.warning("no department group for reminder report=%s", report.number)
        return
    text = t(
        f"reminder.fraction_{_step(report, deadline)}",
        number=report.number,
        left=time_left(due, ctx.now),
        due=ctx.local(due),
    )
    reply_to = card_of(report.id or 0) if card_chat is not None else None
    ctx.out.send(
        chat, text, reply_to=reply_to, purpose="reminder", report_id=report.id, key=f"{key}:group"
    )


def _card_values(ctx: Ctx, report: Report, deadline: str, due: dt.datetime) -> dict[str, str]:
    """Return the placeholders the yellow and red cards share."""
    return {
        "badge": t(
            "department.badge_urgent" if report.priority == "urgent" else "department.badge_normal"
        ),
        "kind": t(f"kind.{report.kind}"),
        "number": report.number,
        "department": ctx.department_name(report.department),
        "region": ctx.region_name(report.target_region),
        "step": t(f"reminder.step_{_step(report, deadline)}"),
        "due": ctx.local(due),
        "summary": _summary(report),
    }


def _yellow_card(ctx: Ctx, report: Report, deadline: str, due: dt.datetime, *, key: str) -> None:
    """Tell the dispatch group a report is overdue (黄牌)."""
    binding = find_binding(ctx.session, department=ctx.rules.dispatch, region=report.region_code)
    if binding is None:
        log.warning("no dispatch group for overdue report=%s", report.number)
        return
    text = t(
        "reminder.yellow",
        escalate_at=ctx.local(escalation_time(ctx.services, due)),
        **_card_values(ctx, report, deadline, due),
    )
    ctx.out.send(
        binding.chat_id,
        text,
        keyboard=urge_keyboard(report),
        purpose="overdue",
        report_id=report.id,
        key=f"{key}:dispatch",
    )


def _red_card(ctx: Ctx, report: Report, deadline: str, due: dt.datetime, *, key: str) -> None:
    """Ask the supervising leaders and the escalation department to supervise (督办, 红牌)."""
    chats = access.supervisor_chats(ctx.session, ctx.services, report)
    if not chats:
        log.warning("nobody to escalate to report=%s", report.number)
        return
    text = t("reminder.red", **_card_values(ctx, report, deadline, due))
    for chat in chats:
        ctx.out.send(
            chat,
            text,
            keyboard=urge_keyboard(report),
            purpose="escalation",
            report_id=report.id,
            key=f"{key}:chat{chat}",
        )


def urge_keyboard(report: Report) -> list[list[Button]]:
    """Return the 催办 button of a yellow or red card."""
    return [[Button(t("urge.button"), Press(Act.URGE, report.id or 0).encode())]]


# --- the administrators' calendar warning ------------------------------------------------------


def _warn_missing_calendar(services: Services, *, now: dt.datetime, result: SweepResult) -> None:
    """Warn each administrator once a day while next year's working days are only a guess."""
    local = now.astimezone(services.tz)
    if local.time() < WARN_FROM:
        return
    year = services.calendar.missing_next_year(local.date())
    if year is None:
        return
    if not services.admin_ids:
        if local.date() not in _LOGGED_DAYS:  # a log line a day, not one a minute
            _LOGGED_DAYS.add(local.date())
            log.warning("working-day calendar missing year=%s and no ADMIN_USER_IDS to tell", year)
        return
    text = t("reminder.calendar_missing", year=year)
    with session_scope(services.engine) as session:
        for admin in sorted(services.admin_ids):
            result.warnings += outbox.enqueue(
                session=session,
                chat_id=admin,
                payload={"chat_id": admin, "text": text},
                idempotency_key=f"calendar:{year}:{local.date().isoformat()}:{admin}",
                now=now,
                purpose="calendar_warning",
            )
    result.queued += result.warnings
    if result.warnings:
        log.warning("working-day calendar missing year=%s admins_told=%s", year, result.warnings)
