"""Joining reports of one issue, merging and splitting them by hand, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from bot.errors import Refused
from bot.services import joining
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


def test_a_joined_report_has_no_deadline_and_the_card_counts_it(session: Session) -> None:
    a, b = _report(session, 0), _report(session, 1)
    issue = joining.join(session, report_id=b.id, into_id=a.id, actor="observer:2", now=NOW)
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
    again = joining.join(session, report_id=b.id, into_id=a.id, actor="observer:2", now=NOW)
    assert again.reports == 2 and _actions(session, b).count("joined") == 1


def test_joining_into_a_follow_up_joins_its_primary(session: Session) -> None:
    a, b, c = _report(session, 0), _report(session, 1), _report(session, 1)
    joining.join(session, report_id=b.id, into_id=a.id, actor="system", now=NOW)
    issue = joining.join(session, report_id=c.id, into_id=b.id, actor="system", now=NOW)
    assert c.duplicate_of == a.id
    assert joining.card_line(issue) == "同一问题 ×3（2位观察员）"


def test_merge_brings_the_other_card_and_its_follow_ups(session: Session) -> None:
    a, b = _report(session, 0), _report(session, 1)
    c, d = _report(session, 2), _report(session, 2)
    joining.join(session, report_id=b.id, into_id=a.id, actor="system", now=NOW)
    joining.join(session, report_id=d.id, into_id=c.id, actor="system", now=NOW)
    issue = joining.merge(session, primary_id=b.id, other_id=d.id, actor="user:9", now=NOW)
    assert issue.primary.id == a.id and issue.reports == 4
    assert {r.duplicate_of for r in (b, c, d)} == {a.id}
    assert "merged" in _actions(session, a) and "merged" in _actions(session, c)
    assert joining.card_line(issue) == "同一问题 ×4（3位观察员）"


def test_split_gives_the_report_its_own_deadlines_again(world: World, session: Session) -> None:
    a, b = _report(session, 0), _report(session, 1)
    joining.join(session, report_id=b.id, into_id=a.id, actor="system", now=NOW)
    later = NOW + dt.timedelta(hours=3)
    split = joining.split(session, world.services, report_id=b.id, actor="user:9", now=later)
    assert split.duplicate_of is None
    assert split.sign_due_at is not None and split.sign_due_at > later
    assert "split" in _actions(session, a) and "split" in _actions(session, b)
    assert joining.card_line(joining.issue_of(session, a.id)) == ""
    with pytest.raises(Refused) as refused:
        joining.split(session, world.services, report_id=b.id, actor="user:9", now=later)
    assert refused.value.key == "joining.not_joined"


def test_what_cannot_be_joined_is_refused(session: Session) -> None:
    a = _report(session, 0)
    record = _report(session, 1, kind=ReportKind.SENTIMENT, status=ReportStatus.RECORDED)
    for report_id, into_id, key in (
        (a.id, a.id, "joining.same_report"),
        (record.id, a.id, "joining.other_kind"),
    ):
        with pytest.raises(Refused) as refused:
            joining.join(session, report_id=report_id, into_id=into_id, actor="system", now=NOW)
        assert refused.value.key == key


def test_the_digest_counts_issues_and_reports(session: Session) -> None:
    a, b, c = _report(session, 0), _report(session, 1), _report(session, 2)
    joining.join(session, report_id=b.id, into_id=a.id, actor="system", now=NOW)
    assert joining.issue_counts([a, b, c]) == (2, 3)
    assert joining.digest_line([a, b, c]) == "问题 2 件，涉及反映 3 条"
