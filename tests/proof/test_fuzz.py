"""Fuzzing: arbitrary updates and texts through the whole pipeline.

Texts are huge, empty, right-to-left, zero-width, emoji sequences, mixed scripts, HTML and
Markdown special characters, control characters; updates come in every shape Telegram sends
(and some it only might: missing senders, unknown kinds, forwarded, edited, anonymous), with
random callback data and presses of the bot's real buttons by the wrong people.

Two layers. ``test_fuzz_the_pipeline`` drives the handlers through the inbox and outbox
(``tests/handlers/harness.World``) — hundreds of updates a second — and checks every call the bot
queued against the loopback server's own validation (lengths, entities, callback_data bytes,
keyboards). ``test_fuzz_end_to_end`` sends a smaller number through the real runtime and the
loopback Bot API, where anything Telegram would refuse shows up as a 400 in its statistics.
After every example: no update ended ``failed``, nothing was refused, and no partial writes —
every report has its creation event, every draft and pending question points at what it needs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import build_services
from bot.infra.config import load_settings
from bot.infra.delivery import DeliveryWorker, RetryPolicy
from bot.telegram.bot_api import open_bot_api
from bot.telegram.runtime import BotRuntime
from handlers.actions import TEXT_LIMIT, split_text, utf16_len
from handlers.callbacks import Act, Press, parse
from sandbox import LoopbackServer, SyncControlClient
from sandbox.validation import ApiError, check_reply_markup, parse_text
from storage.db import create_all, make_engine
from storage.models import (
    Draft,
    InboxStatus,
    InboxUpdate,
    OutboxMessage,
    OutboxStatus,
    PendingInput,
    Report,
    ReportEvent,
)
from tests.e2e.conftest import FAST
from tests.handlers.conftest import (
    ADMIN,
    DISPATCH_GROUP,
    HANDLER,
    OBSERVER,
    OTHER_OBSERVER,
    STRANGER,
    WATER_GROUP,
    make_world,
    register,
)
from tests.handlers.harness import Sent, World
from tests.proof.process import ROOT, fill_roster

# --- texts ------------------------------------------------------------------------------------

PIECES = [
    "小区自来水发黄", "路灯不亮", "噪音扰民", "垃圾", "水务", "🚰💧", "👨‍👩‍👧‍👦", "🇨🇳", "👍🏽",
    "مرحبا بالعالم", "שלום", "\u202eRTL override\u202c", "\u200b", "\u200c\u200d", "\ufeff",
    "e\u0301", "Ω≈ç√", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "<b>", "</b>", "<i>x</i>", "&amp;", "&lt;", "<a href='x'>", "&",
    "*bold*", "_it_", "`code`", "```pre```", "[link](http://x.y)", "\\", "||spoiler||", "~",
    ">quote", "#tag", "@gd_observer_bot", "@someone", "/start", "/my", "/new", "/cancel",
    "/bind XYZ", "/help@gd_observer_bot", "/digest", "/leader add", "https://example.com",
    "13800138000", "440104199001011234", "\n", "\t", "  ", "\x00", "\x7f", "\r\n", "𠀀𠀁",
    "Ｆｕｌｌｗｉｄｔｈ", "ʎʇɹǝʍb", "한국어", "日本語テキスト", "ไทย", "हिन्दी",
]  # fmt: skip
piece = st.sampled_from(PIECES) | st.text(max_size=12)
texts = st.one_of(
    st.lists(piece, max_size=8).map("".join),
    st.text(max_size=40),
    # Huge: past 4,096 UTF-16 units (emoji and astral characters count twice).
    st.tuples(piece.filter(bool), st.integers(300, 2500)).map(lambda t: t[0] * t[1]),
    st.just(""),
)
# Well-formed presses of today's buttons (``ob1:``): every action, on drafts and reports that
# exist (the world accumulates them) or not, with the arguments the bot's own buttons carry —
# pressed by anyone, in any chat. These reach the handlers' authority and lifecycle checks.
ARGS = [
    "", "1", "2", "0", "999", "problem", "suggestion", "sentiment", "water", "environment",
    "housing", "social_work", "satisfied", "basic", "unsatisfied", "text", "photo", "skip",
    "yes",
]  # fmt: skip
presses = st.builds(
    lambda act, target, arg: Press(act, target, arg).encode(),
    st.sampled_from(list(Act)),
    st.integers(1, 40) | st.integers(1, 2**31 - 1),  # ids: 1 to PostgreSQL's INTEGER
    st.sampled_from(ARGS),
)
garbage = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=70).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["ob1:sign", "ob1:sign:-1", "ob1:nope:1", "ob2:sign:1", "ob1:sign:x", ":"]),
)
callback_data = presses | presses | presses | garbage

# --- updates ----------------------------------------------------------------------------------

people = st.sampled_from([OBSERVER, OTHER_OBSERVER, STRANGER, HANDLER, ADMIN])
PRIVATE = (None, "private", "")
WATER = (WATER_GROUP, "supergroup", "水务群")
places = st.sampled_from(
    [
        PRIVATE,
        WATER,
        (DISPATCH_GROUP, "supergroup", "分拨群"),
        (-100999, "group", "陌生群"),
        (-100998, "channel", "频道"),
    ]
)
# Who speaks where: mostly registered observers in private, where the conversation is deep.
speakers = st.sampled_from(
    [(OBSERVER, PRIVATE)] * 6
    + [(OTHER_OBSERVER, PRIVATE)] * 2
    + [(STRANGER, PRIVATE), (ADMIN, PRIVATE), (HANDLER, WATER), (ADMIN, WATER)]
) | st.tuples(people, places)
extras = st.fixed_dictionaries(
    {},
    optional={
        "forward_origin": st.just({"type": "hidden_user", "date": 0, "sender_user_name": "某人"}),
        "caption": texts,
        "photo": st.just([{"file_id": "AgAC1", "file_unique_id": "u1", "width": 9, "height": 9}]),
        "document": st.just({"file_id": "BQAC1", "file_unique_id": "u2"}),
        "voice": st.just({"file_id": "AwAC1", "file_unique_id": "u3", "duration": 1}),
        "location": st.fixed_dictionaries(
            {"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)}
        ),
        "contact": st.fixed_dictionaries(
            {
                "phone_number": st.sampled_from(["+8613800138001", "13800138002", "", "abc"]),
                "first_name": texts,
            },
            optional={"user_id": people},
        ),
        "sticker": st.just({"file_id": "CAAC1", "file_unique_id": "u4"}),
        "reply_to_message": st.builds(lambda m: {"message_id": m, "date": 0}, st.integers(1, 2000)),
        "sender_chat": st.just({"id": WATER_GROUP, "type": "supergroup", "title": "x"}),
        "new_chat_members": st.just([{"id": STRANGER, "is_bot": False, "first_name": "x"}]),
        "migrate_to_chat_id": st.just(-100777),
        "via_bot": st.just({"id": 1, "is_bot": True, "first_name": "b"}),
    },
)


@st.composite
def steps(draw: st.DrawFn) -> tuple[str, Any]:
    """One thing that happens: a message, a press, or an update of some other shape."""
    kind = draw(st.sampled_from(["text", "text", "flow", "flow", "real_press", "press", "raw"]))
    if kind == "flow":
        return kind, (draw(st.sampled_from([OBSERVER, OTHER_OBSERVER])), draw(texts), draw(extras))
    if kind == "text":
        return kind, (
            *draw(speakers),
            draw(texts),
            draw(st.booleans()),
            draw(extras),
        )
    if kind == "real_press":
        return kind, (draw(people), draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)))
    if kind == "press":
        return kind, (draw(people), draw(places), draw(callback_data))
    update = draw(
        st.one_of(
            # Telegram's required fields only (no sender, no text, no content).
            st.builds(
                lambda m, place: {
                    "message": {
                        "message_id": m,
                        "date": 0,
                        "chat": {"id": place[0] or OBSERVER, "type": place[1]},
                    }
                },
                st.integers(1, 10**6),
                places,
            ),
            st.just({"callback_query": {"id": "q", "chat_instance": "1"}}),
            st.builds(
                lambda d: {"callback_query": {"id": "q", "from": {"id": OBSERVER}, "data": d}},
                callback_data,
            ),
            st.sampled_from(
                [
                    {"poll": {"id": "1"}},
                    {"channel_post": {"message_id": 1, "chat": {"id": -100998, "type": "channel"}}},
                    {"message_reaction": {"chat": {"id": OBSERVER, "type": "private"}}},
                    {"chat_join_request": {"chat": {"id": WATER_GROUP, "type": "supergroup"}}},
                    {
                        "my_chat_member": {
                            "chat": {"id": -100999, "type": "group", "title": "陌生群"},
                            "from": {"id": STRANGER, "is_bot": False, "first_name": "x"},
                            "date": 0,
                            "new_chat_member": {"status": "member", "user": {"id": 1}},
                        }
                    },
                    {"chat_member": {"chat": {"id": WATER_GROUP, "type": "supergroup"}}},
                    {},
                ]
            ),
        )
    )
    return kind, update


def play(world: World, step: tuple[str, Any]) -> list[Sent]:
    """Make one step happen in the handler world."""
    kind, value = step
    if kind == "flow":  # write a report and press 提交 on its preview
        user, text, extra = value
        sent = world.message(user, text, **extra)
        previews = [s for s in sent if any("提交" in label for label, _ in s.buttons())]
        if previews:
            sent += world.press(user, previews[-1], previews[-1].button("提交"))
        return sent
    if kind == "text":
        user, (chat_id, chat_type, title), text, edited, extra = value
        return world.message(
            user, text, chat_id=chat_id, chat_type=chat_type, title=title, edited=edited, **extra
        )
    if kind == "real_press":
        user, pick, button = value
        pressable = [s for s in world.transcript if s.buttons()]
        if not pressable:
            return []
        sent = pressable[pick % len(pressable)]
        buttons = sent.buttons()
        return world.press(user, sent, buttons[button % len(buttons)][1])
    if kind == "press":
        user, (chat_id, _, _), data = value
        fake = Sent(chat_id or user, "sendMessage", "", 1, {}, "")
        return world.press(user, fake, data)
    return world.update(value)


# --- what the Bot API would accept -------------------------------------------------------------

TEXT_METHODS = {"sendMessage", "editMessageText"}
CAPTION_METHODS = {"sendPhoto", "sendDocument", "sendVoice", "sendVideo", "editMessageCaption"}


def refusal(method: str, payload: dict[str, Any]) -> str | None:
    """Telegram's error for a call the bot queued, by the loopback server's rules; or None."""
    chat_type = "private" if int(payload.get("chat_id", 0)) > 0 else "supergroup"
    try:
        if method in TEXT_METHODS:
            parse_text(payload.get("text"), payload.get("parse_mode"), payload.get("entities"))
        elif method in CAPTION_METHODS:
            parse_text(
                payload.get("caption"),
                payload.get("parse_mode"),
                payload.get("caption_entities"),
                caption=True,
            )
        check_reply_markup(payload.get("reply_markup"), chat_type)
    except ApiError as error:
        return error.description
    return None


def assert_whole(engine: Engine, since: int = 0) -> None:
    """No failed update, no refusable call, no partial write."""
    with Session(engine) as session:
        failed = session.exec(
            select(InboxUpdate).where(InboxUpdate.status == InboxStatus.FAILED)
        ).all()
        assert not failed, [(row.error, row.payload) for row in failed]
        for row in session.exec(select(OutboxMessage).where(col(OutboxMessage.id) > since)):
            problem = refusal(row.method, row.payload)
            assert problem is None, f"{problem}: {row.method} {row.payload}"
            assert row.status != OutboxStatus.FAILED, row.last_error
        created = {
            event.report_id
            for event in session.exec(select(ReportEvent).where(ReportEvent.action == "created"))
        }
        for report in session.exec(select(Report)):
            assert report.id in created, f"report {report.number} has no creation event"
        reports = {r.id for r in session.exec(select(Report))}
        for draft in session.exec(select(Draft)):
            head, _, target = draft.step.partition(":")
            assert head in ("compose", "guided", "followup", "reason"), draft.step
            if head in ("followup", "reason"):
                assert int(target) in reports, f"draft {draft.id} points at report {target}"
        for pending in session.exec(select(PendingInput)):
            assert pending.report_id is None or pending.report_id in reports


# --- layer 1: the handlers, through inbox and outbox -------------------------------------------


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for every example, so state accumulates like a long-running bot's."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite'}")
    create_all(engine)
    world = make_world(engine)
    register(world)
    register(world, OTHER_OBSERVER, "+8613800138002")
    yield world
    engine.dispose()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(story=st.lists(steps(), min_size=1, max_size=6))
def test_fuzz_the_pipeline(fuzz_world: World, story: list[tuple[str, Any]]) -> None:
    with Session(fuzz_world.services.engine) as session:
        since = session.exec(
            select(OutboxMessage.id).order_by(col(OutboxMessage.id).desc())
        ).first()
    for step in story:
        play(fuzz_world, step)
    assert_whole(fuzz_world.services.engine, since or 0)


@settings(max_examples=200, deadline=None)
@given(data=presses)
def test_fuzzed_presses_are_the_bots_current_callback_data(data: str) -> None:
    press = parse(data)
    assert press is not None and press.encode() == data and len(data.encode()) <= 64


@settings(max_examples=200, deadline=None)
@given(text=texts | st.text(min_size=4000, max_size=9000))
def test_split_text_fits_telegram(text: str) -> None:
    pieces = split_text(text)
    assert all(0 < utf16_len(piece) <= TEXT_LIMIT and piece.strip() for piece in pieces)
    kept = [c for c in "".join(pieces) if not c.isspace()]
    assert kept == [c for c in text if not c.isspace()], "text was lost or reordered"


# --- layer 2: end to end, through the runtime and the loopback Bot API -------------------------


class LiveBot:
    """The real runtime and the loopback server on an event loop in a background thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.engine = make_engine(f"sqlite:///{directory / 'live.sqlite'}")
        create_all(self.engine)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.control: SyncControlClient
        self.ids: dict[str, int] = {}

    def __enter__(self) -> LiveBot:
        self._thread.start()
        assert self._ready.wait(60), "the live bot did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.control.close()
        self.engine.dispose()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with LoopbackServer(enforce_limits=False) as server:
            control = server.control
            me = await control.create_user("陈晓明", phone="+8613800138001", started=True)
            stranger = await control.create_user("路人", started=True)
            handler = await control.create_user("水务小张")
            water = await control.create_group("水务群", type="supergroup", members=[handler["id"]])
            dispatch = await control.create_group("分拨群", type="supergroup")
            self.ids = {
                "me": me["id"],
                "stranger": stranger["id"],
                "handler": handler["id"],
                "water": water["id"],
            }
            fill_roster(
                self.engine,
                phones=["+8613800138001"],
                bindings={"water": water["id"], "social_work": dispatch["id"]},
            )
            settings_ = load_settings(
                routing_rules=ROOT / "routing_rules.yaml",
                database_url="sqlite:///unused.sqlite",
                telegram_api_base=server.base_url,
            )
            services = build_services(settings_, engine=self.engine)
            api = open_bot_api("ptb", server.token, api_base=server.base_url, timeout=5)
            delivery = DeliveryWorker(
                self.engine,
                api,
                dispatch_chat_id=dispatch["id"],
                poll_interval=0.05,
                limits=FAST,
                retry=RetryPolicy(base=0.05, cap=0.5, card_wait=0.05),
            )
            runtime = BotRuntime(services, api, delivery=delivery, poll_timeout=1)
            running = asyncio.create_task(runtime.run())
            await runtime.ready.wait()
            self.control = SyncControlClient(server.control_url)
            self._ready.set()
            await self._stop.wait()
            runtime.stop()
            await running
            await api.close()

    def quiet(self) -> None:
        """Wait until the bot took every update, handled it and sent everything it queued."""
        self.control.wait_idle(timeout=20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Session(self.engine) as session:
                busy = (
                    session.exec(
                        select(InboxUpdate.update_id).where(
                            InboxUpdate.status == InboxStatus.PENDING
                        )
                    ).first()
                    or session.exec(
                        select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING)
                    ).first()
                )
            if busy is None:
                return
            time.sleep(0.02)
        raise AssertionError("the bot never went quiet")


@pytest.fixture(scope="module")
def live_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBot]:
    """A registered observer, a stranger and a department group, with the bot running."""
    with LiveBot(tmp_path_factory.mktemp("live")) as bot:
        bot.control.share_contact(bot.ids["me"])
        bot.quiet()
        yield bot


# Telegram delivers no empty text message; everything else can be typed.
typed = texts.filter(lambda text: text.strip() != "")
live_steps = st.one_of(
    st.tuples(st.just("flow"), typed),
    st.tuples(st.sampled_from(["me", "stranger"]), typed),
    st.tuples(st.just("press"), callback_data),
    st.tuples(st.just("group"), typed),
)


def live_play(bot: LiveBot, step: tuple[str, str]) -> None:
    """Make one step happen on the loopback Telegram and wait for the bot to finish with it."""
    kind, value = step
    control, ids = bot.control, bot.ids
    if kind in ("me", "stranger", "flow"):
        control.send_text(ids["me" if kind == "flow" else kind], value)
    elif kind == "press":
        last = control.bot_messages(ids["me"])[-1]
        control.press(ids["me"], ids["me"], last["message_id"], data=value, wait=0)
    else:  # a handler replies to the newest card in the department group, or mentions the bot
        cards = [m for m in control.bot_messages(ids["water"]) if m.get("reply_markup")]
        if cards:
            control.reply(ids["handler"], ids["water"], cards[-1]["message_id"], value)
        else:
            control.send_text(ids["handler"], f"@loopback_bot {value}", chat_id=ids["water"])
    bot.quiet()
    if kind == "flow":
        for message in reversed(control.bot_messages(ids["me"])):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if "提交" in button["text"]:
                        control.press(
                            ids["me"], ids["me"], message["message_id"],
                            data=button["callback_data"], wait=0,
                        )  # fmt: skip
                        bot.quiet()
                        return


@pytest.mark.e2e
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(story=st.lists(live_steps, min_size=1, max_size=4))
def test_fuzz_end_to_end(live_bot: LiveBot, story: list[tuple[str, str]]) -> None:
    for step in story:
        live_play(live_bot, step)
    stats = live_bot.control.stats()
    refused = {k: v for k, v in stats["errors"].items() if not k.startswith("Conflict")}
    assert not refused, refused
    assert_whole(live_bot.engine)
