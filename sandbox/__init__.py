"""A loopback Bot API server: Telegram on 127.0.0.1 for tests, the demo and benchmarks.

    async with LoopbackServer() as server:            # port 0 -> a free port
        os.environ["TELEGRAM_API_BASE"] = server.base_url
        alice = await server.control.create_user("Alice", phone="+8613800000000")
        await server.control.send_text(alice["id"], "/start")
        sent = await server.control.wait_sent(alice["id"], 1)

Modules: server (HTTP app, faults, latency, webhook delivery), methods (Bot API methods),
world (simulated people, chats, messages, files, update queue), validation (Telegram's checks
and errors), entities (HTML/Markdown parsing), limits (flood limits), faults, control.
"""

from sandbox.control import (
    ControlClient,
    ControlError,
    Controller,
    SyncControlClient,
    WaitTimeout,
)
from sandbox.faults import Fault, FaultPlan
from sandbox.limits import RateLimiter, RateLimits
from sandbox.server import DEFAULT_TOKEN, LoopbackServer, ThreadedLoopback
from sandbox.validation import ApiError
from sandbox.world import World

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "ControlClient",
    "ControlError",
    "Controller",
    "Fault",
    "FaultPlan",
    "LoopbackServer",
    "RateLimiter",
    "RateLimits",
    "SyncControlClient",
    "ThreadedLoopback",
    "WaitTimeout",
    "World",
]
