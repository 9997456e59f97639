"""The console's stations, observers and rules pages: who may see them, what they show,
and that phone numbers never leave unmasked."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.messages import t
from storage.models import Leader
from tests.handlers.conftest import ADMIN, DISPATCHER, HANDLER, make_world
from tests.handlers.harness import World
from tests.handlers.test_department import _submit
from tests.web.test_console import console, sign_in

SHENZHEN_LEADER = 7501


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    """A report from 北京街 (越秀区); a leader of 福田区; on SQLite and PostgreSQL."""
    filed = make_world(engine, tmp_path)
    _submit(filed)
    with Session(engine) as session:
        session.add(Leader(name="深圳领导", chat_id=SHENZHEN_LEADER, scope_region="440304"))
        session.commit()
    return filed


def test_stations_and_observers_by_region_with_numbers_masked(world: World) -> None:
    client = console(world)
    sign_in(client, world, ADMIN)
    stations = client.get("/stations").text
    assert "GZ-YX-001" in stations and "福田街道社会工作观察站" in stations
    assert t("web.silent") in stations  # 福田 has sent nothing in 30 days
    observers = client.get("/observers").text
    assert "陈晓明" in observers and "王停" in observers and t("web.observer_status.suspended")
    assert "138****8001" in observers
    assert "13800138001" not in observers and "13800138003" not in observers

    leader = TestClient(client.app)
    sign_in(leader, world, SHENZHEN_LEADER)
    assert "GZ-YX-001" not in leader.get("/stations").text
    seen = leader.get("/observers").text
    assert "王停" in seen and "陈晓明" not in seen

    dispatcher = TestClient(client.app)
    sign_in(dispatcher, world, DISPATCHER)  # the province's dispatch group: every station
    assert "GZ-YX-001" in dispatcher.get("/stations").text


def test_a_department_handler_and_a_stranger_see_no_people(world: World) -> None:
    client = console(world)
    sign_in(client, world, HANDLER)
    for path in ("/stations", "/observers"):
        page = client.get(path)
        assert page.status_code == 200 and t("web.people_only") in page.text
        assert "陈晓明" not in page.text
        assert TestClient(client.app).get(path).status_code == 401


def test_the_rules_page_shows_the_rules_and_explains_a_text(world: World) -> None:
    client = console(world)
    sign_in(client, world, HANDLER)
    page = client.get("/rules").text
    assert t("web.rules_version", version=world.services.rules.version) in page
    rule = world.services.rules.rules[0]
    assert rule.id in page
    explained = client.get("/rules", params={"text": "东濠涌河涌发臭，水面漂着垃圾"}).text
    decision = world.services.router.route("东濠涌河涌发臭，水面漂着垃圾")
    assert world.services.rules.department_name(decision.department) in explained
    assert 'role="status"' in explained
    assert "13812345678" not in client.get("/rules", params={"text": "电话13812345678"}).text
