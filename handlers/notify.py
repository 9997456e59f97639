"""Who is told what when a report changes: cards to groups, notices to observers."""

from __future__ import annotations

import logging

from bot.core.masking import mask_personal_numbers
from bot.core.messages import t
from bot.services.reports import find_binding
from handlers.actions import card_of, utf16_len
from handlers.cards import CARD_TEXT_LIMIT, card_keyboard, card_text
from handlers.context import Ctx
from storage import reports as report_queries
from storage.models import Observer, Report, ReportStatus

log = logging.getLogger(__name__)


def post_card(ctx: Ctx, report: Report) -> None:
    """Send a report's card (and its attachments) to the group that handles it now.

    A routed report whose department has no bound group at its level or above goes to
    dispatch instead; nothing is ever posted into an unbound group.
    """
    rid = report.id or 0
    if report.status == ReportStatus.ROUTED:
        binding = find_binding(
            ctx.session, department=report.department, region=report.target_region
        )
        if binding is None:
            report_queries.add_event(
                session=ctx.session,
                report_id=rid,
                actor="system",
                action="no_group",
                at=ctx.now,
                details={"department": report.department, "region": report.target_region},
            )
            note = t(
                "dispatch.no_group",
                number=report.number,
                department=ctx.department_name(report.department),
                region=ctx.region_name(report.target_region),
            )
            report.routing = {**report.routing, "no_group": note}
            report.status = ReportStatus.DISPATCH
            report.department = ctx.rules.dispatch
            ctx.session.add(report)
    if report.status == ReportStatus.DISPATCH:
        binding = find_binding(
            ctx.session, department=ctx.rules.dispatch, region=report.region_code
        )
    if report.status not in (ReportStatus.ROUTED, ReportStatus.DISPATCH) or binding is None:
        if report.status == ReportStatus.DISPATCH:
            log.warning(
                "no dispatch group bound report=%s region=%s", report.number, report.region_code
            )
        return
    text = card_text(ctx, report)
    if report.routing.get("no_group"):
        text = report.routing["no_group"] + "\n" + text
    ctx.out.send(
        binding.chat_id, text, keyboard=card_keyboard(ctx, report), purpose="card", report_id=rid
    )
    if utf16_len(report.text) > CARD_TEXT_LIMIT:
        ctx.out.send(
            binding.chat_id,
            mask_personal_numbers(report.text),
            reply_to=card_of(rid),
            report_id=rid,
        )
    for item in report.attachments:
        if item.get("kind") == "location":
            ctx.out.location(
                binding.chat_id, item["lat"], item["lon"], reply_to=card_of(rid), report_id=rid
            )
        else:
            ctx.out.media(
                binding.chat_id, item["kind"], item["file_id"], reply_to=card_of(rid), report_id=rid
            )


def tell_observer(ctx: Ctx, report: Report, key: str, **values: str) -> None:
    """Send the observer who filed ``report`` a notice from the catalogue."""
    observer = ctx.session.get(Observer, report.observer_id)
    if observer is None or observer.telegram_user_id is None:
        return
    text = t(f"observer.{key}", number=report.number, **values)
    ctx.out.send(observer.telegram_user_id, text, purpose=f"notice:{key}", report_id=report.id)
