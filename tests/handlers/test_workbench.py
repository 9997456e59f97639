"""The workbench in groups: /list, /queue, /help, /whoami."""

from __future__ import annotations

import datetime as dt

from bot.core.messages import t
from tests.handlers.conftest import (
    ADMIN,
    DISPATCH_GROUP,
    DISPATCHER,
    HANDLER,
    OBSERVER,
    STRANGER,
    WATER_GROUP,
    register,
)
from tests.handlers.harness import Sent, World


def _submit(world: World, text: str) -> Sent:
    preview = world.message(OBSERVER, text)[0]
    sent = world.press(OBSERVER, preview, preview.button("提交"))
    return next(s for s in sent if s.purpose == "card")


def _say(world: World, user: int, group: int, text: str) -> list[Sent]:
    return world.message(user, text, chat_id=group, chat_type="supergroup", title="群")


def test_list_shows_the_groups_work_worst_first_with_time_left(world: World) -> None:
    register(world)
    first = _submit(world, "东濠涌河涌发臭，水面漂着垃圾")
    second = _submit(world, "东湖路自来水管爆裂，路面全是水")
    world.press(HANDLER, second, second.button("签收"))
    world.now += dt.timedelta(days=2)  # the first is now past its sign-for deadline
    (listing,) = _say(world, HANDLER, WATER_GROUP, "/list")
    assert listing.text.startswith("📋 本群待办：已超时 1｜即将超时 0｜待签收 0｜办理中 1")
    lines = listing.text.splitlines()
    overdue = next(i for i, line in enumerate(lines) if "🔴" in line)
    signed = next(i for i, line in enumerate(lines) if "办理中，还剩" in line)
    assert overdue < signed and "待签收，已超时" in lines[overdue]
    assert "河涌发臭" in lines[overdue] and "自来水管爆裂" in lines[signed]
    # Each line links to its card (the harness's groups are supergroups: -100…).
    assert f"https://t.me/c/{str(WATER_GROUP)[4:]}/{first.message_id}" in listing.text


def test_list_pages_turn_in_place(world: World) -> None:
    register(world)
    for index in range(10):
        _submit(world, f"第{index}号路段自来水管爆裂，路面全是水")
    (listing,) = _say(world, HANDLER, WATER_GROUP, "/list")
    assert "第 1/2 页" in listing.text and listing.buttons() == [("下一页 ▶", "ob1:lp:2")]
    (turned,) = world.press(HANDLER, listing, listing.button("下一页"))
    assert turned.method == "editMessageText" and turned.message_id == listing.message_id
    assert "第 2/2 页" in turned.text and turned.buttons() == [("◀ 上一页", "ob1:lp:1")]
    (back,) = world.press(HANDLER, turned, turned.button("上一页"))
    assert "第 1/2 页" in back.text and back.text == listing.text


def test_queue_says_why_each_report_waits_for_dispatch(world: World) -> None:
    register(world)
    card = _submit(world, "东濠涌河涌发臭，水面漂着垃圾")
    pressed = world.press(HANDLER, card, card.button("退回"))
    prompt = next(s for s in pressed if s.purpose == "prompt")
    world.reply(HANDLER, prompt, "不属于水务职责")
    (queue,) = _say(world, DISPATCHER, DISPATCH_GROUP, "/queue")
    assert queue.text.startswith("📥 待分拨 1 件")
    assert "水务局退回：不属于水务职责" in queue.text
    # In a department group /queue points to /list.
    (wrong,) = _say(world, HANDLER, WATER_GROUP, "/queue")
    assert wrong.text == t("workbench.queue_not_dispatch")


def test_help_fits_the_group_and_unbound_groups_are_told_how_to_bind(world: World) -> None:
    assert "承办部门群" in _say(world, HANDLER, WATER_GROUP, "/help")[0].text
    assert "分拨群" in _say(world, DISPATCHER, DISPATCH_GROUP, "/help")[0].text
    assert _say(world, STRANGER, -100999, "/list")[0].text == t("group.not_bound")


def test_whoami_names_the_id_and_roles(world: World) -> None:
    register(world)
    mine = world.message(OBSERVER, "/whoami")[0].text
    assert str(OBSERVER) in mine and "观察员（" in mine
    assert "管理员" in world.message(ADMIN, "/whoami")[0].text
    in_group = _say(world, HANDLER, WATER_GROUP, "/whoami")[0].text
    assert str(HANDLER) in in_group and "本群承办：水务局" in in_group
    assert t("workbench.role_none") in world.message(STRANGER, "/whoami")[0].text


def test_an_administrators_help_lists_their_commands(world: World) -> None:
    assert world.message(ADMIN, "/help")[0].text == t("admin.help")
