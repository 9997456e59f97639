"""Groups that change under the bot: removed, added back, rebound, migrated (real pipeline and
delivery worker; the loopback-server versions, with Telegram's own 403s, are in tests/e2e)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bot.core.messages import t
from storage.models import (
    GroupBinding,
    KnownGroup,
    OutboxMessage,
    PendingInput,
    ReportEvent,
    ReportStatus,
)
from tests.handlers.conftest import (
    ADMIN,
    DISPATCH_GROUP,
    HANDLER,
    OBSERVER,
    STRANGER,
    WATER_GROUP,
    bot_added,
)
from tests.handlers.harness import Sent, World
from tests.handlers.test_department import _report, _submit

NEW_WATER_GROUP = -100555


def _water(world: World) -> GroupBinding:
    with Session(world.services.engine) as session:
        return session.exec(select(GroupBinding).where(GroupBinding.department == "water")).one()


def _bot_removed(chat_id: int, status: str = "kicked") -> dict[str, Any]:
    """The ``my_chat_member`` update Telegram sends when the bot is removed from a group."""
    update = bot_added(chat_id, "越秀水务承办群")
    update["my_chat_member"]["old_chat_member"]["status"] = "member"
    update["my_chat_member"]["new_chat_member"]["status"] = status
    return update


def _bind(world: World, chat_id: int, department: str = "water", region: str = "440100") -> Sent:
    """An administrator issues a bind code and a group member uses it in ``chat_id``."""
    issued = world.message(ADMIN, f"/bindcode {department} {region}")[0]
    code = issued.text.split("绑定码 ")[1].split("：")[0]
    sent = world.message(
        HANDLER, f"/bind {code}", chat_id=chat_id, chat_type="supergroup", title="新水务群"
    )
    return sent


def _events(world: World, action: str) -> list[ReportEvent]:
    with Session(world.services.engine) as session:
        return list(session.exec(select(ReportEvent).where(ReportEvent.action == action)).all())


def test_removed_bot_stops_the_binding_and_sends_open_reports_to_dispatch(world: World) -> None:
    _submit(world)
    sent = world.update(_bot_removed(WATER_GROUP))
    assert not _water(world).active and _water(world).left_at is not None
    report = _report(world)
    assert report.status == ReportStatus.DISPATCH and report.department == "social_work"
    dispatch_card = next(s for s in sent if s.purpose == "card")
    assert dispatch_card.chat_id == DISPATCH_GROUP and report.number in dispatch_card.text
    assert report.card_chat_id == DISPATCH_GROUP
    assert report.card_message_id == dispatch_card.message_id
    notice = next(s for s in sent if s.chat_id == DISPATCH_GROUP and s.purpose != "card")
    assert "已被移出" in notice.text and report.number in notice.text
    assert "/bindcode water 440100" in notice.text
    assert any(s.chat_id == ADMIN for s in sent)  # administrators are told too
    told = [s.text for s in sent if s.chat_id == OBSERVER]
    assert told == [t("observer.group_lost", number=report.number, department="水务局")]
    assert nothing_in(sent, WATER_GROUP)
    # The same news again (a second update, or a 403) changes nothing and tells no one.
    assert world.update(_bot_removed(WATER_GROUP, "left")) == []
    assert len(_events(world, "group_lost")) == 1
    # New reports no longer go to the group: with no water group above, dispatch gets them.
    preview = world.message(OBSERVER, "自来水管爆裂，马路上都是水")[0]
    card = next(
        s for s in world.press(OBSERVER, preview, preview.button("提交")) if s.purpose == "card"
    )
    assert card.chat_id == DISPATCH_GROUP


def nothing_in(sent: list[Sent], chat_id: int) -> bool:
    """True if nothing was sent to ``chat_id``."""
    return all(s.chat_id != chat_id for s in sent)


def test_added_back_asks_for_a_rebind_which_brings_the_reports_back(world: World) -> None:
    _submit(world)
    removed = world.update(_bot_removed(WATER_GROUP))
    number = _report(world).number
    dispatch_card = next(s for s in removed if s.purpose == "card")
    sent = world.update(bot_added(WATER_GROUP, "越秀水务承办群", by=HANDLER))
    asked = [s.text for s in sent if s.chat_id == WATER_GROUP]
    assert len(asked) == 1 and "/bind" in asked[0] and "水务局" in asked[0]
    to_admin = [s.text for s in sent if s.chat_id == ADMIN]
    assert len(to_admin) == 1 and "/bindcode water 440100" in to_admin[0]
    assert not _water(world).active  # being added back is not a binding
    sent = _bind(world, WATER_GROUP)
    assert _water(world).active and _water(world).left_at is None
    report = _report(world)
    assert report.status == ReportStatus.ROUTED and report.department == "water"
    card = next(s for s in sent if s.purpose == "card")
    assert card.chat_id == WATER_GROUP and number in card.text
    assert card.button("签收")
    assert report.card_chat_id == WATER_GROUP and report.card_message_id == card.message_id
    # The dispatch card is retired: no buttons left to route a report that is back.
    retired = [s for s in sent if s.chat_id == DISPATCH_GROUP and s.method == "editMessageText"]
    assert [(r.message_id, r.buttons()) for r in retired] == [(dispatch_card.message_id, [])]
    assert number in retired[0].text
    signed = world.press(HANDLER, card, card.button("签收"))
    assert any("签收" in s.text or "办理中" in s.text for s in signed)
    assert _report(world).status == ReportStatus.SIGNED


def test_rebinding_moves_open_cards_and_cancels_prompts_asked_in_the_old_group(
    world: World,
) -> None:
    card = _submit(world)
    world.press(HANDLER, card, card.button("退回"))  # a prompt waits in the old group
    sent = _bind(world, NEW_WATER_GROUP)
    assert _water(world).chat_id == NEW_WATER_GROUP
    new_card = next(s for s in sent if s.purpose == "card")
    assert new_card.chat_id == NEW_WATER_GROUP and new_card.button("签收")
    old = next(s for s in sent if s.chat_id == WATER_GROUP and s.method == "editMessageText")
    assert old.message_id == card.message_id and not old.buttons() and "停止使用" in old.text
    report = _report(world)
    assert (report.card_chat_id, report.card_message_id) == (NEW_WATER_GROUP, new_card.message_id)
    with Session(world.services.engine) as session:
        assert session.exec(select(PendingInput)).all() == []
        assert session.get(KnownGroup, NEW_WATER_GROUP) is not None
    # The old group's answer to the cancelled prompt returns nothing.
    world.message(HANDLER, "不归我们管", chat_id=WATER_GROUP, chat_type="supergroup", title="群")
    assert _report(world).status == ReportStatus.ROUTED
    # The old card's buttons are dead; the new one works.
    assert world.press(HANDLER, card, card.button("签收")) == []
    assert _report(world).status == ReportStatus.ROUTED
    world.press(HANDLER, new_card, new_card.button("签收"))
    assert _report(world).status == ReportStatus.SIGNED


def test_migration_is_followed_once_whichever_message_comes_first(world: World) -> None:
    card = _submit(world)
    signed = next(
        s for s in world.press(HANDLER, card, card.button("签收")) if s.method == "editMessageText"
    )
    assert _report(world).status == ReportStatus.SIGNED
    world.press(HANDLER, signed, signed.button("延期"))  # a prompt waits
    with Session(world.services.engine) as session:
        session.add(KnownGroup(chat_id=WATER_GROUP, title="越秀水务承办群"))
        session.commit()
    supergroup = -1000000100111
    old = {"id": WATER_GROUP, "type": "group", "title": "越秀水务承办群"}
    new = {"id": supergroup, "type": "supergroup", "title": "越秀水务承办群"}
    first = world.message(
        HANDLER, chat_id=WATER_GROUP, chat_type="group", migrate_to_chat_id=supergroup
    )
    second = world.update(
        {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": new,
                "from": {"id": 1087968824, "is_bot": True, "first_name": "Group"},
                "sender_chat": new,
                "migrate_from_chat_id": old["id"],
            }
        }
    )
    assert second == [] and signed
    cards = [s for s in first if s.purpose == "card"]
    assert len(cards) == 1 and cards[0].chat_id == supergroup
    assert cards[0].button("办结")  # a signed report's card, with its buttons
    report = _report(world)
    assert (report.card_chat_id, report.card_message_id) == (supergroup, cards[0].message_id)
    assert _water(world).chat_id == supergroup
    with Session(world.services.engine) as session:
        prompt = session.exec(select(PendingInput)).one()
        assert prompt.chat_id == supergroup and prompt.data["card_message_id"] is None
        assert session.get(KnownGroup, WATER_GROUP) is None
        assert session.get(KnownGroup, supergroup) is not None
        pending = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == WATER_GROUP))
        assert all(row.status != "pending" for row in pending)
    assert len(_events(world, "group_migrated")) == 1
    # The same migration seen again (the new chat's message first, this time) does nothing.
    assert (
        world.message(
            HANDLER, chat_id=WATER_GROUP, chat_type="group", migrate_to_chat_id=supergroup
        )
        == []
    )


def test_a_migration_to_an_id_telegram_could_not_give_moves_nothing(world: World) -> None:
    _submit(world)
    # A forged update (anyone holding the webhook secret could post one) naming a chat of theirs.
    for forged in (-100999, 12345):
        world.message(HANDLER, chat_id=WATER_GROUP, chat_type="group", migrate_to_chat_id=forged)
    assert _water(world).chat_id == WATER_GROUP
    assert _report(world).card_chat_id == WATER_GROUP
    assert len(_events(world, "migration_refused")) == 2


def test_unbound_group_removal_is_only_remembered(world: World) -> None:
    world.update(bot_added(-100777, "陌生群"))
    assert world.update(_bot_removed(-100777)) == []
    with Session(world.services.engine) as session:
        group = session.get(KnownGroup, -100777)
        assert group is not None and group.left_at is not None
    assert _events(world, "group_lost") == []
    assert world.update(bot_added(-100777, "陌生群", by=STRANGER)) == []
