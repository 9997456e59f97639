"""Sending within Telegram's limits: how fast (``Pacer``) and when to try again (``RetryPolicy``).

- **Pacing.** A ``Pacer`` keeps to about 30 messages/s overall, 1/s per private chat and 20/min
  per group (GCRA token buckets, ``Limits``), so 429s are rare; a 429 holds its chat for the
  ``retry_after`` Telegram gives (``Pacer.hold``).
- **Retries.** Transient errors (network, timeouts, 5xx) are retried with capped exponential
  backoff and jitter (``RetryPolicy.backoff``); after ``RetryPolicy.give_up_after`` the row is
  failed like a permanent error. A card not yet sent makes the rows addressing it wait
  ``card_wait``.

The delivery worker (``bot.infra.delivery``) asks both before every send.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Limits:
    """Sending rates (messages per second) and bursts (messages at once) the pacer keeps to.

    The rates are Telegram's (a little under its 30/s overall); the bursts are smaller than the
    ones it tolerates, so the slack absorbs jitter (requests arriving closer together than they
    were sent, e.g. after a pause of the event loop).
    """

    global_rate: float = 28.0
    global_burst: float = 20.0
    private_rate: float = 1.0
    private_burst: float = 2.0
    group_rate: float = 20.0 / 60.0
    group_burst: float = 5.0

    @classmethod
    def unpaced(cls) -> Limits:
        """Limits no run reaches: for the loopback server with its flood limits off (tests, the
        demo, throughput), where pacing would only slow the bot down."""
        return cls(*(1e6,) * 6)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait between attempts, and when a transient failure becomes final."""

    base: float = 1.0  # seconds before the first retry (before jitter)
    cap: float = 300.0  # the longest wait between two attempts
    give_up_after: timedelta = timedelta(hours=24)  # since the row was queued
    card_wait: float = 1.0  # how often a row waiting for a card looks again

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Return the wait after the ``attempts``-th failure: exponential, capped, jittered."""
        ceiling = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def is_private(chat_id: int) -> bool:
    """Return True for a private chat (users have positive ids, groups negative ones)."""
    return chat_id > 0


class Pacer:
    """Reserves send slots within the global and per-chat limits (GCRA token buckets)."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic):
        self.limits = limits or Limits()
        self.clock = clock
        self._global = -math.inf
        self._chats: dict[int, float] = {}

    def _chat_rate(self, chat_id: int) -> tuple[float, float]:
        limits = self.limits
        if is_private(chat_id):
            return limits.private_rate, limits.private_burst
        return limits.group_rate, limits.group_burst

    def reserve_chat(self, chat_id: int) -> float:
        """Book the chat's next slot; return the seconds to wait for it.

        Then call ``reserve_global`` when that time has come: booking the global slot only when
        the chat is ready keeps a chat that must wait from holding up every other chat.
        """
        now = self.clock()
        rate, burst = self._chat_rate(chat_id)
        tat = max(self._chats.get(chat_id, now), now)
        at = max(now, tat - (burst - 1) / rate)
        self._chats[chat_id] = max(tat, at) + 1 / rate
        if len(self._chats) > 10_000:
            self._chats = {chat: due for chat, due in self._chats.items() if due > now}
        return at - now

    def reserve_global(self) -> float:
        """Book the bot's next slot overall; return the seconds to wait for it."""
        now = self.clock()
        rate, burst = self.limits.global_rate, self.limits.global_burst
        tat = max(self._global, now)
        at = max(now, tat - (burst - 1) / rate)
        self._global = max(tat, at) + 1 / rate
        return at - now

    def hold(self, chat_id: int, seconds: float) -> None:
        """Keep ``chat_id`` quiet for ``seconds`` (Telegram answered 429)."""
        now = self.clock()
        c_rate, c_burst = self._chat_rate(chat_id)
        tat = now + seconds + (c_burst - 1) / c_rate
        self._chats[chat_id] = max(self._chats.get(chat_id, now), tat)
