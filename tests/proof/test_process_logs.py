"""The real two-process bot (``python -m bot run``) at DEBUG leaks neither the token nor a phone.

The handling process configures its own logging and redaction; its records go to the same
stream as the bot's. An observer registers by sharing their phone number and files a report
(the handling process answers the 提交 press itself); then both processes' DEBUG output is
searched for the bot token, its secret half and the phone number. Both libraries.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import LoopbackServer
from tests.proof.process import BotProcess, base_env, prepare_database
from tests.proof.test_crash import Watch, acks, preview_with, submit_data

pytestmark = pytest.mark.e2e

PHONE = "+8613912345678"


@pytest.mark.parametrize("runtime", ["ptb", "aiogram"])
async def test_debug_logs_of_both_processes_hold_no_token_and_no_phone(
    tmp_path: Path, runtime: str
) -> None:
    async with LoopbackServer(enforce_limits=False) as server:
        control = server.control
        me = await control.create_user("陈晓明", phone=PHONE, started=True)
        handler = await control.create_user("水务小张")
        water = await control.create_group("水务承办群", type="supergroup", members=[handler["id"]])
        database_url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
        prepare_database(
            database_url, phones=[PHONE], bindings={"water": water["id"]}, cwd=tmp_path
        )
        env = base_env(database_url, api_base=server.base_url, token=server.token)
        env["LOG_LEVEL"] = "DEBUG"
        (tmp_path / "logs").mkdir()
        bot = BotProcess(env, tmp_path, tmp_path / "logs", runtimes=(runtime,))
        watch = Watch(server)
        await bot.start()
        try:
            await control.share_contact(me["id"])
            await watch.until(me["id"], lambda m: len(m) >= 1, "the welcome", within=60)
            await control.send_text(me["id"], "小区自来水发黄有异味，已经三天了")
            preview = await watch.until(me["id"], preview_with("自来水"), "the preview")
            answer = await control.press(
                me["id"], me["id"], preview["message_id"], data=submit_data(preview)
            )
            assert answer["answer"] is not None  # answered (by the handling process)
            await watch.until(me["id"], acks, "the acknowledgement")
        finally:
            status = await bot.stop()
        assert status == 0, bot.log_tail()
    logs = "".join(path.read_text("utf-8") for path in (tmp_path / "logs").iterdir())
    assert "DEBUG" in logs and "bot.infra" in logs  # DEBUG records of ours were written
    secret = server.token.split(":", 1)[1]
    for leak in (server.token, secret, PHONE, PHONE.removeprefix("+")):
        assert leak not in logs, f"the logs contain {leak[:6]}…"
