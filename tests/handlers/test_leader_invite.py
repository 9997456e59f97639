"""Leaders added by an invite link: `obsbot invite --leader` writes one-time codes into the
database, and the leader's /start with the code (the t.me link's payload) registers them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, col, select

from bot.cli import main
from bot.core.messages import t
from storage.db import make_engine
from storage.models import Leader, ReportEvent
from tests.handlers.conftest import OBSERVER, make_world
from tests.handlers.harness import texts

LEADER = 6101


def obsbot(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), prog_name="obsbot")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert obsbot("db", "upgrade")[0] == 0
    return url


def test_a_leader_link_registers_its_holder_once(database: str, tmp_path: Path) -> None:
    code, out, err = obsbot(
        "invite", "--leader", "440100", "--supervises", "--count", "2",
        "--bot-username", "gd_observer_bot",
    )  # fmt: skip
    assert code == 0, err
    assert "已为广东省广州市领导（接收督办）生成 2 个一次性登记链接" in err
    lines = [line.split("\t") for line in out.splitlines()]
    assert len(lines) == 2
    first, link = lines[0]
    assert link == f"https://t.me/gd_observer_bot?start={first}" and first.startswith("L")

    engine = make_engine(database)
    world = make_world(engine, tmp_path)
    joined = world.message(LEADER, f"/start {first}", first_name="王局长")
    assert texts(joined) == [
        t("leader.joined", scope="广州市", supervises=t("leader.supervises_note"))
    ]
    assert t("leader.not_leader") not in texts(world.message(LEADER, "/digest"))  # a leader
    again = world.message(OBSERVER, f"/start {first}")  # the link is used up
    assert texts(again) == [t("leader.bad_invite")]
    with Session(engine) as session:
        leaders = session.exec(select(Leader)).all()
        actions = [
            e.action for e in session.exec(select(ReportEvent).order_by(col(ReportEvent.id)))
        ]
    assert [(x.chat_id, x.scope_region, x.supervises) for x in leaders] == [
        (LEADER, "440100", True)
    ]
    assert actions == ["leader_added", "leader_invite_refused"]
    engine.dispose()


def test_leader_invites_refuse_what_cannot_work(database: str) -> None:
    code, _, err = obsbot("invite", "--leader", "440104001")
    assert code == 1 and "不是广东省的省、市或区县代码" in err
    code, _, err = obsbot("invite", "--station", "GZ-YX-01", "--leader", "440100")
    assert code == 1 and "二者选一" in err
    code, _, err = obsbot("invite", "--leader", "440100", "--poster", "posters")
    assert code == 1 and "领导登记链接不做海报" in err
    code, out, err = obsbot("invite", "--leader", "440000")  # no username known: /start CODE
    assert code == 0, err
    assert out.split("\t")[1].strip() == f"/start {out.split(chr(9))[0]}"
