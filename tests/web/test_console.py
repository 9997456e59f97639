"""The web console over HTTP: sign-in links, pages, permission boundaries, and the same
Telegram messages as a card press.

The app runs on the handler tests' world (real pipeline, real SQLite, the shipped rules);
group membership is what Telegram's getChatMember would answer, given as a table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core.authority import Membership
from bot.core.messages import t
from bot.core.signing import sign_in_link
from bot.web.app import COOKIE, create_app
from storage.db import create_all, make_engine
from storage.models import Leader, OutboxMessage, Report, ReportEvent, ReportStatus
from tests.handlers.conftest import (
    ADMIN,
    DISPATCH_GROUP,
    DISPATCHER,
    ENV_GROUP,
    ENV_HANDLER,
    HANDLER,
    OBSERVER,
    WATER_GROUP,
    make_world,
)
from tests.handlers.harness import Sent, World
from tests.handlers.test_department import _prompt, _submit

SECRET = "s" * 40
MEMBERS = {DISPATCH_GROUP: {DISPATCHER}, WATER_GROUP: {HANDLER}, ENV_GROUP: {ENV_HANDLER}}


def console(world: World, members: dict[int, set[int]] | None = None) -> TestClient:
    """Return a client of the console on ``world``'s services."""
    table = MEMBERS if members is None else members
    services = world.services
    services.settings = services.settings.model_copy(update={"console_secret": SecretStr(SECRET)})

    def membership(chat_id: int, user_id: int) -> Membership:
        return Membership.MEMBER if user_id in table.get(chat_id, set()) else Membership.NOT_MEMBER

    services.membership = membership
    return TestClient(create_app(services))


def link(world: World, user_id: int, name: str = "") -> str:
    """Return a sign-in link's path for ``user_id``."""
    full = sign_in_link(
        "http://testserver", SECRET, user_id=user_id, name=name or f"用户{user_id}", now=world.now
    )
    return full.removeprefix("http://testserver")


def sign_in(client: TestClient, world: World, user_id: int, name: str = "") -> str:
    """Sign ``user_id`` in; return the CSRF token of their session."""
    answer = client.get(link(world, user_id, name), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert "samesite=lax" in answer.headers["set-cookie"].lower()
    page = client.get("/")
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def to_dispatch(world: World, text: str = "东濠涌河涌发臭，水面漂着垃圾") -> Sent:
    """File a water report, have the water group return it; return dispatch's card."""
    card = _submit(world, text)
    prompt = _prompt(world.press(HANDLER, card, card.button("退回")))
    sent = world.reply(HANDLER, prompt, "不属于水务职责，应由环保处理")
    return next(s for s in sent if s.purpose == "card")


def _report(world: World) -> Report:
    with Session(world.services.engine) as session:
        return session.exec(select(Report)).one()


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    """The handler tests' world, on SQLite and on PostgreSQL."""
    return make_world(engine, tmp_path)


def test_signed_out_sees_how_to_sign_in_and_can_do_nothing(world: World) -> None:
    to_dispatch(world)
    client = console(world)
    rid = _report(world).id
    for path in ("/", "/queue", "/reports", f"/reports/{rid}"):
        answer = client.get(path)
        assert answer.status_code == 401 and "/web" in answer.text
    answer = client.post(f"/reports/{rid}/close", data={"csrf": "x", "words": "重复"})
    assert answer.status_code == 401
    assert _report(world).status == ReportStatus.DISPATCH


def test_a_link_signs_in_once_and_expires_after_ten_minutes(world: World) -> None:
    client = console(world)
    path = link(world, ADMIN)
    assert client.get(path, follow_redirects=False).status_code == 303
    replay = TestClient(client.app).get(path)
    assert replay.status_code == 400 and t("web.link_used") in replay.text
    late = link(world, ADMIN)
    world.now += dt.timedelta(minutes=11)
    assert TestClient(client.app).get(late).status_code == 400
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert TestClient(client.app).get(forged).status_code == 400
    with Session(world.services.engine) as session:
        trail = session.exec(select(ReportEvent).where(col(ReportEvent.report_id).is_(None))).all()
    assert [e.action for e in trail].count("console_sign_in") == 1
    assert [e.details.get("reason") for e in trail if e.action == "console_refused"] == [
        "used",
        "expired",
        "expired",
    ]


def test_a_session_expires_and_signing_out_ends_it(world: World) -> None:
    client = console(world)
    csrf = sign_in(client, world, ADMIN)
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/").status_code == 200
    answer = client.post("/logout", data={"csrf": csrf})
    assert answer.status_code == 200 and t("web.signed_out") in answer.text
    assert client.get("/").status_code == 401
    sign_in(client, world, ADMIN)
    world.now += dt.timedelta(hours=9)  # CONSOLE_SESSION_HOURS is 8
    assert client.get("/").status_code == 401


def test_dispatcher_pages_show_the_queue_report_list_and_dashboard(world: World) -> None:
    to_dispatch(world)
    client = console(world)
    sign_in(client, world, DISPATCHER)
    report = _report(world)
    queue = client.get("/queue")
    assert queue.status_code == 200
    assert report.number in queue.text and "应由环保处理" in queue.text  # the reason it is here
    assert "生态环境" in queue.text
    page = client.get(f"/reports/{report.id}")
    assert page.status_code == 200
    assert t("timeline.event.returned") in page.text and t("web.routing") in page.text
    assert f"/reports/{report.id}/route" in page.text
    listing = client.get("/reports", params={"status": "dispatch", "kind": "problem"})
    assert listing.status_code == 200 and report.number in listing.text
    assert report.number not in client.get("/reports", params={"status": "closed"}).text
    assert report.number not in client.get("/reports", params={"urgent": "1"}).text
    assert report.number not in client.get("/reports", params={"region": "440304"}).text
    assert client.get("/reports", params={"page": "2"}).status_code == 200
    assert report.number in client.get("/reports", params={"words": "河涌"}).text
    assert report.number in client.get("/reports", params={"words": report.number}).text
    assert report.number not in client.get("/reports", params={"words": "路灯"}).text
    assert report.number not in client.get("/reports", params={"words": "%"}).text
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and t("web.this_week") in dashboard.text
    assert dashboard.text.count("<svg") == 10  # this week, last week and the eight before


def test_personal_numbers_are_masked_on_the_report_page(world: World) -> None:
    card = _submit(world, "东濠涌河涌发臭，联系人电话13812345678")
    assert card.chat_id == WATER_GROUP
    client = console(world)
    sign_in(client, world, ADMIN)
    page = client.get(f"/reports/{_report(world).id}")
    assert page.status_code == 200 and "13812345678" not in page.text
    # Nor can a search for the number tell which report holds it.
    found = client.get("/reports", params={"words": "13812345678"})
    assert _report(world).number not in found.text


def test_a_forged_csrf_token_changes_nothing(world: World) -> None:
    to_dispatch(world)
    client = console(world)
    sign_in(client, world, DISPATCHER)
    rid = _report(world).id
    answer = client.post(f"/reports/{rid}/close", data={"csrf": "forged", "words": "重复反映"})
    assert answer.status_code == 403
    answer = client.post(f"/reports/{rid}/close", data={"words": "重复反映"})
    assert answer.status_code == 403
    assert _report(world).status == ReportStatus.DISPATCH


def test_a_leader_of_another_region_sees_nothing_of_it(world: World) -> None:
    to_dispatch(world)
    with Session(world.services.engine) as session:
        session.add(Leader(name="深圳领导", chat_id=7501, scope_region="440304"))
        session.add(Leader(name="越秀领导", chat_id=7502, scope_region="440104"))
        session.commit()
    client = console(world)
    report = _report(world)
    sign_in(client, world, 7501)
    assert client.get(f"/reports/{report.id}").status_code == 404
    assert report.number not in client.get("/reports").text
    assert client.get("/queue").status_code == 200  # a leader has no dispatch queue
    other = TestClient(client.app)
    sign_in(other, world, 7502)
    page = other.get(f"/reports/{report.id}")
    assert page.status_code == 200 and t("web.no_actions") in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = other.post(f"/reports/{report.id}/close", data={"csrf": csrf, "words": "无需办理"})
    assert answer.status_code == 403  # the authority policy: a leader does not hold the report
    assert _report(world).status == ReportStatus.DISPATCH


def test_a_handler_of_another_department_neither_sees_nor_acts(world: World) -> None:
    _submit(world)  # a water report, at the water group
    client = console(world)
    report = _report(world)
    csrf = sign_in(client, world, ENV_HANDLER)
    assert client.get(f"/reports/{report.id}").status_code == 404
    assert report.number not in client.get("/reports").text
    answer = client.post(f"/reports/{report.id}/close", data={"csrf": csrf, "words": "x"})
    assert answer.status_code == 404
    water = TestClient(client.app)
    sign_in(water, world, HANDLER)
    assert water.get(f"/reports/{report.id}").status_code == 200


def test_a_handler_who_left_the_group_loses_access(world: World) -> None:
    _submit(world)
    members = {WATER_GROUP: {HANDLER}}
    client = console(world, members)
    sign_in(client, world, HANDLER)
    members[WATER_GROUP].clear()
    answer = client.get("/reports")
    assert answer.status_code == 403 and t("web.no_role") in answer.text


def _rows_after(world: World, last: int) -> list[tuple[int, str, dict[str, Any]]]:
    """Return (chat, method, payload) of the outbox rows queued after id ``last``."""
    with Session(world.services.engine) as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id) > last)
            .order_by(col(OutboxMessage.id))
        ).all()
    return [(row.chat_id, row.method, row.payload) for row in rows]


def _last_row(world: World) -> int:
    with Session(world.services.engine) as session:
        rows = session.exec(select(OutboxMessage.id)).all()
    return max(rid or 0 for rid in rows)


def _pressed_on_card(
    tmp_path: Path, setup: Callable[[World], Sent], user: int, label: str
) -> list[tuple[int, str, dict[str, Any]]]:
    """In a world of its own, set up a card, press ``label`` on it; return what was queued."""
    engine = make_engine(f"sqlite:///{tmp_path / 'card.sqlite'}")
    create_all(engine)
    by_card = make_world(engine, tmp_path / "card")
    card = setup(by_card)
    before = _last_row(by_card)
    by_card.press(user, card, card.button(label))
    return _rows_after(by_card, before)


def test_routing_in_the_console_queues_what_the_card_press_queues(
    world: World, tmp_path: Path
) -> None:
    pressed = _pressed_on_card(tmp_path, to_dispatch, DISPATCHER, "生态环境")

    to_dispatch(world)
    client = console(world)
    csrf = sign_in(client, world, DISPATCHER, f"用户{DISPATCHER}")
    before = _last_row(world)
    rid = _report(world).id
    answer = client.post(
        f"/reports/{rid}/route",
        data={"csrf": csrf, "department": "environment", "back": "/queue"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/queue")
    assert _rows_after(world, before) == pressed
    assert {chat for chat, _, _ in pressed} >= {DISPATCH_GROUP, ENV_GROUP}
    assert _report(world).status == ReportStatus.ROUTED
    assert client.get("/queue").text.count(_report(world).number) == 0
    assert client.cookies.get(COOKIE)


def test_web_in_a_private_chat_sends_a_link_that_signs_in(world: World) -> None:
    assert [s.text for s in world.message(DISPATCHER, "/web")] == [t("web.console_off")]
    client = console(world)
    sent = world.message(DISPATCHER, "/web")
    assert len(sent) == 1 and sent[0].chat_id == DISPATCHER
    found = re.search(r"http://127\.0\.0\.1:8090(/login\?token=\S+)", sent[0].text)
    assert found is not None
    assert client.get(found.group(1), follow_redirects=False).status_code == 303
    assert client.get("/queue").status_code == 200
    # Nobody else gets one: an observer, a stranger; and never in a group.
    assert [s.text for s in world.message(OBSERVER, "/web")] == [t("web.no_role")]
    assert world.message(DISPATCHER, "/web", chat_id=DISPATCH_GROUP, chat_type="supergroup") == []


def test_signing_in_the_console_queues_what_the_card_press_queues(
    world: World, tmp_path: Path
) -> None:
    pressed = _pressed_on_card(tmp_path, _submit, HANDLER, "签收")

    _submit(world)
    client = console(world)
    csrf = sign_in(client, world, HANDLER, f"用户{HANDLER}")
    rid = _report(world).id
    page = client.get(f"/reports/{rid}")
    assert f"/reports/{rid}/sign" in page.text and f"/reports/{rid}/route" not in page.text
    before = _last_row(world)
    answer = client.post(f"/reports/{rid}/sign", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert _rows_after(world, before) == pressed
    assert {chat for chat, _, _ in pressed} == {WATER_GROUP, OBSERVER}
    assert _report(world).status == ReportStatus.SIGNED
    # Signing twice is refused by the lifecycle, with the card's answer.
    again = client.post(f"/reports/{rid}/sign", data={"csrf": csrf})
    assert again.status_code == 403 and t("department.already_signed") in again.text
    # Resolving needs words; with them, the observer is asked to rate.
    assert client.post(f"/reports/{rid}/resolve", data={"csrf": csrf}).status_code == 403
    before = _last_row(world)
    client.post(f"/reports/{rid}/resolve", data={"csrf": csrf, "words": "已清理河面垃圾"})
    assert _report(world).status == ReportStatus.RESOLVED
    assert any(
        chat == OBSERVER and "已清理河面垃圾" in payload["text"]
        for chat, _, payload in _rows_after(world, before)
    )


def test_the_queue_closes_several_reports_at_once(world: World) -> None:
    to_dispatch(world)
    to_dispatch(world, "东湖路河涌有死鱼，气味很大")
    client = console(world)
    csrf = sign_in(client, world, DISPATCHER)
    with Session(world.services.engine) as session:
        ids = [r.id for r in session.exec(select(Report)).all()]
    assert len(ids) == 2
    nothing = client.post("/queue/bulk", data={"csrf": csrf, "action": "close"})
    assert t("web.bulk_none") in nothing.text
    forged = client.post("/queue/bulk", data={"csrf": "x", "action": "close", "ids": ids})
    assert forged.status_code == 403
    answer = client.post(
        "/queue/bulk", data={"csrf": csrf, "action": "close", "ids": ids, "words": "重复反映"}
    )
    assert t("web.bulk_done", done=2, refused=0) in answer.text
    with Session(world.services.engine) as session:
        assert {r.status for r in session.exec(select(Report)).all()} == {ReportStatus.CLOSED}
    again = client.post(
        "/queue/bulk", data={"csrf": csrf, "action": "close", "ids": ids, "words": "重复反映"}
    )
    assert t("web.bulk_done", done=0, refused=2) in again.text
