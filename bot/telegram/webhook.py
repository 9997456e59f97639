"""Webhook mode: Telegram POSTs updates to us; each is committed to the inbox before the 200.

A request must carry Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header with our secret; one
without it, or with a wrong one, is answered 401 and changes nothing. ``GET /healthz`` answers
200 with a small JSON body while the database is reachable (for the platform's router).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable

from aiohttp import web
from sqlalchemy import text
from sqlmodel import Session

from bot.services import Services
from storage import inbox
from storage.db import begin_write

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
HEALTH_PATH = "/healthz"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookServer:
    """An aiohttp server that stores updates and wakes the processor."""

    def __init__(
        self,
        services: Services,
        *,
        secret: str,
        host: str,
        port: int,
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self.services = services
        self.secret = secret
        self.host = host
        self.port = port
        self.on_stored = on_stored
        self.received = 0
        self.refused = 0
        self._runner: web.AppRunner | None = None

    def make_app(self) -> web.Application:
        """Return the application: the webhook path and the health check."""
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_post(WEBHOOK_PATH, self._update)
        app.router.add_get(HEALTH_PATH, self._health)
        return app

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one, see ``port`` afterwards)."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("webhook listening host=%s port=%s path=%s", self.host, self.port, WEBHOOK_PATH)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _update(self, request: web.Request) -> web.Response:
        """Store one update; 200 only once it is committed."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.refused += 1
            log.warning(
                "webhook request refused: %s secret token remote=%s",
                "missing" if not given else "wrong",
                request.remote,
            )
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            update = json.loads(await request.read())
        except ValueError:
            return web.json_response({"ok": False, "error": "not JSON"}, status=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        await asyncio.to_thread(self._store, update)
        self.received += 1
        self.on_stored()
        return web.json_response({"ok": True})

    def _store(self, update: dict) -> None:
        with Session(self.services.engine) as session:
            begin_write(session)
            inbox.record_updates(session=session, updates=[update], now=self.services.clock())
            session.commit()

    async def _health(self, request: web.Request) -> web.Response:
        """Answer 200 while the database answers, 503 otherwise."""
        try:
            await asyncio.to_thread(self._ping)
        except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
            return web.json_response({"ok": False, "database": type(exc).__name__}, status=503)
        return web.json_response({"ok": True, "received": self.received})

    def _ping(self) -> None:
        with self.services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
