"""Periodic sweeps on APScheduler 3.x (docs/ARCHITECTURE.md, decision 4).

``SweepScheduler`` runs ``handlers.sweeps.sweep`` every ``interval`` seconds (and once at
start) on an ``AsyncIOScheduler`` in the running event loop. The sweep itself is synchronous
database work, so it runs in a thread (``asyncio.to_thread``); when it queued outbox rows the
delivery worker is woken (``on_queued``). Jobs are disposable — there is no job store: every
fact a sweep needs is in the rows, so a restart loses nothing and a missed run is simply
caught up by the next one. When a sweep hits its limit it is repeated at once (up to
``max_rounds`` times) rather than waiting for the next interval.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.services import Services
from bot.services.housekeeping import run_chores
from handlers.sweeps import DEFAULT_LIMIT, SweepResult, sweep

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 60.0
JOB_ID = "reminder-sweep"
DIGEST_JOB_ID = "weekly-digest"


class SweepScheduler:
    """Runs the reminder sweep periodically in the event loop it is started in."""

    def __init__(
        self,
        services: Services,
        *,
        interval: float = DEFAULT_INTERVAL,
        limit: int = DEFAULT_LIMIT,
        max_rounds: int = 10,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"the sweep interval must be positive, got {interval}")
        self.services = services
        self.interval = interval
        self.limit = limit
        self.max_rounds = max_rounds
        self.on_queued = on_queued
        self.runs = 0
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def running(self) -> bool:
        """Return True between ``start()`` and ``shutdown()``."""
        return self._scheduler is not None and self._scheduler.running

    def start(self) -> None:
        """Schedule the sweep in the running event loop: now, then every ``interval`` seconds."""
        if self.running:
            return
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=dt.UTC)
        scheduler.add_job(
            self.run_once,
            IntervalTrigger(seconds=self.interval, timezone=dt.UTC),
            id=JOB_ID,
            name="reminder sweep",
            max_instances=1,  # a slow sweep is never overlapped by the next one
            coalesce=True,  # runs missed while the loop was busy collapse into one
            misfire_grace_time=None,
            next_run_time=dt.datetime.now(dt.UTC),
        )
        digest_at = self.services.settings.digest_time
        scheduler.add_job(
            self.run_chores,
            CronTrigger(
                day_of_week="mon",
                hour=digest_at.hour,
                minute=digest_at.minute,
                timezone=self.services.tz,
            ),
            id=DIGEST_JOB_ID,
            name="weekly digest",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("sweeps scheduled interval=%ss limit=%s", self.interval, self.limit)

    def shutdown(self) -> None:
        """Stop scheduling sweeps (a sweep already running in its thread finishes)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def run_once(self) -> SweepResult:
        """Sweep until nothing is left over (or ``max_rounds``); return the combined result."""
        total = SweepResult()
        for _ in range(self.max_rounds):
            try:
                result = await asyncio.to_thread(
                    sweep, self.services, now=self.services.clock(), limit=self.limit
                )
            except Exception:  # noqa: BLE001 - a failed sweep is logged; the next run retries
                log.exception("sweep failed")
                break
            self.runs += 1
            _add(total, result)
            if result.queued and self.on_queued is not None:
                self.on_queued()
            if not result.more:
                break
        await self.run_chores()
        return total

    async def run_chores(self) -> int:
        """Run the chores that are due: unbound groups, the sentiment summary, the digests.

        The weekly digest also has its own cron job (Monday, ``DIGEST_TIME``); running the
        chores after every sweep sends a digest missed while the bot was down once on recovery.
        """
        try:
            queued = await asyncio.to_thread(run_chores, self.services, now=self.services.clock())
        except Exception:  # noqa: BLE001 - a failed chore is logged; the next run retries
            log.exception("chores failed")
            return 0
        if queued and self.on_queued is not None:
            self.on_queued()
        return queued


def _add(total: SweepResult, result: SweepResult) -> None:
    """Accumulate ``result`` into ``total``."""
    total.planned += result.planned
    total.fired += result.fired
    total.skipped += result.skipped
    total.voided += result.voided
    total.queued += result.queued
    total.warnings += result.warnings
    total.more = result.more
