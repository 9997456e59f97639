"""Signed sign-in links and session cookies, without passwords.

A sign-in link carries a signed token naming the user, a random token id and an expiry (10
minutes); it signs in once: the token id is recorded in ``UsedSignIn`` in the same
transaction as the sign-in, so a replayed link (even raced) is refused. The session cookie is
signed the same way (HMAC-SHA256 with ``CONSOLE_SECRET``, a different purpose string so
one can never stand for the other) and carries the user, their name, a CSRF token that every
form must send back, and its own expiry.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.core.signing import SESSION, SIGN_IN, sign, unsign
from storage.models import UsedSignIn


@dataclass(frozen=True, slots=True)
class Signed:
    """Who a valid session cookie names."""

    user_id: int
    name: str
    csrf: str


def redeem(session: Session, secret: str, token: str, *, now: dt.datetime) -> Signed | str:
    """Use a sign-in token once: return who it signs in, or why not (``expired``/``used``).

    The caller commits; the token id is recorded first, so of two uses exactly one succeeds.
    """
    claims = unsign(secret, SIGN_IN, token, now=now)
    if claims is None or not isinstance(claims.get("u"), int):
        return "expired"
    token_id = str(claims.get("j", ""))[:32]
    try:
        with session.begin_nested():
            session.add(UsedSignIn(token_id=token_id, user_id=claims["u"], used_at=now))
    except IntegrityError:
        return "used"
    return Signed(claims["u"], str(claims.get("n") or claims["u"]), secrets.token_urlsafe(24))


def session_cookie(secret: str, who: Signed, *, now: dt.datetime, hours: float) -> str:
    """Return the signed session cookie value for ``who``, expiring after ``hours``."""
    expires = (now + dt.timedelta(hours=hours)).timestamp()
    return sign(secret, SESSION, {"u": who.user_id, "n": who.name, "c": who.csrf, "e": expires})


def read_session(secret: str, value: str | None, *, now: dt.datetime) -> Signed | None:
    """Return who a session cookie names, or None (absent, forged or expired)."""
    if not value:
        return None
    claims = unsign(secret, SESSION, value, now=now)
    if claims is None or not isinstance(claims.get("u"), int):
        return None
    return Signed(claims["u"], str(claims.get("n", "")), str(claims.get("c", "")))


def csrf_ok(who: Signed, sent: str | None) -> bool:
    """Return True if a form sent back the session's CSRF token."""
    return bool(sent) and hmac.compare_digest(who.csrf, sent or "")
