"""The outbox worker against the loopback Bot API, on SQLite and PostgreSQL.

Each test queues rows as handlers do, runs the real worker with a real library's ``BotApi``
against the loopback server, and checks what Telegram received and what the database recorded.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.infra.delivery import (
    DeliveryWorker,
    Limits,
    Pacer,
    RetryPolicy,
    card_references,
    failure_reason,
    resolve_cards,
)
from bot.telegram.bot_api import open_bot_api
from bot.telegram.transport import BotApi
from sandbox import ControlClient, LoopbackServer
from storage import outbox
from storage.db import session_scope
from storage.models import (
    GroupBinding,
    Observer,
    OutboxMessage,
    OutboxStatus,
    Report,
    ReportEvent,
)
from storage.outbox import CARD_BATCH
from tests import factories

FAST = Limits.unpaced()
QUICK_RETRY = RetryPolicy(base=0.01, cap=0.05, card_wait=0.02)


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackServer]:
    """A loopback Bot API server with Telegram's flood limits off unless a test turns them on."""
    async with LoopbackServer(enforce_limits=False) as server:
        yield server


@pytest.fixture
def control(loopback: LoopbackServer) -> ControlClient:
    """The in-process control client of ``loopback``."""
    return loopback.control


@pytest.fixture(params=["ptb"])
async def api(request: pytest.FixtureRequest, loopback: LoopbackServer) -> AsyncIterator[BotApi]:
    """The python-telegram-bot ``BotApi`` (the default runtime) on the loopback server."""
    opened = open_bot_api(request.param, loopback.token, api_base=loopback.base_url, timeout=0.5)
    yield opened
    await opened.close()


def make_worker(engine: Engine, api: BotApi, **overrides: Any) -> DeliveryWorker:
    """A worker with fast pacing and retries, polling often."""
    options: dict[str, Any] = {
        "limits": FAST,
        "retry": QUICK_RETRY,
        "poll_interval": 0.02,
        "rng": random.Random(7),
    }
    options.update(overrides)
    return DeliveryWorker(engine, api, **options)


def queue(
    engine: Engine,
    chat_id: int,
    text: str | None = None,
    *,
    method: str = "sendMessage",
    payload: dict[str, Any] | None = None,
    purpose: str = "",
    report_id: int | None = None,
) -> int:
    """Queue one call as a handler would; return the row id."""
    key = uuid.uuid4().hex
    body = payload if payload is not None else {"chat_id": chat_id, "text": text}
    with session_scope(engine) as session:
        outbox.enqueue(
            session=session,
            chat_id=chat_id,
            payload=body,
            idempotency_key=key,
            now=datetime.now(UTC),
            method=method,
            purpose=purpose,
            report_id=report_id,
        )
        row = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()
        assert row.id is not None
        return row.id


def rows(engine: Engine) -> list[OutboxMessage]:
    """Every outbox row, in id order."""
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def pending(engine: Engine) -> int:
    """How many rows still wait."""
    return sum(1 for row in rows(engine) if row.status == OutboxStatus.PENDING)


async def until(condition: Callable[[], bool], what: str, limit: float = 15.0) -> None:
    """Wait until ``condition()`` holds (a guard against hanging, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


async def deliver_all(*workers: DeliveryWorker, engine: Engine, limit: float = 15.0) -> None:
    """Run the workers until no row is pending, then stop them cleanly."""
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        await until(lambda: pending(engine) == 0, "the outbox to drain", limit)
    finally:
        for worker in workers:
            await worker.stop()
        await asyncio.gather(*tasks)


async def texts(control: ControlClient, chat_id: int) -> list[str]:
    """The texts the bot sent to a chat, in order."""
    return [message.get("text", "") for message in await control.bot_messages(chat_id)]


def make_report(engine: Engine, **values: Any) -> Report:
    """Add a station, an observer and a report; return the report."""
    with session_scope(engine) as session:
        station = factories.station(session, code=f"ST-{uuid.uuid4().hex[:8]}")
        person = factories.observer(
            session, station_code=station.code, telegram_user_id=values.pop("observer_user", None)
        )
        return factories.report(session, obs=person, **values)


def get_report(engine: Engine, report_id: int) -> Report:
    with Session(engine) as session:
        report = session.get(Report, report_id)
        assert report is not None
        return report


def events(engine: Engine, action: str) -> list[ReportEvent]:
    with Session(engine) as session:
        return list(session.exec(select(ReportEvent).where(ReportEvent.action == action)).all())


# --- pure parts ------------------------------------------------------------------------------


def test_card_placeholders_are_found_and_replaced_anywhere() -> None:
    payload = {
        "chat_id": -5,
        "message_id": {"$card": 3},
        "reply_parameters": {"message_id": {"$card": 4}, "allow_sending_without_reply": True},
        "list": [{"$card": 3}, {"$card": 4, "other": 1}],
    }
    assert card_references(payload) == {3, 4}
    resolved = resolve_cards(payload, {3: 30, 4: 40})
    assert resolved["message_id"] == 30
    assert resolved["reply_parameters"]["message_id"] == 40
    assert resolved["list"] == [30, {"$card": 4, "other": 1}]  # only exact placeholders
    assert payload["message_id"] == {"$card": 3}  # the row's payload is left alone


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_keeps_private_group_and_global_limits() -> None:
    clock = FakeClock()
    pacer = Pacer(Limits(global_rate=30, global_burst=20, private_burst=1, group_burst=1), clock)
    assert pacer.reserve_chat(42) == 0
    assert pacer.reserve_chat(42) == pytest.approx(1.0)  # 1/s in a private chat
    assert pacer.reserve_chat(42) == pytest.approx(2.0)
    assert pacer.reserve_chat(-100) == 0  # another chat is not held up
    assert pacer.reserve_chat(-100) == pytest.approx(3.0)  # 20/min in a group
    clock.now += 10
    assert pacer.reserve_chat(42) == 0
    pacer.hold(42, 5)
    assert pacer.reserve_chat(42) == pytest.approx(5.0)  # a 429's retry_after is honoured
    assert [pacer.reserve_global() for _ in range(20)] == [0] * 20  # a burst at once
    assert pacer.reserve_global() == pytest.approx(1 / 30)  # then 30/s overall
    clock.now += 5
    assert pacer.reserve_global() == 0


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base=1, cap=60)
    rng = random.Random(1)
    waits = [policy.backoff(attempt, rng) for attempt in range(1, 12)]
    assert all(0.5 * min(60, 2 ** (n - 1)) <= w <= min(60, 2 ** (n - 1)) for n, w in
               zip(range(1, 12), waits, strict=True))  # fmt: skip
    assert max(waits) <= 60
    assert len({round(w, 6) for w in waits}) == len(waits)


def test_failure_reasons_are_chinese() -> None:
    assert failure_reason("Forbidden: bot was blocked by the user") == "对方已屏蔽机器人"
    assert failure_reason("Bad Request: chat not found") == "找不到该聊天"
    assert "Telegram" in failure_reason("Bad Request: something new")


# --- delivery against the loopback server ----------------------------------------------------


async def test_delivers_in_order_per_chat_through_429s(
    engine: Engine, api: BotApi, control: ControlClient, loopback: LoopbackServer
) -> None:
    alice = await control.create_user("Alice", started=True)
    group = await control.create_group("环保局承办群")
    for n in range(5):
        queue(engine, alice["id"], f"a{n}")
        queue(engine, group["id"], f"g{n}")
    await control.inject("429", "sendMessage", chat_id=alice["id"], retry_after=1, count=2)
    await control.inject("429", "sendMessage", chat_id=group["id"], retry_after=1)
    await deliver_all(make_worker(engine, api), engine=engine)
    assert await texts(control, alice["id"]) == [f"a{n}" for n in range(5)]
    assert await texts(control, group["id"]) == [f"g{n}" for n in range(5)]
    assert (await control.stats())["faults_served"] == {"429": 3}
    sent = rows(engine)
    assert {row.status for row in sent} == {OutboxStatus.SENT}
    assert all(row.attempts == 1 for row in sent)  # a 429 is not a failed attempt
    by_chat = {
        chat: [row.result_message_id for row in sent if row.chat_id == chat]
        for chat in (alice["id"], group["id"])
    }
    for chat, ids in by_chat.items():
        assert ids == [m["message_id"] for m in await control.bot_messages(chat)]


async def test_pacing_stays_under_telegrams_limits(
    engine: Engine, api: BotApi, control: ControlClient, loopback: LoopbackServer
) -> None:
    await control.set_limits(
        enabled=True, private_rate=20, private_burst=3, group_rate=10, group_burst=3
    )
    alice = await control.create_user("Alice", started=True)
    group = await control.create_group("承办群")
    for n in range(8):
        queue(engine, alice["id"], f"a{n}")
        queue(engine, group["id"], f"g{n}")
    # Same rates, smaller bursts: the slack absorbs network jitter, as against Telegram.
    limits = Limits(private_rate=20, private_burst=1, group_rate=10, group_burst=1)
    await deliver_all(make_worker(engine, api, limits=limits), engine=engine)
    assert await texts(control, alice["id"]) == [f"a{n}" for n in range(8)]
    assert await texts(control, group["id"]) == [f"g{n}" for n in range(8)]
    assert (await control.stats())["http_429"] == 0


@pytest.mark.parametrize("api", ["ptb", "aiogram"], indirect=True)
async def test_retries_500_timeout_and_dropped_connection(
    engine: Engine, api: BotApi, control: ControlClient
) -> None:
    alice = await control.create_user("Alice", started=True)
    row_id = queue(engine, alice["id"], "第一条")
    queue(engine, alice["id"], "第二条")
    await control.inject("500", "sendMessage", count=1)
    await control.inject("drop", "sendMessage", count=1)
    await control.inject("timeout", "sendMessage", count=1, hang=2.0)
    await deliver_all(make_worker(engine, api), engine=engine)
    assert await texts(control, alice["id"]) == ["第一条", "第二条"]
    first = next(row for row in rows(engine) if row.id == row_id)
    assert first.status == OutboxStatus.SENT
    assert first.attempts == 4  # three failures, then success
    assert first.result_message_id is not None


async def test_blocked_observer_is_failed_with_an_event_and_dispatch_is_told(
    engine: Engine, api: BotApi, control: ControlClient
) -> None:
    alice = await control.create_user("Alice", started=True)
    dispatch = await control.create_group("社会工作部分拨群")
    report = make_report(engine, observer_user=alice["id"])
    assert report.id is not None
    await control.block_bot(alice["id"])
    ack = queue(engine, alice["id"], "已受理", purpose="ack", report_id=report.id)
    queue(engine, alice["id"], "已签收", purpose="status", report_id=report.id)
    worker = make_worker(engine, api, dispatch_chat_id=dispatch["id"])
    await deliver_all(worker, engine=engine)
    failed = [row for row in rows(engine) if row.chat_id == alice["id"]]
    assert [row.status for row in failed] == [OutboxStatus.FAILED] * 2
    assert "blocked by the user" in (failed[0].last_error or "")
    assert failed[0].id == ack and failed[0].attempts == 1  # no pointless retries
    recorded = events(engine, "delivery_failed")
    assert [event.report_id for event in recorded] == [report.id, report.id]
    assert recorded[0].details["outbox_id"] == ack
    notices = await texts(control, dispatch["id"])
    assert len(notices) == 1  # once per chat and report, not per message
    assert report.number in notices[0] and "对方已屏蔽机器人" in notices[0]
    with Session(engine) as session:
        observer = session.get(Observer, report.observer_id)
        assert observer is not None and observer.name in notices[0]
        assert observer.phone is not None and observer.phone not in notices[0]


async def test_follows_a_group_migrating_to_a_supergroup(
    engine: Engine, api: BotApi, control: ControlClient
) -> None:
    group = await control.create_group("环保局承办群", type="group")
    old = group["id"]
    report = make_report(engine, card_chat_id=old, card_message_id=1)
    with session_scope(engine) as session:
        session.add(GroupBinding(department="environment", region_code="440104", chat_id=old))
    new = (await control.migrate(old))["supergroup_id"]
    queue(engine, old, "新报告一")
    queue(engine, old, "新报告二")
    await deliver_all(make_worker(engine, api), engine=engine)
    assert await texts(control, new) == ["新报告一", "新报告二"]
    assert {row.chat_id for row in rows(engine)} == {new}
    assert {row.payload["chat_id"] for row in rows(engine)} == {new}
    with Session(engine) as session:
        binding = session.exec(select(GroupBinding)).one()
        assert binding.chat_id == new
    assert report.id is not None
    # Message ids are per chat: the old card's id means nothing in the supergroup. Without the
    # bot's services nobody posts it again (handlers.groups does, tested end to end).
    moved = get_report(engine, report.id)
    assert moved.card_chat_id is None and moved.card_message_id is None


async def test_card_placeholders_wait_for_the_card_and_cards_are_recorded(
    engine: Engine, api: BotApi, control: ControlClient
) -> None:
    alice = await control.create_user("Alice", started=True)
    group = await control.create_group("环保局承办群")
    report = make_report(engine, observer_user=alice["id"])
    rid = report.id
    assert rid is not None
    # The card is held up by flood control; the observer's message that quotes it must wait.
    await control.inject("429", "sendMessage", chat_id=group["id"], retry_after=1)
    keyboard = {"inline_keyboard": [[{"text": "签收", "callback_data": f"v1:sign:{rid}"}]]}
    queue(
        engine,
        group["id"],
        payload={"chat_id": group["id"], "text": "【新报告】河涌发臭", "reply_markup": keyboard},
        purpose="card",
        report_id=rid,
    )
    quoted = {"chat_id": group["id"], "message_id": {"$card": rid}}
    queue(
        engine,
        alice["id"],
        payload={"chat_id": alice["id"], "text": "已转交部门", "reply_parameters": quoted},
        report_id=rid,
    )
    queue(
        engine,
        group["id"],
        payload={
            "chat_id": group["id"],
            "text": "补充：附近居民反映",
            "reply_parameters": {"message_id": {"$card": rid}},
        },
        report_id=rid,
    )
    queue(
        engine,
        group["id"],
        method="editMessageText",
        payload={
            "chat_id": group["id"],
            "message_id": {"$card": rid},
            "text": "【已签收】河涌发臭",
        },
        purpose="edit",
        report_id=rid,
    )
    await deliver_all(make_worker(engine, api), engine=engine)
    card = get_report(engine, rid)
    sent = await control.bot_messages(group["id"])
    assert card.card_chat_id == group["id"]
    assert card.card_message_id == sent[0]["message_id"]
    assert sent[0]["text"] == "【已签收】河涌发臭"  # edited in place
    assert sent[1]["reply_to_message"]["message_id"] == card.card_message_id
    assert [row.status for row in rows(engine)] == [OutboxStatus.SENT] * 4
    assert all(row.result_message_id for row in rows(engine))
    assert await texts(control, alice["id"]) == ["已转交部门"]
    delivered = [
        int(call["params"]["chat_id"])
        for call in await control.calls("sendMessage")
        if call["status"] == 200
    ]
    assert delivered.index(alice["id"]) > delivered.index(group["id"])  # after the card


async def test_a_placeholder_for_a_card_that_never_comes_fails(
    engine: Engine, api: BotApi, control: ControlClient
) -> None:
    group = await control.create_group("承办群")
    report = make_report(engine)
    queue(
        engine,
        group["id"],
        method="editMessageText",
        payload={"chat_id": group["id"], "message_id": {"$card": report.id}, "text": "x"},
        report_id=report.id,
    )
    queue(engine, group["id"], "之后的消息")
    await deliver_all(make_worker(engine, api), engine=engine)
    first, second = rows(engine)
    assert first.status == OutboxStatus.FAILED and "never delivered" in (first.last_error or "")
    assert second.status == OutboxStatus.SENT  # the chat is not blocked behind it
    assert await texts(control, group["id"]) == ["之后的消息"]


async def test_a_burst_of_200_cards_is_coalesced(
    engine: Engine, api: BotApi, control: ControlClient, loopback: LoopbackServer
) -> None:
    group = await control.create_group("环保局承办群")
    reports = [make_report(engine, text="第1件：河涌发臭，联系人 13800138000")]
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        obs = session.exec(select(Observer)).one()
        for n in range(2, 201):
            reports.append(factories.report(session, obs=obs, text=f"第{n}件：路灯不亮"))
        for report in reports:
            keyboard = [
                [{"text": "签收", "callback_data": f"v1:sign:{report.id}"}],
                [{"text": "退回", "callback_data": f"v1:return:{report.id}"}],
            ]
            payload = {
                "chat_id": group["id"],
                "text": f"【新报告】{report.number}",
                "reply_markup": {"inline_keyboard": keyboard},
            }
            outbox.enqueue(
                session=session,
                chat_id=group["id"],
                payload=payload,
                idempotency_key=f"card:{report.id}",
                now=now,
                purpose="card",
                report_id=report.id,
            )
    queue(engine, group["id"], "今日提醒")
    # Telegram's group limit is on: 201 separate messages would take ten minutes.
    await control.set_limits(enabled=True, group_rate=20 / 60, group_burst=20)
    worker = make_worker(engine, api, limits=Limits(), coalesce_after=5)
    await deliver_all(worker, engine=engine, limit=20)
    sent = await control.bot_messages(group["id"])
    assert len(sent) <= 6  # a handful of combined messages, then the reminder
    assert sent[-1]["text"] == "今日提醒"
    listed = "\n".join(message["text"] for message in sent[:-1])
    for report in reports:
        assert report.number in listed
    assert "13800138000" not in listed  # personal numbers stay masked
    buttons = [b for row in sent[0]["reply_markup"]["inline_keyboard"] for b in row]
    first = reports[0]
    assert {"text": f"{first.number[-4:]} 签收", "callback_data": f"v1:sign:{first.id}"} in buttons
    assert {"text": "退回", "callback_data": f"v1:return:{first.id}"} in buttons
    assert (await control.stats())["http_429"] == 0
    all_rows = rows(engine)
    cards = [row for row in all_rows if row.purpose == "card"]
    assert {row.status for row in cards} == {OutboxStatus.SENT}
    message_ids = {m["message_id"] for m in sent[:-1]}
    assert {row.result_message_id for row in cards} == message_ids
    batches = [row for row in all_rows if row.purpose == CARD_BATCH]
    assert {row.result_message_id for row in batches} == message_ids
    for report in reports:
        assert report.id is not None
        assert get_report(engine, report.id).card_message_id in message_ids
    assert len(events(engine, "card_coalesced")) == len(reports)


def test_a_short_queue_of_cards_is_not_coalesced(engine: Engine) -> None:
    report = make_report(engine)
    for n in range(5):
        queue(engine, -77, f"card {n}", purpose="card", report_id=report.id)
    worker = DeliveryWorker(engine, open_bot_api("ptb", "1:abcdefghijk", api_base=None))
    (head,) = worker._claim(set(), 10)
    assert worker._plan(head).action == "send"
    assert DeliveryWorker(engine, worker.api, coalesce_after=4)._plan(head).action == "coalesce"


async def test_editing_a_coalesced_card_sends_a_fresh_card(
    engine: Engine, api: BotApi, control: ControlClient
) -> None:
    group = await control.create_group("承办群")
    reports = [make_report(engine) for _ in range(3)]
    for report in reports:
        queue(
            engine, group["id"], f"【新报告】{report.number}", purpose="card", report_id=report.id
        )
    await deliver_all(make_worker(engine, api, coalesce_after=2), engine=engine)
    assert len(await control.bot_messages(group["id"])) == 1
    target = reports[1]
    listing = get_report(engine, target.id).card_message_id  # type: ignore[arg-type]
    queue(
        engine,
        group["id"],
        method="editMessageText",
        payload={"chat_id": group["id"], "message_id": {"$card": target.id}, "text": "【已签收】"},
        report_id=target.id,
    )
    queue(
        engine,
        group["id"],
        method="editMessageReplyMarkup",
        payload={"chat_id": group["id"], "message_id": {"$card": reports[2].id}},
        report_id=reports[2].id,
    )
    await deliver_all(make_worker(engine, api, coalesce_after=2), engine=engine)
    sent = await control.bot_messages(group["id"])
    assert sent[0]["text"].startswith("📋")  # the list itself is never overwritten
    assert sent[1]["text"] == "【已签收】"
    assert sent[1]["reply_to_message"]["message_id"] == listing
    assert get_report(engine, target.id).card_message_id == sent[1]["message_id"]  # type: ignore[arg-type]
    assert len(sent) == 2


async def test_wakes_on_notify_and_stops_cleanly(
    engine: Engine, api: BotApi, control: ControlClient
) -> None:
    alice = await control.create_user("Alice", started=True)
    worker = make_worker(engine, api, poll_interval=60.0)
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.1)
    queue(engine, alice["id"], "立即送达")
    worker.notify()
    await until(lambda: pending(engine) == 0, "the notified row")
    await worker.stop()
    await asyncio.wait_for(task, 5)
    assert await texts(control, alice["id"]) == ["立即送达"]


async def test_rows_waiting_for_their_slot_are_handed_back_on_stop(
    engine: Engine, api: BotApi, control: ControlClient
) -> None:
    alice = await control.create_user("Alice", started=True)
    bob = await control.create_user("Bob", started=True)
    queue(engine, alice["id"], "a")
    queue(engine, bob["id"], "b")
    slow = Limits(global_rate=0.1, global_burst=1)
    worker = make_worker(engine, api, limits=slow)
    task = asyncio.create_task(worker.run())
    await until(lambda: len(rows(engine)) == 2 and pending(engine) == 1, "the first send")
    await worker.stop()
    await asyncio.wait_for(task, 5)
    waiting = next(row for row in rows(engine) if row.status == OutboxStatus.PENDING)
    assert waiting.attempts == 0  # handed back, not counted
    assert waiting.next_try_at <= datetime.now(UTC)  # due again at once, not after the lease


async def test_a_transient_failure_is_given_up_after_the_configured_time(
    engine: Engine, api: BotApi, control: ControlClient
) -> None:
    alice = await control.create_user("Alice", started=True)
    row_id = queue(engine, alice["id"], "x")
    await control.inject("500", "sendMessage", count=0)
    later = datetime.now(UTC) + timedelta(days=2)
    worker = make_worker(engine, api, now=lambda: later)
    await deliver_all(worker, engine=engine)
    row = next(row for row in rows(engine) if row.id == row_id)
    assert row.status == OutboxStatus.FAILED
    assert "Internal Server Error" in (row.last_error or "")
    assert await texts(control, alice["id"]) == []


def test_concurrent_claims_on_postgresql_never_share_a_row(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent claims are a PostgreSQL feature")
    for chat in range(1, 201):
        queue(engine, chat, "x")
    barrier = threading.Barrier(8)
    now = datetime.now(UTC)

    def claim() -> list[int]:
        with session_scope(engine) as session:
            barrier.wait()
            claimed = outbox.claim_heads(
                session=session, now=now, lease_until=now + timedelta(minutes=2), limit=40
            )
            ids = [row.id for row in claimed if row.id is not None]
            time.sleep(0.05)  # hold the locks while the others claim
            return ids

    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda _: claim(), range(8)))
    flat = [row_id for ids in claims for row_id in ids]
    assert len(flat) == len(set(flat)) == 200
    assert all(row.attempts == 1 for row in rows(engine))


async def test_two_workers_on_postgresql_never_send_a_row_twice(
    request: pytest.FixtureRequest, engine: Engine, loopback: LoopbackServer
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several workers share a queue only on PostgreSQL")
    control = loopback.control
    users = [await control.create_user(f"U{n}", started=True) for n in range(6)]
    for n in range(10):
        for user in users:
            queue(engine, user["id"], f"{user['first_name']}-{n}")
    await control.set_latency(0.01, jitter=0.01)
    apis = [
        open_bot_api(runtime, loopback.token, api_base=loopback.base_url, timeout=2.0)
        for runtime in ("ptb", "aiogram")
    ]
    try:
        workers = [make_worker(engine, api, concurrency=4) for api in apis]
        await deliver_all(*workers, engine=engine, limit=30)
    finally:
        for api in apis:
            await api.close()
    for user in users:
        assert await texts(control, user["id"]) == [f"{user['first_name']}-{n}" for n in range(10)]
    assert (await control.stats())["calls"].get("sendMessage") == 60
    assert all(row.attempts == 1 for row in rows(engine))


async def test_an_edit_that_changes_nothing_counts_as_delivered(
    engine: Engine, api: BotApi, control: ControlClient, loopback: LoopbackServer
) -> None:
    alice = await control.create_user("Alice", started=True)
    queue(engine, alice["id"], "已签收")
    await deliver_all(make_worker(engine, api), engine=engine)
    (message,) = await control.bot_messages(alice["id"])
    queue(
        engine,
        alice["id"],
        method="editMessageText",
        payload={"chat_id": alice["id"], "message_id": message["message_id"], "text": "已签收"},
    )
    await deliver_all(make_worker(engine, api), engine=engine)
    assert [row.status for row in rows(engine)] == [OutboxStatus.SENT, OutboxStatus.SENT]
    assert "not modified" in str((await control.stats())["errors"])
    with Session(engine) as session:
        assert session.exec(select(ReportEvent)).all() == []
