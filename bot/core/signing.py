"""Signed tokens: HMAC-SHA256 over a purpose and a JSON body, with an expiry; one-time
sign-in links for the web console are made of them.

Plain data in, plain data out: the caller gives the secret and the time. A token signed for
one purpose (a sign-in link) never passes for another (a session cookie).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any

LINK_LIFETIME = dt.timedelta(minutes=10)
SIGN_IN = "sign-in"
SESSION = "session"


def _b64(raw: bytes) -> str:
    """Return URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Decode URL-safe base64 without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, purpose: str, claims: dict[str, Any]) -> str:
    """Return ``claims`` as a token signed for ``purpose``."""
    body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    mac = hmac.new(secret.encode(), f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def unsign(secret: str, purpose: str, token: str, *, now: dt.datetime) -> dict[str, Any] | None:
    """Return the claims of a token signed for ``purpose`` and not expired, else None."""
    body, _, mac = token.partition(".")
    if not body or not mac:
        return None
    expected = hmac.new(secret.encode(), f"{purpose}.{body}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("e"), int | float):
        return None
    return claims if claims["e"] > now.timestamp() else None


def sign_in_token(secret: str, *, user_id: int, name: str, now: dt.datetime) -> str:
    """Return a one-time sign-in token for ``user_id``, valid for ten minutes."""
    expires = (now + LINK_LIFETIME).timestamp()
    claims = {"u": user_id, "n": name, "j": secrets.token_hex(16), "e": expires}
    return sign(secret, SIGN_IN, claims)


def sign_in_link(base: str, secret: str, *, user_id: int, name: str, now: dt.datetime) -> str:
    """Return the address that signs ``user_id`` in once."""
    token = sign_in_token(secret, user_id=user_id, name=name, now=now)
    return f"{base.rstrip('/')}/login?token={token}"
