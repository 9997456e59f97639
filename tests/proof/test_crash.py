"""Crash safety: the bot process is killed with SIGKILL again and again while observers report.

The bot runs as ``python -m bot run`` (python-telegram-bot, and aiogram once, on one database)
against the loopback Bot API in this process, on a SQLite file or a PostgreSQL database
prepared with ``obsbot db upgrade`` and the roster import's storage functions. 100 observers
register and each submit 5 reports (text → preview → 提交; every third report is written in two
messages, so a draft spans kills), while the bot is killed at ``KILLS`` random points of the
load and restarted each time. Then the bot is stopped while 50 observers send one more
report and the sign-for deadline of 6 reports passes, started, and killed twice more while its
start-up sweep announces those overdue reports and it handles the 50 messages.

Afterwards every submitted report exists exactly once, with its creation event and its card,
every observer holds one acknowledgement per report (a send that was in flight when the process
died is repeated after the restart — Telegram has no idempotency key — so such duplicates are
counted and bounded), no draft is left, nothing is stuck in the inbox or the outbox, and each
overdue report's reminder fired exactly once (card marked 已超时, dispatch told).
About 550 reports and 13 kills take about 60 s per database on two cores.

A second proof bounds duplicates by chat, whatever the number of sends in flight: with 1.5 s of
Bot API latency and about 30 chats sending at once (a few with long queues), one SIGKILL during
delivery repeats at most one message per chat after the restart. The worker sends a chat's
next message only once the previous one's result is committed, so each chat has at most one
unrecorded send at a time.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from sandbox import LoopbackServer
from storage import outbox
from storage.db import make_engine
from storage.models import (
    Draft,
    InboxStatus,
    InboxUpdate,
    OutboxMessage,
    OutboxStatus,
    ReminderMark,
    ReminderState,
    Report,
    ReportEvent,
)
from storage.types import utcnow
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_unavailable
from tests.proof.process import BotProcess, base_env, prepare_database

pytestmark = pytest.mark.e2e

OBSERVERS = 100
REPORTS_EACH = 5  # under fire: 500 reports
DOWN = 50  # observers who report once more while the bot is down: 50 messages
KILLS = 10  # under load; then 3 more around a bot that is down and reminding
OVERDUE = 6  # reports whose sign-for deadline passes while the bot is down
# python-telegram-bot, and aiogram once (its import alone takes seconds), on one database.
RUNTIMES = ("ptb", "ptb", "aiogram", *("ptb",) * 9)
ACK = "已提交，编号"
SUBMIT = "提交"
Message = dict[str, Any]


class Watch:
    """Waits on the loopback world for what the bot sent."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server

    async def until(
        self, chat_id: int, found: Callable[[list[Message]], Any], what: str, within: float = 120
    ) -> Any:
        """Wait until ``found(messages of chat)`` is truthy and return it."""
        deadline = time.monotonic() + within
        while True:
            messages = await self.server.control.bot_messages(chat_id)
            result = found(messages)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"chat {chat_id}: no {what} after {within}s: {messages[-3:]}")
            await self.server.world.change_signal.wait(0.5)

    def sent_total(self) -> int:
        """Every message the bot has sent so far, in every chat."""
        return sum(self.server.world.sent_count.values())


def submit_data(message: Message) -> str | None:
    """The callback data of a preview's 提交 button, if the message has one."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if SUBMIT in button.get("text", ""):
                return str(button["callback_data"])
    return None


def preview_with(*parts: str) -> Callable[[list[Message]], Message | None]:
    """Find the newest preview whose text contains every part."""

    def find(messages: list[Message]) -> Message | None:
        for message in reversed(messages):
            text = message.get("text") or ""
            if submit_data(message) and all(part in text for part in parts):
                return message
        return None

    return find


def acks(messages: list[Message]) -> list[str]:
    """The report numbers of every acknowledgement in a chat, duplicates included."""
    return [m["text"].split(ACK, 1)[1].split()[0] for m in messages if ACK in (m.get("text") or "")]


async def report(
    server: LoopbackServer, watch: Watch, user: int, tag: str, two_parts: bool, expected: int
) -> None:
    """One observer writes a report (in one or two messages), previews it and submits it."""
    first = f"{tag} 小区自来水发黄有异味，已经三天了"
    await server.control.send_text(user, first)
    preview = await watch.until(user, preview_with(tag), f"preview of {tag}")
    if two_parts:
        second = f"补充{tag}：水压也很低"
        await server.control.send_text(user, second)
        preview = await watch.until(user, preview_with(tag, second), f"2nd preview of {tag}")
    data = submit_data(preview)
    await server.control.press(user, user, preview["message_id"], data=data, wait=0)
    await watch.until(user, lambda m: len(set(acks(m))) >= expected, f"ack #{expected}")


async def observer(server: LoopbackServer, watch: Watch, index: int, user: int) -> list[str]:
    """Register by sharing the phone number, then submit ``REPORTS_EACH`` reports."""
    await server.control.share_contact(user)
    await watch.until(user, lambda m: any("核验成功" in (x.get("text") or "") for x in m), "ok")
    tags = []
    for k in range(REPORTS_EACH):
        tag = f"#{index}-{k}"
        await report(server, watch, user, tag, two_parts=(index + k) % 3 == 0, expected=k + 1)
        tags.append(tag)
    return tags


async def killer(bot: BotProcess, watch: Watch, rng: random.Random, expected: int) -> None:
    """Kill the bot when the load crosses ``KILLS`` random points, restarting it each time."""
    points = sorted(rng.sample(range(expected // 20, expected * 9 // 10), KILLS))
    for point in points:
        while watch.sent_total() < point:
            await watch.server.world.change_signal.wait(0.5)
        await asyncio.sleep(rng.uniform(0, 0.15))  # somewhere inside whatever it is doing
        await bot.kill()
        await asyncio.sleep(rng.uniform(0, 0.3))  # messages keep arriving while it is down
        await bot.start()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: a SQLite file, or a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.sqlite'}"
        return
    name = f"obsbot_crash_{uuid.uuid4().hex[:10]}"
    try:
        admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "unavailable"
        _postgres_unavailable(str(exc).splitlines()[0])
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def test_reports_survive_repeated_kill_9(tmp_path: Path, database_url: str) -> None:
    rng = random.Random(8)
    (tmp_path / "logs").mkdir()
    async with LoopbackServer(enforce_limits=False) as server:
        control = server.control
        people = [
            await control.create_user(f"观察员{i}", phone=f"+86139{i:08d}", started=True)
            for i in range(OBSERVERS)
        ]
        handler = await control.create_user("水务小张")
        dispatcher = await control.create_user("分拨员")
        water = await control.create_group("水务承办群", type="supergroup", members=[handler["id"]])
        dispatch = await control.create_group(
            "分拨群", type="supergroup", members=[dispatcher["id"]]
        )
        prepare_database(
            database_url,
            phones=[p["phone"] for p in people],
            bindings={"water": water["id"], "social_work": dispatch["id"]},
            cwd=tmp_path,
        )
        env = base_env(database_url, api_base=server.base_url, token=server.token)
        bot = BotProcess(env, tmp_path, tmp_path / "logs", runtimes=RUNTIMES)
        watch = Watch(server)
        await bot.start()
        try:
            # Messages the load produces: a welcome and a preview or two and an ack per report.
            expected = OBSERVERS * (1 + REPORTS_EACH * 2) + OBSERVERS * REPORTS_EACH // 3
            chaos = asyncio.create_task(killer(bot, watch, rng, expected))
            tagged = await asyncio.gather(
                *(observer(server, watch, i, p["id"]) for i, p in enumerate(people))
            )
            await chaos
            assert bot.kills == KILLS

            # Stopped while 50 messages arrive, then started: all 50 handled. Meanwhile the
            # sign-for deadline of a few reports passed: the start-up sweep must announce each
            # overdue report once, though the bot is killed twice more while it does.
            await control.wait_idle(timeout=30)  # every earlier update confirmed
            await bot.kill()
            overdue = _make_overdue(database_url, OVERDUE)
            for index, person in enumerate(people[:DOWN]):
                await control.send_text(person["id"], f"#{index}-down 停电了，路灯也不亮")
            assert len(await control.pending_updates()) == DOWN
            await bot.start()
            for _ in range(2):
                await asyncio.sleep(rng.uniform(0.5, 3.0))
                await bot.kill()
                await bot.start()
            await asyncio.gather(
                *(
                    _submit_last(server, watch, p["id"], f"#{i}-down", REPORTS_EACH + 1)
                    for i, p in enumerate(people[:DOWN])
                )
            )
            for index in range(DOWN):
                tagged[index].append(f"#{index}-down")
            await _settled(database_url, OBSERVERS * REPORTS_EACH + DOWN)
        finally:
            status = await bot.stop()
        assert status == 0, bot.log_tail()
        _check_overdue(database_url, server, overdue, water["id"], dispatch["id"], bot)
        _check(database_url, server, people, tagged, bot)


async def _submit_last(server: LoopbackServer, watch: Watch, user: int, tag: str, n: int) -> None:
    preview = await watch.until(user, preview_with(tag), f"preview of {tag}")
    await server.control.press(user, user, preview["message_id"], data=submit_data(preview), wait=0)
    await watch.until(user, lambda m: len(set(acks(m))) >= n, f"ack #{n}")


async def _settled(database_url: str, reports: int, within: float = 60) -> None:
    """Wait until every report's card is out and the outbox is empty."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                pending = session.exec(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == OutboxStatus.PENDING)
                ).one()
                carded = session.exec(
                    select(func.count())
                    .select_from(Report)
                    .where(col(Report.card_message_id).is_not(None))
                ).one()
            if pending == 0 and carded >= reports:
                return
            await asyncio.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"outbox not drained: pending={pending} carded={carded}/{reports}")


def _make_overdue(database_url: str, count: int) -> dict[str, int]:
    """Move the sign-for deadline of ``count`` routed reports into the past; return number → id."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        chosen = session.exec(
            select(Report)
            .where(Report.status == "routed", Report.department == "water")
            .order_by(col(Report.id))
            .limit(count)
        ).all()
        assert len(chosen) == count
        for report in chosen:
            report.sign_due_at = utcnow() - timedelta(seconds=1)
            session.add(report)
        session.commit()
        numbers = {report.number: report.id or 0 for report in chosen}
    engine.dispose()
    return numbers


def _check_overdue(
    database_url: str,
    server: LoopbackServer,
    overdue: dict[str, int],
    water: int,
    dispatch: int,
    bot: BotProcess,
) -> None:
    """Each overdue report: its overdue mark fired once, its card shows it, dispatch was told."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        marks = session.exec(
            select(ReminderMark).where(col(ReminderMark.report_id).in_(list(overdue.values())))
        ).all()
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.report_id).in_(list(overdue.values())))
        ).all()
        cards = {r.number: r.card_message_id for r in session.exec(select(Report))}
    engine.dispose()
    now = utcnow()
    assert not [m for m in marks if m.state == ReminderState.PLANNED and m.fire_at <= now]
    fired = Counter(m.report_id for m in marks if m.threshold == "overdue" and m.state == "sent")
    assert fired == Counter(overdue.values()), "an overdue reminder was lost or fired twice"
    told = Counter(row.report_id for row in rows if row.purpose == "overdue")
    assert told == Counter(overdue.values()), "dispatch was not told exactly once per report"
    claims = sum(row.attempts for row in rows if row.purpose == "overdue")
    shown = 0
    for number in overdue:
        seen = sum(
            number in (m.get("text") or "") for m in server.controller._bot_messages(dispatch)
        )
        assert seen >= 1, f"dispatch never saw {number}"
        shown += seen
        card = server.world.messages[(water, cards[number])]
        assert "已超时" in card["text"], f"the card of {number} does not show it is overdue"
    assert shown <= claims, f"{shown} overdue notices for {claims} claims"


def _check(
    database_url: str,
    server: LoopbackServer,
    people: list[dict[str, Any]],
    tagged: list[list[str]],
    bot: BotProcess,
) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session:
        reports = session.exec(select(Report)).all()
        created = Counter(
            e.report_id for e in session.exec(select(ReportEvent)).all() if e.action == "created"
        )
        inbox = Counter(row.status for row in session.exec(select(InboxUpdate)).all())
        rows = session.exec(select(OutboxMessage)).all()
        drafts = session.exec(select(Draft)).all()
    engine.dispose()
    world = server.world

    # Every submitted report exists exactly once, whole.
    by_tag = Counter(r.text.split()[0] for r in reports)
    submitted = [tag for tags in tagged for tag in tags]
    assert len(reports) == len(submitted) == OBSERVERS * REPORTS_EACH + DOWN
    assert by_tag == Counter(submitted), "a report was lost or doubled"
    for r in reports:
        assert created[r.id] == 1, f"report {r.number} lacks its creation event"
        assert r.card_message_id is not None, f"report {r.number} has no card"
        tag = r.text.split()[0]
        index, k = tag[1:].split("-")
        if k != "down" and (int(index) + int(k)) % 3 == 0:
            assert f"补充{tag}" in r.text, f"the draft of {tag} lost its second part"
    assert not drafts, "a draft was left behind"

    # One acknowledgement per report. A send in flight when the process died is made again
    # after the restart (Telegram has no idempotency key), so a report's acknowledgement may
    # appear at most once per claim of its outbox row; overall such repeats stay rare.
    claims = {row.report_id: row.attempts for row in rows if row.purpose == "ack"}
    number_of = {r.number: r.id for r in reports}
    duplicates = 0
    for index, person in enumerate(people):
        seen = Counter(acks(server.controller._bot_messages(person["id"])))
        assert set(seen) <= set(number_of), "an acknowledgement names an unknown report"
        expected = REPORTS_EACH + (1 if index < DOWN else 0)
        assert len(seen) == expected, f"observer {person['id']} missed an ack"
        for number, count in seen.items():
            assert count <= claims[number_of[number]], f"{number} acknowledged {count} times"
        # Each kill repeats at most one message per chat (its one unrecorded send), however
        # many chats were in flight: the guarantee, not a figure that depends on the load.
        repeated = sum(seen.values()) - len(seen)
        assert repeated <= bot.kills, f"observer {person['id']}: {repeated} repeated acks"
        duplicates += repeated

    # Nothing stuck, nothing refused.
    assert inbox == Counter({InboxStatus.DONE: inbox[InboxStatus.DONE]}), inbox
    assert {row.status for row in rows} == {OutboxStatus.SENT}
    assert not world.updates
    # Allowed: a poll of a killed process ended by its successor's (409), and presses made
    # while the bot was down answered too late to show (Telegram's 15 s for an answer).
    expected = ("Conflict: terminated by other getUpdates", "Bad Request: query is too old")
    bad = {k: v for k, v in server.error_counts.items() if not k.startswith(expected)}
    assert not bad, bad
    print(  # the figures for the README
        f"crash: reports={len(reports)} kills={bot.kills} starts={bot.starts} "
        f"duplicate_acks={duplicates} inbox_done={inbox[InboxStatus.DONE]}"
    )


LATENCY = 1.5  # seconds per Bot API call
BUSY_CHATS, BUSY_QUEUE = 4, 8  # a few chats with longer queues
QUIET_CHATS, QUIET_QUEUE = 26, 3  # and many with short ones: 30 sends in flight at once


async def test_a_kill_during_delivery_repeats_at_most_one_message_per_chat(
    tmp_path: Path, database_url: str
) -> None:
    rng = random.Random(19)
    (tmp_path / "logs").mkdir()
    async with LoopbackServer(enforce_limits=False) as server:
        users = [
            await server.control.create_user(f"用户{i}", started=True)
            for i in range(BUSY_CHATS + QUIET_CHATS)
        ]
        queues = {
            user["id"]: BUSY_QUEUE if index < BUSY_CHATS else QUIET_QUEUE
            for index, user in enumerate(users)
        }
        prepare_database(database_url, phones=[], bindings={}, cwd=tmp_path)
        _queue_messages(database_url, queues)
        server.latency = LATENCY
        env = base_env(database_url, api_base=server.base_url, token=server.token)
        bot = BotProcess(env, tmp_path, tmp_path / "logs")
        watch = Watch(server)
        total = sum(queues.values())
        await bot.start()
        try:
            # Once the first wave has landed the second is sent (about 30 calls, one per chat):
            # kill somewhere inside its latency, while every one of them is in flight.
            while watch.sent_total() < len(queues):
                await server.world.change_signal.wait(0.5)
            await asyncio.sleep(rng.uniform(0.5, LATENCY - 0.3))
            await bot.kill()
            killed_at = watch.sent_total()
            server.latency = 0.0
            await bot.start()
            await _settled(database_url, 0)
            await server.control.wait_idle(timeout=30)
        finally:
            status = await bot.stop()
        assert status == 0, bot.log_tail()
    assert killed_at < total, "the kill came after delivery had finished"
    duplicates = {}
    for chat, queued in queues.items():
        seen = Counter(
            m.get("text") for m in server.controller._bot_messages(chat) if m.get("text")
        )
        assert set(seen) == {f"{chat}#{i}" for i in range(queued)}, f"chat {chat} lost a message"
        duplicates[chat] = sum(seen.values()) - len(seen)
    assert max(duplicates.values()) <= 1, f"duplicates per chat: {duplicates}"
    # The kill did hit sends in flight (else this proves nothing): some chats got one repeat.
    assert sum(duplicates.values()) >= 1, "no send was in flight at the kill"
    print(  # the figures for the README
        f"crash-in-flight: chats={len(queues)} messages={total} "
        f"duplicates={sum(duplicates.values())} max_per_chat={max(duplicates.values())}"
    )


def _queue_messages(database_url: str, queues: dict[int, int]) -> None:
    """Queue ``queues[chat]`` numbered messages to each chat, as handlers would."""
    engine = make_engine(database_url)
    now = utcnow()
    with Session(engine) as session:
        for chat, count in queues.items():
            for index in range(count):
                outbox.enqueue(
                    session=session,
                    chat_id=chat,
                    payload={"chat_id": chat, "text": f"{chat}#{index}"},
                    idempotency_key=f"proof:{chat}:{index}",
                    now=now,
                )
        session.commit()
    engine.dispose()
