"""The demo's same-issue scene: two observers report one flooding in different words.

The first observer reports it in Mandarin; a second observer of the same station writes about
the same flooding in Cantonese a moment later. Her preview names the report already being
handled and she adds hers to it (补充到该反映): the water group keeps one card, now
"同一问题 ×2（2位观察员）", with her words under it. When the group signs and resolves it, both
observers are told and each can rate.

Played by ``bot.demo.play`` on the same loopback server, bot and transcript as the main story.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.demo_kit import last_card
from sandbox import ControlClient

SECOND_PHONE = "+8613800138007"  # 黄芳, 越秀区北京街社会工作观察站 in the sample roster
FIRST_TEXT = "东濠涌河涌水浸，水面漂着垃圾，路都过不了"
SECOND_TEXT = "东濠涌条河涌水淹咗，水面啲垃圾冇人捞，行唔到路"
RESULT = "已清理河涌垃圾，抽排积水，道路恢复通行"


class Transcript(Protocol):
    """What the scene needs of the demo's transcript."""

    chats: dict[int, str]

    def stage(self, title: str) -> None: ...

    def person(self, who: str, action: str) -> None: ...

    async def show(self) -> None: ...


async def same_issue_scene(
    tr: Transcript,
    control: ControlClient,
    settle: Callable[[], Awaitable[None]],
    button: Callable[[dict[str, Any], str], str],
    *,
    observer: dict[str, Any],
    handler: dict[str, Any],
    water: int,
) -> None:
    """Play the scene: one card ×2, both observers told when it is resolved."""

    async def step() -> None:
        await settle()
        await tr.show()

    async def newest(chat: int) -> dict[str, Any]:
        return (await control.bot_messages(chat))[-1]

    tr.stage("8b. Two observers report the same flooding in different words")
    second = await control.create_user("黄芳", phone=SECOND_PHONE, started=True)
    tr.chats[second["id"]] = "观察员 黄芳"
    await control.share_contact(second["id"])
    await step()
    me = observer["id"]
    tr.person("观察员 罗淑仪", FIRST_TEXT)
    await control.send_text(me, FIRST_TEXT)
    await step()
    preview = await newest(me)
    await control.press(me, me, preview["message_id"], data=button(preview, "提交"))
    await step()
    card = last_card(await control.bot_messages(water), "水务群")
    tr.person("观察员 黄芳", SECOND_TEXT)
    await control.send_text(second["id"], SECOND_TEXT)
    await step()
    preview = await newest(second["id"])
    tr.person("观察员 黄芳", "点击“补充到该反映”")
    await control.press(
        second["id"], second["id"], preview["message_id"], data=button(preview, "补充到该反映")
    )
    await step()
    tr.person("水务·张工", "点击“签收”")
    await control.press(handler["id"], water, card["message_id"], data=button(card, "签收"))
    await step()
    current = await control.get_message(water, card["message_id"])
    tr.person("水务·张工", "点击“办结”")
    await control.press(handler["id"], water, card["message_id"], data=button(current, "✅ 办结"))
    await step()
    prompt = await newest(water)
    tr.person("水务·张工", f"回复：{RESULT}")
    await control.reply(handler["id"], water, prompt["message_id"], RESULT)
    await step()
