"""`obsbot run`: the bot itself, by long polling (default) or by webhook (`--webhook`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING

import click

from bot.cli.common import friendly_errors, require_database, say, settings

if TYPE_CHECKING:  # imported when the bot starts, not when obsbot loads its commands
    from bot.infra.config import Settings
    from bot.services import Services
    from bot.telegram.runtime import BotRuntime, Webhook
    from bot.telegram.transport import BotApi

log = logging.getLogger(__name__)


@click.command()
@click.option(
    "--webhook",
    "use_webhook",
    is_flag=True,
    help="Receive updates by webhook (WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_PORT) "
    "instead of long polling.",
)
@friendly_errors
def run(use_webhook: bool) -> None:
    """Run the bot: receive updates, handle reports, deliver messages (Ctrl-C stops)."""
    from bot.app import build_services, worker_services
    from bot.infra.delivery import DeliveryWorker, Limits
    from bot.infra.handling import HandlingProcess
    from bot.infra.instance import hold_instance_lock, join_instances
    from bot.infra.scheduler import SweepScheduler
    from bot.telegram.bot_api import open_bot_api
    from bot.telegram.runtime import BotRuntime
    from storage.db import ensure_current

    current = settings()
    token = current.require_token()
    require_database(current)
    instance_lock = hold_instance_lock(current.database_url)  # noqa: F841 - held until exit
    services = build_services(current)
    ensure_current(services.engine)
    api = open_bot_api(
        current.bot_runtime,
        token,
        api_base=current.telegram_api_base,
        upload_dir=current.digest_dir,
    )
    delivery = DeliveryWorker(
        services.engine,
        api,
        services=services,  # dispatch is looked up at send time; lost groups are followed
        limits=Limits(global_rate=current.delivery_rate),
        sole=instance_lock is not None,  # SQLite: a lease left at start is a dead process's
    )
    # PostgreSQL: alone at start, the leases left behind are a dead process's too.
    presence = join_instances(services.engine, when_alone=delivery.take_back_leases)
    delivery.presence = presence  # marks its leases; finds those of instances that are gone
    sweeps = SweepScheduler(services, interval=current.sweep_interval, on_queued=delivery.notify)
    webhook = _webhook(current, services) if use_webhook else None
    runtime = BotRuntime(
        services,
        api,
        delivery=delivery,
        sweeps=sweeps,
        webhook=webhook,
        # Handling in a process of its own: handling and delivery use two cores, not one.
        handling=HandlingProcess(
            services,
            current.database_url,
            build=worker_services,
            token=token,
            api_base=current.telegram_api_base,
        ),
    )

    mode = "run_webhook" if use_webhook else "run_polling"
    say(mode, err=True, runtime=current.bot_runtime, port=current.webhook_port)
    asyncio.run(_serve(runtime, api, services))


def _webhook(current: Settings, services: Services) -> Webhook:
    """Return the webhook server and the address Telegram is to post updates to."""
    from bot.telegram.runtime import Webhook
    from bot.telegram.webhook import WebhookServer

    url, secret = current.require_webhook()
    server = WebhookServer(
        services, secret=secret, host=current.webhook_host, port=current.webhook_port
    )
    return Webhook(server, url)


async def _serve(runtime: BotRuntime, api: BotApi, services: Services) -> None:
    """Run until SIGINT/SIGTERM; SIGHUP reloads routing_rules.yaml (a broken file keeps the old)."""

    def reload_rules() -> None:
        from bot.core.rules import RulesError

        try:
            rules = services.reload_rules()
        except RulesError as error:
            log.error("rules reload refused, old rules stay in force: %s", error)
            return
        log.info("rules reloaded version=%s rules=%d", rules.version, len(rules.rules))

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, runtime.stop)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGHUP, reload_rules)
    try:
        await runtime.run()
    finally:
        await api.close()
