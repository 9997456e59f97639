"""One problem, one card: joining reports of the same issue, merging and splitting by hand.

A report joined to another (``Report.duplicate_of``) is a follow-up of that report's issue: it
has no card and no deadline of its own (its due times are cleared and its planned reminders
voided), the primary report's card counts it ("同一问题 ×3（3位观察员）") and shows its text as a
follow-up, and every observer of the issue is told when the primary is signed for, answered,
resolved and closed. The primary is always a report that is not itself joined: joining into a
joined report joins into its primary, so an issue is one level deep.

- :func:`join` — an observer chose 补充到该反映 for their new report: audited ``joined`` on the
  report and ``follow_up_joined`` on the primary. Asked of the policy as the lifecycle's
  ``join`` on the new report (only its own observer may).
- :func:`merge` — a handler merges two cards (合并): the other report and its follow-ups join
  the primary; audited ``merged`` on both. Asked as ``merge`` of both reports: the group must
  hold both cards (a department's group, or the region's dispatch group for what waits there).
- :func:`split` — a handler splits a wrongly joined report (拆分): it gets its own deadlines
  again, from now, and the caller draws its own card; audited ``split`` on both. Asked as
  ``split`` of the primary: the group holding the primary's card.

Each function changes state inside the caller's session (the caller commits). What is wrong is
refused with :class:`bot.errors.Refused` naming the catalogue answer; the audit trail names who
acted (``bot.services.access.audit_name``) and their display name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlmodel import Session, col, select

from bot.core.authority import Actor
from bot.core.lifecycle import Action
from bot.core.messages import t
from bot.core.similarity import fingerprint_of_key, similarity_key, similarity_of
from bot.errors import Refused
from bot.services import Services, access
from bot.services.clocks import plan_deadlines
from bot.services.joined import follow_primary, members_of
from storage import reminders
from storage import reports as report_queries
from storage.models import OPEN_STATUSES, Report, ReportKind, ReportStatus

JOINABLE_INTO = (*OPEN_STATUSES, ReportStatus.RESOLVED, ReportStatus.CLOSED)


@dataclass(frozen=True, slots=True)
class Issue:
    """A primary report and the reports joined to it, oldest first."""

    primary: Report
    members: tuple[Report, ...]

    @property
    def reports(self) -> int:
        """Return how many reports the issue holds (the primary included)."""
        return 1 + len(self.members)

    @property
    def observer_ids(self) -> list[int]:
        """Return the issue's observers, each once, the primary's first."""
        seen: dict[int, None] = {self.primary.observer_id: None}
        seen.update((m.observer_id, None) for m in self.members)
        return list(seen)


def _get(session: Session, report_id: int) -> Report:
    """Return the report or refuse (a stale button)."""
    report = session.get(Report, report_id)
    if report is None:
        raise Refused("common.stale_button")
    return report


def _id(report: Report) -> int:
    """Return the id of a stored report."""
    assert report.id is not None, "a stored report has an id"
    return report.id


def root_of(session: Session, report: Report) -> Report:
    """Return the primary report of ``report``'s issue (the report itself when not joined)."""
    seen = {report.id}
    while report.duplicate_of is not None:
        report = _get(session, report.duplicate_of)
        if report.id in seen:  # a cycle can only come from hand-edited rows: stop there
            break
        seen.add(report.id)
    return report


def issue_of(session: Session, report_id: int) -> Issue:
    """Return the issue ``report_id`` belongs to."""
    primary = root_of(session, _get(session, report_id))
    return Issue(primary, members_of(session, _id(primary)))


def card_line(issue: Issue) -> str:
    """Return the card's count line ("同一问题 ×3（3位观察员）"), or "" for a lone report."""
    if not issue.members:
        return ""
    return t("joining.card_count", reports=issue.reports, observers=len(issue.observer_ids))


def follow_up_text(report: Report) -> str:
    """Return how a joined report's text reads on the primary's card, as a follow-up."""
    return t("joining.follow_up", number=report.number, text=report.text)


def _stop_clock(session: Session, report: Report, *, now: dt.datetime) -> None:
    """Clear a report's own deadlines and void the reminders planned for them."""
    for deadline, due in (("sign", report.sign_due_at), ("resolve", report.resolve_due_at)):
        if due is not None:
            reminders.void_instance(
                session=session, report_id=_id(report), deadline=deadline, due_at=due, now=now
            )
    report.sign_due_at = None
    report.resolve_due_at = None
    report.updated_at = now
    session.add(report)


def _attach(
    session: Session, report: Report, primary: Report, *, by: Actor, now: dt.datetime, how: str
) -> None:
    """Make ``report`` a follow-up of ``primary`` and record it on both."""
    report.duplicate_of = primary.id
    _stop_clock(session, report, now=now)
    for subject, action, details in (
        (report, "joined", {"into": primary.number, "how": how}),
        (primary, "follow_up_joined", {"report": report.number, "how": how}),
    ):
        report_queries.add_event(
            session=session,
            report_id=subject.id,
            actor=access.audit_name(by),
            action=action,
            at=now,
            details=access.with_name(details, by),
        )


def _check_pair(report: Report, primary: Report) -> None:
    """Refuse joining a report into itself, into another kind, or into what cannot take it."""
    if report.id == primary.id:
        raise Refused("joining.same_report")
    if ReportKind.SENTIMENT in (report.kind, primary.kind) or report.kind != primary.kind:
        raise Refused("joining.other_kind")
    if primary.status not in JOINABLE_INTO:
        raise Refused("joining.not_joinable")


def join(
    session: Session,
    services: Services,
    *,
    report_id: int,
    into_id: int,
    by: Actor,
    now: dt.datetime,
) -> Issue:
    """The observer joins their report to the issue of ``into_id`` (补充到该反映), while that
    issue is still being handled (one resolved meanwhile is refused: submit it on its own)."""
    report = _get(session, report_id)
    primary = root_of(session, _get(session, into_id))
    if report.duplicate_of == primary.id:
        return issue_of(session, _id(primary))  # a repeated press changes nothing
    access.require(session, services, Action.JOIN, by, report)
    if primary.status not in OPEN_STATUSES:
        raise Refused("joining.not_joinable")
    return _join(session, report, primary, by=by, now=now)


def _join(
    session: Session, report: Report, primary: Report, *, by: Actor, now: dt.datetime
) -> Issue:
    """Join ``report`` (and anything joined to it) to ``primary``'s issue."""
    _check_pair(report, primary)
    for member in members_of(session, _id(report)):  # its own follow-ups come along
        _attach(session, member, primary, by=by, now=now, how="carried")
    _attach(session, report, primary, by=by, now=now, how="joined")
    session.flush()
    follow_primary(session, primary, now=now)  # joined to a signed issue: signed too
    return issue_of(session, _id(primary))


def _audit_both(
    session: Session, primary: Report, other: Report, *, action: str, by: Actor, now: dt.datetime
) -> None:
    """Record a hand-made ``action`` (合并 / 拆分) on both reports' audit trails."""
    for subject, partner in ((primary, other), (other, primary)):
        report_queries.add_event(
            session=session,
            report_id=subject.id,
            actor=access.audit_name(by),
            action=action,
            at=now,
            details=access.with_name({"primary": primary.number, "with": partner.number}, by),
        )


def merge(
    session: Session,
    services: Services,
    *,
    primary_id: int,
    other_id: int,
    by: Actor,
    now: dt.datetime,
) -> Issue:
    """Merge the card of ``other_id`` into the card of ``primary_id`` (合并), audited on both.

    ``by`` acts on the card of ``primary_id``; the group must hold the other report's card
    too. The report filed first stays the primary (its deadline runs longest), whichever card
    the button was pressed on.
    """
    primary = root_of(session, _get(session, primary_id))
    other = root_of(session, _get(session, other_id))
    access.require(session, services, Action.MERGE, by, primary)
    access.require(session, services, Action.MERGE, replace(by, on_card=False), other)
    if (other.created_at, _id(other)) < (primary.created_at, _id(primary)):
        primary, other = other, primary
    issue = _join(session, other, primary, by=by, now=now)
    _audit_both(session, primary, other, action="merged", by=by, now=now)
    return issue


def split(
    session: Session, services: Services, *, report_id: int, by: Actor, now: dt.datetime
) -> Report:
    """Split a joined report off its issue (拆分): its own deadlines again, from now.

    ``by`` acts on the primary's card (the group holding it).
    """
    report = _get(session, report_id)
    if report.duplicate_of is None:
        raise Refused("joining.not_joined")
    primary = _get(session, report.duplicate_of)
    access.require(session, services, Action.SPLIT, by, primary)
    report.duplicate_of = None
    if report.status in OPEN_STATUSES:
        deadlines = plan_deadlines(
            services, kind=report.kind, sla_class=report.sla_class, start=now
        )
        report.sign_due_at, report.resolve_due_at = deadlines.sign_due, deadlines.resolve_due
    report.updated_at = now
    session.add(report)
    _audit_both(session, primary, report, action="split", by=by, now=now)
    session.flush()
    return report


def merge_choices(
    session: Session, report: Report, *, chat_id: int, limit: int = 6
) -> list[Report]:
    """Return the open reports the card of ``report`` in ``chat_id`` can take in (合并).

    Those whose card the same group holds, of the same kind, not joined to another: the most
    similar text first.
    """
    rows = session.exec(
        select(Report)
        .where(
            Report.card_chat_id == chat_id,
            col(Report.status).in_(list(OPEN_STATUSES)),
            col(Report.duplicate_of).is_(None),
            Report.kind == report.kind,
            Report.id != report.id,
        )
        .order_by(col(Report.created_at).desc())
        .limit(50)
    ).all()
    key = report.similarity_key or similarity_key(report.text)
    mine = fingerprint_of_key(key)

    def score(other: Report) -> float:
        return similarity_of(
            mine, fingerprint_of_key(other.similarity_key or similarity_key(other.text))
        )

    return sorted(rows, key=score, reverse=True)[:limit]


def observers_to_tell(session: Session, report_id: int) -> list[int]:
    """Return every observer of the issue of ``report_id`` (each is told of its progress)."""
    return issue_of(session, report_id).observer_ids


def issue_counts(reports: Iterable[Report]) -> tuple[int, int]:
    """Return (issues, reports) among ``reports``: a joined report is not an issue of its own."""
    rows = list(reports)
    return sum(1 for r in rows if r.duplicate_of is None), len(rows)


def digest_line(reports: Iterable[Report]) -> str:
    """Return "问题 12 件，涉及反映 17 条" for ``reports``."""
    issues, total = issue_counts(reports)
    return t("joining.digest_counts", issues=issues, reports=total)
