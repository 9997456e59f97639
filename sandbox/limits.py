"""Telegram's flood limits for sending bots, as token buckets.

About 30 messages per second overall, 1 per second in a private chat (with a small burst), and
20 per minute in a group. A send over a limit is answered with 429 and ``retry_after`` seconds,
as Telegram does; the count of such answers is kept for benchmarks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class RateLimits:
    """Limits per bot; rates are messages per second, bursts are bucket sizes."""

    global_rate: float = 30.0
    global_burst: float = 30.0
    private_rate: float = 1.0
    private_burst: float = 3.0
    group_rate: float = 20.0 / 60.0
    group_burst: float = 20.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Token buckets for the whole bot and for each chat; ``clock`` is injectable for tests."""

    limits: RateLimits = field(default_factory=RateLimits)
    clock: Callable[[], float] = time.monotonic
    enabled: bool = True
    served_429: int = 0
    _global: _Bucket | None = None
    _chats: dict[int, _Bucket] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget all buckets (full bursts again)."""
        self._global = None
        self._chats.clear()

    def _take(self, bucket: _Bucket, rate: float, burst: float, now: float) -> float:
        """Refill, then return 0 when a token is available or the seconds until one is."""
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / rate

    def acquire(self, chat_id: int, chat_type: str, count: int = 1) -> int:
        """Take ``count`` sends for ``chat_id``; return 0, or retry_after seconds when limited."""
        if not self.enabled:
            return 0
        now = self.clock()
        limits = self.limits
        if chat_type == "private":
            rate, burst = limits.private_rate, limits.private_burst
        else:
            rate, burst = limits.group_rate, limits.group_burst
        if self._global is None:
            self._global = _Bucket(limits.global_burst, now)
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Bucket(burst, now)
        wait = max(
            self._take(self._global, limits.global_rate, limits.global_burst, now),
            self._take(chat, rate, burst, now),
        )
        if wait > 0:
            self.served_429 += 1
            return max(1, math.ceil(wait))
        self._global.tokens -= count
        chat.tokens -= count
        return 0
