"""The control API: people's actions become the updates Telegram would send."""

from __future__ import annotations

import pytest
from telegram import Bot as PtbBot
from telegram import Update

from sandbox import ControlClient, LoopbackServer, WaitTimeout

pytestmark = pytest.mark.e2e


async def _updates(bot: PtbBot) -> list[Update]:
    updates = list(await bot.get_updates(timeout=0, allowed_updates=Update.ALL_TYPES))
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return updates


async def test_private_messages_of_every_kind(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    uid = alice["id"]
    await control.send_photo(uid, caption="现场照片")
    await control.send_voice(uid)
    await control.send_document(uid, file_name="a.pdf", mime_type="application/pdf")
    await control.send_media(uid, "sticker")
    await control.send_media(uid, "animation")
    await control.send_media(uid, "poll", question="好吗", options=["好", "不好"])
    await control.send_media(uid, "dice", value=6)
    await control.send_location(uid, 23.1, 113.2)
    await control.share_contact(uid)
    bob = await control.create_user("Bob", phone="+8613900000002")
    await control.share_contact(uid, contact_user_id=bob["id"])
    await control.forward(uid, "转发内容", from_user_id=bob["id"])
    await control.forward(uid, "隐藏来源")
    messages = [u.message for u in await _updates(ptb_bot)]
    assert messages[0].photo[-1].file_id and messages[0].caption == "现场照片"
    assert messages[1].voice.duration == 1
    assert messages[2].document.mime_type == "application/pdf"
    assert messages[3].sticker.type == "regular"
    assert messages[4].animation is not None
    assert [o.text for o in messages[5].poll.options] == ["好", "不好"]
    assert messages[6].dice.value == 6
    assert messages[7].location.latitude == pytest.approx(23.1)
    own, other = messages[8].contact, messages[9].contact
    assert own.user_id == uid and own.phone_number == "+8613800000001"
    assert other.user_id == bob["id"] and other.phone_number == "+8613900000002"
    assert messages[10].forward_origin.sender_user.id == bob["id"]
    assert messages[11].forward_origin.sender_user_name == "隐藏用户"


async def test_edit_press_and_wait_helpers(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    uid = alice["id"]
    sent = (await control.send_text(uid, "原文"))["message"]
    await control.edit_message(uid, uid, sent["message_id"], "改过")
    updates = await _updates(ptb_bot)
    assert updates[-1].edited_message.text == "改过"
    assert updates[-1].edited_message.edit_date is not None
    with pytest.raises(WaitTimeout):
        await control.wait_sent(uid, 1, timeout=0.05)
    await ptb_bot.send_message(uid, "一")
    await ptb_bot.send_message(uid, "二")
    assert [m["text"] for m in await control.wait_sent(uid, 2)] == ["一", "二"]
    assert [m["text"] for m in await control.wait_sent(uid, 1, since=1)] == ["二"]
    assert await control.wait_calls("sendMessage", 2) == 2
    calls = await control.calls("sendMessage")
    assert [c["params"]["text"] for c in calls] == ["一", "二"]
    await control.send_text(uid, "再来")
    with pytest.raises(WaitTimeout):
        await control.wait_idle(timeout=0.05)
    await _updates(ptb_bot)
    assert await control.wait_idle()


async def test_groups_membership_privacy_and_migration(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    owner = await control.create_user("Owner")
    group = await control.create_group(
        "环保局群", members=[alice["id"]], creator=owner["id"], bot_status="left"
    )
    gid = group["id"]
    await control.add_bot(gid, by_user_id=owner["id"])
    updates = await _updates(ptb_bot)
    assert updates[0].my_chat_member.new_chat_member.status == "member"
    assert updates[1].message.new_chat_members[0].id == ptb_bot.id
    card = await ptb_bot.send_message(gid, "卡片")
    await control.send_text(alice["id"], "闲聊", chat_id=gid)  # privacy mode: not delivered
    await control.reply(alice["id"], gid, card.message_id, "回复卡片")
    await control.send_text(alice["id"], "/my@other_bot", chat_id=gid)  # another bot's
    await control.send_text(alice["id"], "/my", chat_id=gid)
    await control.anonymous_admin_message(owner["id"], gid, "/bind 1234")
    texts = [(u.message.text, u.message.reply_to_message) for u in await _updates(ptb_bot)]
    assert [t for t, _ in texts] == ["回复卡片", "/my", "/bind 1234"]
    assert texts[0][1].message_id == card.message_id
    carol = await control.create_user("Carol")
    await control.join(gid, carol["id"])
    await control.leave(gid, alice["id"])
    service = [u.message for u in await _updates(ptb_bot)]
    assert service[0].new_chat_members[0].id == carol["id"]
    assert service[1].left_chat_member.id == alice["id"]
    moved = await control.migrate(gid)
    migration = [u.message for u in await _updates(ptb_bot)]
    assert migration[0].migrate_to_chat_id == moved["supergroup_id"]
    assert migration[1].migrate_from_chat_id == gid
    await control.remove_bot(moved["supergroup_id"], by_user_id=owner["id"])
    kicked = (await _updates(ptb_bot))[0].my_chat_member
    assert kicked.new_chat_member.status == "kicked"


async def test_anonymous_admin_sender_chat_and_block(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    group = await control.create_group("群", creator=alice["id"], bot_status="administrator")
    await control.anonymous_admin_message(alice["id"], group["id"], "匿名")
    await control.block_bot(alice["id"])
    await control.send_text(alice["id"], "/start")  # writing again unblocks, like Restart
    updates = await _updates(ptb_bot)
    anonymous = updates[0].message
    assert anonymous.from_user.username == "GroupAnonymousBot"
    assert anonymous.sender_chat.id == group["id"]
    assert updates[1].my_chat_member.new_chat_member.status == "kicked"
    assert updates[2].my_chat_member.new_chat_member.status == "member"
    assert (await ptb_bot.send_message(alice["id"], "欢迎回来")).text == "欢迎回来"


async def test_control_over_http_and_errors(loopback: LoopbackServer) -> None:
    remote = ControlClient(loopback.control_url)
    try:
        user = await remote.create_user("Dan", started=True)
        result = await remote.send_text(user["id"], "hi")
        assert result["message"]["text"] == "hi" and result["update_id"] == 1
        with pytest.raises(Exception, match="unknown user"):
            await remote.send_text(999, "hi")
        assert (await remote.stats())["pending_updates"] == 1
    finally:
        await remote.aclose()
