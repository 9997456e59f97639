"""python-telegram-bot and aiogram, unmodified, against the loopback Bot API."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot as AiogramBot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile
from aiogram.types import InlineKeyboardButton as AButton
from aiogram.types import InlineKeyboardMarkup as AMarkup
from telegram import Bot as PtbBot
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter

from sandbox import ControlClient, LoopbackServer

PNG = (
    bytes.fromhex("89504e470d0a1a0a0000000d49484452000000020000000308060000009db1d3a4")
    + b"\x00" * 16
)

pytestmark = pytest.mark.e2e


def _keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


async def test_ptb_get_me_and_long_poll_wakes_on_new_update(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    me = await ptb_bot.get_me()
    assert me.is_bot and me.username == "loopback_bot"
    poll = asyncio.create_task(ptb_bot.get_updates(timeout=30))
    await asyncio.sleep(0)
    await control.send_text(alice["id"], "/start")
    updates = await asyncio.wait_for(poll, 5)  # long before the 30 s poll would end
    assert updates[0].message.text == "/start"
    assert updates[0].message.entities[0].type == "bot_command"
    # confirming with offset drops it; nothing else is pending
    assert await ptb_bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert (await control.stats())["pending_updates"] == 0


async def test_ptb_send_edit_and_button_answer(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    chat = alice["id"]
    sent = await ptb_bot.send_message(
        chat, "<b>报告</b> 已收到", parse_mode="HTML", reply_markup=_keyboard(("提交", "v1:ok"))
    )
    assert sent.text == "报告 已收到" and sent.entities[0].type == "bold"
    press = await control.press(chat, chat, sent.message_id, button_text="提交", wait=0)
    update = (await ptb_bot.get_updates(timeout=1))[-1]
    assert update.callback_query.data == "v1:ok"
    assert update.callback_query.message.message_id == sent.message_id
    with pytest.raises(BadRequest, match="(?i)message_too_long"):
        await ptb_bot.answer_callback_query(update.callback_query.id, text="长" * 201)
    assert await ptb_bot.answer_callback_query(update.callback_query.id, text="好的")
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await ptb_bot.answer_callback_query(update.callback_query.id)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await ptb_bot.answer_callback_query("nope")
    assert press["callback_query_id"] == update.callback_query.id

    edited = await ptb_bot.edit_message_text("已提交", chat, sent.message_id)
    assert edited.text == "已提交" and edited.reply_markup is None
    with pytest.raises(BadRequest, match="(?i)Message is not modified"):
        await ptb_bot.edit_message_text("已提交", chat, sent.message_id)
    with pytest.raises(BadRequest, match="(?i)Message to edit not found"):
        await ptb_bot.edit_message_text("x", chat, 999)
    await ptb_bot.edit_message_reply_markup(
        chat, sent.message_id, reply_markup=_keyboard(("a", "b"))
    )
    with pytest.raises(BadRequest, match="(?i)Message is not modified"):
        await ptb_bot.edit_message_reply_markup(
            chat, sent.message_id, reply_markup=_keyboard(("a", "b"))
        )
    state = await control.get_message(chat, sent.message_id)
    assert state["text"] == "已提交"
    assert state["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"
    assert [e["event"] for e in await control.transcript(chat)] == ["sent", "edited", "edited"]


async def test_ptb_press_returns_the_answer(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    sent = await ptb_bot.send_message(alice["id"], "卡片", reply_markup=_keyboard(("签收", "s")))

    async def answer() -> None:
        updates = await ptb_bot.get_updates(timeout=5)
        await ptb_bot.answer_callback_query(updates[-1].callback_query.id, text="已签收")

    task = asyncio.create_task(answer())
    press = await control.press(alice["id"], alice["id"], sent.message_id, data="s")
    await task
    assert press["answered"] and press["answer"]["text"] == "已签收"


async def test_ptb_reply_keyboard_reply_parameters_and_files(
    ptb_bot: PtbBot, control: ControlClient, alice: dict, loopback: LoopbackServer
) -> None:
    chat = alice["id"]
    incoming = (await control.send_text(chat, "你好"))["message"]
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("分享手机号", request_contact=True)]])
    reply = await ptb_bot.send_message(
        chat, "请分享", reply_markup=keyboard,
        reply_parameters=ReplyParameters(incoming["message_id"]),
    )  # fmt: skip
    assert reply.reply_to_message.text == "你好"
    assert (await control.keyboard(chat))["keyboard"][0][0]["request_contact"] is True
    legacy = await ptb_bot.send_message(chat, "旧式", reply_to_message_id=incoming["message_id"])
    assert legacy.reply_to_message.message_id == incoming["message_id"]
    with pytest.raises(BadRequest, match="(?i)Message to be replied not found"):
        await ptb_bot.send_message(chat, "x", reply_parameters=ReplyParameters(999))

    photo = await ptb_bot.send_photo(chat, PNG, caption="<i>现场</i>", parse_mode="HTML")
    assert (photo.photo[-1].width, photo.photo[-1].height) == (2, 3)
    assert photo.caption == "现场"
    again = await ptb_bot.send_photo(chat, photo.photo[-1].file_id)
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    file = await ptb_bot.get_file(photo.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == PNG
    album = await ptb_bot.send_media_group(
        chat,
        [
            __import__("telegram").InputMediaPhoto(PNG),
            __import__("telegram").InputMediaPhoto(photo.photo[-1].file_id),
        ],
    )
    assert len({m.media_group_id for m in album}) == 1 and len(album) == 2
    document = await ptb_bot.send_document(chat, b"a,b\n1,2\n", filename="r.csv")
    assert document.document.file_name == "r.csv"
    with pytest.raises(BadRequest, match="(?i)can't use file of type Document as Photo"):
        await ptb_bot.send_photo(chat, document.document.file_id)
    with pytest.raises(BadRequest, match="(?i)Wrong file identifier/http url specified"):
        await ptb_bot.send_photo(chat, "AgACnotafileid")
    location = await ptb_bot.send_location(chat, 23.13, 113.26)
    assert location.location.latitude == pytest.approx(23.13)

    user_photo = (await control.send_photo(chat, caption="图"))["message"]
    got = await ptb_bot.get_file(user_photo["photo"][-1]["file_id"])
    assert (await got.download_as_bytearray())[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": ""}, "Message text is empty"),
        ({"text": "x" * 4097}, "Message is too long"),
        ({"text": "<b>x", "parse_mode": "HTML"}, "Can't parse entities: can't find end tag"),
        ({"text": "1.5", "parse_mode": "MarkdownV2"}, "Can't parse entities: character '.'"),
        ({"text": "x", "reply_markup": _keyboard(("a", "x" * 65))}, "Button_data_invalid"),
        ({"text": "x", "chat_id": 424242}, "Chat not found"),
    ],
)
async def test_ptb_strictness(ptb_bot: PtbBot, alice: dict, kwargs: dict, error: str) -> None:
    kwargs = {"chat_id": alice["id"], **kwargs}
    with pytest.raises(BadRequest, match="(?i)" + error):
        await ptb_bot.send_message(**kwargs)


async def test_ptb_caption_limit_and_forbidden_chats(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    with pytest.raises(BadRequest, match="(?i)Message caption is too long"):
        await ptb_bot.send_photo(alice["id"], PNG, caption="x" * 1025)
    stranger = await control.create_user("Bob")
    with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation with a user"):
        await ptb_bot.send_message(stranger["id"], "hi")
    await control.block_bot(alice["id"])
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await ptb_bot.send_message(alice["id"], "hi")
    outside = await control.create_group("外部群", members=[alice["id"]], bot_status="left")
    with pytest.raises(Forbidden, match="(?i)bot is not a member of the group chat"):
        await ptb_bot.send_message(outside["id"], "hi")
    group = await control.create_group("部门群", members=[alice["id"]], creator=alice["id"])
    await control.remove_bot(group["id"])
    with pytest.raises(Forbidden, match="(?i)bot was kicked from the group chat"):
        await ptb_bot.send_message(group["id"], "hi")


async def test_ptb_chat_migrated_and_retry_after(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    group = await control.create_group("部门群", members=[alice["id"]], creator=alice["id"])
    moved = await control.migrate(group["id"])
    with pytest.raises(ChatMigrated) as caught:
        await ptb_bot.send_message(group["id"], "hi")
    assert caught.value.new_chat_id == moved["supergroup_id"]
    assert (await ptb_bot.send_message(moved["supergroup_id"], "hi")).chat.type == "supergroup"
    await control.inject("429", "sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as retry:
        await ptb_bot.send_message(alice["id"], "hi")
    assert retry.value.retry_after in (7, __import__("datetime").timedelta(seconds=7))
    assert (await control.stats())["http_429"] == 1


async def test_ptb_chat_queries_commands_and_leave(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    group = await control.create_group("部门群", members=[alice["id"]], admins=[])
    chat = await ptb_bot.get_chat(group["id"])
    assert chat.title == "部门群" and chat.type == "group"
    member = await ptb_bot.get_chat_member(group["id"], alice["id"])
    assert member.status == "member"
    assert (await ptb_bot.get_chat_member(group["id"], ptb_bot.id)).status == "member"
    await ptb_bot.set_my_commands([("start", "开始"), ("my", "我的报告")])
    assert [c.command for c in await ptb_bot.get_my_commands()] == ["start", "my"]
    with pytest.raises(BadRequest, match="(?i)Bot_command_invalid"):
        await ptb_bot.set_my_commands([("Bad Command", "x")])
    assert await ptb_bot.leave_chat(group["id"])
    updates = await ptb_bot.get_updates(timeout=1)
    assert updates[-1].my_chat_member.new_chat_member.status == "left"
    sent = await ptb_bot.send_message(alice["id"], "删我")
    assert await ptb_bot.delete_message(alice["id"], sent.message_id)
    with pytest.raises(BadRequest, match="(?i)Message to delete not found"):
        await ptb_bot.delete_message(alice["id"], sent.message_id)


async def test_aiogram_round_trip_and_errors(
    aiogram_bot: AiogramBot, control: ControlClient, alice: dict, loopback: LoopbackServer
) -> None:
    me = await aiogram_bot.get_me()
    assert me.username == "loopback_bot"
    await control.send_text(alice["id"], "/start")
    updates = await aiogram_bot.get_updates(timeout=1)
    assert updates[0].message.text == "/start"
    markup = AMarkup(inline_keyboard=[[AButton(text="签收", callback_data="v1:sign:1")]])
    sent = await aiogram_bot.send_message(alice["id"], "*卡片*", parse_mode="MarkdownV2",
                                          reply_markup=markup)  # fmt: skip
    assert sent.text == "卡片" and sent.entities[0].type == "bold"
    await control.press(alice["id"], alice["id"], sent.message_id, data="v1:sign:1", wait=0)
    updates = await aiogram_bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    assert await aiogram_bot.answer_callback_query(updates[0].callback_query.id, text="好")
    edited = await aiogram_bot.edit_message_text(
        text="已签收", chat_id=alice["id"], message_id=sent.message_id
    )
    assert edited.text == "已签收"
    with pytest.raises(TelegramBadRequest, match="(?i)message is not modified"):
        await aiogram_bot.edit_message_text(
            text="已签收", chat_id=alice["id"], message_id=sent.message_id
        )
    photo = await aiogram_bot.send_photo(alice["id"], BufferedInputFile(PNG, "p.png"))
    file = await aiogram_bot.get_file(photo.photo[-1].file_id)
    downloaded = await aiogram_bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == PNG
    with pytest.raises(TelegramBadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await aiogram_bot.send_message(
            alice["id"], "x",
            reply_markup=AMarkup(inline_keyboard=[[AButton(text="a", callback_data="é" * 33)]]),
        )  # fmt: skip
    await control.inject("429", "sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as retry:
        await aiogram_bot.send_message(alice["id"], "x")
    assert retry.value.retry_after == 3
    group = await control.create_group("群", members=[alice["id"]], creator=alice["id"])
    moved = await control.migrate(group["id"])
    with pytest.raises(TelegramMigrateToChat) as migrate:
        await aiogram_bot.send_message(group["id"], "x")
    assert migrate.value.migrate_to_chat_id == moved["supergroup_id"]
    await control.block_bot(alice["id"])
    with pytest.raises(TelegramForbiddenError, match="(?i)blocked by the user"):
        await aiogram_bot.send_message(alice["id"], "x")


async def test_a_plain_ptb_application_polls_the_server_and_answers(
    loopback: LoopbackServer, control: ControlClient
) -> None:
    from telegram import Update
    from telegram.ext import Application, CommandHandler, ContextTypes

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"<b>你好</b> {update.effective_user.first_name}",
                                                  parse_mode="HTML")  # fmt: skip

    application = (
        Application.builder()
        .token(loopback.token)
        .base_url(f"{loopback.base_url}/bot")
        .base_file_url(f"{loopback.base_url}/file/bot")
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    user = await control.create_user("Fay")
    await control.send_text(user["id"], "/start")
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        replies = await control.wait_sent(user["id"], 1)
        await application.updater.stop()
        await application.stop()
    assert replies[0]["text"] == "你好 Fay"
    assert (await control.stats())["calls"]["deleteWebhook"] == 1


async def test_a_plain_aiogram_dispatcher_polls_the_server_and_answers(
    aiogram_bot: AiogramBot, control: ControlClient
) -> None:
    from aiogram import Dispatcher
    from aiogram.filters import CommandStart
    from aiogram.types import Message

    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(f"你好 {message.from_user.first_name}")  # type: ignore[union-attr]

    user = await control.create_user("Gus")
    await control.send_text(user["id"], "/start")
    polling = asyncio.create_task(
        dispatcher.start_polling(aiogram_bot, polling_timeout=1, handle_signals=False,
                                 close_bot_session=False)
    )  # fmt: skip
    try:
        replies = await control.wait_sent(user["id"], 1)
    finally:
        await dispatcher.stop_polling()
        await polling
    assert replies[0]["text"] == "你好 Gus"


async def test_ptb_copy_forward_and_voice_relay(
    ptb_bot: PtbBot, control: ControlClient, alice: dict
) -> None:
    from telegram import ReplyKeyboardRemove

    group = await control.create_group("部门群", members=[alice["id"]])
    photo = (await control.send_photo(alice["id"], caption="现场"))["message"]
    voice = (await control.send_voice(alice["id"]))["message"]
    copied = await ptb_bot.copy_message(
        group["id"], alice["id"], photo["message_id"], caption="<b>ZT-1</b> 附件", parse_mode="HTML"
    )
    relayed = await control.get_message(group["id"], copied.message_id)
    assert relayed["photo"] == photo["photo"] and relayed["caption"] == "ZT-1 附件"
    forwarded = await ptb_bot.forward_message(group["id"], alice["id"], voice["message_id"])
    assert forwarded.forward_origin.sender_user.id == alice["id"] and forwarded.voice
    again = await ptb_bot.send_voice(group["id"], voice["voice"]["file_id"])
    assert again.voice.file_id == voice["voice"]["file_id"]
    with pytest.raises(BadRequest, match="(?i)message to copy not found"):
        await ptb_bot.copy_message(group["id"], alice["id"], 999)
    await ptb_bot.send_message(alice["id"], "键盘", reply_markup=ReplyKeyboardMarkup([["是"]]))
    assert (await control.keyboard(alice["id"]))["keyboard"] == [[{"text": "是"}]]
    await ptb_bot.send_message(alice["id"], "收起", reply_markup=ReplyKeyboardRemove())
    assert await control.keyboard(alice["id"]) is None
    assert "press" in await control.help()
