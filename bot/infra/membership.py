"""Is this person still a member of this group? Telegram is asked, and the answer kept briefly.

A button press in a group is only acted on when the presser is a member of the group (the
authority policy, ``bot.core.authority``). The handlers run inside a database transaction and
never call Telegram, so the pipeline asks here before it opens the transaction (``warm``), and
the handlers read the cached answer. Answers are kept for ``ttl`` seconds; a failed lookup is
kept for a few seconds only and reads as "unknown" (the presser is asked to try again).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.core.authority import Membership
from bot.telegram.transport import BotApi, BotApiError

log = logging.getLogger(__name__)

MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})
TTL = 300.0  # seconds a known answer is trusted
FAILED_TTL = 5.0  # seconds a failed lookup is remembered (not to ask again in one batch)


def membership_of(member: dict[str, Any]) -> Membership:
    """Return what a Bot API ``ChatMember`` object says of membership."""
    status = str(member.get("status", ""))
    if status in MEMBER_STATUSES or (status == "restricted" and member.get("is_member")):
        return Membership.MEMBER
    return Membership.NOT_MEMBER


class MembershipCache:
    """Answers ``(chat, user) → Membership``, asking Telegram at most once per ``ttl``."""

    def __init__(
        self,
        ask: Callable[[int, int], Membership],
        *,
        ttl: float = TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ask = ask
        self._ttl = ttl
        self._clock = clock
        self._known: dict[tuple[int, int], tuple[float, Membership]] = {}
        self._lock = threading.Lock()

    def __call__(self, chat_id: int, user_id: int) -> Membership:
        """Return the membership of ``user_id`` in ``chat_id`` (asking Telegram if not known)."""
        key = (chat_id, user_id)
        now = self._clock()
        with self._lock:
            cached = self._known.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            answer = self._ask(chat_id, user_id)
            expires = now + self._ttl
        except Exception as error:  # noqa: BLE001 - any failure means "could not find out"
            log.warning(
                "membership lookup failed chat=%s user=%s error=%s",
                chat_id,
                user_id,
                type(error).__name__,
            )
            answer, expires = Membership.UNKNOWN, now + FAILED_TTL
        with self._lock:
            if len(self._known) > 50_000:  # forget everything rather than grow without bound
                self._known.clear()
            self._known[key] = (expires, answer)
        return answer

    def warm(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Look up every ``(chat, user)`` not known yet (before a transaction opens)."""
        for chat_id, user_id in dict.fromkeys(pairs):
            self(chat_id, user_id)

    def forget(self, chat_id: int, user_id: int | None = None) -> None:
        """Drop what is known of a chat (or of one user in it), e.g. when someone leaves."""
        with self._lock:
            for key in [k for k in self._known if k[0] == chat_id and user_id in (None, k[1])]:
                del self._known[key]


def bot_api_membership(
    api: BotApi, loop: asyncio.AbstractEventLoop, *, timeout: float = 5.0
) -> MembershipCache:
    """Return a membership cache that asks ``api`` (running on ``loop``, in another thread)."""

    def ask(chat_id: int, user_id: int) -> Membership:
        call = api.call("getChatMember", {"chat_id": chat_id, "user_id": user_id})
        try:
            result = asyncio.run_coroutine_threadsafe(call, loop).result(timeout)
        except BotApiError as error:
            if error.error_code == 400:  # "user not found", "participant_id_invalid": not in it
                return Membership.NOT_MEMBER
            raise
        if not isinstance(result, dict):
            raise BotApiError("getChatMember returned no ChatMember", method="getChatMember")
        return membership_of(result)

    return MembershipCache(ask)
