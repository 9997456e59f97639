"""One-time codes that register leaders (领导) by a link instead of a numeric Telegram id.

A leader code is ``L`` followed by 8 characters of the observers' invite alphabet, which has
no ``L``: a ``/start`` payload is told apart from an observer's invite by its first letter.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import Session

from storage.models import LeaderInvite
from storage.roster import INVITE_ALPHABET, INVITE_LENGTH

PREFIX = "L"


def is_leader_code(text: str) -> bool:
    """Return True if ``text`` has the shape of a leader invite code."""
    code = text.strip().upper()
    return (
        len(code) == len(PREFIX) + INVITE_LENGTH
        and code.startswith(PREFIX)
        and all(c in INVITE_ALPHABET for c in code[len(PREFIX) :])
    )


def issue_leader_invites(
    *,
    session: Session,
    scope_region: str,
    supervises: bool,
    count: int,
    ttl: timedelta,
    now: datetime,
) -> list[str]:
    """Create ``count`` one-time leader codes for ``scope_region``, valid for ``ttl``."""
    codes: list[str] = []
    while len(codes) < count:
        code = PREFIX + "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
        if code in codes or session.get(LeaderInvite, code) is not None:
            continue
        codes.append(code)
        session.add(
            LeaderInvite(
                code=code,
                scope_region=scope_region,
                supervises=supervises,
                created_at=now,
                expires_at=now + ttl,
            )
        )
    session.flush()
    return codes


def usable_invite(*, session: Session, code: str, now: datetime) -> LeaderInvite | None:
    """Return the leader invite ``code`` if it is unused and unexpired."""
    invite = session.get(LeaderInvite, code.strip().upper())
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    return invite
