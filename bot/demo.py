"""The offline demo: the whole flow on the loopback Bot API, printed as each person sees it.

Nothing here is simulated inside the bot: the real runtime (python-telegram-bot or aiogram),
pipeline, handlers and delivery worker run against the loopback server on 127.0.0.1, with a
SQLite database created by the real migrations and the sample roster imported by the real
importer. The script only plays the people: an administrator, an observer, department handlers
and a dispatcher.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from bot import demo_scenes as scenes
from bot.app import build_services
from bot.core.roster import parse_roster
from bot.core.weeks import week_of
from bot.demo_kit import DemoClock, Transcript, button, last_card, settle
from bot.demo_same_issue import same_issue_scene
from bot.infra.config import SHIPPED_RULES, Settings
from bot.infra.delivery import DeliveryWorker, Limits, RetryPolicy
from bot.infra.digest_render import render_text, write_digest
from bot.services import Services
from bot.services.digest import build_digest
from bot.telegram.bot_api import open_bot_api
from bot.telegram.runtime import BotRuntime
from handlers.sweeps import sweep
from sandbox import ControlClient, LoopbackServer
from storage.db import make_engine, upgrade
from storage.models import Report
from storage.roster import import_roster

# Package data (links to routing_rules.yaml and examples/roster_sample.csv in the project), so
# an installed obsbot plays the demo too.
SAMPLE_ROSTER = Path(__file__).resolve().parent / "core" / "data" / "roster_sample.csv"
STATION = "GZ-YX-01"  # the observer's station in the sample roster
BOT_USERNAME = "gd_observer_bot"
OBSERVER_PHONE = "+8613800138000"  # 罗淑仪, 越秀区北京街社会工作观察站 in the sample roster


ADMIN_FILE = "admin_user_id"  # the demo administrator's Telegram id, beside its database


async def play(
    *, runtime_name: str, workdir: Path, write: Callable[[str], None], out: Path | None = None
) -> list[str]:
    """Run the demo story in ``workdir``; return the transcript lines."""
    database = workdir / "demo.sqlite"
    url = f"sqlite:///{database}"
    upgrade(url)
    engine = make_engine(url)
    roster = parse_roster(SAMPLE_ROSTER)
    with Session(engine) as session:
        imported = import_roster(
            session=session,
            stations=roster.stations,
            observers=roster.observers,
            now=dt.datetime.now(dt.UTC),
        )
        session.commit()

    async with LoopbackServer(enforce_limits=False, bot_username=BOT_USERNAME) as server:
        control = server.control
        admin = await control.create_user("管理员", started=True)
        (workdir / ADMIN_FILE).write_text(str(admin["id"]), encoding="utf-8")  # demo --console
        observer = await control.create_user("罗淑仪", phone=OBSERVER_PHONE, started=True)
        water_handler = await control.create_user("水务·张工")
        housing_handler = await control.create_user("住建·李科")
        dispatcher = await control.create_user("社工部·陈姐")
        groups = {
            "water": await control.create_group(
                "广州市水务局承办群", type="supergroup", members=[water_handler["id"], admin["id"]]
            ),
            "housing": await control.create_group(
                "越秀区住建局承办群",
                type="supergroup",
                members=[housing_handler["id"], admin["id"]],
            ),
            "social_work": await control.create_group(
                "社会工作部分拨群", type="supergroup", members=[dispatcher["id"], admin["id"]]
            ),
        }
        transcript = Transcript(control, write)
        transcript.chats = {
            admin["id"]: "管理员",
            observer["id"]: "观察员 罗淑仪",
            groups["water"]["id"]: "水务群",
            groups["housing"]["id"]: "住建群",
            groups["social_work"]["id"]: "分拨群",
        }
        settings = Settings(
            routing_rules=SHIPPED_RULES,
            database_url=url,
            telegram_api_base=server.base_url,
            bot_runtime=runtime_name,  # type: ignore[arg-type]  # the CLI allows ptb/aiogram only
            admin_user_ids=[admin["id"]],
            digest_dir=workdir / "digests",
        )
        clock = DemoClock()
        services = build_services(settings, engine=engine, clock=clock)
        api = open_bot_api(
            runtime_name,
            server.token,
            api_base=server.base_url,
            timeout=5,
            upload_dir=settings.digest_dir,
        )
        delivery = DeliveryWorker(
            engine,
            api,
            services=services,
            now=clock,
            poll_interval=0.1,
            limits=Limits.unpaced(),  # the loopback server's flood limits are off
            retry=RetryPolicy(base=0.05, cap=0.5, card_wait=0.05),
        )
        runtime = BotRuntime(services, api, delivery=delivery, poll_timeout=1)
        task = asyncio.create_task(runtime.run())
        try:
            transcript.say(f"observer-bot demo — runtime: {runtime_name}")
            transcript.say(
                f"roster: {imported.stations.total} stations, "
                f"{imported.observers.total} observers imported from {SAMPLE_ROSTER.name}"
            )
            await _story(
                transcript,
                control,
                engine,
                admin,
                observer,
                water_handler,
                housing_handler,
                dispatcher,
                groups,
            )
            await same_issue_scene(
                transcript,
                control,
                lambda: settle(engine, control),
                button,
                observer=observer,
                handler=water_handler,
                water=groups["water"]["id"],
            )
            await _time_passes(transcript, control, services, clock, delivery, dispatcher, groups)
            _weekly_digest(transcript, services, out)
            scenes.poster(transcript, engine, out, station=STATION, username=BOT_USERNAME)
        finally:
            runtime.stop()
            await asyncio.wait_for(task, timeout=15)
            await api.close()
    return transcript.lines


async def _story(
    tr: Transcript,
    control: ControlClient,
    engine: Any,
    admin: dict,
    observer: dict,
    water_handler: dict,
    housing_handler: dict,
    dispatcher: dict,
    groups: dict[str, dict],
) -> None:
    """The scripted story, one stage at a time."""
    me = observer["id"]

    async def step() -> None:
        await settle(engine, control)
        await tr.show()

    tr.stage("1. The administrator binds department groups")
    for department, region in (
        ("water", "440100"),
        ("housing", "440104"),
        ("social_work", "440000"),
    ):
        tr.person("管理员", f"/bindcode {department} {region}")
        await control.send_text(admin["id"], f"/bindcode {department} {region}")
        await step()
        issued = (await control.bot_messages(admin["id"]))[-1]["text"]
        code = re.search(r"/bind (\w+)", issued)
        assert code is not None
        tr.person("管理员", f"在{tr.chats[groups[department]['id']]}发送 /bind {code.group(1)}")
        await control.send_text(
            admin["id"], f"/bind {code.group(1)}", chat_id=groups[department]["id"]
        )
        await step()

    tr.stage("2. An observer registers by sharing her phone number")
    tr.person("观察员", "/start")
    await control.send_text(me, "/start")
    await step()
    tr.person("观察员", "点击“分享手机号”")
    await control.share_contact(me)
    await step()
    await scenes.greeting(tr, control, step, me)

    tr.stage("3. She reports a problem in free text, with a photo")
    tr.person("观察员", "发送照片")
    await control.send_photo(me)
    await step()
    text = "北京街某小区自来水发黄好几天了，还经常停水，请尽快处理"
    tr.person("观察员", text)
    await control.send_text(me, text)
    await step()
    preview = (await control.bot_messages(me))[-1]
    tr.person("观察员", "点击“提交”")
    await control.press(me, me, preview["message_id"], data=button(preview, "提交"))
    await step()

    water = groups["water"]["id"]
    card = last_card(await control.bot_messages(water), "水务群")
    tr.stage("4. The water department signs for it and replies")
    await scenes.group_command(tr, control, step, water_handler, water, "/list")
    tr.person("水务·张工", "点击“签收”")
    await control.press(water_handler["id"], water, card["message_id"], data=button(card, "签收"))
    await step()
    tr.person("水务·张工", "回复卡片（内部备注，观察员看不到）：老城区管网，先查二次供水")
    await control.reply(water_handler["id"], water, card["message_id"], "老城区管网，先查二次供水")
    await step()
    current = await control.get_message(water, card["message_id"])
    tr.person("水务·张工", "点击“答复观察员”")
    await control.press(
        water_handler["id"], water, card["message_id"], data=button(current, "答复观察员")
    )
    await step()
    prompt = (await control.bot_messages(water))[-1]
    tr.person("水务·张工", "回复提示：已安排供水所明天上门检测水质")
    await control.reply(
        water_handler["id"], water, prompt["message_id"], "已安排供水所明天上门检测水质"
    )
    await step()

    tr.stage("5. It is resolved; the observer rates the result")
    current = await control.get_message(water, card["message_id"])
    tr.person("水务·张工", "点击“办结”")
    await control.press(
        water_handler["id"], water, card["message_id"], data=button(current, "办结")
    )
    await step()
    prompt = (await control.bot_messages(water))[-1]
    tr.person("水务·张工", "回复：已更换老化管段，水质检测合格，恢复正常供水")
    await control.reply(
        water_handler["id"],
        water,
        prompt["message_id"],
        "已更换老化管段，水质检测合格，恢复正常供水",
    )
    await step()
    rating = (await control.bot_messages(me))[-1]
    tr.person("观察员", "点击“满意”")
    await control.press(me, me, rating["message_id"], data=button(rating, "满意"))
    await step()

    tr.stage("6. A report outside a department's remit is returned, and dispatch re-routes it")
    text = "小区门口的排水沟堵了，一下雨就水浸到楼道，物业说不归他们管"
    tr.person("观察员", text)
    await control.send_text(me, text)
    await step()
    preview = (await control.bot_messages(me))[-1]
    await control.press(me, me, preview["message_id"], data=button(preview, "提交"))
    await step()
    card = last_card(await control.bot_messages(water), "水务群")
    tr.person("水务·张工", "点击“退回”")
    await control.press(water_handler["id"], water, card["message_id"], data=button(card, "退回"))
    await step()
    prompt = (await control.bot_messages(water))[-1]
    tr.person("水务·张工", "回复提示：小区内部排水设施属物业管理，请转住建部门")
    await control.reply(
        water_handler["id"], water, prompt["message_id"], "小区内部排水设施属物业管理，请转住建部门"
    )
    await step()
    dispatch = groups["social_work"]["id"]
    dispatch_card = (await control.bot_messages(dispatch))[-1]
    await scenes.group_command(tr, control, step, dispatcher, dispatch, "/queue")
    first = dispatch_card["reply_markup"]["inline_keyboard"][0][0]
    tr.person("社工部·陈姐", f"点击候选部门“{first['text'].lstrip('📤 ')}”")
    await control.press(
        dispatcher["id"], dispatch, dispatch_card["message_id"], data=first["callback_data"]
    )
    await step()

    tr.stage("7. A suggestion and a reading of public sentiment")
    for text in (
        "建议在社区增设长者饭堂，方便独居老人就餐",
        "群众议论今年天气反常，担心台风季内涝，希望提前做好准备",
    ):
        tr.person("观察员", text)
        await control.send_text(me, text)
        await step()
        preview = (await control.bot_messages(me))[-1]
        await control.press(me, me, preview["message_id"], data=button(preview, "提交"))
        await step()

    await scenes.voice_only(tr, control, step, me)

    tr.stage("8. The observer follows her reports; the administrator checks the numbers")
    tr.person("观察员", "/my")
    await control.send_text(me, "/my")
    await step()
    tr.person("管理员", "/stats")
    await control.send_text(admin["id"], "/stats")
    await step()
    with Session(engine) as session:
        reports = session.exec(select(Report)).all()
    tr.stage("Reports so far")
    tr.say(
        f"{len(reports)} reports: " + ", ".join(f"{r.number} {r.kind}/{r.status}" for r in reports)
    )


async def _time_passes(
    tr: Transcript,
    control: ControlClient,
    services: Services,
    clock: DemoClock,
    delivery: DeliveryWorker,
    dispatcher: dict,
    groups: dict[str, dict],
) -> None:
    """Move the clock forward so a report nobody signs for is reminded, overdue, then urged."""
    with Session(services.engine) as session:
        waiting = session.exec(
            select(Report).where(Report.status == "routed").order_by(col(Report.id))
        ).first()
    if waiting is None or waiting.sign_due_at is None:
        return
    tr.stage(f"9. Nobody signs for {waiting.number}: the clock runs fast")
    due = waiting.sign_due_at
    # Working-day windows are measured in business hours (09:00-18:00), so the 50 % reminder of
    # a one-working-day window falls in the afternoon of that working day.
    for label, moment in (
        ("four business hours before the deadline", due - dt.timedelta(hours=4)),
        ("past the sign-for deadline", due + dt.timedelta(minutes=5)),
    ):
        clock.offset += moment - clock()
        local = clock().astimezone(services.tz)
        tr.say(f"  ⏩ {label}: {local:%m-%d %H:%M}")
        await asyncio.to_thread(sweep, services, now=clock())
        delivery.notify()
        await settle(services.engine, control)
        await tr.show()

    async def step() -> None:
        await settle(services.engine, control)
        await tr.show()

    await scenes.urge(tr, control, step, dispatcher, groups["social_work"]["id"])


def _weekly_digest(tr: Transcript, services: Services, out: Path | None) -> None:
    """Build the province's digest of the story's week and write text, chart and workbook."""
    tr.stage("10. The leaders' weekly digest (province scope)")
    now = services.clock()
    with Session(services.engine) as session:
        first = session.exec(select(Report.created_at).order_by(col(Report.id))).first()
        week = week_of(first or now, services.tz)
        digest = build_digest(
            session=session, rules=services.rules, scope="440000", week=week, now=now
        )
    for line in render_text(digest, services.rules).splitlines():
        tr.say(f"  {line}")
    if out is None:  # the demo's own folder is deleted at the end: nothing is written there
        tr.say("  (give --out FOLDER to keep the digest's chart and workbook)")
        return
    files = write_digest(digest, services.rules, out)
    tr.say(f"  chart: {files.chart.name}, workbook: {files.workbook.name} (in {out})")


def run_demo(
    *, runtime_name: str, out: Path | None, keep: bool, write: Callable[[str], None]
) -> Path | None:
    """Run the demo in a temporary folder (kept with ``keep``); write the transcript to ``out``."""
    if keep:
        workdir = Path(tempfile.mkdtemp(prefix="obsbot-demo-"))
        lines = asyncio.run(play(runtime_name=runtime_name, workdir=workdir, write=write, out=out))
    else:
        with tempfile.TemporaryDirectory(prefix="obsbot-demo-") as folder:
            workdir = Path(folder)
            lines = asyncio.run(
                play(runtime_name=runtime_name, workdir=workdir, write=write, out=out)
            )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "transcript.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return workdir if keep else None
