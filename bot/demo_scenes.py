"""The demo's workbench scenes: what each person does at the desk besides the report's path.

A greeting, a voice note alone, a department's /list, dispatch's /queue, a 催办 on an overdue
card and a station's invitation poster: a greeting is answered with help (no draft), and a
voice note alone is previewed and submitted like any report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.demo_kit import Transcript, button, buttons
from sandbox import ControlClient

Step = Callable[[], Awaitable[None]]


async def _last(control: ControlClient, chat_id: int) -> dict[str, Any]:
    return dict((await control.bot_messages(chat_id))[-1])


async def greeting(tr: Transcript, control: ControlClient, step: Step, me: int) -> None:
    """The observer greets the bot and asks how it works: she should get help, not a draft."""
    tr.stage("2a. She says hello and asks how to use it")
    text = "你好，请问怎么用？"
    tr.person("观察员", text)
    await control.send_text(me, text)
    await step()


async def voice_only(tr: Transcript, control: ControlClient, step: Step, me: int) -> None:
    """The observer sends a voice note alone and submits it from its preview."""
    tr.stage("7a. A voice note on its own")
    tr.person("观察员", "发送一段语音（没有文字）")
    await control.send_voice(me)
    await step()
    last = await _last(control, me)
    tr.person("观察员", "点击“提交”")
    await control.press(me, me, last["message_id"], data=button(last, "提交"))
    await step()


async def group_command(
    tr: Transcript, control: ControlClient, step: Step, person: dict, group: int, command: str
) -> None:
    """Someone sends ``command`` in a group: /list (a department's to-do list) or /queue
    (the reports waiting for dispatch, each with the reason it is there)."""
    tr.person(person["first_name"], command)
    await control.send_text(person["id"], command, chat_id=group)
    await step()


async def urge(
    tr: Transcript, control: ControlClient, step: Step, dispatcher: dict, group: int
) -> None:
    """The dispatcher presses 催办 on the newest overdue (yellow) card in the dispatch group."""
    cards = [m for m in await control.bot_messages(group) if any("催办" in b for b in buttons(m))]
    if not cards:
        tr.say("  (no overdue card with a 催办 button reached dispatch)")
        return
    tr.person(dispatcher["first_name"], "点击黄牌上的“催办”")
    card = cards[-1]
    await control.press(dispatcher["id"], group, card["message_id"], data=button(card, "催办"))
    await step()


def poster(tr: Transcript, engine: Any, out: Path | None, *, station: str, username: str) -> None:
    """Issue an invite code for the station and write its printable poster into ``out``."""
    from bot.infra.poster import Invitation, deep_link, render
    from storage.roster import get_station, issue_invites

    tr.stage("11. An invitation poster for the station's next observer")
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        (code,) = issue_invites(
            session=session, station_code=station, count=1, ttl=dt.timedelta(days=7), now=now
        )
        found = get_station(session=session, code=station)
        name = found.name if found is not None else station
        session.commit()
    link = deep_link(username, code)
    tr.say(f"  invite code {code}: {link}")
    if out is None:
        tr.say("  (give --out FOLDER to write the printable poster)")
        return
    expires = (now + dt.timedelta(days=7)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    invitation = Invitation(code=code, station=name, link=link, expires=expires)
    written = render(invitation, out / f"invite-{station}-{code}.png")
    tr.say(f"  poster: {written.name} (in {out})")
