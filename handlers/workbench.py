"""The workbench in a group: what is waiting, what is late, who I am, and how this group works.

    /list     a department group's reports: 已超时, 即将超时, 待签收, 办理中 — each line with the
              time left in words and a link to its card; pages of ``PAGE`` with ◀ ▶ buttons
    /queue    a dispatch group's reports waiting for it, with the reason each is there
    /help     what this group's people can do (department, dispatch, or not yet bound)
    /whoami   anyone, anywhere: their Telegram id and role

Lists are reads: any member of the group may ask. The lines link to the cards themselves
(supergroups only: ``https://t.me/c/…``), so a handler taps through to the buttons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlmodel import select

from bot.core.durations import in_words, time_left
from bot.core.lifecycle import Status
from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.services.reports import binding_of_chat
from handlers.actions import Button, Keyboard, fit
from handlers.callbacks import Act, Press
from handlers.cards import last_return
from handlers.context import Ctx
from handlers.events import Event
from storage import reports as report_queries
from storage.models import Leader, Observer, Report, Station

PAGE = 8
SOON = dt.timedelta(hours=4)  # a deadline closer than this is 即将超时
SECTIONS = ("overdue", "soon", "routed", "signed")
GROUP_COMMANDS = ("list", "queue", "help")


def on_group_command(event: Event, ctx: Ctx) -> bool:
    """Answers /list, /queue or /help in a group; True if the command was one of them."""
    if event.command not in GROUP_COMMANDS:
        return False
    departments = {b.department for b in binding_of_chat(ctx.session, chat_id=event.chat_id)}
    if not departments:
        ctx.out.send(event.chat_id, t("group.not_bound"), reply_to=event.message_id)
        return True
    dispatch = ctx.rules.dispatch in departments
    if event.command == "help":
        key = "workbench.help_dispatch" if dispatch else "workbench.help_department"
        ctx.out.send(event.chat_id, t(key), reply_to=event.message_id)
    elif event.command == "queue" and not dispatch:
        ctx.out.send(event.chat_id, t("workbench.queue_not_dispatch"), reply_to=event.message_id)
    else:
        text, keyboard = _page(ctx, event.chat_id, 0, queue=event.command == "queue")
        ctx.out.send(event.chat_id, text, keyboard=keyboard, reply_to=event.message_id)
    return True


def on_press(event: Event, press: Press, ctx: Ctx) -> None:
    """Turns a list's page (◀ ▶) in place."""
    if not binding_of_chat(ctx.session, chat_id=event.chat_id):
        ctx.out.reply_answer(t("group.not_bound"))
        return
    page = press.target - 1  # pages are numbered from 1 in the buttons (ids are never 0)
    text, keyboard = _page(ctx, event.chat_id, page, queue=press.act == Act.QUEUE_PAGE)
    ctx.out.reply_answer("")
    ctx.out.edit(event.chat_id, event.message_id or 0, text, keyboard=keyboard)


def whoami(event: Event, ctx: Ctx) -> None:
    """Tells anyone their Telegram id and every role the bot knows them by."""
    user = event.user_id or 0
    roles: list[str] = []
    if user in ctx.services.admin_ids:
        roles.append(t("workbench.role_admin"))
    observer = ctx.session.exec(select(Observer).where(Observer.telegram_user_id == user)).first()
    if observer is not None:
        station = ctx.session.get(Station, observer.station_code)
        roles.append(
            t("workbench.role_observer", station=station.name if station else observer.station_code)
        )
    leader = ctx.session.exec(select(Leader).where(Leader.chat_id == user)).first()
    if leader is not None:
        roles.append(t("workbench.role_leader", scope=ctx.region_name(leader.scope_region)))
    if event.group:
        for binding in binding_of_chat(ctx.session, chat_id=event.chat_id):
            roles.append(
                t(
                    "workbench.role_member",
                    department=ctx.department_name(binding.department),
                    region=ctx.region_name(binding.region_code),
                )
            )
    ctx.out.send(
        event.chat_id,
        t("workbench.whoami", user_id=user, roles="；".join(roles) or t("workbench.role_none")),
        reply_to=event.message_id if event.group else None,
    )


def _page(ctx: Ctx, chat_id: int, page: int, *, queue: bool) -> tuple[str, Keyboard | None]:
    """Returns one page of the group's list (or dispatch's queue) and its ◀ ▶ buttons."""
    if queue:
        held = report_queries.held_by_chat(
            session=ctx.session, chat_id=chat_id, statuses=[Status.DISPATCH]
        )
        ordered = sorted(held, key=lambda r: r.created_at)
        header = t("workbench.queue_header", count=len(ordered))
        lines = [_queue_line(ctx, chat_id, r) for r in ordered]
    else:
        held = report_queries.held_by_chat(
            session=ctx.session, chat_id=chat_id, statuses=[Status.ROUTED, Status.SIGNED]
        )
        sections = {name: [r for r in held if _section(r, ctx.now) == name] for name in SECTIONS}
        header = t(
            "workbench.list_header",
            **{name: len(reports) for name, reports in sections.items()},
        )
        ordered = [r for name in SECTIONS for r in _by_due(sections[name])]
        lines = [_list_line(ctx, chat_id, r) for r in ordered]
    if not lines:
        return header + "\n" + t("workbench.empty"), None
    pages = (len(lines) + PAGE - 1) // PAGE
    page = min(max(page, 0), pages - 1)
    shown = lines[page * PAGE : (page + 1) * PAGE]
    text = "\n".join([header, *shown])
    if pages > 1:
        text += "\n" + t("workbench.page", page=page + 1, pages=pages)
    return text, _pager(page, pages, queue=queue)


def _section(report: Report, now: dt.datetime) -> str:
    """Returns which part of the list a report belongs in."""
    due = _running_due(report)
    if due is not None and due <= now:
        return "overdue"
    if due is not None and due - now <= SOON:
        return "soon"
    return "routed" if report.status == Status.ROUTED else "signed"


def _running_due(report: Report) -> dt.datetime | None:
    """Returns the deadline running now: sign-for while routed, resolve once signed."""
    return report.sign_due_at if report.status == Status.ROUTED else report.resolve_due_at


def _by_due(reports: Sequence[Report]) -> list[Report]:
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(reports, key=lambda r: _running_due(r) or far)


def _list_line(ctx: Ctx, chat_id: int, report: Report) -> str:
    """Returns one line of /list: number, status, time left, the start of the text, the card."""
    due = _running_due(report)
    mark = {"overdue": "🔴", "soon": "🟡"}.get(_section(report, ctx.now), "⚪")
    return t(
        "workbench.line",
        mark=mark,
        number=report.number,
        status=t(f"status.{report.status}"),
        left=time_left(due, ctx.now) if due is not None else t("common.none"),
        text=_snippet(report),
        link=_card_link(chat_id, report),
    )


def _queue_line(ctx: Ctx, chat_id: int, report: Report) -> str:
    """Returns one line of /queue: number, waiting since, why it is here, the card."""
    events = report_queries.events_of(session=ctx.session, report_id=report.id or 0)
    returned = last_return(report, events)
    if returned:
        reason = t(
            "workbench.why_returned",
            department=ctx.department_name(returned.get("from", "")),
            reason=mask_personal_numbers(returned.get("reason", "")),
        )
    elif report.routing.get("no_group"):
        reason = t("workbench.why_no_group")
    elif report.routing.get("runner_up"):
        reason = t("workbench.why_close")
    else:
        reason = t("workbench.why_no_rule")
    return t(
        "workbench.queue_line",
        number=report.number,
        waiting=in_words(ctx.now - report.created_at),
        reason=reason,
        text=_snippet(report),
        link=_card_link(chat_id, report),
    )


def _snippet(report: Report) -> str:
    """Returns the start of a report's text, masked, on one line."""
    flat = " ".join(mask_personal_numbers(report.text).split())
    short = fit(flat, 24)
    return short + ("…" if short != flat else "")


def _card_link(chat_id: int, report: Report) -> str:
    """Returns a link to the report's card (supergroups), or an empty string."""
    text = str(chat_id)
    if report.card_message_id is None or not text.startswith("-100"):
        return ""
    return f"\n   https://t.me/c/{text[4:]}/{report.card_message_id}"


def _pager(page: int, pages: int, *, queue: bool) -> Keyboard | None:
    """Returns the ◀ ▶ buttons of a list with more than one page."""
    if pages <= 1:
        return None
    act = Act.QUEUE_PAGE if queue else Act.LIST_PAGE
    row = []
    if page > 0:
        row.append(Button(t("workbench.previous"), Press(act, page).encode()))  # page - 1, 1-based
    if page < pages - 1:
        row.append(Button(t("workbench.next"), Press(act, page + 2).encode()))
    return [row]
