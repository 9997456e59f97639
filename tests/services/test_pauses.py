"""A return to dispatch pauses the resolve clock until dispatch re-routes the report.

The pause is recorded in the audit trail; the resolve deadline moves by the working time lost
(``shift_due``), the sign-for clock restarts for the new department, and the reminder sweep
measures thresholds with the pause left out.
"""

from __future__ import annotations

from sqlmodel import Session, select

from bot.core.authority import Actor
from bot.services import dispatching, extensions
from bot.services.clocks import Clock, deadline_clock
from storage import reminders
from storage.models import Report, ReportEvent, ReportStatus
from tests import factories
from tests.handlers.conftest import (
    DISPATCH_GROUP,
    DISPATCHER,
    ENV_GROUP,
    ENV_HANDLER,
    HANDLER,
    WATER_GROUP,
)
from tests.handlers.harness import World
from tests.handlers.test_sweeps import local, submit, sweep_at, the_report

FILED = local(26, 10)  # Thursday; resolve (5 working days) due Thursday 3 December 18:00
RETURNED = local(27, 10)  # Friday
REROUTED = local(30, 10)  # Monday: 9 working hours later (Fri 10-18, Mon 9-10)


def _return_and_reroute(world: World) -> Report:
    """File a report, return it on Friday, and let dispatch route it to environment on Monday."""
    card = submit(world)
    world.now = RETURNED
    prompt = next(
        s for s in world.press(HANDLER, card, card.button("退回")) if s.purpose == "prompt"
    )
    sent = world.reply(HANDLER, prompt, "不属于水务职责")
    dispatch_card = next(s for s in sent if s.purpose == "card")
    assert the_report(world).status == ReportStatus.DISPATCH
    world.now = REROUTED
    world.press(DISPATCHER, dispatch_card, dispatch_card.button("生态环境"))
    return the_report(world)


def test_the_resolve_clock_pauses_while_the_report_waits_in_dispatch(world: World) -> None:
    report = _return_and_reroute(world)
    assert report.status == ReportStatus.ROUTED and report.department == "environment"
    assert report.sign_due_at == local(1, 18, month=12)  # restarted: 1 working day from Monday
    assert report.resolve_due_at == local(4, 18, month=12)  # 3 Dec 18:00 + 9 working hours
    with Session(world.services.engine) as session:
        events = list(
            session.exec(select(ReportEvent).where(ReportEvent.report_id == report.id)).all()
        )
    routed = next(e for e in events if e.action == "routed_by_dispatch")
    assert routed.details["paused"] == [RETURNED.isoformat(), REROUTED.isoformat()]
    assert deadline_clock(events, deadline="resolve", created_at=report.created_at) == Clock(
        FILED, ((RETURNED, REROUTED),)
    )
    assert deadline_clock(events, deadline="sign", created_at=report.created_at) == Clock(REROUTED)


def test_resolve_reminders_leave_the_pause_out(world: World) -> None:
    _return_and_reroute(world)
    env_card = next(s for s in world.transcript if s.purpose == "card" and s.chat_id == ENV_GROUP)
    world.now = local(30, 11)
    world.press(ENV_HANDLER, env_card, env_card.button("签收"))
    report = the_report(world)
    assert report.status == ReportStatus.SIGNED
    # 50 % of 45 working hours, minus the pause: Fri 1 h, Mon 8 h, Tue 9 h, Wed 4.5 h.
    # Without the pause it would have been Tuesday 13:30.
    _, sent = sweep_at(world, local(1, 14, month=12))
    assert sent == []
    with Session(world.services.engine) as session:
        marks = reminders.marks_of(session=session, report_id=report.id or 0)
    half = next(m for m in marks if m.deadline == "resolve" and m.threshold == "0.5")
    assert half.fire_at == local(2, 13, 30, month=12)
    _, sent = sweep_at(world, local(2, 13, 30, month=12))
    assert [(s.chat_id, s.purpose) for s in sent] == [(ENV_GROUP, "reminder")]
    assert "12月4日 18:00" in sent[0].text


def test_an_unrouted_report_starts_both_clocks_when_dispatch_routes_it(world: World) -> None:
    with Session(world.services.engine) as session:
        obs = factories.observer(session, station_code="GZ-YX-001")
        report = factories.report(
            session,
            obs=obs,
            status=ReportStatus.DISPATCH,
            department="social_work",
            created_at=FILED,
            sign_due_at=local(27, 18),
            resolve_due_at=local(3, 18, month=12),
        )
        dispatching.route_from_dispatch(
            session,
            world.services,
            report_id=report.id or 0,
            department="environment",
            by=Actor(chat_id=DISPATCH_GROUP, user_id=DISPATCHER),
            now=REROUTED,
        )
        session.commit()
        routed = session.exec(
            select(ReportEvent).where(ReportEvent.action == "routed_by_dispatch")
        ).one()
        assert "paused" not in routed.details
        assert report.sign_due_at == local(1, 18, month=12)
        assert report.resolve_due_at == local(7, 18, month=12)  # 5 working days from Monday


def test_an_extension_does_not_repeat_thresholds_that_passed_before_it(world: World) -> None:
    with Session(world.services.engine) as session:
        obs = factories.observer(session, station_code="GZ-YX-001")
        report = factories.report(
            session,
            obs=obs,
            status=ReportStatus.SIGNED,
            department="water",
            target_region="440100",
            created_at=FILED,
            sign_due_at=local(27, 18),
            resolve_due_at=local(3, 18, month=12),
        )
        session.commit()
        report_id = report.id or 0
    _, sent = sweep_at(world, local(3, 10, month=12))  # past 80 % (Wed 2 Dec 18:00)
    assert [s.purpose for s in sent] == ["reminder"] and "还剩" in sent[0].text
    with Session(world.services.engine) as session:
        request = extensions.request_extension(
            session,
            world.services,
            report_id=report_id,
            days=3,
            reason="需要协调多个部门",
            by=Actor(chat_id=WATER_GROUP, user_id=HANDLER),
            now=local(3, 10, month=12),
        )
        extensions.decide_extension(
            session,
            world.services,
            report_id=report_id,
            request_id=request.id or 0,
            approve=True,
            by=Actor(chat_id=DISPATCH_GROUP, user_id=DISPATCHER),
            now=local(3, 10, month=12),
        )
        session.commit()
    # The new deadline (Tue 8 Dec 18:00, 72 working hours) has its 50 % on Wed 2 Dec, before
    # the approval: not sent again. Its 80 % is Monday 7 December 12:36.
    _, sent = sweep_at(world, local(3, 10, 1, month=12))
    assert sent == []
    _, sent = sweep_at(world, local(7, 12, 36, month=12))
    assert [s.purpose for s in sent] == ["reminder"]
    assert "还剩" in sent[0].text and "12月8日 18:00" in sent[0].text
