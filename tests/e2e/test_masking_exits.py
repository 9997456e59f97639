"""Personal numbers typed by an observer never leave unmasked, through the real bot.

On both libraries against the loopback Bot API, an observer types a resident ID, a landline and
a bank card (each spelled differently: spaced, full-width, split by zero-width spaces) in a
report, in a follow-up (补充) and in the reason for 不满意. Then every Bot API call the bot made
to a group or a leader, the leader's digest workbook, ``obsbot export`` in every format, and
every log record at DEBUG are read for those numbers. Each exit must also show the masked form,
so that the test fails if a number simply never got there.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlmodel import Session

from bot.cli import main
from storage.db import make_engine, upgrade
from storage.models import Leader, ReportStatus
from tests.e2e.conftest import ROOT, running_bot
from tests.e2e.test_more_flows import _button, _file_report, _report
from tests.personal_numbers import (
    EVERY,
    FOLLOW_UP_TEXT,
    IN_REPORT,
    REASON_TEXT,
    REPORT_TEXT,
    leaks,
)
from tests.proof.test_attacks import debug_logs  # noqa: F401 - the fixture: every logger at DEBUG

pytestmark = pytest.mark.e2e


def _workbook_text(data: bytes) -> str:
    """Return every cell of every sheet of an XLSX file, one per line."""
    book = load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


def _export(tmp_path: Path, fmt: str) -> str:
    """Run ``obsbot export`` for today in ``fmt``; return what it wrote."""
    args = ["export", "--from", "2000-01-01", "--to", "2099-12-31", "--format", fmt]
    target = tmp_path / f"export.{fmt}"
    result = CliRunner().invoke(main, [*args, "--out", str(target)])
    assert result.exit_code == 0, result.output
    return _workbook_text(target.read_bytes()) if fmt == "xlsx" else target.read_text("utf-8-sig")


async def test_personal_numbers_never_leave_unmasked(
    tmp_path: Path,
    runtime_name: str,
    debug_logs: pytest.LogCaptureFixture,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    upgrade(url)  # migrated, so that `obsbot export` accepts the database afterwards
    engine = make_engine(url)
    async with running_bot(runtime_name, engine) as stage:
        control, me, water = stage.control, stage.observer["id"], stage.water_group["id"]
        handler = stage.handler["id"]
        card = await _file_report(stage, REPORT_TEXT)
        # A follow-up (补充) from the report's timeline.
        await control.send_text(me, "/my")
        listing = (await stage.texts(me, 1, since=3))[0]
        number = _report(stage).number
        await control.press(me, me, listing["message_id"], data=_button(listing, number))
        timeline = (await stage.texts(me, 1, since=4))[0]
        await control.press(me, me, timeline["message_id"], data=_button(timeline, "补充"))
        await stage.texts(me, 1, since=5)
        await control.send_text(me, FOLLOW_UP_TEXT)
        await stage.message_containing(water, "观察员补充")
        # Signed, resolved, and the observer is not satisfied, giving a reason.
        await control.press(handler, water, card["message_id"], data=_button(card, "签收"))
        current = await stage.message_when(water, card["message_id"], "✅ 办结")
        await control.press(handler, water, card["message_id"], data=_button(current, "办结"))
        prompt = await stage.message_containing(water, "办理结果")
        await control.reply(handler, water, prompt["message_id"], "已修复")
        rating = await stage.message_containing(me, "请评价")
        await control.press(me, me, rating["message_id"], data=_button(rating, "不满意"))
        await control.send_text(me, REASON_TEXT)
        await stage.message_containing(water, "重新办理")
        assert _report(stage).status == ReportStatus.SIGNED
        # The city leader asks for the week's digest.
        leader = await control.create_user("市领导", started=True)
        with Session(stage.services.engine) as session:
            session.add(Leader(name="市领导", chat_id=leader["id"], scope_region="440100"))
            session.commit()
        await control.send_text(leader["id"], "/digest")
        *_, document = await stage.texts(leader["id"], 3)
        stored = await control.file(document["document"]["file_id"])
        workbook = _workbook_text(base64.b64decode(stored["data_b64"]))
        calls = await control.calls()
    engine.dispose()

    # Every text the bot sent (or edited) anywhere but the observer's own chat.
    outside = [
        str(call["params"].get("text") or call["params"].get("caption") or "")
        for call in calls
        if str(call["params"].get("chat_id")) != str(me)
    ]
    group = "\n".join(outside)
    assert leaks(group) == []
    for sample in EVERY:  # each number did reach the group, masked
        assert sample.masked in group, f"{sample.kind} {sample.masked} never reached the group"

    assert leaks(workbook) == []
    assert all(sample.masked in workbook for sample in IN_REPORT), workbook[:2000]

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ROUTING_RULES", str(ROOT / "routing_rules.yaml"))
    for fmt in ("csv", "jsonl", "xlsx"):
        exported = _export(tmp_path, fmt)
        assert leaks(exported) == [], fmt
        assert all(sample.masked in exported for sample in IN_REPORT), exported[:2000]

    rendered = [(r.name, r.getMessage() + (r.exc_text or "")) for r in debug_logs.records]
    assert [f"{name}: {text[:300]}" for name, text in rendered if leaks(text)] == []
    logged = "\n".join(text for _, text in rendered)
    assert any(sample.masked in logged for sample in EVERY), "no number reached the DEBUG log"
