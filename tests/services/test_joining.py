"""Joining reports of one issue, merging and splitting them by hand, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from bot.core.authority import Actor
from bot.errors import Refused
from bot.services import joining
from bot.services.joined import follow_primary
from storage.models import (
    ReminderMark,
    ReminderState,
    Report,
    ReportEvent,
    ReportKind,
    ReportStatus,
)
from tests import factories
from tests.handlers.harness import World

NOW = factories.NOW
DUE = NOW + dt.timedelta(days=1)
GROUP, STRANGER = -5001, -5002  # the group holding the cards, and another department's group
HOLDER = Actor(chat_id=GROUP, user_id=9, name="张工")
SYSTEM = Actor(chat_id=0, user_id=0)  # a stand-in actor where only the joining is under test


@pytest.fixture
def session(world: World) -> Iterator[Session]:  # type: ignore[override]
    """A session on the world's database, with a station and three observers of it."""
    with Session(world.services.engine, expire_on_commit=False) as opened:
        station = factories.station(opened, code="ST-JOIN", region="440104001")
        opened.info["observers"] = [
            factories.observer(opened, station_code=station.code) for _ in range(3)
        ]
        yield opened  # closed (rolled back) before the database is emptied


def _report(session: Session, n: int, **values: object) -> Report:
    """Add an open report from observer ``n`` with a sign-for deadline and a planned mark."""
    fields: dict[str, object] = {
        "sign_due_at": DUE,
        "resolve_due_at": DUE,
        "region_code": "440104001",
        "card_chat_id": GROUP,
    }
    fields.update(values)
    report = factories.report(session, obs=session.info["observers"][n], **fields)
    mark = ReminderMark(
        report_id=report.id, deadline="sign", due_at=DUE, threshold="0.5", fire_at=NOW
    )
    session.add(mark)
    session.flush()
    return report


def _actions(session: Session, report: Report) -> list[str]:
    rows = session.exec(select(ReportEvent).where(ReportEvent.report_id == report.id)).all()
    return [row.action for row in rows]


def _by(session: Session, report: Report) -> Actor:
    """The observer who filed ``report``, acting in their private chat."""
    return Actor(chat_id=7000 + report.observer_id, observer_id=report.observer_id)


def _join(world: World, session: Session, report: Report, into: Report) -> joining.Issue:
    return joining.join(
        session,
        world.services,
        report_id=report.id or 0,
        into_id=into.id or 0,
        by=_by(session, report),
        now=NOW,
    )


def test_a_joined_report_has_no_deadline_and_the_card_counts_it(
    world: World, session: Session
) -> None:
    a, b = _report(session, 0), _report(session, 1)
    issue = _join(world, session, b, a)
    session.commit()
    assert b.duplicate_of == a.id
    assert (b.sign_due_at, b.resolve_due_at) == (None, None)
    marks = session.exec(select(ReminderMark).where(ReminderMark.report_id == b.id)).all()
    assert [m.state for m in marks] == [ReminderState.VOID]
    assert joining.card_line(issue) == "同一问题 ×2（2位观察员）"
    assert joining.card_line(joining.issue_of(session, a.id)) == "同一问题 ×2（2位观察员）"
    assert joining.follow_up_text(b).startswith(f"补充反映 {b.number}：")
    assert joining.observers_to_tell(session, b.id) == [a.observer_id, b.observer_id]
    assert "joined" in _actions(session, b) and "follow_up_joined" in _actions(session, a)
    event = session.exec(select(ReportEvent).where(ReportEvent.action == "joined")).one()
    assert event.actor == f"observer:{b.observer_id}"
    again = _join(world, session, b, a)
    assert again.reports == 2 and _actions(session, b).count("joined") == 1


def test_only_the_reports_own_observer_may_join_it(world: World, session: Session) -> None:
    a, b = _report(session, 0), _report(session, 1)
    with pytest.raises(Refused):
        joining.join(
            session, world.services, report_id=b.id, into_id=a.id, by=_by(session, a), now=NOW
        )
    assert b.duplicate_of is None


def test_joining_into_a_follow_up_joins_its_primary(world: World, session: Session) -> None:
    a, b, c = _report(session, 0), _report(session, 1), _report(session, 1)
    _join(world, session, b, a)
    issue = _join(world, session, c, b)
    assert c.duplicate_of == a.id
    assert joining.card_line(issue) == "同一问题 ×3（2位观察员）"


def test_merge_brings_the_other_card_and_its_follow_ups(world: World, session: Session) -> None:
    a, b = _report(session, 0), _report(session, 1)
    c, d = _report(session, 2), _report(session, 2)
    _join(world, session, b, a)
    _join(world, session, d, c)
    issue = joining.merge(
        session, world.services, primary_id=b.id, other_id=d.id, by=HOLDER, now=NOW
    )
    assert issue.primary.id == a.id and issue.reports == 4
    assert {r.duplicate_of for r in (b, c, d)} == {a.id}
    assert "merged" in _actions(session, a) and "merged" in _actions(session, c)
    merged = session.exec(select(ReportEvent).where(ReportEvent.action == "merged")).first()
    assert merged is not None and merged.actor == "user:9" and merged.details["who"] == "张工"
    assert joining.card_line(issue) == "同一问题 ×4（3位观察员）"


def test_a_group_merges_only_cards_it_holds(world: World, session: Session) -> None:
    a, b = _report(session, 0), _report(session, 1)
    foreign = _report(session, 2, card_chat_id=STRANGER)
    stranger = Actor(chat_id=STRANGER, user_id=10)
    for by, primary, other in ((stranger, a, b), (HOLDER, a, foreign), (stranger, foreign, a)):
        with pytest.raises(Refused) as refused:
            joining.merge(
                session, world.services, primary_id=primary.id, other_id=other.id, by=by, now=NOW
            )
        assert refused.value.key == "authority.not_your_report"
    assert {r.duplicate_of for r in (a, b, foreign)} == {None}
    with pytest.raises(Refused):  # nor split what another group holds
        _join(world, session, b, a)
        joining.split(session, world.services, report_id=b.id, by=stranger, now=NOW)
    assert b.duplicate_of == a.id


def test_split_gives_the_report_its_own_deadlines_again(world: World, session: Session) -> None:
    a, b = _report(session, 0), _report(session, 1)
    _join(world, session, b, a)
    later = NOW + dt.timedelta(hours=3)
    split = joining.split(session, world.services, report_id=b.id, by=HOLDER, now=later)
    assert split.duplicate_of is None
    assert split.sign_due_at is not None and split.sign_due_at > later
    assert "split" in _actions(session, a) and "split" in _actions(session, b)
    assert joining.card_line(joining.issue_of(session, a.id)) == ""
    with pytest.raises(Refused) as refused:
        joining.split(session, world.services, report_id=b.id, by=HOLDER, now=later)
    assert refused.value.key == "joining.not_joined"


def test_joined_reports_are_resolved_with_their_primary(world: World, session: Session) -> None:
    a, b = _report(session, 0), _report(session, 1)
    _join(world, session, b, a)
    a.status, a.resolved_at = ReportStatus.RESOLVED, NOW
    assert follow_primary(session, a, now=NOW) == [b]
    assert b.status == ReportStatus.RESOLVED and "with_primary" in _actions(session, b)
    assert follow_primary(session, a, now=NOW) == []  # once


def test_what_cannot_be_joined_is_refused(world: World, session: Session) -> None:
    a = _report(session, 0)
    record = _report(session, 1, kind=ReportKind.SENTIMENT, status=ReportStatus.RECORDED)
    with pytest.raises(Refused) as refused:
        _join(world, session, a, a)
    assert refused.value.key == "joining.same_report"
    with pytest.raises(Refused):  # a sentiment record is not handled: nothing to join
        _join(world, session, record, a)


def test_the_digest_counts_issues_and_reports(world: World, session: Session) -> None:
    a, b, c = _report(session, 0), _report(session, 1), _report(session, 2)
    _join(world, session, b, a)
    assert joining.issue_counts([a, b, c]) == (2, 3)
    assert joining.digest_line([a, b, c]) == "问题 2 件，涉及反映 3 条"


def test_joining_a_signed_issue_signs_and_a_resolved_one_is_refused(
    world: World, session: Session
) -> None:
    a, b = _report(session, 0, status=ReportStatus.SIGNED), _report(session, 1)
    _join(world, session, b, a)
    assert b.status == ReportStatus.SIGNED
    done, c = _report(session, 0, status=ReportStatus.RESOLVED), _report(session, 2)
    with pytest.raises(Refused) as refused:
        _join(world, session, c, done)
    assert refused.value.key == "joining.not_joinable" and c.duplicate_of is None
