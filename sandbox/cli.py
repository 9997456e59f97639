"""`obsbot sandbox`: run the loopback Bot API alone, to play observer and department by hand."""

from __future__ import annotations

import asyncio
import contextlib

import click

from bot.cli.common import say, text


async def _serve(port: int, token: str, latency_ms: float, limits: bool, privacy: bool) -> None:
    from sandbox import LoopbackServer

    server = LoopbackServer(
        token=token,
        port=port,
        latency=latency_ms / 1000.0,
        enforce_limits=limits,
        privacy_mode=privacy,
    )
    try:
        await server.start()
    except OSError as exc:
        raise click.ClickException(text("sandbox_port", port=port, reason=exc.strerror)) from None
    control = server.control_url
    say("sandbox_running")
    click.echo(f"  TELEGRAM_API_BASE={server.base_url}")
    click.echo(f"  TELEGRAM_BOT_TOKEN={server.token}")
    say("sandbox_control", control=control)
    user = '{"first_name": "张三", "phone": "+8613800000000", "started": true}'
    click.echo(f"  curl -s {control}/user -d '{user}'")
    click.echo(f'  curl -s {control}/message -d \'{{"user_id": 100001, "text": "/start"}}\'')
    click.echo(f"  curl -s '{control}/bot_messages?chat_id=100001'")
    say("sandbox_stop")
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


@click.command()
@click.option("--port", default=8081, show_default=True, help="Port on 127.0.0.1 (0: any free).")
@click.option(
    "--token",
    default=None,
    help="Bot token the server accepts (default: a fixed test token).",
)
@click.option("--latency-ms", default=0.0, show_default=True, help="Delay added to every call.")
@click.option(
    "--limits/--no-limits",
    default=True,
    show_default=True,
    help="Enforce Telegram's flood limits (429 with retry_after).",
)
@click.option(
    "--privacy/--no-privacy",
    default=True,
    show_default=True,
    help="Group privacy mode: the bot sees only commands, replies and mentions.",
)
def sandbox(port: int, token: str | None, latency_ms: float, limits: bool, privacy: bool) -> None:
    """Run the loopback Bot API server on 127.0.0.1 until Ctrl-C."""
    from sandbox import DEFAULT_TOKEN

    if port < 0 or port > 65535:
        raise click.BadParameter(text("sandbox_port_range"), param_hint="--port")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(port, token or DEFAULT_TOKEN, latency_ms, limits, privacy))
