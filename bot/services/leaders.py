"""Leaders registered by an invite link: the code is used up and the change audited."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from bot.errors import Refused
from storage import reports as report_queries
from storage.leader_invites import usable_invite
from storage.models import Leader


def register_by_invite(
    session: Session, *, user_id: int, name: str, code: str, now: dt.datetime
) -> Leader:
    """Make ``user_id``'s private chat a leader of the invite's scope; refuse a bad code."""
    invite = usable_invite(session=session, code=code, now=now)
    if invite is None:
        report_queries.add_event(
            session=session,
            report_id=None,
            actor=f"user:{user_id}",
            action="leader_invite_refused",
            at=now,
            details={},
        )
        raise Refused("leader.bad_invite")
    leader = session.exec(select(Leader).where(Leader.chat_id == user_id)).first()
    created = leader is None
    if leader is None:
        leader = Leader(
            name=name[:100] or str(user_id),
            chat_id=user_id,
            scope_region=invite.scope_region,
            created_at=now,
        )
    leader.scope_region = invite.scope_region
    leader.supervises = invite.supervises
    session.add(leader)
    invite.used_at, invite.used_by = now, user_id
    session.add(invite)
    report_queries.add_event(
        session=session,
        report_id=None,
        actor=f"user:{user_id}",
        action="leader_added" if created else "leader_updated",
        at=now,
        details={
            "chat_id": user_id,
            "scope": invite.scope_region,
            "supervises": invite.supervises,
            "invite": invite.code,
        },
    )
    return leader
