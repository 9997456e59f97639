"""The console's actions that do not move a report: an internal note, an answer to the
observer, an extension request and dispatch's decision on it — through the same services and
authority policy as the card's buttons, so the console refuses what the bot refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core.messages import t
from storage.models import Report, ReportEvent
from tests.handlers.conftest import (
    DISPATCH_GROUP,
    DISPATCHER,
    HANDLER,
    OBSERVER,
    WATER_GROUP,
    make_world,
)
from tests.handlers.harness import World
from tests.handlers.test_department import _submit
from tests.web.test_console import _last_row, _rows_after, console, sign_in


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    """A water report, on SQLite and on PostgreSQL."""
    filed = make_world(engine, tmp_path)
    _submit(filed)
    return filed


def _report(world: World) -> Report:
    with Session(world.services.engine) as session:
        return session.exec(select(Report)).one()


def _signed_by_handler(world: World) -> tuple[TestClient, str, int]:
    """The water handler signed in, having signed for the report; their client, CSRF, id."""
    client = console(world)
    csrf = sign_in(client, world, HANDLER, f"用户{HANDLER}")
    rid = _report(world).id or 0
    client.post(f"/reports/{rid}/sign", data={"csrf": csrf})
    return client, csrf, rid


def test_a_note_stays_in_the_group_and_an_answer_reaches_the_observer(world: World) -> None:
    client, csrf, rid = _signed_by_handler(world)
    page = client.get(f"/reports/{rid}").text
    for action in ("extend", "answer", "note"):
        assert f"/reports/{rid}/{action}" in page
    assert f"/reports/{rid}/extension_ok" not in page

    before = _last_row(world)
    answer = client.post(f"/reports/{rid}/note", data={"csrf": csrf, "words": "已联系河长"})
    assert answer.status_code == 200 and t("web.done.noted") in answer.text
    assert OBSERVER not in {chat for chat, _, _ in _rows_after(world, before)}
    assert "已联系河长" in client.get(f"/reports/{rid}").text  # in the timeline, as a note

    before = _last_row(world)
    client.post(f"/reports/{rid}/answer", data={"csrf": csrf, "words": "明天上午派人清理"})
    queued = _rows_after(world, before)
    assert any(c == OBSERVER and "明天上午派人清理" in p["text"] for c, _, p in queued)
    assert any(
        c == WATER_GROUP and p["text"] == t("department.answer_sent", number=_report(world).number)
        for c, _, p in queued
    )
    assert client.post(f"/reports/{rid}/answer", data={"csrf": csrf}).status_code == 403


def test_an_extension_is_asked_in_the_console_and_decided_by_dispatch(world: World) -> None:
    client, csrf, rid = _signed_by_handler(world)
    due = _report(world).resolve_due_at
    bad = client.post(f"/reports/{rid}/extend", data={"csrf": csrf, "words": "多给点时间"})
    assert bad.status_code == 403 and t("extension.usage") in bad.text

    before = _last_row(world)
    client.post(f"/reports/{rid}/extend", data={"csrf": csrf, "words": "5 需协调施工单位"})
    to_dispatch = [p for c, _, p in _rows_after(world, before) if c == DISPATCH_GROUP]
    assert len(to_dispatch) == 1 and "需协调施工单位" in to_dispatch[0]["text"]
    assert to_dispatch[0]["reply_markup"]["inline_keyboard"]  # 同意 / 不同意, as from a card
    # The handler cannot decide their own request: the policy asks for the dispatch group.
    refused = client.post(f"/reports/{rid}/extension_ok", data={"csrf": csrf})
    assert refused.status_code == 403

    dispatch = TestClient(client.app)
    dispatch_csrf = sign_in(dispatch, world, DISPATCHER, f"用户{DISPATCHER}")
    page = dispatch.get(f"/reports/{rid}").text
    assert "需协调施工单位" in page and f"/reports/{rid}/extension_ok" in page
    assert f"/reports/{rid}/note" not in page  # dispatch does not hold the report
    noted = dispatch.post(f"/reports/{rid}/note", data={"csrf": dispatch_csrf, "words": "x"})
    assert noted.status_code == 403

    before = _last_row(world)
    done = dispatch.post(f"/reports/{rid}/extension_ok", data={"csrf": dispatch_csrf})
    assert done.status_code == 200 and t("web.done.extension_decided") in done.text
    assert due is not None and (_report(world).resolve_due_at or due) > due
    chats = {chat for chat, _, _ in _rows_after(world, before)}
    assert {DISPATCH_GROUP, WATER_GROUP, OBSERVER} <= chats
    again = dispatch.post(f"/reports/{rid}/extension_no", data={"csrf": dispatch_csrf})
    assert again.status_code == 403 and t("common.stale_button") in again.text

    with Session(world.services.engine) as session:
        trail = session.exec(
            select(ReportEvent).where(col(ReportEvent.report_id) == rid).order_by(ReportEvent.id)
        ).all()
    actions = [e.action for e in trail]
    assert "extension_requested" in actions and "extension_approved" in actions
    refusals = [e.details["action"] for e in trail if e.action == "console_refused"]
    assert refusals == ["extend", "extension_ok", "note", "extension_no"]
    assert not re.search(r"13\d{9}", str([e.details for e in trail]))
