"""Reminder sweeps: each threshold fires once, on both databases, with time passed in."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_services
from bot.core.durations import time_left
from bot.core.messages import t
from bot.core.workdays import WorkCalendar, YearCalendar
from handlers.sweeps import SweepResult, plan_marks, sweep
from storage import reminders
from storage.models import (
    Leader,
    OutboxMessage,
    ReminderMark,
    ReminderState,
    Report,
    ReportKind,
    ReportStatus,
)
from tests import factories
from tests.handlers.conftest import (
    ADMIN,
    DISPATCH_GROUP,
    DISPATCHER,
    HANDLER,
    HOUSING_GROUP,
    OBSERVER,
    WATER_GROUP,
    register,
)
from tests.handlers.harness import Sent, World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    """Return an instant given in Guangzhou wall time (2026)."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


# A report filed Thursday 26 Nov 10:00 with the normal SLA (sign for within 1 working day) is
# due Friday 27 Nov 18:00. Working time runs Friday 09:00-18:00, so 50 % is 13:30, 80 % 16:12;
# escalation is one working day after the due time: Monday 30 Nov 18:00.
HALF, EIGHTY, DUE, ESCALATE = local(27, 13, 30), local(27, 16, 12), local(27, 18), local(30, 18)
MINUTE = dt.timedelta(minutes=1)


def submit(world: World, text: str = "东濠涌河涌发臭，水面漂着垃圾") -> Sent:
    """Register the observer, file a report (routed to the water group) and return its card."""
    register(world)
    preview = world.message(OBSERVER, text)[0]
    sent = world.press(OBSERVER, preview, preview.button("提交"))
    return next(s for s in sent if s.purpose == "card")


def sweep_at(
    world: World, when: dt.datetime, *, warnings: bool = False, **kwargs: int
) -> tuple[SweepResult, list[Sent]]:
    """Sweep at ``when`` and deliver what it queued (calendar warnings only if asked for)."""
    world.now = when
    result = sweep(world.services, now=when, **kwargs)
    sent = world.deliver()
    return result, [s for s in sent if warnings or s.purpose != "calendar_warning"]


def the_report(world: World) -> Report:
    with Session(world.services.engine) as session:
        return session.exec(select(Report).order_by(col(Report.id))).first()  # type: ignore[return-value]


def marks(world: World, report_id: int) -> dict[tuple[str, str], str]:
    """Return {(deadline due time, threshold): state} of a report's marks."""
    with Session(world.services.engine) as session:
        rows = reminders.marks_of(session=session, report_id=report_id)
    return {(row.due_at.isoformat(), row.threshold): row.state for row in rows}


def test_each_threshold_fires_once_across_repeated_sweeps(world: World) -> None:
    card = submit(world)
    assert card.chat_id == WATER_GROUP
    seen: list[Sent] = []
    for when in (HALF - MINUTE, HALF, HALF + MINUTE, EIGHTY, EIGHTY + 5 * MINUTE):
        seen += sweep_at(world, when)[1]
    reminders_sent = [s for s in seen if s.purpose == "reminder"]
    assert [s.chat_id for s in reminders_sent] == [WATER_GROUP, WATER_GROUP]
    # Time left in words, not a percentage of the window.
    assert time_left(DUE, HALF) in reminders_sent[0].text
    assert time_left(DUE, EIGHTY) in reminders_sent[1].text
    assert "%" not in reminders_sent[0].text
    for sent in reminders_sent:  # a reply to the card
        assert sent.payload["reply_parameters"]["message_id"] == card.message_id
    assert "11月27日 18:00" in reminders_sent[0].text

    seen = []
    for when in (DUE - MINUTE, DUE, DUE + MINUTE, ESCALATE - MINUTE):
        seen += sweep_at(world, when)[1]
    edit = next(s for s in seen if s.method == "editMessageText")
    assert edit.chat_id == WATER_GROUP and edit.message_id == card.message_id
    assert "待签收 ⚠️已超时" in edit.text and edit.buttons() == card.buttons()
    yellow = [s for s in seen if s.purpose == "overdue"]
    assert [s.chat_id for s in yellow] == [DISPATCH_GROUP] and "🟡" in yellow[0].text
    assert "11月30日 18:00" in yellow[0].text  # when it will be escalated
    assert len(seen) == 2

    seen = []
    for when in (ESCALATE, ESCALATE + MINUTE, ESCALATE + dt.timedelta(days=3)):
        seen += sweep_at(world, when)[1]
    assert [(s.chat_id, s.purpose) for s in seen] == [(DISPATCH_GROUP, "escalation")]
    assert "🔴" in seen[0].text and "督办" in seen[0].text

    report = the_report(world)
    assert set(marks(world, report.id or 0).values()) == {ReminderState.SENT}


def test_a_restart_across_a_threshold_fires_it_once(world: World) -> None:
    submit(world)
    assert sweep_at(world, HALF - MINUTE)[1] == []
    # A new process: new services and engine on the same database, nothing kept in memory.
    restarted = build_services(
        world.services.settings, engine=world.services.engine, clock=world.clock
    )
    world.services = restarted
    first = sweep_at(world, HALF + 10 * MINUTE)[1]
    again = sweep_at(world, HALF + 11 * MINUTE)[1]
    assert [s.purpose for s in first] == ["reminder"] and again == []


def test_downtime_over_several_thresholds_sends_only_the_latest(world: World) -> None:
    submit(world)
    sweep_at(world, local(26, 10, 5))  # planned while the bot was up
    result, sent = sweep_at(world, EIGHTY + 30 * MINUTE)  # down from Thursday to Friday 16:42
    assert [s.purpose for s in sent] == ["reminder"]
    assert time_left(DUE, EIGHTY + 30 * MINUTE) in sent[0].text
    assert (result.fired, result.skipped) == (1, 1)
    report = the_report(world)
    states = {threshold: state for (_, threshold), state in marks(world, report.id or 0).items()}
    assert states == {
        "0.5": ReminderState.SKIPPED,
        "0.8": ReminderState.SENT,
        "overdue": ReminderState.PLANNED,
        "escalated": ReminderState.PLANNED,
    }
    # Down again over the due time and the escalation: the card is still marked overdue, and
    # only the red card is sent (not the yellow one as well).
    result, sent = sweep_at(world, ESCALATE + dt.timedelta(hours=2))
    assert sorted(s.purpose for s in sent) == ["edit", "escalation"]
    assert "已超时" in next(s for s in sent if s.purpose == "edit").text
    assert (result.fired, result.skipped) == (1, 1)


def test_a_card_redrawn_after_the_due_time_is_not_edited_again(world: World) -> None:
    card = submit(world)
    world.now = DUE + MINUTE
    menu = next(
        s for s in world.press(HANDLER, card, card.button("转办")) if s.method == "editMessageText"
    )
    back = world.press(HANDLER, menu, menu.button("返回"))
    assert "已超时" in back[0].text  # the redraw already shows it
    _, sent = sweep_at(world, DUE + 2 * MINUTE)
    assert [s.purpose for s in sent] == ["overdue"]


def test_a_report_first_seen_after_its_thresholds_passed_fires_once(world: World) -> None:
    submit(world)
    result, sent = sweep_at(world, DUE + 2 * MINUTE)  # never swept before
    assert result.planned == 1 and result.fired == 1 and result.skipped == 2
    assert sorted(s.purpose for s in sent) == ["edit", "overdue"]


def test_signing_stops_sign_reminders_and_starts_resolve_ones(world: World) -> None:
    card = submit(world)
    sweep_at(world, local(26, 10, 1))
    world.now = local(27, 9)
    world.press(HANDLER, card, card.button("签收"))
    result, sent = sweep_at(world, DUE + MINUTE)
    assert sent == [] and result.voided == 4
    report = the_report(world)
    assert report.status == ReportStatus.SIGNED
    # Resolve: 5 working days from the 26th -> Thursday 3 Dec 18:00; 45 working hours.
    assert report.resolve_due_at == local(3, 18, month=12)
    states = marks(world, report.id or 0)
    resolve = {k[1]: v for k, v in states.items() if k[0] == local(3, 18, month=12).isoformat()}
    assert resolve == dict.fromkeys(("0.5", "0.8", "overdue", "escalated"), "planned")
    # 50 % of 45 working hours (Fri 9h, Mon-Wed 27h) is Tuesday 1 Dec 13:30.
    _, sent = sweep_at(world, local(1, 13, 30, month=12))
    assert [s.purpose for s in sent] == ["reminder"] and "办结提醒" in sent[0].text


def test_a_transfer_gives_the_new_deadline_fresh_marks(world: World) -> None:
    card = submit(world)
    _, sent = sweep_at(world, HALF)
    assert [s.chat_id for s in sent] == [WATER_GROUP]
    world.now = HALF + MINUTE
    menu = next(
        s for s in world.press(HANDLER, card, card.button("转办")) if s.method == "editMessageText"
    )
    new_card = next(
        s for s in world.press(HANDLER, menu, menu.button("住房")) if s.purpose == "card"
    )
    report = the_report(world)
    # The sign-for clock restarted on Friday 13:31: due Monday 18:00; 50 % on Monday 13:30.
    assert report.sign_due_at == local(30, 18)
    _, sent = sweep_at(world, EIGHTY)  # the old deadline's 80 % has no meaning any more
    assert sent == []
    _, sent = sweep_at(world, local(30, 13, 30))
    assert [(s.chat_id, s.purpose) for s in sent] == [(HOUSING_GROUP, "reminder")]
    assert sent[0].payload["reply_parameters"]["message_id"] == new_card.message_id
    states = marks(world, report.id or 0)
    old = {k[1]: v for k, v in states.items() if k[0] == DUE.isoformat()}
    assert old == {"0.5": "sent", "0.8": "void", "overdue": "void", "escalated": "void"}


def test_escalation_goes_to_supervising_leaders_in_scope_only(world: World) -> None:
    with Session(world.services.engine) as session:
        session.add(Leader(name="广州市领导", chat_id=5101, scope_region="440100", supervises=True))
        session.add(Leader(name="省领导", chat_id=5102, scope_region="440000", supervises=True))
        session.add(Leader(name="深圳市领导", chat_id=5103, scope_region="440300", supervises=True))
        session.add(Leader(name="只看周报", chat_id=5104, scope_region="440100", supervises=False))
        session.commit()
    submit(world)
    _, sent = sweep_at(world, ESCALATE + MINUTE)
    red = [s for s in sent if s.purpose == "escalation"]
    assert sorted(s.chat_id for s in red) == sorted([5101, 5102, DISPATCH_GROUP])
    assert all("督办" in s.text and "东濠涌" in s.text for s in red)


def test_a_signed_suggestion_without_a_card_is_reminded_to_reply(world: World) -> None:
    with Session(world.services.engine) as session:
        obs = factories.observer(session, station_code="GZ-YX-001")
        report = factories.report(
            session,
            obs=obs,
            kind=ReportKind.SUGGESTION,
            status=ReportStatus.SIGNED,
            department="water",
            target_region="440100",
            created_at=local(26, 10),
            sign_due_at=DUE,
            resolve_due_at=local(10, 18, month=12),
        )
        session.commit()
        number = report.number
    _, sent = sweep_at(world, local(4, 13, 30, month=12))
    assert [(s.chat_id, s.purpose) for s in sent] == [(WATER_GROUP, "reminder")]
    assert "答复提醒" in sent[0].text and "reply_parameters" not in sent[0].payload
    _, sent = sweep_at(world, local(10, 18, month=12))
    # No card to edit: dispatch is told all the same.
    assert [(s.chat_id, s.purpose) for s in sent] == [(DISPATCH_GROUP, "overdue")]
    assert "答复时限" in sent[0].text and number in sent[0].text


def _plain_reports(engine: Engine, count: int) -> list[int]:
    """Add ``count`` routed reports filed at 10:00 on the 26th, due on the 27th at 18:00."""
    with Session(engine) as session:
        obs = factories.observer(session, station_code="GZ-YX-001")
        ids = [
            factories.report(
                session,
                obs=obs,
                department="water",
                target_region="440100",
                created_at=local(26, 10),
                sign_due_at=DUE,
                resolve_due_at=local(3, 18, month=12),
            ).id
            for _ in range(count)
        ]
        session.commit()
    return [i for i in ids if i is not None]


def test_two_sweepers_on_postgresql_fire_each_threshold_once(world: World) -> None:
    if world.services.engine.dialect.name != "postgresql":
        pytest.skip("row claims with SKIP LOCKED are a PostgreSQL feature")
    ids = _plain_reports(world.services.engine, 40)
    assert sweep(world.services, now=local(26, 10, 1)).planned == 40
    results: dict[str, list[SweepResult]] = {"a": [], "b": []}
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            start.wait()
            while True:
                result = sweep(world.services, now=HALF + MINUTE, limit=3)
                results[name].append(result)
                if result.fired == 0 and not result.more:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    fired = {name: sum(r.fired for r in rs) for name, rs in results.items()}
    assert sum(fired.values()) == 40, fired
    with Session(world.services.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "reminder")).all()
        sent_marks = session.exec(
            select(ReminderMark).where(ReminderMark.state == ReminderState.SENT)
        ).all()
    assert Counter(row.report_id for row in rows) == Counter(ids)
    assert sorted(mark.report_id for mark in sent_marks) == sorted(ids)


def test_a_report_another_sweeper_holds_is_skipped_not_waited_for(world: World) -> None:
    if world.services.engine.dialect.name != "postgresql":
        pytest.skip("row claims with SKIP LOCKED are a PostgreSQL feature")
    held, free = _plain_reports(world.services.engine, 2)
    sweep(world.services, now=local(26, 10, 1))
    results: list[SweepResult] = []
    with Session(world.services.engine) as other:  # another instance, mid-sweep on one report
        other.exec(select(Report).where(Report.id == held).with_for_update()).one()
        thread = threading.Thread(
            target=lambda: results.append(sweep(world.services, now=HALF + MINUTE))
        )
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the sweep waited for the locked report"
        other.rollback()
    assert results[0].fired == 1
    with Session(world.services.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "reminder")).all()
    assert [row.report_id for row in rows] == [free]
    assert sweep(world.services, now=HALF + 2 * MINUTE).fired == 1  # its turn comes next


def test_the_limit_leaves_the_rest_for_the_next_round(world: World) -> None:
    _plain_reports(world.services.engine, 5)
    first = sweep(world.services, now=HALF, limit=2)
    assert first.planned == 2 and first.fired == 2 and first.more
    rounds = [sweep(world.services, now=HALF, limit=2) for _ in range(3)]
    assert sum(r.fired for r in rounds) == 3 and not rounds[-1].more


def test_plan_marks_of_an_hour_window_use_wall_clock_time(world: World) -> None:
    report = Report(
        id=1,
        number="GD-20261126-0001",
        kind=ReportKind.PROBLEM,
        observer_id=1,
        station_code="GZ-YX-001",
        region_code="440104",
        text="x",
        source_chat_id=1,
        source_message_id=1,
        sla_class="urgent",
        department="water",
        target_region="440100",
        status=ReportStatus.ROUTED,
        sign_due_at=local(26, 12),
        resolve_due_at=local(27, 10),
        created_at=local(26, 10),
    )
    rows = plan_marks(world.services, report, events=[], now=local(26, 10, 1))
    planned = {row["threshold"]: row["fire_at"] for row in rows}
    assert planned["0.5"] == local(26, 11) and planned["0.8"] == local(26, 11, 36)
    assert planned["overdue"] == local(26, 12) and planned["escalated"] == local(27, 18)


def test_the_calendar_warning_is_sent_daily_from_1_december_only(world: World) -> None:
    def warnings(when: dt.datetime) -> list[Sent]:
        sent = sweep_at(world, when, warnings=True)[1]
        return [s for s in sent if s.purpose == "calendar_warning"]

    assert world.services.calendar.source_for(2027) == "fallback"
    assert warnings(local(30, 10)) == []  # 30 November
    assert warnings(local(1, 8, 59, month=12)) == []  # before office hours
    first = warnings(local(1, 9, month=12))
    assert [s.chat_id for s in first] == [ADMIN] and "2027" in first[0].text
    assert warnings(local(1, 17, month=12)) == []  # once a day
    assert [s.chat_id for s in warnings(local(2, 9, 30, month=12))] == [ADMIN]
    # Once the administrator supplies 2027, the warning stops.
    world.services.calendar = WorkCalendar([YearCalendar(2027, {dt.date(2027, 1, 1): "元旦"})])
    assert warnings(local(3, 10, month=12)) == []


def test_yellow_and_red_cards_can_press_the_department(world: World) -> None:
    card = submit(world)
    yellow = next(s for s in sweep_at(world, DUE + MINUTE)[1] if s.purpose == "overdue")
    assert yellow.buttons() == [(t("urge.button"), yellow.button("催办"))]
    # Another department's group cannot use it, whatever message it presses on.
    assert world.press(HANDLER, card, yellow.button("催办")) == []
    assert world.last_answer() == t("authority.not_your_report")
    urged = world.press(DISPATCHER, yellow, yellow.button("催办"))
    (to_group,) = urged
    assert to_group.chat_id == WATER_GROUP and "催办" in to_group.text and "已超时" in to_group.text
    assert to_group.payload["reply_parameters"]["message_id"] == card.message_id
    assert world.last_answer() == t("urge.done")
    # Once an hour at most.
    assert world.press(DISPATCHER, yellow, yellow.button("催办")) == []
    assert world.last_answer() == t("urge.too_soon")
    red = next(s for s in sweep_at(world, ESCALATE)[1] if s.purpose == "escalation")
    world.now = ESCALATE + 2 * dt.timedelta(hours=1)
    assert world.press(DISPATCHER, red, red.button("催办"))
