"""Attacks on the real bot (a real Telegram library against the loopback Bot API): each is
refused, recorded in the audit trail, and leaks nothing — not to the attacker, not to the logs.

Every scenario runs with every logger at DEBUG (the libraries' and the HTTP clients' included)
and the captured records must never contain the bot token or an observer's phone number in any
common spelling.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core.messages import t
from bot.services.housekeeping import leave_unbound_groups
from handlers.callbacks import Act, Press
from storage.models import (
    Draft,
    InboxUpdate,
    KnownGroup,
    Observer,
    OutboxMessage,
    PendingInput,
    Report,
    ReportEvent,
)
from tests.e2e.conftest import OBSERVER_PHONE, WEBHOOK_SECRET, Stage, running_bot

pytestmark = pytest.mark.e2e

SECOND_PHONE = "+8613800138002"
# Every common spelling of the observers' phone numbers.
PHONE_SPELLINGS = [
    spelling
    for phone in (OBSERVER_PHONE, SECOND_PHONE)
    for spelling in (
        phone,
        phone[3:],
        f"{phone[3:6]}-{phone[6:10]}-{phone[10:]}",
        f"{phone[3:6]} {phone[6:10]} {phone[10:]}",
        f"+86 {phone[3:6]} {phone[6:10]} {phone[10:]}",
    )
]
LOUD_LOGGERS = (
    "",
    "httpx",
    "httpcore",
    "aiohttp",
    "aiohttp.client",
    "aiohttp.server",
    "aiohttp.access",
    "telegram",
    "telegram.Bot",
    "telegram.ext",
    "telegram.ext.ExtBot",
    "aiogram",
    "aiogram.event",
    "aiogram.dispatcher",
    "asyncio",
    "sqlalchemy",
    "bot",
    "handlers",
    "storage",
)


def _everything_at_debug() -> None:
    """Turn every logger up to DEBUG (again: the transports quiet the HTTP clients on start)."""
    for name in LOUD_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every record at DEBUG; restore the loggers' levels afterwards."""
    saved = {name: logging.getLogger(name).level for name in LOUD_LOGGERS}
    caplog.set_level(logging.DEBUG)
    _everything_at_debug()
    try:
        yield caplog
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _assert_nothing_leaked(caplog: pytest.LogCaptureFixture, token: str) -> None:
    """No captured record (message, arguments or traceback) holds the token or a phone."""
    assert caplog.records, "nothing was logged: the capture is not working"
    assert any(r.name.startswith(("httpx", "httpcore", "aiohttp")) for r in caplog.records) or any(
        r.name.startswith("bot.") for r in caplog.records
    )
    secrets = [token, token.split(":", 1)[1], *PHONE_SPELLINGS]
    for record in caplog.records:
        rendered = record.getMessage()
        if record.exc_info:
            rendered += record.exc_text or logging.Formatter().formatException(record.exc_info)
        rendered += repr(record.__dict__.get("args"))
        for secret in secrets:
            assert secret not in rendered, f"{record.name} logged {secret!r}: {rendered[:300]}"


def _events(stage: Stage, action: str) -> list[ReportEvent]:
    with Session(stage.services.engine) as session:
        return list(session.exec(select(ReportEvent).where(ReportEvent.action == action)).all())


def _button(message: dict[str, Any], label_part: str) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if label_part in button["text"]:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label_part!r} in {message.get('reply_markup')}")


def _reports(stage: Stage) -> list[Report]:
    with Session(stage.services.engine) as session:
        return list(session.exec(select(Report)).all())


async def _all_bot_texts(stage: Stage, chat_id: int) -> str:
    return json.dumps(await stage.control.bot_messages(chat_id), ensure_ascii=False)


async def test_attacks_are_refused_audited_and_leak_nothing(
    engine_file: Engine, runtime: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    async with running_bot(runtime, engine_file) as stage:
        await asyncio.wait_for(stage.runtime.ready.wait(), timeout=10)
        _everything_at_debug()
        control, me = stage.control, stage.observer["id"]
        water, dispatch = stage.water_group["id"], stage.dispatch_group["id"]
        with Session(stage.services.engine) as session:
            session.add(Observer(name="李丽", phone=SECOND_PHONE, station_code="GZ-YX-001"))
            session.commit()
        colleague = await control.create_user("李丽", phone=SECOND_PHONE, started=True)
        stranger = await control.create_user("路人", started=True)
        sid, cid = stranger["id"], colleague["id"]

        # 1. An unregistered user reports: asked to register, nothing stored, audited.
        await control.send_text(sid, "小区自来水发黄，停水也不通知")
        refused = (await stage.texts(sid, 1))[0]
        assert refused["text"] == t("observer.register_first")
        assert _reports(stage) == [] and len(_events(stage, "report_refused")) == 1

        # 2. Someone else's shared contact: not bound, audited with a masked number only.
        await control.share_contact(
            sid, contact_user_id=me, phone_number=OBSERVER_PHONE, first_name="陈晓明"
        )
        refused = (await stage.texts(sid, 1, since=1))[0]
        assert refused["text"] == t("observer.not_own_contact")
        with Session(stage.services.engine) as session:
            bound = session.exec(select(Observer).where(Observer.telegram_user_id == sid)).all()
        assert bound == []
        (contact_event,) = _events(stage, "contact_refused")
        assert OBSERVER_PHONE[3:] not in json.dumps(contact_event.details)

        # The two observers register properly.
        await control.share_contact(me)
        await stage.texts(me, 1)
        await control.share_contact(cid)
        await stage.texts(cid, 1)

        # 3. A registered observer's message forwarded by someone else (another observer and
        # a stranger): no draft, no report, audited.
        await control.forward(cid, "小区自来水发黄，停水也不通知", from_user_id=me)
        forwarded = (await stage.texts(cid, 1, since=1))[0]
        assert forwarded["text"] == t("observer.forwarded")
        await control.forward(sid, "小区自来水发黄，停水也不通知", from_user_id=me)
        assert (await stage.texts(sid, 1, since=2))[0]["text"] == t("observer.register_first")
        assert len(_events(stage, "forward_refused")) == 1
        assert len(_events(stage, "report_refused")) == 2
        with Session(stage.services.engine) as session:
            assert session.exec(select(Draft)).all() == []
        assert _reports(stage) == []

        # 4. Administrator commands from non-administrators, in private and in a group.
        for command in ("/invite GZ-YX-001 5", "/stats", "/reload", "/bindcode water 440100"):
            await control.send_text(me, command)
        answers = await stage.texts(me, 4, since=1)
        assert [a["text"] for a in answers] == [t("common.admins_only")] * 4
        assert len(_events(stage, "admin_refused")) == 4

        # The observer submits a real report; its card reaches the water group.
        await control.send_text(me, "小区自来水发黄，停水也不通知")
        preview = (await stage.texts(me, 1, since=5))[0]
        submit = _button(preview, "提交")
        await control.press(me, me, preview["message_id"], data=submit)
        card = (await stage.texts(water, 1))[0]
        (report,) = _reports(stage)

        # 6a. A member of the dispatch group forges 签收 for the water report while it waits to
        # be signed for (allowed in that state): refused for want of authority, nothing signed.
        intruder = (await control.create_user("分拨员甲"))["id"]
        await control.join(dispatch, intruder)
        await control.send_text(intruder, "/my", chat_id=dispatch)
        bait = (await stage.texts(dispatch, 1))[0]
        forged = await control.press(
            intruder, dispatch, bait["message_id"], data=Press(Act.SIGN, report.id or 0).encode()
        )
        assert forged["answer"]["text"] == t("authority.not_your_report")
        assert _reports(stage)[0].status == "routed" and _events(stage, "signed") == []

        # 5. Replayed and stale buttons: 提交 again adds no report; 签收 twice signs once.
        again = await control.press(me, me, preview["message_id"], data=submit)
        assert again["answered"]
        assert len(_reports(stage)) == 1
        sign = _button(card, "签收")
        await control.press(stage.handler["id"], water, card["message_id"], data=sign)
        stale = await control.press(stage.colleague["id"], water, card["message_id"], data=sign)
        assert stale["answer"]["text"] == t("department.already_signed")
        assert len(_events(stage, "signed")) == 1

        # 6. The member of another group forges 办结, 退回, 转办 and 答复 on the signed report: all
        # allowed in that state, so only authority refuses them.
        for act in (Act.RESOLVE, Act.RETURN, Act.TRANSFER, Act.ANSWER):
            forged = await control.press(
                intruder, dispatch, bait["message_id"], data=Press(act, report.id or 0).encode()
            )
            assert forged["answer"]["text"] == t("authority.not_your_report")
        refusals = [r for r in _events(stage, "press_refused") if r.details["chat"] == dispatch]
        assert len(refusals) == 5 and all(r.report_id == report.id for r in refusals)
        assert {r.details["reason"] for r in refusals} == {"authority.not_your_report"}
        with Session(stage.services.engine) as session:
            current = session.get(Report, report.id)
            assert current is not None and current.department == "water"
            assert current.status == "signed"
            assert session.exec(select(PendingInput)).all() == []  # no 退回/办结 prompt opened

        # 7. An anonymous administrator speaks in a department group: ignored, audited.
        before = await stage.sent_count(water)
        await control.anonymous_admin_message(stage.handler["id"], water, "/bind ABCDEF")
        # A reply to the card (privacy mode delivers only commands and replies to the bot).
        await control.anonymous_admin_message(
            stage.handler["id"], water, "已处理，请核实", reply_to_message_id=card["message_id"]
        )
        await stage.control.wait_idle(timeout=10)
        for _ in range(100):
            if len(_events(stage, "anonymous_refused")) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(_events(stage, "anonymous_refused")) == 2
        assert await stage.sent_count(water) == before
        assert "已处理，请核实" not in await _all_bot_texts(stage, me)

        # 8. The bot is added to an unknown group: it posts nothing (a /bind with a wrong code
        # gets only the refusal), then leaves after the grace period.
        unknown = await control.create_group("陌生群", type="supergroup", members=[sid])
        await control.add_bot(unknown["id"], by_user_id=sid)
        for command in ("/start", "/new", "/my", "/stats", "/reload", "/digest"):
            await control.send_text(sid, command, chat_id=unknown["id"])
        await control.wait_idle(timeout=10)
        for _ in range(100):
            with Session(stage.services.engine) as session:
                known = session.get(KnownGroup, unknown["id"])
                done = session.exec(
                    select(InboxUpdate).where(InboxUpdate.status == "pending")
                ).all()
            if known is not None and not done:
                break
            await asyncio.sleep(0.05)
        assert known is not None and known.left_at is None
        assert await stage.sent_count(unknown["id"]) == 0
        await control.send_text(sid, "/bind ABCDEF", chat_id=unknown["id"])
        refusal = (await stage.texts(unknown["id"], 1))[0]
        assert refusal["text"] == t("group.bad_bind_code")
        assert len(_events(stage, "bind_refused")) == 1
        with Session(stage.services.engine) as session:
            # Within the grace period (24 hours) it stays; once it has passed (here: a grace of
            # zero, so the outbox row is due now rather than a day ahead) it leaves.
            now = stage.services.clock()
            assert leave_unbound_groups(session, now=now) == []
            left = leave_unbound_groups(session, now=now, grace=dt.timedelta(0))
            session.commit()
        assert left == [unknown["id"]]
        stage.runtime.delivery.notify()
        await control.wait_calls("leaveChat", 1, timeout=10)
        assert await stage.sent_count(unknown["id"]) == 1
        assert len(_events(stage, "left_unbound_group")) == 1

        # Nothing the bot sent to the stranger, the groups or anyone names an observer's phone.
        await control.wait_idle(timeout=10)
        for chat in (sid, cid, me, water, dispatch, unknown["id"]):
            sent = await _all_bot_texts(stage, chat)
            assert all(p not in sent for p in PHONE_SPELLINGS)
        assert "陈晓明" not in await _all_bot_texts(stage, sid)
        with Session(stage.services.engine) as session:
            outgoing = json.dumps(
                [row.payload for row in session.exec(select(OutboxMessage)).all()],
                ensure_ascii=False,
            )
            audit = json.dumps(
                [row.details for row in session.exec(select(ReportEvent)).all()],
                ensure_ascii=False,
            )
        assert all(p not in outgoing + audit for p in PHONE_SPELLINGS)
    _assert_nothing_leaked(debug_logs, stage.server.token)


async def test_webhook_requests_without_the_secret_change_nothing(
    engine_file: Engine, runtime: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    async with running_bot(runtime, engine_file, webhook=True) as stage:
        await asyncio.wait_for(stage.runtime.ready.wait(), timeout=10)
        _everything_at_debug()
        hook = stage.runtime.webhook
        assert hook is not None
        me = stage.observer["id"]
        await stage.control.share_contact(me)
        await stage.texts(me, 1)
        with Session(stage.services.engine) as session:
            stored = len(session.exec(select(InboxUpdate)).all())
        forged = {
            "update_id": 777_000,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": me, "type": "private"},
                "from": {"id": me, "is_bot": False, "first_name": "x"},
                "text": "小区自来水发黄，停水也不通知",
            },
        }
        async with aiohttp.ClientSession() as http:
            for headers in (
                {},
                {"X-Telegram-Bot-Api-Secret-Token": ""},
                {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"},
                {"X-Telegram-Bot-Api-Secret-Token": stage.server.token},
            ):
                async with http.post(hook.url, json=forged, headers=headers) as response:
                    assert response.status == 401
                    assert WEBHOOK_SECRET not in await response.text()
            # A replay with the right secret (as Telegram would re-send) is stored once.
            for _ in range(2):
                async with http.post(
                    hook.url,
                    json=forged,
                    headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
                ) as response:
                    assert response.status == 200
        assert hook.server.refused == 5
        await asyncio.sleep(0.2)
        with Session(stage.services.engine) as session:
            rows = session.exec(
                select(InboxUpdate).where(col(InboxUpdate.update_id) == 777_000)
            ).all()
            assert len(rows) == 1
            assert len(session.exec(select(InboxUpdate)).all()) == stored + 1
        preview = (await stage.texts(me, 1, since=1))[0]
        assert "水务" in preview["text"]
    _assert_nothing_leaked(debug_logs, stage.server.token)
