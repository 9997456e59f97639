"""Who is looking: an administrator, a leader, a member of bound groups — asked anew each request.

A person's role is never stored in the session: each request asks again (``viewer_of``), so a
handler who has left the group loses access at once. Administrators are ``ADMIN_USER_IDS``;
leaders are the ``Leader`` rows of the user (their scope region); group membership is asked of
Telegram through ``services.membership`` (briefly cached) for every bound group — where there
is no Bot API to ask, nobody is a member of a group here, and only administrators and leaders
can use the console.

What they may *see* is the reports within their roles (``visible``); what they may *do* to one
report is decided by the authority policy, acting as the group that holds it (``actor_for``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import Session, col, select

from bot.core.authority import Actor, Membership
from bot.core.regions import is_well_formed, level_of
from bot.services import Services, access
from storage.bindings import find_binding
from storage.models import GroupBinding, Leader, Report


@dataclass(frozen=True)
class Viewer:
    """A signed-in person and the roles they hold now."""

    user_id: int
    name: str
    admin: bool = False
    scopes: tuple[str, ...] = ()  # leaders' scope regions
    groups: tuple[GroupBinding, ...] = field(default_factory=tuple)  # bound groups they are in

    @property
    def has_role(self) -> bool:
        """Return True if the person may use the console at all."""
        return self.admin or bool(self.scopes) or bool(self.groups)

    def dispatch_groups(self, dispatch: str) -> tuple[GroupBinding, ...]:
        """Return the dispatch groups the person is a member of."""
        return tuple(g for g in self.groups if g.department == dispatch)

    def is_dispatcher(self, dispatch: str) -> bool:
        """Return True if the person can work a dispatch queue."""
        return self.admin or bool(self.dispatch_groups(dispatch))


def prefix(code: str) -> str:
    """Return the prefix every region code within ``code`` starts with."""
    if not is_well_formed(code):
        return code
    return {"province": code[:2], "city": code[:4], "county": code[:6]}.get(level_of(code), code)


def viewer_of(session: Session, services: Services, user_id: int, name: str) -> Viewer:
    """Return who ``user_id`` is now: their administrator, leader and group roles."""
    scopes = session.exec(select(Leader.scope_region).where(Leader.chat_id == user_id)).all()
    groups = tuple(
        binding
        for binding in session.exec(select(GroupBinding).order_by(col(GroupBinding.id))).all()
        if services.membership_of(binding.chat_id, user_id) == Membership.MEMBER
    )
    return Viewer(
        user_id=user_id,
        name=name,
        admin=user_id in services.admin_ids,
        scopes=tuple(scopes),
        groups=groups,
    )


def _within(column: object, code: str) -> ColumnElement[bool]:
    """Return the condition that a region column lies within ``code``."""
    return col(column).startswith(prefix(code))


def visible(viewer: Viewer, dispatch: str) -> ColumnElement[bool]:
    """Return the condition on ``Report`` of what ``viewer`` may see."""
    if viewer.admin:
        return true()
    terms: list[ColumnElement[bool]] = []
    for scope in viewer.scopes:
        terms += [_within(Report.region_code, scope), _within(Report.target_region, scope)]
    for group in viewer.groups:
        terms.append(col(Report.card_chat_id) == group.chat_id)
        if group.department == dispatch:
            terms.append(_within(Report.region_code, group.region_code))
        else:
            terms.append(
                (col(Report.department) == group.department)
                & _within(Report.target_region, group.region_code)
            )
    return or_(*terms) if terms else false()


def can_see(session: Session, viewer: Viewer, dispatch: str, report_id: int) -> Report | None:
    """Return the report if ``viewer`` may see it, else None."""
    return session.exec(
        select(Report).where(Report.id == report_id, visible(viewer, dispatch))
    ).first()


def actor_for(
    session: Session, services: Services, viewer: Viewer, report: Report, *, dispatch: bool = False
) -> Actor:
    """Return the viewer acting as the group that holds ``report`` (for the authority policy),
    or with ``dispatch`` as the dispatch group of its region (deciding an extension).

    A member of that group acts as it; so does an administrator. Anyone else acts from no
    group (chat 0), which the policy refuses.
    """
    if dispatch:
        bound = find_binding(
            session=session, department=services.rules.dispatch, region=report.region_code
        )
        holder = bound.chat_id if bound is not None else None
    else:
        holder = access.holder_chat(session, services, report)
    mine = viewer.admin or any(g.chat_id == holder for g in viewer.groups)
    chat = holder if holder is not None and mine else 0
    return Actor(
        chat_id=chat,
        user_id=viewer.user_id,
        name=viewer.name,
        membership=services.membership_of(chat, viewer.user_id) if chat else Membership.UNCHECKED,
    )
