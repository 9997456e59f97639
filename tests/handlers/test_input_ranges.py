"""Out-of-range ids, weeks and counts get a specific refusal saying what to do, on SQLite and
PostgreSQL alike — never the generic error of an integer the database cannot hold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from bot.core.messages import t
from tests.handlers.conftest import ADMIN, OBSERVER, WATER_GROUP, make_world, register
from tests.handlers.harness import Sent, World, texts

LEADER = 6001
HUGE = "99999999999999999999999"


@pytest.fixture
def any_world(engine: Engine) -> Iterator[World]:
    """The handlers' world on a fresh SQLite file and on the run's PostgreSQL database."""
    yield make_world(engine)


@pytest.mark.parametrize(
    "data",
    [
        f"ob1:sign:{HUGE}",
        "ob1:sign:2147483648",  # 2**31: one past the largest id (a PostgreSQL INTEGER)
        "ob1:sign:9223372036854775807",
        "ob1:done:0",
        "ob1:sign:-5",
        "ob1:sign:٣",  # an Arabic-Indic digit: int() would take it
        f"ob1:exty:1:{HUGE}",
        "ob1:sub:1:²",
    ],
)
def test_a_press_with_an_id_out_of_range_is_refused(any_world: World, data: str) -> None:
    register(any_world)
    card = Sent(WATER_GROUP, "sendMessage", "", 1, {}, "card")
    mine = Sent(OBSERVER, "sendMessage", "", 2, {}, "")
    assert any_world.press(8001, card, data) == []
    assert any_world.press(OBSERVER, mine, data) == []
    assert [a.text for a in any_world.answers[-2:]] == [t("common.unknown_button")] * 2


def test_the_largest_id_is_a_stale_button_not_an_error(any_world: World) -> None:
    register(any_world)
    card = Sent(WATER_GROUP, "sendMessage", "", 1, {}, "card")
    any_world.press(8001, card, f"ob1:sign:{2**31 - 1}")
    assert any_world.answers[-1].text != t("common.error")


@pytest.mark.parametrize(
    ("week", "key"),
    [
        ("9999-W52", "leader.week_out_of_range"),
        ("0001-W01", "leader.week_out_of_range"),
        ("2027-W10", "leader.week_out_of_range"),  # has not begun (now is 2026-W48)
        ("2026-W60", "leader.bad_week"),
        ("2026-47", "leader.bad_week"),
        (HUGE, "leader.bad_week"),
    ],
)
def test_digest_of_a_week_out_of_range_is_refused(any_world: World, week: str, key: str) -> None:
    any_world.message(ADMIN, f"/leader add {LEADER} 440100")
    sent = any_world.message(LEADER, f"/digest {week}")
    expected = t(key, week=week[:20], first="2000-W01", current="2026-W48")
    assert texts(sent) == [expected]
    assert "/digest" in expected  # it says what to write instead


def test_digest_of_a_past_week_still_works(any_world: World) -> None:
    any_world.message(ADMIN, f"/leader add {LEADER} 440100")
    sent = any_world.message(LEADER, "/digest 2026-W40")
    assert len(sent) == 3 and "2026-W40" in sent[0].text


@pytest.mark.parametrize("chat", [HUGE, "-" + HUGE, "9007199254740992", "٣٣", "0", "--5"])
def test_leader_add_with_an_id_out_of_range_is_refused(any_world: World, chat: str) -> None:
    sent = any_world.message(ADMIN, f"/leader add {chat} 440100")
    assert texts(sent) == [t("leader.bad_chat", chat=chat[:24])]


@pytest.mark.parametrize("count", ["0", "51", HUGE, "٣"])
def test_invite_with_a_count_out_of_range_is_refused(any_world: World, count: str) -> None:
    sent = any_world.message(ADMIN, f"/invite GZ-YX-001 {count}")
    assert texts(sent) == [t("admin.invite_usage", most=50)]
