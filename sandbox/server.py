"""The loopback Bot API server: an aiohttp app speaking Telegram's HTTP protocol on 127.0.0.1.

Routes::

    /bot{token}/{method}          Bot API methods (GET or POST; JSON, form or multipart bodies)
    /file/bot{token}/{file_path}  file downloads (getFile's file_path)
    /control/{action}             the control API (see control.py)

``LoopbackServer`` runs it in the current event loop (``async with LoopbackServer() as s``);
``LoopbackServer.in_thread()`` runs it in a background thread for synchronous code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.control import ControlClient, Controller, SyncControlClient
from sandbox.faults import Fault, FaultPlan
from sandbox.limits import RateLimiter, RateLimits
from sandbox.methods import BotMethods
from sandbox.validation import (
    NOT_FOUND,
    UNAUTHORIZED,
    ApiError,
    Params,
    Upload,
    bad_request,
    migrated,
    too_many_requests,
)
from sandbox.world import World

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "1234567890:AAloopback-test-token_0123456789abcdef"
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(slots=True)
class CallRecord:
    """One Bot API call as the server saw it."""

    method: str
    params: dict[str, Any]
    status: int
    description: str | None
    at: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view."""
        return {
            "method": self.method,
            "params": self.params,
            "status": self.status,
            "description": self.description,
            "at": self.at,
        }


def _summary(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (
            {"upload": value.filename, "size": len(value.data)}
            if isinstance(value, Upload)
            else value
        )
        for key, value in raw.items()
    }


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=_DUMPS(body).encode(), status=status, content_type="application/json")


class LoopbackServer:
    """A Bot API server on 127.0.0.1 simulating Telegram for one bot.

    ``enforce_limits`` switches Telegram's flood limits (``rate_limits``) on; ``latency`` (+ up
    to ``jitter``) seconds delay every call; ``privacy_mode`` hides ordinary group chatter from
    the bot as Telegram does; ``clock`` stamps message dates (Unix seconds); ``seed`` makes
    random-fraction faults repeatable.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        jitter: float = 0.0,
        rate_limits: RateLimits | None = None,
        enforce_limits: bool = True,
        privacy_mode: bool = True,
        bot_username: str = "loopback_bot",
        seed: int = 0,
        call_log_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.latency = latency
        self.jitter = jitter
        self.world = World(
            token=token, bot_username=bot_username, privacy_mode=privacy_mode, clock=clock
        )
        self.limiter = RateLimiter(limits=rate_limits or RateLimits(), enabled=enforce_limits)
        self.faults = FaultPlan(seed=seed)
        self.methods = BotMethods(self.world, self.limiter)
        self.call_log: dict[str, deque[CallRecord]] = {}
        self.call_log_size = call_log_size
        self.call_counts: Counter[str] = Counter()
        self.error_counts: Counter[str] = Counter()
        self.http_429 = 0
        self.webhook_deliveries = 0
        self.webhook_failures = 0
        self.webhook_in_flight = 0
        self.controller = Controller(self)
        self.control = ControlClient(self.controller)
        self._random = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._webhook_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    # ---------------------------------------------------------------- addresses

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the value for TELEGRAM_API_BASE."""
        return f"http://{self.host}:{self.port}"

    @property
    def bot_api_url(self) -> str:
        """``{base}/bot``: python-telegram-bot's ``base_url``."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """``{base}/file/bot``: python-telegram-bot's ``base_file_url``."""
        return f"{self.base_url}/file/bot"

    @property
    def control_url(self) -> str:
        """Where the HTTP control API lives."""
        return f"{self.base_url}/control"

    # ---------------------------------------------------------------- lifecycle

    def make_app(self) -> web.Application:
        """The aiohttp application (routes for the Bot API, files and control)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        app.router.add_route("*", "/control/{action}", self.controller.handle_http)
        return app

    async def start(self) -> None:
        """Start listening (port 0 picks a free port; see ``base_url``)."""
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(
            self.make_app(), access_log=None, shutdown_timeout=0.5, handle_signals=False
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._webhook_task = asyncio.create_task(self._webhook_loop())
        log.info("loopback Bot API started base=%s", self.base_url)

    async def stop(self) -> None:
        """Stop listening and end hanging calls."""
        self._closing.set()
        self.world.update_signal.fire()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @classmethod
    def in_thread(cls, **kwargs: Any) -> ThreadedLoopback:
        """A server running in a background thread (``with LoopbackServer.in_thread() as s``)."""
        return ThreadedLoopback(**kwargs)

    # ---------------------------------------------------------------- faults

    def add_fault(self, fault: Fault) -> Fault:
        """Activate a fault (see faults.py)."""
        return self.faults.add(fault)

    # ---------------------------------------------------------------- HTTP

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.body_exists:
            return raw
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            raw.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = Upload(
                        filename=value.filename,
                        content_type=value.content_type,
                        data=value.file.read(),
                    )
                else:
                    raw[key] = value
        return raw

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json(UNAUTHORIZED.envelope(), 401)
        method = request.match_info["method"]
        handler = self.methods.handlers.get(method.lower())
        if handler is None:
            self.call_counts[method] += 1
            return _json(NOT_FOUND.envelope(), 404)
        try:
            raw = await self._read_params(request)
        except ApiError as error:
            return _json(error.envelope(), error.code)
        if self.latency or self.jitter:
            await asyncio.sleep(self.latency + self._random.uniform(0, self.jitter))
        chat_id = raw.get("chat_id")
        fault = self.faults.pick(method, chat_id if isinstance(chat_id, int) else _as_int(chat_id))
        if fault is not None and fault.when == "before":
            return await self._serve_fault(request, method, raw, fault, None)
        try:
            result = await handler(Params(raw))
            response: dict[str, Any] = {"ok": True, "result": result}
            status, description = 200, None
        except ApiError as error:
            response = error.envelope()
            status, description = error.code, error.description
            if status == 429:
                self.http_429 += 1
        if fault is not None:
            return await self._serve_fault(request, method, raw, fault, response)
        self._record(method, raw, status, description)
        return _json(response, status)

    def _record(
        self, method: str, raw: dict[str, Any], status: int, description: str | None
    ) -> None:
        canonical = method[0].lower() + method[1:]
        self.call_counts[canonical] += 1
        if description:
            self.error_counts[description] += 1
        log_ = self.call_log.get(canonical)
        if log_ is None:
            log_ = self.call_log[canonical] = deque(maxlen=self.call_log_size)
        log_.append(CallRecord(canonical, _summary(raw), status, description, time.time()))
        self.world.changed()

    async def _serve_fault(
        self,
        request: web.Request,
        method: str,
        raw: dict[str, Any],
        fault: Fault,
        done: dict[str, Any] | None,
    ) -> web.StreamResponse:
        kind = fault.kind
        if kind == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.hang)
            self._record(method, raw, 504, "fault: timeout")
            return _json({"ok": False, "error_code": 504, "description": "Gateway Timeout"}, 504)
        if kind == "drop":
            self._record(method, raw, 0, "fault: dropped connection")
            if request.transport is not None:
                request.transport.abort()
            # the client never sees this: its connection is gone
            return web.Response(status=500)
        if kind == "502":
            self._record(method, raw, 502, "fault: 502")
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        if kind == "429":
            error = too_many_requests(fault.retry_after)
            self.http_429 += 1
        elif kind == "migrate":
            target = fault.migrate_to_chat_id or -(
                1_000_000_000_000 + abs(_as_int(raw.get("chat_id")) or 1)
            )
            error = migrated(target)
        else:
            error = ApiError(500, "Internal Server Error")
        self._record(method, raw, error.code, f"fault: {error.description}")
        return _json(error.envelope(), error.code)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json(UNAUTHORIZED.envelope(), 401)
        stored = self.world.files_by_path.get(request.match_info["path"])
        if stored is None:
            return _json(NOT_FOUND.envelope(), 404)
        self.call_counts["file"] += 1
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # ---------------------------------------------------------------- webhook

    async def _webhook_loop(self) -> None:
        """Push queued updates to the webhook URL, retrying each until it is answered 200."""
        world = self.world
        in_flight: set[asyncio.Task[None]] = set()
        while not self._closing.is_set():
            hook = world.webhook
            if hook is None or not world.updates or len(in_flight) >= hook["max_connections"]:
                await world.update_signal.wait(0.05 if in_flight else 1.0)
                continue
            update = world.updates.popleft()
            task = asyncio.create_task(self._deliver(hook, update))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            task.add_done_callback(lambda _t: world.update_signal.fire())

    async def _deliver(self, hook: dict[str, Any], update: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        headers = {"Content-Type": "application/json"}
        if hook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        body = _DUMPS(update).encode()
        delay = 0.05
        self.webhook_in_flight += 1
        try:
            while not self._closing.is_set():
                if self.world.webhook is not hook:
                    self.world.updates.appendleft(update)
                    return
                try:
                    async with self._session.post(hook["url"], data=body, headers=headers) as r:
                        await r.read()
                        if r.status == 200:
                            self.webhook_deliveries += 1
                            self.world.changed()
                            return
                        message = f"Wrong response from the webhook: {r.status} {r.reason}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    message = f"Connection failed: {type(exc).__name__}"
                self.webhook_failures += 1
                hook["last_error_date"] = self.world.now()
                hook["last_error_message"] = message
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        finally:
            self.webhook_in_flight -= 1


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ThreadedLoopback:
    """A ``LoopbackServer`` in a daemon thread with its own event loop, for synchronous code."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.server: LoopbackServer | None = None
        self.control: SyncControlClient | None = None

    def start(self) -> ThreadedLoopback:
        """Start the thread and wait until the server listens."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self.server = LoopbackServer(**self._kwargs)
                loop.run_until_complete(self.server.start())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="loopback-bot-api", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        assert self.server is not None
        self.control = SyncControlClient(self.server.control_url)
        return self

    def stop(self) -> None:
        """Stop the server and join the thread."""
        if self.control is not None:
            self.control.close()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._thread = None

    def call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``function(*args)`` (sync or async) on the server's loop and return its result."""
        assert self._loop is not None

        async def invoke() -> Any:
            result = function(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(30)

    @property
    def base_url(self) -> str:
        """The value for TELEGRAM_API_BASE."""
        assert self.server is not None
        return self.server.base_url

    @property
    def token(self) -> str:
        """The bot token the server accepts."""
        assert self.server is not None
        return self.server.token

    def __enter__(self) -> ThreadedLoopback:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
