"""Crash safety of a group change: the bot loses a department group holding open cards while
its process is killed with SIGKILL again and again.

The bot runs as ``python -m bot run`` against the loopback Bot API, on a SQLite file or a
PostgreSQL database. Twelve observers each file a report, whose cards reach the water group.
Then the bot is removed from that group without being told (an update it never got), so the
next card refused with 403 is the news; later the removal's ``my_chat_member`` arrives too.
The bot is killed at random moments while it follows all this and restarted each time.

Afterwards the group's binding is stopped, the change was followed exactly once (one
``group_lost`` event, one return to dispatch per report), every report waits in dispatch with
its card there, every observer was told, dispatch was told (a send in flight when the process
died may be repeated — Telegram has no idempotency key — so at most twice), and nothing is
left in the inbox or the outbox.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from sandbox import LoopbackServer
from storage.db import make_engine
from storage.models import (
    GroupBinding,
    InboxStatus,
    InboxUpdate,
    OutboxMessage,
    OutboxStatus,
    Report,
    ReportEvent,
    ReportStatus,
)
from tests.proof.process import BotProcess, base_env, prepare_database
from tests.proof.test_crash import Watch, database_url, report

pytestmark = pytest.mark.e2e

__all__ = ["database_url"]  # the fixture this module borrows

OBSERVERS = 12
KILLS = 4
RUNTIMES = ("ptb", "aiogram", "ptb", "ptb", "ptb", "ptb")
LOST = "已被移出"
TOLD = "暂时无法送达"


async def test_a_lost_group_is_followed_once_across_kill_9(
    tmp_path: Path, database_url: str
) -> None:
    rng = random.Random(12)
    (tmp_path / "logs").mkdir()
    async with LoopbackServer(enforce_limits=False) as server:
        control = server.control
        people = [
            await control.create_user(f"观察员{i}", phone=f"+86139{i:08d}", started=True)
            for i in range(OBSERVERS + 1)
        ]
        admin = await control.create_user("管理员", started=True)
        handler = await control.create_user("水务小张")
        water = await control.create_group("水务承办群", type="supergroup", members=[handler["id"]])
        dispatch = await control.create_group("分拨群", type="supergroup")
        prepare_database(
            database_url,
            phones=[p["phone"] for p in people],
            bindings={"water": water["id"], "social_work": dispatch["id"]},
            cwd=tmp_path,
        )
        env = base_env(database_url, api_base=server.base_url, token=server.token)
        env["ADMIN_USER_IDS"] = str(admin["id"])
        bot = BotProcess(env, tmp_path, tmp_path / "logs", runtimes=RUNTIMES)
        watch = Watch(server)
        await bot.start()
        try:
            await asyncio.gather(
                *(_register_and_report(server, watch, p["id"], f"#{i}") for i, p in
                  enumerate(people[:OBSERVERS]))
            )  # fmt: skip
            await _until(database_url, lambda s: _count_carded(s, water["id"]) == OBSERVERS)
            last = people[OBSERVERS]["id"]
            await control.share_contact(last)
            await control.send_text(last, "#last 小区自来水发黄有异味，已经三天了")
            preview = await watch.until(last, _preview, "the last preview")
            # Removed without the bot being told: the last observer's card is refused with
            # 403, and that is how the bot finds out — while it is killed again and again.
            await control.remove_bot(water["id"], by_user_id=handler["id"], silent=True)
            await control.press(last, last, preview["message_id"], data=_submit(preview), wait=0)
            for kill in range(KILLS):
                if kill == 1:  # the removal's update arrives after all
                    await control.remove_bot(water["id"], by_user_id=handler["id"])
                await asyncio.sleep(rng.uniform(0.05, 0.3) if kill == 0 else rng.uniform(0.5, 2.5))
                await bot.kill()
                await asyncio.sleep(rng.uniform(0, 0.3))
                await bot.start()
            await _until(database_url, lambda s: _settled(s, dispatch["id"], OBSERVERS + 1))
            await control.wait_idle(timeout=30)
        finally:
            status = await bot.stop()
        assert status == 0, bot.log_tail()
        await _check(server, database_url, people, dispatch["id"], admin["id"], bot)


async def _register_and_report(server: LoopbackServer, watch: Watch, user: int, tag: str) -> None:
    """Register by sharing the phone number, then submit one report."""
    await server.control.share_contact(user)
    await watch.until(user, lambda m: any("核验成功" in (x.get("text") or "") for x in m), "ok")
    await report(server, watch, user, tag, two_parts=False, expected=1)


def _preview(messages: list[dict]) -> dict | None:  # type: ignore[type-arg]
    """The newest preview (a message with a 提交 button)."""
    return next((m for m in reversed(messages) if _submit(m)), None)


def _submit(message: dict) -> str | None:  # type: ignore[type-arg]
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if "提交" in button.get("text", ""):
                return str(button["callback_data"])
    return None


def _count_carded(session: Session, chat_id: int) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(Report).where(Report.card_chat_id == chat_id)
        ).one()
    )


def _settled(session: Session, dispatch: int, reports: int) -> bool:
    """Every report's card is in dispatch and nothing waits in the outbox or the inbox."""
    pending = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
    ).one()
    inbox = session.exec(
        select(func.count())
        .select_from(InboxUpdate)
        .where(InboxUpdate.status == InboxStatus.PENDING)
    ).one()
    return pending == 0 and inbox == 0 and _count_carded(session, dispatch) == reports


async def _until(database_url: str, condition: object, within: float = 120) -> None:
    """Wait until ``condition(session)`` holds."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                if condition(session):  # type: ignore[operator]
                    return
            await asyncio.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError("the bot never settled")


async def _check(
    server: LoopbackServer,
    database_url: str,
    people: list[dict],  # type: ignore[type-arg]
    dispatch: int,
    admin: int,
    bot: BotProcess,
) -> None:
    control = server.control
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            binding = session.exec(
                select(GroupBinding).where(GroupBinding.department == "water")
            ).one()
            assert not binding.active, bot.log_tail()
            lost = session.exec(select(ReportEvent).where(ReportEvent.action == "group_lost")).all()
            assert len(lost) == 1, bot.log_tail()
            reports = session.exec(select(Report)).all()
            assert len(reports) == OBSERVERS + 1
            assert {r.status for r in reports} == {ReportStatus.DISPATCH}
            assert {r.card_chat_id for r in reports} == {dispatch}
            returns = Counter(
                event.report_id
                for event in session.exec(
                    select(ReportEvent).where(
                        ReportEvent.action == "returned", col(ReportEvent.actor) == "system"
                    )
                ).all()
            )
            assert set(returns.values()) == {1} and len(returns) == OBSERVERS + 1
            failed = session.exec(
                select(InboxUpdate).where(InboxUpdate.status == InboxStatus.FAILED)
            ).all()
            assert failed == []
    finally:
        engine.dispose()
    notices = [m for m in await control.bot_messages(dispatch) if LOST in (m.get("text") or "")]
    assert 1 <= len(notices) <= 2, notices
    admin_notices = [m for m in await control.bot_messages(admin) if LOST in (m.get("text") or "")]
    assert 1 <= len(admin_notices) <= 2
    for person in people:
        told = [m for m in await control.bot_messages(person["id"]) if TOLD in (m["text"] or "")]
        assert 1 <= len(told) <= 2, (person, told)
