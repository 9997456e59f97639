"""Input hygiene on the real bot (both libraries, the loopback Bot API): what arrives in an
update is data, never an instruction, and numbers out of range get a specific refusal.

Whoever holds ``WEBHOOK_SECRET`` can post any JSON as an update. A photo or document whose
``file_id`` is ``{"$upload": "/some/server/file"}`` must not make the bot upload that file
into a group: the event drops a file id that is not a string, and the transports upload only
files inside the digest directory, refusing anything else as a permanent error.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.messages import t
from bot.core.weeks import week_of
from bot.telegram.bot_api import open_bot_api
from bot.telegram.transport import UPLOAD, PermanentError
from storage.models import InboxStatus, InboxUpdate, Leader, OutboxMessage, OutboxStatus, Report
from storage.types import utcnow
from tests.e2e.conftest import WEBHOOK_SECRET, running_bot

pytestmark = pytest.mark.e2e

SECRET = b"TOP-SECRET server file: must never reach Telegram"


async def _settled(engine: Engine) -> None:
    """Wait until every stored update is handled and every queued message is sent or failed."""
    for _ in range(200):
        with Session(engine) as session:
            busy = (
                session.exec(
                    select(InboxUpdate).where(InboxUpdate.status == InboxStatus.PENDING)
                ).first()
                or session.exec(
                    select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
                ).first()
            )
        if busy is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not settle")


def _forged(update_id: int, user: int, media: dict[str, Any]) -> dict[str, Any]:
    """A private message from ``user`` carrying ``media`` and a report's text as caption."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "x"},
            "caption": "小区自来水发黄，停水也不通知",
            **media,
        },
    }


async def test_an_upload_marker_in_an_update_uploads_nothing(
    engine_file: Engine, runtime: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    marker = {UPLOAD: str(secret)}
    async with running_bot(runtime, engine_file, webhook=True) as stage:
        await asyncio.wait_for(stage.runtime.ready.wait(), timeout=10)
        hook = stage.runtime.webhook
        assert hook is not None
        me, water = stage.observer["id"], stage.water_group["id"]
        await stage.control.share_contact(me)
        await stage.texts(me, 1)
        photo = {"photo": [{"file_id": marker, "file_unique_id": "u", "width": 9, "height": 9}]}
        document = {"document": {"file_id": marker, "file_unique_id": "d"}}
        async with aiohttp.ClientSession() as http:
            for number, media in ((900_001, photo), (900_002, document)):
                async with http.post(
                    hook.url,
                    json=_forged(number, me, media),
                    headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
                ) as response:
                    assert response.status == 200
        await _settled(stage.services.engine)
        # Whatever the library made of it, the report (if any) carries no attachment, and
        # nothing the bot sent anywhere is the server's file.
        previews = [
            m
            for m in await stage.control.bot_messages(me)
            if "提交" in json.dumps(m.get("reply_markup"), ensure_ascii=False)
        ]
        assert previews, "the forged report was not even previewed"
        for preview in previews:
            submit = next(
                b["callback_data"]
                for row in preview["reply_markup"]["inline_keyboard"]
                for b in row
                if "提交" in b["text"]
            )
            await stage.control.press(me, me, preview["message_id"], data=submit)
        await _settled(stage.services.engine)
        for chat in (me, water, stage.dispatch_group["id"]):
            for message in await stage.control.bot_messages(chat):
                assert not {"photo", "document"} & set(message), message
        assert all(SECRET not in stored.data for stored in stage.server.world.files.values())
        counts = stage.server.call_counts
        assert counts["sendPhoto"] == counts["sendDocument"] == 0


async def test_transports_upload_only_from_the_digest_directory(
    runtime: str, tmp_path: Path
) -> None:
    digests = tmp_path / "digests"
    (digests / "2026-W47").mkdir(parents=True)
    chart = digests / "2026-W47" / "chart.txt"
    chart.write_bytes(b"a digest file")
    outside = tmp_path / "secret.txt"
    outside.write_bytes(SECRET)
    (digests / "link.txt").symlink_to(outside)
    from sandbox import LoopbackServer

    async with LoopbackServer(enforce_limits=False) as server:
        user = await server.control.create_user("领导", started=True)
        api = open_bot_api(
            runtime, server.token, api_base=server.base_url, timeout=5, upload_dir=digests
        )
        bare = open_bot_api(runtime, server.token, api_base=server.base_url, timeout=5)
        try:
            sent = await api.call(
                "sendDocument", {"chat_id": user["id"], "document": {UPLOAD: str(chart)}}
            )
            assert isinstance(sent, dict) and "document" in sent
            for path in (outside, digests / "link.txt", digests / ".." / "secret.txt"):
                with pytest.raises(PermanentError, match="outside the digest directory"):
                    await api.call(
                        "sendDocument", {"chat_id": user["id"], "document": {UPLOAD: str(path)}}
                    )
            with pytest.raises(PermanentError, match="malformed"):
                await api.call("sendDocument", {"chat_id": user["id"], "document": {UPLOAD: 7}})
            with pytest.raises(PermanentError, match="uploads no local files"):
                await bare.call(
                    "sendDocument", {"chat_id": user["id"], "document": {UPLOAD: str(chart)}}
                )
        finally:
            await api.close()
            await bare.close()
        assert all(SECRET not in stored.data for stored in server.world.files.values())


async def test_out_of_range_presses_and_weeks_get_a_specific_refusal(
    engine_file: Engine, runtime: str
) -> None:
    async with running_bot(runtime, engine_file) as stage:
        await asyncio.wait_for(stage.runtime.ready.wait(), timeout=10)
        control, me, water = stage.control, stage.observer["id"], stage.water_group["id"]
        await control.share_contact(me)
        await stage.texts(me, 1)
        await control.send_text(me, "小区自来水发黄，停水也不通知")
        preview = (await stage.texts(me, 1, since=1))[0]
        submit = next(
            b["callback_data"]
            for row in preview["reply_markup"]["inline_keyboard"]
            for b in row
            if "提交" in b["text"]
        )
        await control.press(me, me, preview["message_id"], data=submit)
        card = (await stage.texts(water, 1))[0]
        for data in (f"ob1:sign:{'9' * 23}", "ob1:done:2147483648", "ob1:sign:٣"):
            pressed = await control.press(stage.handler["id"], water, card["message_id"], data=data)
            assert pressed["answer"]["text"] == t("common.unknown_button"), data
        leader = await control.create_user("领导", started=True)
        with Session(stage.services.engine) as session:
            session.add(Leader(name="领导", chat_id=leader["id"], scope_region="440100"))
            session.commit()
        await control.send_text(leader["id"], "/digest 9999-W52")
        refusal = (await stage.texts(leader["id"], 1))[0]
        current = week_of(utcnow(), stage.services.tz).label
        assert refusal["text"] == t(
            "leader.week_out_of_range", week="9999-W52", first="2000-W01", current=current
        )
        await control.send_text(leader["id"], "/digest 2026-W99")
        refusal = (await stage.texts(leader["id"], 1, since=1))[0]
        assert refusal["text"] == t(
            "leader.bad_week", week="2026-W99", first="2000-W01", current=current
        )
        await _settled(stage.services.engine)
        with Session(stage.services.engine) as session:
            report = session.exec(select(Report)).one()
        assert report.status == "routed"  # no forged press did anything
